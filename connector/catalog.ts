/**
 * The configured catalog: read once, validated with ajv against schemas/configured_catalog.json
 * (every violation named), then typed. Stream names must be unique per namespace.
 */
import { readJsonFile } from './config.js';
import { ConfigError } from './errors.js';
import { streamKey, streamLabel, type ConfiguredAirbyteCatalog } from './protocol/messages.js';
import { catalog as validate } from './generated/validators.js';
import { describeErrors } from './validation.js';

/** Validates a parsed catalog object. */
export function parseCatalog(input: unknown): ConfiguredAirbyteCatalog {
  if (!validate(input)) {
    const problems = describeErrors(validate.errors, 'catalog');
    throw new ConfigError(
      `The configured catalog has ${problems.length} problem${problems.length === 1 ? '' : 's'}: ${problems.map((p, i) => `(${i + 1}) ${p}`).join('; ')}.`,
    );
  }
  const catalog = input as ConfiguredAirbyteCatalog;
  const seen = new Set<string>();
  for (const s of catalog.streams) {
    // A null namespace means none.
    if (s.stream.namespace === null) delete s.stream.namespace;
    const descriptor = {
      name: s.stream.name,
      ...(s.stream.namespace ? { namespace: s.stream.namespace } : {}),
    };
    const key = streamKey(descriptor);
    if (seen.has(key))
      throw new ConfigError(`The configured catalog lists stream "${streamLabel(descriptor)}" twice.`);
    seen.add(key);
  }
  return catalog;
}

/** Reads and validates the file given with --catalog. */
export function loadCatalog(path: string): ConfiguredAirbyteCatalog {
  return parseCatalog(readJsonFile(path, 'catalog'));
}
