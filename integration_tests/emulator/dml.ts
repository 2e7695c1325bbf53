/**
 * The write path shared by every API (single-record REST, sObject Collections, Composite, Bulk 2.0):
 * per-record validation in Salesforce's order and wording, then the write.
 *
 * Order of checks for one record (first failure wins, as a record gets one error):
 * 1. deserialization: unknown field, wrong JSON type (done while preparing, see prepareJson);
 * 2. fields not createable/updateable → INVALID_FIELD_FOR_INSERT_UPDATE;
 * 3. value errors: MALFORMED_ID, STRING_TOO_LONG, restricted picklist, e-mail, numeric range;
 * 4. REQUIRED_FIELD_MISSING (all missing fields listed);
 * 5. references: INVALID_CROSS_REFERENCE_KEY / relationship lookups by external ID;
 * 6. unique fields: DUPLICATE_VALUE;
 * 7. row locks (fault, or lock contention) → UNABLE_TO_LOCK_ROW; the beforeSave hook (validation-rule stand-in).
 * Texts: reference §3.1–3.4, §5.2, §6.
 */
import { normalizeId } from './ids.js';
import {
  type FieldInfo,
  type ObjectSchema,
  Problem,
  type StoredValue,
  convertJson,
  fieldOf,
  formatDateTime,
  indexKey,
} from './schema.js';
import type { Row, Store, Table, Transaction } from './store.js';
import type { BeforeSaveContext, EmulatorSettings, RecordError } from './types.js';

/** An org user. */
export interface User {
  id: string;
  username: string;
  name: string;
  email: string;
}

/** Row-lock fault registry (see faults.ts). */
export interface LockChecker {
  /** An UNABLE_TO_LOCK_ROW error when the record is "locked" for this attempt. */
  check(
    table: Table,
    id: string,
    stored: Row | undefined,
    incoming: Row | undefined,
  ): RecordError | undefined;
}

/** Long-lived environment of the DML engine. */
export interface DmlEnv {
  store: Store;
  settings: EmulatorSettings;
  locks: LockChecker;
  beforeSave: ((context: BeforeSaveContext) => RecordError | undefined) | undefined;
}

/** One transaction's context. */
export interface DmlContext {
  env: DmlEnv;
  user: User;
  /** Timestamp of the transaction in read format (shared by all its records, as in Salesforce). */
  now: string;
  txn: Transaction | undefined;
  /**
   * Lock-contention mode (REST calls only): whether this write to `table` loses the race for its row
   * lock now. Absent for Bulk jobs and when no server set it.
   */
  contention?: (table: Table) => boolean;
}

/** A relationship lookup by external ID in the body: `"Account": {"External_ID__c": "A-1"}` (reference §3.3). */
export interface RelRef {
  field: FieldInfo;
  parentType: string | undefined;
  keyName: string;
  keyValue: unknown;
  /** The key value is CSV text (Bulk): convert it from text whatever the key field's type. */
  fromText?: boolean;
}

/** A record body converted for one object, before the checks that need the store. */
export interface Prepared {
  fields: FieldInfo[];
  values: StoredValue[];
  rels: RelRef[];
  /** First value-level error (reported after the writability check). */
  valueError: RecordError | undefined;
  /** Whether the body carried `Id`/`id`, and its raw value. */
  idGiven: boolean;
  idValue: unknown;
}

/** A prepared record with nothing in it yet. */
export function emptyPrepared(): Prepared {
  return { fields: [], values: [], rels: [], valueError: undefined, idGiven: false, idValue: undefined };
}

/** A deserialization failure: the body could not be read as this object (reference §3.1, §3.2). */
export interface Deserialization {
  deserialization: true;
  unknownField: string | undefined;
  fieldName: string;
  typeName: string;
  token: string;
  shown: string;
}

/** The outcome of one record operation. */
export interface SaveOutcome {
  success: boolean;
  /** Record id (also for a failure once the record is identified). */
  id?: string;
  created?: boolean;
  errors: RecordError[];
  /** For single-record REST: the record was not found (404). */
  notFound?: boolean;
}

export function recordError(statusCode: string, message: string, fields: string[] = []): RecordError {
  return { statusCode, message, fields };
}

