/**
 * Describe → a compiled schema per object: a case-insensitive field map, the required and defaulted
 * fields, the fields to index, and per-field value converters. Everything here is computed once
 * per object so per-record validation stays a few map lookups (the benchmark pushes 1,000,000
 * records through it).
 *
 * Value rules and error texts: reference §3 (writes), §5.2 (per-record codes), §6 (data formats).
 */
import type { DescribeJson } from './fixtures.js';
import { normalizeId } from './ids.js';
import type { RecordError } from './types.js';

/** A value as stored: strings (text, picklists, ids, dates, datetimes in read format), numbers, booleans. */
export type StoredValue = string | number | boolean | null;

/** One compiled field. */
export interface FieldInfo {
  name: string;
  label: string;
  type: string;
  length: number;
  precision: number;
  scale: number;
  digits: number;
  nillable: boolean;
  createable: boolean;
  updateable: boolean;
  defaultedOnCreate: boolean;
  externalId: boolean;
  idLookup: boolean;
  unique: boolean;
  caseSensitive: boolean;
  custom: boolean;
  filterable: boolean;
  /** Active values of a restricted picklist / multipicklist; null when unrestricted. */
  restrictedValues: Set<string> | null;
  /** Default applied on create, from Describe `defaultValue` (or the picklist value flagged default). */
  createDefault: StoredValue | undefined;
  referenceTo: string[];
  relationshipName: string | null;
  compoundFieldName: string | null;
  /** createable && !nillable && !defaultedOnCreate && not boolean (reference §2.3). */
  requiredOnCreate: boolean;
  /** Can identify a record in an upsert or a relationship lookup: External ID or idLookup (reference §3.3). */
  keyable: boolean;
  /** Kept in a value → ids index (unique, External ID or idLookup fields other than Id). */
  indexed: boolean;
  /** Text-like (compared case-insensitively in SOQL unless caseSensitive). */
  text: boolean;
  numeric: boolean;
}

/** A compound address field and its components (`BillingStreet` → `street`, …). */
export interface AddressCompound {
  name: string;
  components: Array<[key: string, field: string]>;
}

/** A compiled object. */
export interface ObjectSchema {
  name: string;
  label: string;
  keyPrefix: string;
  custom: boolean;
  describe: DescribeJson | undefined;
  fields: FieldInfo[];
  /** lower-case API name → field */
  byLower: Map<string, FieldInfo>;
  /** exact API name → field (fast path before lower-casing) */
  byName: Map<string, FieldInfo>;
  /** lower-case relationshipName → the reference field carrying it */
  relByLower: Map<string, FieldInfo>;
  requiredOnCreate: FieldInfo[];
  createDefaults: FieldInfo[];
  indexedFields: FieldInfo[];
  /** Record type ids from recordTypeInfos (valid values of RecordTypeId). */
  recordTypeIds: Set<string>;
  /** System fields present in this describe. */
  has: {
    owner: boolean;
    createdDate: boolean;
    createdBy: boolean;
    lastModifiedDate: boolean;
    lastModifiedBy: boolean;
    systemModstamp: boolean;
    isDeleted: boolean;
  };
  /** Contact/Lead: Name is computed from FirstName + LastName. */
  compoundName: boolean;
  /** Case: CaseNumber auto-number. */
  autoNumberField: FieldInfo | undefined;
  addresses: AddressCompound[];
  /** Boolean fields: read as false when never set. */
  booleanFields: FieldInfo[];
}

const TEXT_TYPES = new Set([
  'string',
  'textarea',
  'email',
  'phone',
  'url',
  'picklist',
  'multipicklist',
  'combobox',
  'encryptedstring',
  'id',
  'reference',
]);
const NUMERIC_TYPES = new Set(['int', 'long', 'double', 'currency', 'percent']);

function bool(v: unknown): boolean {
  return v === true;
}
function num(v: unknown): number {
  return typeof v === 'number' ? v : 0;
}
function str(v: unknown): string | null {
  return typeof v === 'string' ? v : null;
}

