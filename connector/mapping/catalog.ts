/**
 * Describe → DESTINATION_CATALOG (PRODUCT.md §8): which Airbyte data-activation operations each
 * Salesforce object supports, the keys that can match its records, and the JSON schema of the
 * fields each operation can write. Pure; the `discover` command does the Describe calls.
 * Protocol: ../../../shared/airbyte-protocol/airbyte_protocol.yaml (DestinationCatalog).
 */
import type { DescribeField, DescribeSObject } from '../salesforce/types.js';
import { canKeyUpsert, isWritable, matchingFields, requiredOnCreate } from './fields.js';
import { fieldJsonSchema, type JsonSchema, type ObjectJsonSchema } from './json-schema.js';

/**
 * The protocol's `DestinationSyncMode`. The connector reads them as append → insert,
 * append_dedup → upsert, update → update, soft_delete → remove, overwrite → mirror (PRODUCT.md §4).
 */
export type DestinationSyncMode = 'append' | 'overwrite' | 'append_dedup' | 'update' | 'soft_delete';

/** The protocol's `DestinationOperation`: one thing a user can do to one destination object. */
export interface DestinationOperation {
  object_name: string;
  sync_mode: DestinationSyncMode;
  json_schema: ObjectJsonSchema;
  /** Each inner array is one key, as a path; Salesforce keys are single top-level fields. */
  matching_keys?: string[][];
}

/** The protocol's `DestinationCatalog`, the payload of a DESTINATION_CATALOG message. */
export interface DestinationCatalog {
  operations: DestinationOperation[];
}

/**
 * The operations one object supports, in the order append, update, append_dedup, overwrite,
 * soft_delete; an operation whose schema would have no property is left out.
 */
export function describeToOperations(describe: DescribeSObject): DestinationOperation[] {
  const required = requiredOnCreate(describe);
  const hasId = describe.fields.some((f) => f.name === 'Id');
  const idKey: string[][] = hasId ? [['Id']] : [];
  const usable = describe.fields.filter((f) => !f.deprecatedAndHidden);
  // Update finds Ids by query (PRODUCT.md §5), so any External ID / idLookup field SOQL can filter
  // on will do, even one the user cannot write (Case.CaseNumber).
  const lookupKeys = matchingFields(describe).filter((f) => !f.deprecatedAndHidden && f.filterable !== false);
  // Upsert (and mirror, which upserts) names the key in the request, which Salesforce allows only
  // for External ID and idLookup fields the user can set:
  // https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/dome_upsert.htm
  const upsertKeys = usable.filter(canKeyUpsert);
  const isRequired = (f: DescribeField): boolean => required.includes(f.name);

  const candidates: Candidate[] = [];
  if (describe.createable) {
    candidates.push({
      mode: 'append',
      fields: usable.filter((f) => isWritable(f, 'create') || isRequired(f)),
      required,
    });
  }
  if (describe.updateable) {
    candidates.push({
      mode: 'update',
      fields: usable.filter((f) => isWritable(f, 'update') || f.name === 'Id' || lookupKeys.includes(f)),
      keys: [...idKey, ...lookupKeys.map((f) => [f.name])],
    });
  }
  // An upsert may create, so it needs the object createable and lists the create-required fields
  // even when they cannot be updated (a non-reparentable master-detail, say).
  if (describe.createable && describe.updateable && upsertKeys.length > 0) {
    const upsert = {
      fields: usable.filter((f) => isWritable(f, 'upsert') || isRequired(f) || upsertKeys.includes(f)),
      keys: upsertKeys.map((f) => [f.name]),
      required,
    };
    candidates.push({ mode: 'append_dedup', ...upsert });
    // Mirror deletes the managed records whose key did not arrive, so the object must be deletable,
    // and the key must be an External ID (PRODUCT.md §5): an idLookup field such as Email is neither
    // unique nor set only by syncs, so every contact with an email would count as managed.
    const mirrorKeys = upsertKeys.filter((f) => f.externalId);
    if (describe.deletable && mirrorKeys.length > 0) {
      candidates.push({ mode: 'overwrite', ...upsert, keys: mirrorKeys.map((f) => [f.name]) });
    }
  }
  // Remove finds records by Id or by query on any key update can use (PRODUCT.md §5).
  if (describe.deletable) {
    candidates.push({
      mode: 'soft_delete',
      fields: usable.filter((f) => f.name === 'Id' || lookupKeys.includes(f)),
      keys: [...idKey, ...lookupKeys.map((f) => [f.name])],
    });
  }

  return candidates.flatMap((c) => {
    const op = toOperation(describe.name, c);
    return op === undefined ? [] : [op];
  });
}

/** One DestinationCatalog for the given objects, sorted by object name so the output is stable. */
export function buildDestinationCatalog(describes: DescribeSObject[]): DestinationCatalog {
  const sorted = [...describes].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { operations: sorted.flatMap(describeToOperations) };
}

/** An operation before its schema is built: the fields it lists, in Describe order, and its keys. */
interface Candidate {
  mode: DestinationSyncMode;
  fields: DescribeField[];
  keys?: string[][];
  required?: string[];
}

function toOperation(objectName: string, c: Candidate): DestinationOperation | undefined {
  const properties: Record<string, JsonSchema> = {};
  for (const field of c.fields) {
    const schema = fieldJsonSchema(field);
    if (schema !== undefined) properties[field.name] = schema;
  }
  if (Object.keys(properties).length === 0) return undefined;
  const listed = (name: string): boolean => Object.hasOwn(properties, name);
  // A key is offered only if a UI can map a column to it.
  const keys = c.keys?.filter((path) => path.every(listed));
  if (keys !== undefined && keys.length === 0) return undefined;
  const required = (c.required ?? []).filter(listed);
  const json_schema: ObjectJsonSchema = {
    type: 'object',
    additionalProperties: true,
    properties,
    ...(required.length > 0 ? { required } : {}),
  };
  return {
    object_name: objectName,
    sync_mode: c.mode,
    json_schema,
    ...(keys !== undefined ? { matching_keys: keys } : {}),
  };
}
