/**
 * Stream → Salesforce target (PRODUCT.md section 4), and the Describe checks every target must
 * pass before a record is sent (sections 5, 6 and 9). Pure: check and write call the same rules.
 */
import type { Config, SyncMode, TargetSettings } from '../config.js';
import { ConfigError } from '../errors.js';
import { streamLabel, type ConfiguredAirbyteStream, type DestinationSyncMode } from '../protocol/messages.js';
import type { DescribeGlobal, DescribeSObject } from '../salesforce/types.js';
import { canKeyUpsert, findField, isWritable, requiredOnCreate, type WriteKind } from './fields.js';
import { mappingTargetProblems } from './plan.js';
import { nearestName } from '../suggest.js';

/** Where a stream's target came from. */

/**
 * No field mappings. Mappings are looked up by column names a source sends, so they never have a
 * prototype: `constructor` or `__proto__` as a column must find nothing (config.ts builds them the
 * same way).
 */
function noMappings(): Record<string, string> {
  return Object.create(null) as Record<string, string>;
}

export type TargetSource = 'destination_object_name' | 'streams' | 'config';

/** Everything the writer needs to know about where a stream goes. */
export interface Target {
  object: string;
  operation: SyncMode;
  /** The field rows are matched on; undefined for insert. */
  matchingField?: string;
  /** source column → Salesforce field (may be empty). */
  fieldMappings: Record<string, string>;
  /**
   * The mappings are the top level's, inherited by a stream that names none of its own: they may be
   * meant for another object, so a destination this object lacks is not judged an error here.
   */
  mappingsInherited?: boolean;
  source: TargetSource;
}

/** Airbyte data activation's sync modes → operations (PRODUCT.md section 4, rule 1). */
export const OPERATION_FOR_SYNC_MODE: Readonly<Record<DestinationSyncMode, SyncMode>> = {
  append: 'insert',
  append_dedup: 'upsert',
  update: 'update',
  soft_delete: 'remove',
  overwrite: 'mirror',
};

/** Operations that need a matching field. */
const KEYED: ReadonlySet<SyncMode> = new Set(['upsert', 'update', 'add', 'remove', 'mirror']);

/**
 * The matching field when the config names none: Email for Contact and Lead (except for mirror, which
 * needs an External ID: it deletes what did not arrive); Id for update and remove.
 */
export function defaultMatchingField(object: string, operation: SyncMode): string | undefined {
  if (!KEYED.has(operation)) return undefined;
  if ((object === 'Contact' || object === 'Lead') && operation !== 'mirror') return 'Email';
  if (operation === 'update' || operation === 'remove') return 'Id';
  return undefined;
}

function withDefaults(settings: TargetSettings, fallback: TargetSettings): TargetSettings {
  return {
    ...fallback,
    ...Object.fromEntries(Object.entries(settings).filter(([, v]) => v !== undefined)),
  };
}

/** True when a stream's field mappings are the top level's, because its own settings name none. */
function inheritsMappings(own: TargetSettings | undefined, config: Config): boolean {
  return own?.fieldMappings === undefined && config.defaults.fieldMappings !== undefined;
}

/** The `streams` override for a stream, if any (namespace must match when the override gives one). */
function overrideFor(
  config: Config,
  name: string,
  namespace: string | undefined,
): TargetSettings | undefined {
  return config.streams.find(
    (s) => s.streamName === name && (s.streamNamespace === undefined || s.streamNamespace === namespace),
  );
}

/**
 * Resolves a configured stream's target. Throws ConfigError naming the stream when it has none,
 * or when data activation gave a composite or nested primary key.
 */