/** `Required fields are missing: [A, B]` (reference §5.2). */
function requiredMissing(names: string[]): RecordError {
  return recordError('REQUIRED_FIELD_MISSING', `Required fields are missing: [${names.join(', ')}]`, names);
}

/** reference §5.2: INVALID_FIELD_FOR_INSERT_UPDATE wording. */
function notWritable(names: string[]): RecordError {
  return recordError(
    'INVALID_FIELD_FOR_INSERT_UPDATE',
    `Unable to create/update fields: ${names.join(', ')}. Please check the security settings of this field and verify that it is read/write for your profile or permission set.`,
    names,
  );
}

export function noSuchColumn(field: string, objectName: string): RecordError {
  return recordError('INVALID_FIELD', `No such column '${field}' on sobject of type ${objectName}`);
}

const NO_CHANGES: ReadonlySet<string> = new Set();
const CROSS_REFERENCE = (): RecordError =>
  recordError('INVALID_CROSS_REFERENCE_KEY', 'invalid cross reference id');
const ENTITY_IS_DELETED = (): RecordError => recordError('ENTITY_IS_DELETED', 'entity is deleted');

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Read a JSON record body as `schema` (keys resolved case-insensitively, like the API). `attributes`
 * is skipped; `Id`/`id` is captured, not assigned.
 */
export function prepareJson(
  schema: ObjectSchema,
  body: Record<string, unknown>,
  coerce: boolean,
): Prepared | Deserialization {
  const prepared = emptyPrepared();
  for (const key in body) {
    if (key === 'attributes') continue;
    const value = body[key];
    const field = fieldOf(schema, key);
    if (field !== undefined && field.name === 'Id') {
      prepared.idGiven = true;
      prepared.idValue = value;
      continue;
    }
    if (field === undefined) {
      const relField = schema.relByLower.get(key.toLowerCase());
      if (relField !== undefined && (isPlainObject(value) || value === null)) {
        if (value === null) {
          prepared.fields.push(relField);
          prepared.values.push(null);
          continue;
        }
        const keys = Object.keys(value).filter((k) => k !== 'attributes');
        const attributes = value.attributes;
        const parentType =
          isPlainObject(attributes) && typeof attributes.type === 'string' ? attributes.type : undefined;
        if (keys.length !== 1) {
          prepared.valueError ??= recordError(
            'INVALID_FIELD',
            `More than 1 field provided in an external foreign key reference in entity: ${parentType ?? relField.referenceTo[0] ?? key}`,
          );
          continue;
        }
        prepared.rels.push({ field: relField, parentType, keyName: keys[0]!, keyValue: value[keys[0]!] });
        continue;
      }
      return { deserialization: true, unknownField: key, fieldName: key, typeName: '', token: '', shown: '' };
    }
    if (value === null) {
      if (field.type === 'boolean') {
        // [3P]/[U] reference §5.2: null into a checkbox → INVALID_TYPE_ON_FIELD_IN_RECORD.
        prepared.valueError ??= recordError(
          'INVALID_TYPE_ON_FIELD_IN_RECORD',
          `${field.label}: value not of required type`,
          [field.name],
        );
        continue;
      }
      prepared.fields.push(field);
      prepared.values.push(null);
      continue;
    }
    const converted = convertJson(field, value, coerce);
    if (converted instanceof Problem) {
      const p = converted.problem;
      if (p.kind === 'type') {
        return {
          deserialization: true,
          unknownField: undefined,
          fieldName: field.name,
          typeName: p.typeName ?? 'String',
          token: p.token ?? 'VALUE_STRING',
          shown: p.error.message,
        };
      }
      prepared.valueError ??= p.error;
      continue;
    }
    prepared.fields.push(field);
    // Salesforce stores an empty text as null.
    prepared.values.push(converted === '' ? null : converted);
  }
  return prepared;
}

/** Exact (case-sensitive) matching for upsert/lookup keys on this field? (reference §3.3 "Matching") */
export function matchesExactly(field: FieldInfo, settings: EmulatorSettings): boolean {
  if (!field.text || field.caseSensitive) return true;
  if (field.type === 'email') return !settings.emailMatchCaseInsensitive;
  // "Custom field matching is case-insensitive only if the custom field has the Unique and … case insensitive attributes"
  if (field.custom) return !field.unique;
  return false;
}