function compileField(raw: Record<string, unknown>): FieldInfo {
  const type = String(raw.type);
  const picklist = Array.isArray(raw.picklistValues)
    ? (raw.picklistValues as Array<Record<string, unknown>>)
    : [];
  const restricted = bool(raw.restrictedPicklist)
    ? new Set(picklist.filter((p) => p.active === true).map((p) => String(p.value)))
    : null;
  let createDefault: StoredValue | undefined;
  if (bool(raw.defaultedOnCreate)) {
    const dv = raw.defaultValue;
    if (typeof dv === 'string' || typeof dv === 'number' || typeof dv === 'boolean') createDefault = dv;
    else if (type === 'picklist') {
      const flagged = picklist.find((p) => p.defaultValue === true && p.active === true);
      if (flagged !== undefined) createDefault = String(flagged.value);
    }
  }
  if (type === 'boolean' && createDefault === undefined) {
    createDefault = raw.defaultValue === true;
  }
  const name = String(raw.name);
  const createable = bool(raw.createable);
  const nillable = bool(raw.nillable);
  const defaultedOnCreate = bool(raw.defaultedOnCreate);
  const externalId = bool(raw.externalId);
  const idLookup = bool(raw.idLookup);
  const unique = bool(raw.unique);
  return {
    name,
    label: typeof raw.label === 'string' ? raw.label : name,
    type,
    length: num(raw.length),
    precision: num(raw.precision),
    scale: num(raw.scale),
    digits: num(raw.digits),
    nillable,
    createable,
    updateable: bool(raw.updateable),
    defaultedOnCreate,
    externalId,
    idLookup,
    unique,
    caseSensitive: bool(raw.caseSensitive),
    custom: bool(raw.custom),
    filterable: raw.filterable !== false,
    restrictedValues: restricted,
    createDefault,
    referenceTo: Array.isArray(raw.referenceTo) ? (raw.referenceTo as unknown[]).map(String) : [],
    relationshipName: str(raw.relationshipName),
    compoundFieldName: str(raw.compoundFieldName),
    requiredOnCreate: createable && !nillable && !defaultedOnCreate && type !== 'boolean',
    keyable: externalId || idLookup,
    indexed: name !== 'Id' && (externalId || idLookup || unique),
    text: TEXT_TYPES.has(type),
    numeric: NUMERIC_TYPES.has(type),
  };
}

function lowerFirst(s: string): string {
  return s.length === 0 ? s : s[0]!.toLowerCase() + s.slice(1);
}

/** Field by API name, case-insensitively (exact spelling first: no allocation on the common path). */
export function fieldOf(schema: ObjectSchema, name: string): FieldInfo | undefined {
  return schema.byName.get(name) ?? schema.byLower.get(name.toLowerCase());
}

/** Compile a describe (or a synthetic field list) into an {@link ObjectSchema}. */
export function compileSchema(describe: DescribeJson, served: boolean): ObjectSchema {
  const fields = describe.fields.map(compileField);
  const byLower = new Map<string, FieldInfo>();
  const byName = new Map<string, FieldInfo>();
  const relByLower = new Map<string, FieldInfo>();
  for (const f of fields) {
    byLower.set(f.name.toLowerCase(), f);
    byName.set(f.name, f);
    if (f.type === 'reference' && f.relationshipName !== null)
      relByLower.set(f.relationshipName.toLowerCase(), f);
  }
  const names = new Set(fields.map((f) => f.name));
  const addresses: AddressCompound[] = [];
  for (const f of fields) {
    if (f.type !== 'address') continue;
    const prefix = f.name.endsWith('Address') ? f.name.slice(0, -'Address'.length) : f.name;
    const components = fields
      .filter((c) => c.compoundFieldName === f.name)
      .map((c): [string, string] => [lowerFirst(c.name.slice(prefix.length)), c.name]);
    addresses.push({ name: f.name, components });
  }
  const recordTypeIds = new Set<string>();
  const rtis = Array.isArray(describe.recordTypeInfos)
    ? (describe.recordTypeInfos as Array<Record<string, unknown>>)
    : [];
  for (const rti of rtis) if (typeof rti.recordTypeId === 'string') recordTypeIds.add(rti.recordTypeId);
  const nameField = byLower.get('name');
  return {
    name: describe.name,
    label: typeof describe.label === 'string' ? describe.label : describe.name,
    keyPrefix: typeof describe.keyPrefix === 'string' ? describe.keyPrefix : '',
    custom: describe.custom === true,
    describe: served ? describe : undefined,
    fields,
    byLower,
    byName,
    relByLower,
    requiredOnCreate: fields.filter((f) => f.requiredOnCreate),
    createDefaults: fields.filter(
      (f) => f.createDefault !== undefined && (f.defaultedOnCreate || f.type === 'boolean'),
    ),
    indexedFields: fields.filter((f) => f.indexed),
    recordTypeIds,
    has: {
      owner: names.has('OwnerId'),
      createdDate: names.has('CreatedDate'),
      createdBy: names.has('CreatedById'),
      lastModifiedDate: names.has('LastModifiedDate'),
      lastModifiedBy: names.has('LastModifiedById'),
      systemModstamp: names.has('SystemModstamp'),
      isDeleted: names.has('IsDeleted'),
    },
    compoundName:
      nameField !== undefined &&
      !nameField.createable &&
      byLower.get('lastname')?.compoundFieldName === 'Name' &&
      names.has('FirstName'),
    autoNumberField: fields.find((f) => f.name === 'CaseNumber'),
    addresses,
    booleanFields: fields.filter((f) => f.type === 'boolean'),
  };
}