export function resolveTarget(stream: ConfiguredAirbyteStream, config: Config): Target {
  const descriptor = {
    name: stream.stream.name,
    ...(stream.stream.namespace ? { namespace: stream.stream.namespace } : {}),
  };
  const label = streamLabel(descriptor);
  if (typeof stream.destination_object_name === 'string' && stream.destination_object_name !== '') {
    const operation = OPERATION_FOR_SYNC_MODE[stream.destination_sync_mode];
    const keys = stream.primary_key ?? [];
    let matchingField: string | undefined;
    if (operation !== 'insert') {
      if (keys.length !== 1 || keys[0]!.length !== 1 || keys[0]![0] === '') {
        if (keys.length === 0) {
          matchingField = defaultMatchingField(stream.destination_object_name, operation);
        } else {
          throw new ConfigError(
            `Stream "${label}": Salesforce matches records on one field, but the matching key is ${JSON.stringify(keys)}. Choose a single External ID or idLookup field as the matching key.`,
            { stream: descriptor },
          );
        }
      } else {
        matchingField = keys[0]![0];
      }
    }
    const override = overrideFor(config, stream.stream.name, stream.stream.namespace);
    const target: Target = {
      object: stream.destination_object_name,
      operation,
      fieldMappings: override?.fieldMappings ?? config.defaults.fieldMappings ?? noMappings(),
      mappingsInherited: inheritsMappings(override, config),
      source: 'destination_object_name',
    };
    if (matchingField !== undefined) target.matchingField = matchingField;
    return target;
  }
  const override = overrideFor(config, stream.stream.name, stream.stream.namespace);
  const settings = override ? withDefaults(override, config.defaults) : config.defaults;
  if (settings.salesforceObject === undefined) {
    throw new ConfigError(
      `Stream "${label}" has no Salesforce object: set salesforce_object in the config, or add a streams entry for "${stream.stream.name}".`,
      { stream: descriptor },
    );
  }
  const operation = settings.syncMode ?? 'upsert';
  const target: Target = {
    object: settings.salesforceObject,
    operation,
    fieldMappings: settings.fieldMappings ?? noMappings(),
    mappingsInherited: override !== undefined && inheritsMappings(override, config),
    source: override ? 'streams' : 'config',
  };
  const matchingField =
    settings.externalIdField ?? defaultMatchingField(settings.salesforceObject, operation);
  if (matchingField !== undefined && KEYED.has(operation)) target.matchingField = matchingField;
  return target;
}

/** The targets a config names on its own (top level and `streams`), for check. */
export function configuredTargets(config: Config): Array<{ where: string; target: Target }> {
  const out: Array<{ where: string; target: Target }> = [];
  const add = (where: string, settings: TargetSettings, source: TargetSource, inherited = false): void => {
    if (settings.salesforceObject === undefined) return;
    const operation = settings.syncMode ?? 'upsert';
    const target: Target = {
      object: settings.salesforceObject,
      operation,
      fieldMappings: settings.fieldMappings ?? noMappings(),
      mappingsInherited: inherited,
      source,
    };
    const matchingField =
      settings.externalIdField ?? defaultMatchingField(settings.salesforceObject, operation);
    if (matchingField !== undefined && KEYED.has(operation)) target.matchingField = matchingField;
    out.push({ where, target });
  };
  add('The config', config.defaults, 'config');
  for (const s of config.streams) {
    add(`Stream "${s.streamName}"`, withDefaults(s, config.defaults), 'streams', inheritsMappings(s, config));
  }
  return out;
}

/** Which Describe writability an operation's payloads need. */
export function writeKindFor(operation: SyncMode): WriteKind {
  switch (operation) {
    case 'insert':
    case 'add':
      return 'create';
    case 'update':
    case 'remove':
      return 'update';
    case 'upsert':
    case 'mirror':
      return 'upsert';
  }
}

/** True when the operation may create records, so required fields matter. */
export function createsRecords(operation: SyncMode): boolean {
  return operation === 'insert' || operation === 'add' || operation === 'upsert' || operation === 'mirror';
}

/** Help for an object name Describe does not know. */
export function unknownObjectMessage(object: string, global?: DescribeGlobal): string {
  let hint = '';
  if (global !== undefined) {
    const close = nearestName(
      object,
      global.sobjects.map((o) => o.name),
      ['__c'],
    );
    if (close !== undefined && close !== object) hint = ` Did you mean "${close}"?`;
  }
  if (hint === '' && !object.endsWith('__c') && !/^[A-Z][A-Za-z]+$/.test(object)) {
    hint = ' A custom object is named by its API name with the __c suffix.';
  } else if (hint === '' && !object.endsWith('__c')) {
    hint = ' If it is a custom object, add the __c suffix (e.g. Support_Ticket__c).';
  }
  return `Salesforce object "${object}" does not exist in this org or the user cannot see it.${hint} API names are case-sensitive; check the object's permissions for the user.`;
}

/**
 * Problems with a target against its object's Describe: the operation is allowed, the matching
 * field can match, and (when the columns are known) the required fields are mapped.
 * `columns` are the stream's column names; pass undefined when they are not known (check).
 */