/** Live ids whose key field matches a stored value. */
export function findByKey(
  table: Table,
  field: FieldInfo,
  value: StoredValue,
  settings: EmulatorSettings,
): string[] {
  if (value === null) return [];
  if (field.name === 'Id') {
    const id = typeof value === 'string' ? normalizeId(value) : undefined;
    return id !== undefined && table.getLive(id) !== undefined ? [id] : [];
  }
  const key = indexKey(field, value);
  if (key === undefined) return [];
  let ids: readonly string[];
  const index = table.indexes.get(field.name);
  if (index !== undefined) {
    const hit = index.raw(key);
    if (hit === undefined) return [];
    if (typeof hit === 'string') {
      // One candidate: exact matching only needs a look at the stored value.
      if (!matchesExactly(field, settings) || field.caseSensitive || !field.text) return [hit];
      return table.rows.get(hit)?.[field.name] === value ? [hit] : [];
    }
    ids = hit;
  } else {
    const found: string[] = [];
    for (const [id, row] of table.rows) {
      if (row.IsDeleted !== true && indexKey(field, row[field.name] ?? null) === key) found.push(id);
    }
    ids = found;
  }
  if (ids.length === 0 || !matchesExactly(field, settings) || field.caseSensitive || !field.text)
    return [...ids];
  return ids.filter((id) => table.rows.get(id)?.[field.name] === value);
}

/** `more than one record found for external id field: [id1, id2]` (reference §3.3). */
export function duplicateExternalId(ids: readonly string[]): RecordError {
  return recordError(
    'DUPLICATE_EXTERNAL_ID',
    `more than one record found for external id field: [${ids.join(', ')}]`,
  );
}

function checkReference(
  ctx: DmlContext,
  schema: ObjectSchema,
  field: FieldInfo,
  id: string,
): RecordError | undefined {
  if (field.name === 'RecordTypeId') return schema.recordTypeIds.has(id) ? undefined : CROSS_REFERENCE();
  const table = ctx.env.store.tableOfId(id);
  if (table === undefined || !field.referenceTo.includes(table.schema.name)) return CROSS_REFERENCE();
  const row = table.rows.get(id);
  if (row === undefined) return CROSS_REFERENCE();
  if (row.IsDeleted === true) return ENTITY_IS_DELETED();
  return undefined;
}

function resolveRelationship(ctx: DmlContext, rel: RelRef): string | RecordError {
  const store = ctx.env.store;
  const targets = rel.field.referenceTo;
  const typeName = rel.parentType ?? targets.find((t) => store.table(t) !== undefined) ?? targets[0] ?? '';
  const table = store.table(typeName);
  const shownValue = typeof rel.keyValue === 'string' ? rel.keyValue : JSON.stringify(rel.keyValue);
  const notFound = (): RecordError =>
    recordError(
      'INVALID_FIELD',
      `Foreign key external ID: ${shownValue} not found for field ${rel.keyName} in entity ${table?.schema.name ?? typeName}`,
    );
  if (table === undefined || !targets.some((t) => t.toLowerCase() === typeName.toLowerCase()))
    return notFound();
  const keyField = table.schema.byLower.get(rel.keyName.toLowerCase());
  if (keyField === undefined) return noSuchColumn(rel.keyName, table.schema.name);
  if (!keyField.keyable) {
    // [3P] reference §3.3: "DeveloperName is not an External ID or indexed field for RecordType"
    return recordError(
      'INVALID_FIELD',
      `${keyField.name} is not an External ID or indexed field for ${table.schema.name}`,
    );
  }
  if (rel.keyValue === null || rel.keyValue === undefined) return notFound();
  const converted = convertJson(
    keyField,
    rel.keyValue,
    rel.fromText === true || ctx.env.settings.coerceStringsToScalars,
  );
  if (converted instanceof Problem)
    return converted.problem.kind === 'value' ? converted.problem.error : notFound();
  const ids = findByKey(table, keyField, converted, ctx.env.settings);
  if (ids.length === 0) return notFound();
  if (ids.length > 1) return duplicateExternalId(ids);
  return ids[0]!;
}