/** A minimal User object (no fixture exists): enough for the integration user, OwnerId checks and Owner lookups. */
export function userDescribe(): DescribeJson {
  const field = (
    name: string,
    type: string,
    extra: Record<string, unknown> = {},
  ): Record<string, unknown> => ({
    name,
    label: name,
    type,
    length: type === 'string' || type === 'email' ? 80 : type === 'id' ? 18 : 0,
    nillable: true,
    createable: false,
    updateable: false,
    defaultedOnCreate: false,
    externalId: false,
    idLookup: false,
    unique: false,
    caseSensitive: false,
    custom: false,
    referenceTo: [],
    relationshipName: null,
    ...extra,
  });
  return {
    name: 'User',
    label: 'User',
    keyPrefix: '005',
    custom: false,
    fields: [
      field('Id', 'id', { idLookup: true, nillable: false, defaultedOnCreate: true }),
      field('Username', 'string', { idLookup: true, unique: true }),
      field('FirstName', 'string'),
      field('LastName', 'string'),
      field('Name', 'string'),
      field('Email', 'email'),
      field('IsActive', 'boolean', { nillable: false, defaultValue: true, defaultedOnCreate: true }),
      field('CreatedDate', 'datetime', { nillable: false, defaultedOnCreate: true }),
      field('LastModifiedDate', 'datetime', { nillable: false, defaultedOnCreate: true }),
      field('SystemModstamp', 'datetime', { nillable: false, defaultedOnCreate: true }),
    ],
  };
}

// ---------------------------------------------------------------------------------------------
// Values

/** A problem found while converting one value. */
export interface ValueProblem {
  /**
   * 'type': the JSON token has the wrong type/format for the field (JSON_PARSER_ERROR on single-record
   * calls, reference §3.1); 'value': a per-record validation error (STRING_TOO_LONG, …, reference §5.2).
   */
  kind: 'type' | 'value';
  error: RecordError;
  /** For 'type': Salesforce/Jackson type name and token kind, for the JSON_PARSER_ERROR message. */
  typeName?: string;
  token?: string;
}

/** Tag for problems, so converters can return either a value or a problem without allocating wrappers. */
export class Problem {
  constructor(readonly problem: ValueProblem) {}
}

const EMAIL =
  /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*@[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)+$/;
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
// reference §6: yyyy-MM-ddTHH:mm:ss(.SSS)?(Z|±HH:mm) — the offset needs its colon.
const DATETIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;
const TIME = /^(\d{2}):(\d{2})(?::(\d{2})(\.\d{1,3})?)?Z?$/;

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/** Salesforce's read format for datetimes: `2013-05-20T20:49:32.000+0000` (UTC, millis, offset without colon). */
export function formatDateTime(ms: number): string {
  return new Date(ms).toISOString().slice(0, 23) + '+0000';
}

/** Parse a write-format datetime; undefined when malformed (reference §6). */
export function parseDateTime(value: string): number | undefined {
  const m = DATETIME.exec(value);
  if (m === null) return undefined;
  const [, y, mo, d, h, mi, s] = m;
  const month = Number(mo);
  const day = Number(d);
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(Number(y), month)) return undefined;
  if (Number(h) > 23 || Number(mi) > 59 || Number(s) > 59) return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms;
}

/** True for a valid `yyyy-MM-dd`. */
export function isValidDate(value: string): boolean {
  const m = DATE.exec(value);
  if (m === null) return false;
  const month = Number(m[2]);
  const day = Number(m[3]);
  return month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth(Number(m[1]), month);
}

function typeProblem(field: FieldInfo, typeName: string, token: string, shown: string): Problem {
  return new Problem({
    kind: 'type',
    typeName,
    token,
    error: { statusCode: 'JSON_PARSER_ERROR', message: shown, fields: [field.name] },
  });
}