export function targetProblems(target: Target, describe: DescribeSObject, columns?: string[]): string[] {
  const problems: string[] = [];
  const { object, operation } = target;
  const needs: Array<[boolean, string]> = [];
  if (operation === 'insert' || operation === 'add') needs.push([describe.createable, 'create']);
  if (operation === 'upsert' || operation === 'mirror') {
    needs.push([describe.createable, 'create']);
    needs.push([describe.updateable, 'update']);
  }
  if (operation === 'update') needs.push([describe.updateable, 'update']);
  if (operation === 'remove' || operation === 'mirror') needs.push([describe.deletable, 'delete']);
  for (const [allowed, verb] of needs) {
    if (!allowed) {
      problems.push(
        `${operation} needs to ${verb} ${object} records, which this user may not do. Grant ${verb} permission on ${object} (permission set), or choose another sync mode.`,
      );
    }
  }
  if (KEYED.has(operation)) {
    const name = target.matchingField;
    if (name === undefined) {
      problems.push(
        `${operation} on ${object} needs a matching field: set external_id_field to an External ID field (e.g. External_ID__c)${operation === 'update' || operation === 'remove' ? ' or Id' : ''}.`,
      );
    } else if (name === 'Id' || name.toLowerCase() === 'id') {
      if (operation !== 'update' && operation !== 'remove') {
        problems.push(
          `${operation} cannot match on Id (Salesforce creates records by External ID, not by record Id). Set external_id_field to an External ID field.`,
        );
      }
    } else {
      const field = findField(describe, name);
      if (field === undefined) {
        problems.push(
          `Matching field "${name}" does not exist on ${object} (or the user cannot see it). Check the field's API name (custom fields end in __c) and its field-level security.`,
        );
      } else if (!(field.externalId || field.idLookup)) {
        problems.push(
          `Field ${object}.${field.name} is not an External ID or idLookup field, so Salesforce cannot match records on it. In Setup → Object Manager → ${object} → Fields, edit ${field.name} and tick "External ID" (and "Unique"), or choose another field.`,
        );
      } else if (operation === 'mirror' && !field.externalId) {
        problems.push(
          `mirror deletes the ${object} records whose ${field.name} did not arrive, so it needs an External ID field: ${field.name} is only an idLookup field (not unique, and set by people as well as syncs), so records nobody synced would count as managed. Set external_id_field to an External ID field, or use upsert.`,
        );
      } else if (createsRecords(operation) && !canKeyUpsert(field)) {
        problems.push(
          `Field ${object}.${field.name} can find records but cannot be written on create, so ${operation} cannot use it as its key. Use an External ID field the user can edit.`,
        );
      }
    }
  }
  const judged = target.mappingsInherited === true ? {} : target.fieldMappings;
  for (const problem of mappingTargetProblems(describe, judged, target.matchingField)) {
    problems.push(
      `${problem} Fix the destination of that field_mappings entry${target.source === 'streams' ? '' : ', or give this stream its own field_mappings in a streams entry'}.`,
    );
  }
  // Only with the stream's columns known: unlisted columns map by name, so without them (check, data
  // activation) a required field no mapping names may still arrive as a column of its own name.
  if (createsRecords(operation) && columns !== undefined) {
    const mapped = mappedFields(target, describe, columns);
    const missing = requiredOnCreate(describe).filter((r) => !mapped.has(r.toLowerCase()));
    if (missing.length > 0) {
      problems.push(
        `Required ${object} field${missing.length === 1 ? '' : 's'} ${missing.join(', ')} ${missing.length === 1 ? 'is' : 'are'} not mapped: add a column with that name or a field mapping to ${missing.length === 1 ? 'it' : 'them'}.`,
      );
    }
  }
  return problems;
}

/**
 * Fields required on create that no field mapping names, when the target has field mappings and
 * creates records: check cannot see the streams' columns, so it names these as the columns each
 * stream must bring (write then checks each stream's schema before sending anything).
 */
export function requiredNotMapped(target: Target, describe: DescribeSObject): string[] {
  const destinations = Object.values(target.fieldMappings).map((d) => d.toLowerCase());
  if (destinations.length === 0 || !createsRecords(target.operation)) return [];
  return requiredOnCreate(describe).filter((r) => !destinations.includes(r.toLowerCase()));
}

/** Lower-cased Salesforce field names the stream fills: field mappings plus columns matching by name. */
function mappedFields(target: Target, describe: DescribeSObject, columns: string[]): Set<string> {
  const out = new Set<string>();
  for (const destination of Object.values(target.fieldMappings)) out.add(destination.toLowerCase());
  for (const column of columns) {
    if (Object.hasOwn(target.fieldMappings, column)) continue;
    const field = findField(describe, column);
    if (field !== undefined && isWritable(field, writeKindFor(target.operation)))
      out.add(field.name.toLowerCase());
  }
  return out;
}