/** Resolve references and relationship lookups into `row`; first error wins. */
function applyReferences(
  ctx: DmlContext,
  schema: ObjectSchema,
  prepared: Prepared,
  row: Row,
  changed: ReadonlySet<string> | undefined,
): RecordError | undefined {
  for (let i = 0; i < prepared.fields.length; i++) {
    const f = prepared.fields[i]!;
    const v = prepared.values[i]!;
    if (f.type !== 'reference' || v === null) continue;
    if (changed !== undefined && !changed.has(f.name)) continue;
    const err = checkReference(ctx, schema, f, v as string);
    if (err !== undefined) return err;
  }
  for (const rel of prepared.rels) {
    const resolved = resolveRelationship(ctx, rel);
    if (typeof resolved !== 'string') return resolved;
    row[rel.field.name] = resolved;
  }
  return undefined;
}

function checkUnique(
  table: Table,
  row: Row,
  selfId: string | undefined,
  stored?: Row,
): RecordError | undefined {
  for (const field of table.schema.indexedFields) {
    if (!field.unique) continue;
    const value = row[field.name] ?? null;
    // An unchanged value cannot create a new clash.
    if (stored !== undefined && (stored[field.name] ?? null) === value) continue;
    const key = indexKey(field, value);
    if (key === undefined) continue;
    const hit = table.indexes.get(field.name)?.raw(key);
    if (hit === undefined) continue;
    const clash =
      typeof hit === 'string' ? (hit !== selfId ? hit : undefined) : hit.find((id) => id !== selfId);
    if (clash !== undefined) {
      // [3P] reference §5.2: "duplicate value found: <field> duplicates value on record with id: <id>"
      return recordError(
        'DUPLICATE_VALUE',
        `duplicate value found: ${field.name} duplicates value on record with id: ${clash}`,
      );
    }
  }
  return undefined;
}

/** Derived values: compound Name (Contact/Lead), Case IsClosed/ClosedDate. */
function derive(schema: ObjectSchema, row: Row, now: string): void {
  if (schema.compoundName) {
    const first = typeof row.FirstName === 'string' && row.FirstName !== '' ? row.FirstName : undefined;
    const last = typeof row.LastName === 'string' && row.LastName !== '' ? row.LastName : undefined;
    const name = first === undefined ? (last ?? null) : last === undefined ? first : `${first} ${last}`;
    if (row.Name !== name) row.Name = name;
  }
  if (schema.autoNumberField !== undefined && schema.byLower.has('isclosed')) {
    const closed = row.Status === 'Closed';
    if (closed !== (row.IsClosed === true)) {
      row.IsClosed = closed;
      row.ClosedDate = closed ? now : null;
    }
  }
}

function runHook(
  ctx: DmlContext,
  schema: ObjectSchema,
  operation: 'create' | 'update',
  row: Row,
): RecordError | undefined {
  const hook = ctx.env.beforeSave;
  return hook === undefined ? undefined : hook({ objectName: schema.name, operation, record: row });
}

/** reference §5.2: UNABLE_TO_LOCK_ROW, naming the record whose lock was not obtained when there is one. */
export function unableToLockRow(id: string | undefined): RecordError {
  return recordError(
    'UNABLE_TO_LOCK_ROW',
    id === undefined
      ? 'unable to obtain exclusive access to this record'
      : `unable to obtain exclusive access to this record or 1 records: ${id}`,
  );
}

/**
 * [U] The row a new record waits for under lock contention: its first parent other than a user (the
 * parent's lock is what an insert takes, reference bulk2-ingest §1.5), else its owner.
 */
function lockedParent(schema: ObjectSchema, row: Row): string | undefined {
  for (const f of schema.fields) {
    if (f.type !== 'reference' || f.referenceTo.includes('User')) continue;
    const value = row[f.name];
    if (typeof value === 'string') return value;
  }
  return typeof row.OwnerId === 'string' ? row.OwnerId : undefined;
}