function valueProblem(statusCode: string, message: string, fields: string[]): Problem {
  return new Problem({ kind: 'value', error: { statusCode, message, fields } });
}

/** Jackson's token name for a JSON value (for JSON_PARSER_ERROR messages, reference §3.1). */
export function jsonTokenName(value: unknown): string {
  if (value === null) return 'VALUE_NULL';
  if (typeof value === 'string') return 'VALUE_STRING';
  if (typeof value === 'boolean') return value ? 'VALUE_TRUE' : 'VALUE_FALSE';
  if (typeof value === 'number') return Number.isInteger(value) ? 'VALUE_NUMBER_INT' : 'VALUE_NUMBER_FLOAT';
  if (Array.isArray(value)) return 'START_ARRAY';
  return 'START_OBJECT';
}

function typeNameOf(field: FieldInfo): string {
  switch (field.type) {
    case 'int':
      return 'int';
    case 'long':
      return 'long';
    case 'double':
    case 'currency':
    case 'percent':
      return 'double';
    case 'boolean':
      return 'boolean';
    case 'date':
      return 'date';
    case 'datetime':
      return 'datetime';
    case 'time':
      return 'time';
    default:
      return 'String';
  }
}

function wrongType(field: FieldInfo, value: unknown): Problem {
  const shown = typeof value === 'string' ? value : JSON.stringify(value);
  return typeProblem(field, typeNameOf(field), jsonTokenName(value), shown);
}

/** Per-record checks shared by REST and Bulk once a value has the right type (reference §5.2, §6). */
export function checkText(field: FieldInfo, value: string): string | Problem {
  // Length in UTF-16 units, as Java counts: Salesforce counts a surrogate pair (an emoji, 𠮟) as two
  // characters (Salesforce Help 005166849, "Surrogate Pair Characters Are Treated as Two Characters").
  if (field.length > 0 && value.length > field.length) {
    // reference §6: "<Field Label>: data value too large: <value> (max length=<n>)", fields [name]
    return valueProblem(
      'STRING_TOO_LONG',
      `${field.label}: data value too large: ${value} (max length=${field.length})`,
      [field.name],
    );
  }
  if (field.restrictedValues !== null) {
    const parts = field.type === 'multipicklist' ? value.split(';') : [value];
    for (const part of parts) {
      if (!field.restrictedValues.has(part)) {
        return valueProblem(
          'INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST',
          `${field.label}: bad value for restricted picklist field: ${part}`,
          [field.name],
        );
      }
    }
  }
  if (field.type === 'email' && value !== '' && !EMAIL.test(value)) {
    return valueProblem('INVALID_EMAIL_ADDRESS', `${field.label}: invalid email address: ${value}`, [
      field.name,
    ]);
  }
  return value;
}

function checkId(field: FieldInfo, value: string): string | Problem {
  const id = normalizeId(value);
  if (id === undefined) {
    return valueProblem('MALFORMED_ID', `${field.label}: id value of incorrect type: ${value}`, [field.name]);
  }
  return id;
}

/**
 * [U] reference §6: values beyond precision/scale → NUMBER_OUTSIDE_VALID_RANGE "value outside of valid
 * range on numeric field"; extra decimals are rounded to the scale.
 */
function checkNumber(field: FieldInfo, value: number): number | Problem {
  if (field.type === 'int' || field.type === 'long') {
    const digits = field.digits > 0 ? field.digits : 18;
    if (Math.abs(value) >= 10 ** digits) {
      return valueProblem(
        'NUMBER_OUTSIDE_VALID_RANGE',
        `${field.label}: value outside of valid range on numeric field: ${value}`,
        [field.name],
      );
    }
    return value;
  }
  if (field.precision > 0) {
    const intDigits = field.precision - field.scale;
    if (Math.abs(value) >= 10 ** intDigits) {
      return valueProblem(
        'NUMBER_OUTSIDE_VALID_RANGE',
        `${field.label}: value outside of valid range on numeric field: ${value}`,
        [field.name],
      );
    }
    const factor = 10 ** field.scale;
    return Math.round(value * factor) / factor;
  }
  return value;
}

function normalizeTime(value: string): string | undefined {
  const m = TIME.exec(value);
  if (m === null) return undefined;
  const [, h, mi, s, frac] = m;
  if (Number(h) > 23 || Number(mi) > 59 || Number(s ?? '0') > 59) return undefined;
  const millis = (frac ?? '.000').slice(1).padEnd(3, '0');
  return `${h}:${mi}:${s ?? '00'}.${millis}Z`;
}

