/**
 * Test helper: checks what the connector prints against the official Airbyte protocol schema
 * (../shared/airbyte-protocol/airbyte_protocol.yaml, protocol 0.18.0), as PRODUCT.md section 2 requires
 * of every message: one AirbyteMessage per stdout line, nothing else.
 */
import { readFileSync } from 'node:fs';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { parse } from 'yaml';

/** Where the official protocol schema lives, beside the project. */
export const PROTOCOL_SCHEMA_PATH = new URL(
  '../../../shared/airbyte-protocol/airbyte_protocol.yaml',
  import.meta.url,
);

// ajv-formats is CommonJS: under node16 resolution the default import is module.exports, which also
// carries the plugin as `.default`; take whichever the loader (Node or ts-jest) handed us.
const applyFormats =
  (addFormats as unknown as { default?: (ajv: Ajv) => Ajv }).default ??
  (addFormats as unknown as (ajv: Ajv) => Ajv);

let validator: ValidateFunction | undefined;

function messageValidator(): ValidateFunction {
  if (validator) return validator;
  const schema = parse(readFileSync(PROTOCOL_SCHEMA_PATH, 'utf8')) as { $id: string };
  // strict: false — the protocol schema carries annotation keywords (existingJavaType, …) ajv does not know.
  const ajv = new Ajv({ allErrors: true, strict: false });
  applyFormats(ajv);
  ajv.addSchema(schema);
  const compiled = ajv.getSchema(`${schema.$id}#/definitions/AirbyteMessage`);
  if (!compiled) throw new Error(`AirbyteMessage not found in ${PROTOCOL_SCHEMA_PATH.pathname}`);
  validator = compiled;
  return compiled;
}

/** The reasons `message` is not a valid AirbyteMessage; empty when it is one. */
export function validateMessage(message: unknown): string[] {
  const validate = messageValidator();
  if (validate(message)) return [];
  return (validate.errors ?? []).map(
    (e) =>
      `${e.instancePath || '/'} ${e.message ?? 'is invalid'}${e.params ? ` ${JSON.stringify(e.params)}` : ''}`,
  );
}

/**
 * Parses a connector's stdout: every non-empty line must be JSON and a valid AirbyteMessage.
 * Throws an error naming the first offending line otherwise.
 */
export function parseProtocolLines(stdout: string): Record<string, unknown>[] {
  const messages: Record<string, unknown>[] = [];
  stdout.split('\n').forEach((line, index) => {
    if (line.trim() === '') return;
    let message: unknown;
    try {
      message = JSON.parse(line);
    } catch {
      throw new Error(`stdout line ${index + 1} is not JSON: ${line.slice(0, 300)}`);
    }
    const errors = validateMessage(message);
    if (errors.length > 0) {
      throw new Error(
        `stdout line ${index + 1} is not a valid AirbyteMessage:\n  ${errors.join('\n  ')}\n${line.slice(0, 500)}`,
      );
    }
    messages.push(message as Record<string, unknown>);
  });
  return messages;
}