/** Create one record. */
export function createRecord(ctx: DmlContext, table: Table, prepared: Prepared): SaveOutcome {
  const schema = table.schema;
  if (prepared.idGiven && prepared.idValue !== null && prepared.idValue !== undefined) {
    // Apex/SOAP wording for an Id on insert (collections create: "don't set id", reference §3.2)
    return {
      success: false,
      errors: [recordError('INVALID_FIELD_FOR_INSERT_UPDATE', 'cannot specify Id in an insert call', ['Id'])],
    };
  }
  let readOnly: string[] | undefined;
  for (const f of prepared.fields) if (!f.createable) (readOnly ??= []).push(f.name);
  for (const r of prepared.rels) if (!r.field.createable) (readOnly ??= []).push(r.field.name);
  if (readOnly !== undefined) return { success: false, errors: [notWritable(readOnly)] };
  if (prepared.valueError !== undefined) return { success: false, errors: [prepared.valueError] };

  // The id is allocated only once the record passes every check (placeholder keeps Id first).
  const row: Row = { Id: null };
  const has = schema.has;
  if (has.owner) row.OwnerId = ctx.user.id;
  if (has.createdDate) row.CreatedDate = ctx.now;
  if (has.createdBy) row.CreatedById = ctx.user.id;
  if (has.lastModifiedDate) row.LastModifiedDate = ctx.now;
  if (has.lastModifiedBy) row.LastModifiedById = ctx.user.id;
  if (has.systemModstamp) row.SystemModstamp = ctx.now;
  for (const f of schema.createDefaults)
    if (f.createDefault !== undefined && f.createDefault !== false) row[f.name] = f.createDefault;
  for (let i = 0; i < prepared.fields.length; i++) row[prepared.fields[i]!.name] = prepared.values[i]!;
  for (const r of prepared.rels) row[r.field.name] = null;

  let missing: string[] | undefined;
  for (const f of schema.requiredOnCreate) {
    const v = row[f.name];
    if ((v === undefined || v === null) && !prepared.rels.some((r) => r.field === f))
      (missing ??= []).push(f.name);
  }
  for (let i = 0; i < prepared.fields.length; i++) {
    const f = prepared.fields[i]!;
    if (prepared.values[i] === null && !f.nillable && f.type !== 'boolean' && !f.requiredOnCreate)
      (missing ??= []).push(f.name);
  }
  if (missing !== undefined) return { success: false, errors: [requiredMissing(missing)] };

  const refError = applyReferences(ctx, schema, prepared, row, undefined);
  if (refError !== undefined) return { success: false, errors: [refError] };
  const uniqueError = checkUnique(table, row, undefined);
  if (uniqueError !== undefined) return { success: false, errors: [uniqueError] };
  if (ctx.contention?.(table) === true)
    return { success: false, errors: [unableToLockRow(lockedParent(schema, row))] };
  if (schema.autoNumberField !== undefined)
    row[schema.autoNumberField.name] = String(table.autoNumber).padStart(8, '0');
  derive(schema, row, ctx.now);
  const hookError = runHook(ctx, schema, 'create', row);
  if (hookError !== undefined) return { success: false, errors: [hookError] };
  if (schema.autoNumberField !== undefined) table.autoNumber++;
  const id = ctx.env.store.ids.next(schema.keyPrefix);
  row.Id = id;
  table.insert(row, ctx.txn);
  return { success: true, id, errors: [] };
}

/**
 * Update one record by canonical id.
 * @param keyField upsert key: not subject to the updateable check when its value is unchanged
 */