/**
 * Convert a JSON value for a field into its stored form. `null` is handled by the caller.
 * @param coerce accept strings for numbers/booleans (setting coerceStringsToScalars)
 */
export function convertJson(field: FieldInfo, value: unknown, coerce: boolean): StoredValue | Problem {
  switch (field.type) {
    case 'boolean':
      if (typeof value === 'boolean') return value;
      if (coerce && typeof value === 'string' && /^(true|false)$/i.test(value))
        return value.toLowerCase() === 'true';
      return wrongType(field, value);
    case 'int':
    case 'long':
    case 'double':
    case 'currency':
    case 'percent': {
      let n: number | undefined;
      if (typeof value === 'number' && Number.isFinite(value)) n = value;
      else if (coerce && typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value))) {
        n = Number(value);
      }
      if (n === undefined) return wrongType(field, value);
      if ((field.type === 'int' || field.type === 'long') && !Number.isInteger(n))
        return wrongType(field, value);
      return checkNumber(field, n);
    }
    case 'date':
      if (typeof value === 'string' && isValidDate(value)) return value;
      return wrongType(field, value);
    case 'datetime': {
      if (typeof value !== 'string') return wrongType(field, value);
      const ms = parseDateTime(value);
      return ms === undefined ? wrongType(field, value) : formatDateTime(ms);
    }
    case 'time': {
      const t = typeof value === 'string' ? normalizeTime(value) : undefined;
      return t === undefined ? wrongType(field, value) : t;
    }
    case 'id':
    case 'reference':
      if (typeof value !== 'string') return wrongType(field, value);
      return checkId(field, value);
    case 'address':
    case 'location':
    case 'anyType':
    case 'complexvalue':
    case 'json':
      // Read-only compounds: never reach storage (not createable/updateable), keep as given.
      return typeof value === 'object' ? JSON.stringify(value) : (value as StoredValue);
    default: {
      // Text-like. Jackson turns a JSON number/boolean into its text; objects/arrays are a type error.
      let s: string;
      if (typeof value === 'string') s = value;
      else if (typeof value === 'number' || typeof value === 'boolean') s = String(value);
      else return wrongType(field, value);
      return checkText(field, s);
    }
  }
}

/**
 * Convert a Bulk API 2.0 CSV cell (reference §4.3). Empty cells and `#N/A` are handled by the caller.
 * A malformed value gives the Bulk deserialization message seen in the wild:
 * "Failed to deserialize field at col <n>. Due to, '<v>' is not a valid value for the type xsd:<t>".
 */
export function convertCsv(field: FieldInfo, value: string, column: number): StoredValue | Problem {
  const bad = (xsd: string): Problem =>
    valueProblem(
      // [U] the status code of this row error is not recorded; INVALID_FIELD is the closest documented code.
      'INVALID_FIELD',
      `Failed to deserialize field at col ${column}. Due to, '${value}' is not a valid value for the type xsd:${xsd}`,
      [field.name],
    );
  switch (field.type) {
    case 'boolean': {
      const v = value.toLowerCase();
      if (v === 'true' || v === '1') return true;
      if (v === 'false' || v === '0') return false;
      return bad('boolean');
    }
    case 'int':
    case 'long':
    case 'double':
    case 'currency':
    case 'percent': {
      const n = Number(value);
      if (value.trim() === '' || !Number.isFinite(n)) return bad(field.type === 'int' ? 'int' : 'double');
      if ((field.type === 'int' || field.type === 'long') && !Number.isInteger(n)) return bad('int');
      return checkNumber(field, n);
    }
    case 'date':
      return isValidDate(value) ? value : bad('date');
    case 'datetime': {
      const ms = parseDateTime(value);
      return ms === undefined ? bad('dateTime') : formatDateTime(ms);
    }
    case 'time': {
      const t = normalizeTime(value);
      return t === undefined ? bad('time') : t;
    }
    case 'id':
    case 'reference':
      return checkId(field, value);
    default:
      return checkText(field, value);
  }
}

/** Normalized index key of a stored value (text lower-cased unless the field is case-sensitive). */
export function indexKey(field: FieldInfo, value: StoredValue): string | undefined {
  if (value === null || value === '') return undefined;
  if (typeof value === 'number') return String(value);
  if (typeof value === 'boolean') return String(value);
  return field.caseSensitive || field.type === 'id' || field.type === 'reference'
    ? value
    : value.toLowerCase();
}
