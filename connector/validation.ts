/**
 * One place that loads the connector's JSON Schemas (spec/, schemas/) and turns ajv errors into
 * sentences that name the offending field.
 */
import { readFileSync } from 'node:fs';
import { Ajv, type ErrorObject } from 'ajv';

/** Reads a JSON file shipped with the connector, relative to the package root (one level above dist/ or connector/). */
export function readPackageJson<T>(relativePath: string): T {
  return JSON.parse(readFileSync(new URL(`../${relativePath}`, import.meta.url), 'utf8')) as T;
}

/**
 * An ajv instance for the connector's own schemas: every error reported, defaults filled in,
 * Airbyte's annotation keywords (order, airbyte_secret, …) tolerated. spec.json and schemas/ use no
 * `format`, so ajv-formats is not loaded (it costs start-up time on every command). Nor are the
 * schemas checked against the draft-07 meta-schema at each start (~40 ms of CPU): they ship with
 * the connector, and validation.test.ts checks them once.
 */
export function createAjv(): Ajv {
  return new Ajv({
    allErrors: true,
    useDefaults: true,
    strict: false,
    allowUnionTypes: true,
    validateSchema: false,
    // Errors carry the value they judged, so an enum error can say what it got (describeErrors).
    verbose: true,
    // Each validator runs once or twice per process (a config, a catalog): the pass that tidies the
    // generated code costs more than it could ever save (~18 ms of every start here).
    code: { optimize: false },
  });
}

let shared: Ajv | undefined;

/** One ajv for the process: building an instance costs ~8 ms, and every command validates twice. */
export function sharedAjv(): Ajv {
  return (shared ??= createAjv());
}

/** A dotted path for an ajv error, e.g. `advanced.records_per_request` or `streams[2].sync_mode`. */
export function errorPath(error: ErrorObject, root: string): string {
  const parts = error.instancePath
    .split('/')
    .slice(1)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  let path = root;
  for (const p of parts) path = /^\d+$/.test(p) ? `${path}[${p}]` : path ? `${path}.${p}` : p;
  if (error.keyword === 'required') {
    const missing = (error.params as { missingProperty: string }).missingProperty;
    path = path ? `${path}.${missing}` : missing;
  }
  return path || '(root)';
}

/** One sentence per ajv error, naming the field and what is wrong with it. */
export function describeErrors(errors: ErrorObject[] | null | undefined, root = ''): string[] {
  const out: string[] = [];
  for (const error of errors ?? []) {
    if (error.keyword === 'if' || error.keyword === 'oneOf' || error.keyword === 'anyOf') continue;
    const path = errorPath(error, root);
    const params = error.params as Record<string, unknown>;
    let text: string;
    switch (error.keyword) {
      case 'required':
        text = `${path} is required`;
        break;
      case 'enum': {
        // Enum values are choices such as sync modes, never secrets; a long value is not repeated.
        const got = error.data;
        const shown =
          (typeof got === 'string' && got.length <= 40) || typeof got === 'number' || typeof got === 'boolean'
            ? ` (got ${JSON.stringify(got)})`
            : '';
        text = `${path} must be ${allowedText(params.allowedValues as unknown[])}${shown}`;
        break;
      }
      case 'const':
        text = `${path} must be ${JSON.stringify(params.allowedValue)}`;
        break;
      case 'type':
        text = `${path} must be ${String(params.type)}`;
        break;
      case 'additionalProperties':
        text = `${path} has an unknown property "${String(params.additionalProperty)}"`;
        break;
      default:
        text = `${path} ${error.message ?? 'is invalid'}`;
    }
    if (!out.includes(text)) out.push(text);
  }
  return out;
}

/**
 * The allowed values of an enum as a sentence: a run of whole numbers reads as a range ("a whole
 * number from 1 to 25 or \"auto\""), not 25 values one by one.
 */
function allowedText(values: unknown[]): string {
  const numbers = values.filter((v): v is number => Number.isInteger(v)).sort((a, b) => a - b);
  const others = values.filter((v) => !Number.isInteger(v)).map((v) => JSON.stringify(v));
  const run =
    numbers.length > 3 && numbers.every((n, i) => i === 0 || n === numbers[i - 1]! + 1)
      ? `a whole number from ${numbers[0]} to ${numbers[numbers.length - 1]}`
      : undefined;
  if (run === undefined) return `one of ${values.map((v) => JSON.stringify(v)).join(', ')}`;
  return others.length === 0 ? run : `${run} or ${others.join(' or ')}`;
}