export function updateRecord(
  ctx: DmlContext,
  table: Table,
  id: string,
  prepared: Prepared,
  keyField?: FieldInfo,
): SaveOutcome {
  const schema = table.schema;
  const stored = table.rows.get(id);
  if (stored === undefined) return { success: false, errors: [CROSS_REFERENCE()], notFound: true };
  if (stored.IsDeleted === true) return { success: false, id, errors: [ENTITY_IS_DELETED()] };
  let readOnly: string[] | undefined;
  for (let i = 0; i < prepared.fields.length; i++) {
    const f = prepared.fields[i]!;
    if (f.updateable) continue;
    if (f === keyField && prepared.values[i] === (stored[f.name] ?? null)) continue;
    (readOnly ??= []).push(f.name);
  }
  for (const r of prepared.rels) if (!r.field.updateable) (readOnly ??= []).push(r.field.name);
  if (readOnly !== undefined) return { success: false, id, errors: [notWritable(readOnly)] };
  if (prepared.valueError !== undefined) return { success: false, id, errors: [prepared.valueError] };

  const next: Row = { ...stored };
  // Reference fields whose value changes (only those need their target checked).
  let changed: Set<string> | undefined;
  let missing: string[] | undefined;
  for (let i = 0; i < prepared.fields.length; i++) {
    const f = prepared.fields[i]!;
    const v = prepared.values[i]!;
    if (v === null && !f.nillable && f.type !== 'boolean') (missing ??= []).push(f.name);
    if (f.type === 'reference' && (next[f.name] ?? null) !== v) (changed ??= new Set()).add(f.name);
    next[f.name] = v;
  }
  if (missing !== undefined) return { success: false, id, errors: [requiredMissing(missing)] };
  const refError = applyReferences(ctx, schema, prepared, next, changed ?? NO_CHANGES);
  if (refError !== undefined) return { success: false, id, errors: [refError] };
  const uniqueError = checkUnique(table, next, id, stored);
  if (uniqueError !== undefined) return { success: false, id, errors: [uniqueError] };
  const lockError =
    ctx.env.locks.check(table, id, stored, next) ??
    (ctx.contention?.(table) === true ? unableToLockRow(id) : undefined);
  if (lockError !== undefined) return { success: false, id, errors: [lockError] };
  derive(schema, next, ctx.now);
  const hookError = runHook(ctx, schema, 'update', next);
  if (hookError !== undefined) return { success: false, id, errors: [hookError] };
  const has = schema.has;
  if (has.lastModifiedDate) next.LastModifiedDate = ctx.now;
  if (has.lastModifiedBy) next.LastModifiedById = ctx.user.id;
  if (has.systemModstamp) next.SystemModstamp = ctx.now;
  table.replace(id, next, ctx.txn);
  return { success: true, id, errors: [] };
}

/** `<Object label> ID: id value of incorrect type: <value>` with fields ["Id"] (reference §3.2, §5.1). */
export function malformedRecordId(schema: ObjectSchema, value: unknown): RecordError {
  const shown = typeof value === 'string' ? value : JSON.stringify(value);
  const label = schema.byLower.get('id')?.label ?? `${schema.label} ID`;
  return recordError('MALFORMED_ID', `${label}: id value of incorrect type: ${shown}`, ['Id']);
}

/** Canonical id of `value` when it is a well-formed id of this object, else undefined. */
export function idOfObject(schema: ObjectSchema, value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const id = normalizeId(value);
  return id !== undefined && id.startsWith(schema.keyPrefix) ? id : undefined;
}

/** The key value an upsert record carries (stored form), or undefined when absent/null. */
export function upsertKeyValue(prepared: Prepared, keyField: FieldInfo): StoredValue | undefined {
  if (keyField.name === 'Id') {
    return prepared.idValue === null || prepared.idValue === undefined
      ? undefined
      : (prepared.idValue as StoredValue);
  }
  for (let i = 0; i < prepared.fields.length; i++) {
    if (prepared.fields[i] === keyField) {
      const v = prepared.values[i]!;
      return v === null ? undefined : v;
    }
  }
  return undefined;
}

/** Upsert one record by a key field (External ID, idLookup or Id), reference §3.2/§3.3. */
export function upsertRecord(
  ctx: DmlContext,
  table: Table,
  keyField: FieldInfo,
  prepared: Prepared,
): SaveOutcome {
  const schema = table.schema;
  const keyValue = upsertKeyValue(prepared, keyField);
  if (keyField.name === 'Id') {
    // reference §3.2: keyed by Id, a null Id creates the record.
    const noId = { ...prepared, idGiven: false, idValue: undefined };
    if (keyValue === undefined) return withCreated(createRecord(ctx, table, noId), true);
    const id = idOfObject(schema, keyValue);
    if (id === undefined) return { success: false, errors: [malformedRecordId(schema, keyValue)] };
    return withCreated(updateRecord(ctx, table, id, noId), false);
  }
  if (keyValue === undefined) {
    // [U] a record without a key value: the Bulk API answers MISSING_ARGUMENT "<field> not specified".
    return { success: false, errors: [recordError('MISSING_ARGUMENT', `${keyField.name} not specified`)] };
  }
  const ids = findByKey(table, keyField, keyValue, ctx.env.settings);
  if (ids.length > 1) return { success: false, errors: [duplicateExternalId(ids)] };
  if (ids.length === 0) return withCreated(createRecord(ctx, table, prepared), true);
  return withCreated(updateRecord(ctx, table, ids[0]!, prepared, keyField), false);
}

function withCreated(outcome: SaveOutcome, created: boolean): SaveOutcome {
  if (outcome.success) outcome.created = created;
  return outcome;
}

/**
 * Delete a record given any id string; reference §3.1, §3.2 (delete). Soft by default (recycle bin,
 * still visible to queryAll); `hard` for Bulk hardDelete.
 */
export function deleteRecord(
  ctx: DmlContext,
  rawId: string,
  expected?: ObjectSchema,
  hard = false,
): SaveOutcome {
  const id = normalizeId(rawId);
  if (id === undefined)
    return { success: false, errors: [recordError('MALFORMED_ID', `malformed id ${rawId}`)] };
  const table = ctx.env.store.tableOfId(id);
  if (
    table === undefined ||
    table.schema.describe === undefined ||
    (expected !== undefined && table.schema !== expected)
  ) {
    return { success: false, id, errors: [CROSS_REFERENCE()], notFound: true };
  }
  const stored = table.rows.get(id);
  if (stored === undefined) return { success: false, id, errors: [CROSS_REFERENCE()], notFound: true };
  if (stored.IsDeleted === true) return { success: false, id, errors: [ENTITY_IS_DELETED()] };
  const lockError =
    ctx.env.locks.check(table, id, stored, undefined) ??
    (ctx.contention?.(table) === true ? unableToLockRow(id) : undefined);
  if (lockError !== undefined) return { success: false, id, errors: [lockError] };
  if (hard) {
    table.hardDelete(id, ctx.txn);
    return { success: true, id, errors: [] };
  }
  const deleted: Row = { ...stored, IsDeleted: true };
  if (table.schema.has.systemModstamp) deleted.SystemModstamp = ctx.now;
  table.softDelete(id, deleted, ctx.txn);
  return { success: true, id, errors: [] };
}

/** The error every good record gets when allOrNone rolls a batch back (reference §3.2). */
export function rolledBack(): RecordError {
  return recordError(
    'ALL_OR_NONE_OPERATION_ROLLED_BACK',
    'Record rolled back because not all records were valid and the request was using AllOrNone header',
  );
}

/** Timestamp for a new transaction, in read format. */
export function transactionTime(): string {
  return formatDateTime(Date.now());
}

/**
 * Finds the records of one request (or one Bulk job) whose upsert key appears more than once:
 * reference §3.3, §4.3 DUPLICATE_VALUE "Duplicate external id specified: <value>". [U] every row sharing
 * the key fails ('all', default) or only the later ones ('later'), per settings.duplicateKeyRows. Keys
 * are fed one at a time, so a million-row Bulk job needs one map entry per distinct key and no more.
 */
export class DuplicateKeys {
  private readonly first = new Map<string, number>();
  private readonly found = new Map<number, StoredValue>();
  private readonly exact: boolean;

  constructor(
    private readonly keyField: FieldInfo,
    private readonly settings: EmulatorSettings,
  ) {
    this.exact = matchesExactly(keyField, settings);
  }

  /** The key of record `i` (its stored form; undefined or null when it has none). */
  add(i: number, value: StoredValue | undefined): void {
    if (value === undefined || value === null || this.keyField.name === 'Id') return;
    const k = this.exact && typeof value === 'string' ? value : (indexKey(this.keyField, value) ?? '');
    const first = this.first.get(k);
    if (first === undefined) {
      this.first.set(k, i);
      return;
    }
    if (this.settings.duplicateKeyRows === 'all') this.found.set(first, value);
    this.found.set(i, value);
  }

  /** Record index → its DUPLICATE_VALUE error. */
  errors(): Map<number, RecordError> {
    const result = new Map<number, RecordError>();
    for (const [i, value] of this.found) {
      result.set(
        i,
        recordError('DUPLICATE_VALUE', `Duplicate external id specified: ${String(value)}`, [
          this.keyField.name,
        ]),
      );
    }
    return result;
  }
}

/** {@link DuplicateKeys} over the keys of one request, in `keys` order. */
export function duplicateKeyRows(
  keys: Array<StoredValue | undefined>,
  keyField: FieldInfo,
  settings: EmulatorSettings,
): Map<number, RecordError> {
  const finder = new DuplicateKeys(keyField, settings);
  keys.forEach((v, i) => finder.add(i, v));
  return finder.errors();
}
