/**
 * Value conversion by Describe field type: one converter per field, built once per stream, called
 * once per value. A converter turns what a JSON record carries (strings, numbers, booleans, arrays,
 * objects) into what Salesforce's REST API accepts for that type, or refuses it with the error code and
 * message form Salesforce itself would answer, so a bad row costs no API call.
 *
 * Formats: ../../../shared/reference/salesforce-api.md §6 ("Valid Date and DateTime Formats",
 * https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/intro_valid_date_formats.htm);
 * error codes and messages: same file §5.2.
 */
import { canonicalId } from '../salesforce/ids.js';
import type { DescribeField, SalesforceRecordError } from '../salesforce/types.js';

/** A value a converter refused, carrying the per-record error Salesforce would have answered. */
export class Rejection {
  constructor(readonly error: SalesforceRecordError) {}
}

/**
 * Converts one value that is neither null nor an empty string (the caller handles those through its
 * null rule). Returns the value to send; `null` when the value amounts to none (an empty multi-select
 * list), so the caller applies its null rule; or a {@link Rejection}. Success allocates nothing beyond
 * the converted value itself.
 */
export type Converter = (value: unknown) => unknown;

/** Longest echo of a bad value inside an error message: a 32,000-character text must not flood the logs. */
const ECHO_MAX = 100;

/** The value as an error message quotes it, cut to {@link ECHO_MAX} characters with an ellipsis. */
export function echo(value: unknown): string {
  const text =
    typeof value === 'string'
      ? value
      : typeof value === 'object' && value !== null
        ? jsonPreview(value, ECHO_MAX + 1)
        : String(value);
  return text.length > ECHO_MAX ? `${text.slice(0, ECHO_MAX)}…` : text;
}

/**
 * The first `max` characters (or so) of a value's JSON text, without serialising the rest: a value
 * from a source may be megabytes long or nested thousands deep, where JSON.stringify, which
 * recurses, throws RangeError. Walks with its own stack and stops as soon as it has enough.
 */
export function jsonPreview(value: unknown, max: number): string {
  let out = '';
  // Each frame: an array (items read by index) or an object (its keys), and the next position.
  const stack: Array<{
    array: unknown[] | undefined;
    object: Record<string, unknown>;
    keys: string[];
    at: number;
  }> = [];
  let next: unknown = value;
  let pending = true;
  while (out.length < max) {
    if (pending) {
      pending = false;
      if (Array.isArray(next)) {
        out += '[';
        stack.push({ array: next, object: {}, keys: [], at: 0 });
      } else if (next !== null && typeof next === 'object') {
        out += '{';
        const object = next as Record<string, unknown>;
        stack.push({ array: undefined, object, keys: Object.keys(object), at: 0 });
      } else {
        out += next === undefined ? 'null' : (JSON.stringify(next) ?? 'null');
      }
      continue;
    }
    const frame = stack[stack.length - 1];
    if (frame === undefined) break;
    const size = frame.array === undefined ? frame.keys.length : frame.array.length;
    if (frame.at >= size) {
      out += frame.array === undefined ? '}' : ']';
      stack.pop();
      continue;
    }
    if (frame.at > 0) out += ',';
    if (frame.array === undefined) {
      const key = frame.keys[frame.at]!;
      out += `${JSON.stringify(key)}:`;
      next = frame.object[key];
    } else next = frame.array[frame.at];
    frame.at += 1;
    pending = true;
  }
  return out;
}

/** One per-record error for one field, in Salesforce's shape. */
export function recordError(statusCode: string, message: string, field?: string): Rejection {
  return new Rejection({ statusCode, message, fields: field === undefined ? [] : [field] });
}

/**
 * `INVALID_TYPE_ON_FIELD_IN_RECORD` as an org words it: `<Label>: value not of required type: <value>`
 * (reference §5.2).
 */
export function invalidType(field: DescribeField, value: unknown, errorField = field.name): Rejection {
  return recordError(
    'INVALID_TYPE_ON_FIELD_IN_RECORD',
    `${field.label}: value not of required type: ${echo(value)}`,
    errorField,
  );
}

/**
 * A null checkbox: Salesforce booleans are never null, and an org answers a null with the bare
 * `<Label>: value not of required type` (no value to quote; reference §5.2).
 */
export function nullCheckbox(field: DescribeField): SalesforceRecordError {
  return {
    statusCode: 'INVALID_TYPE_ON_FIELD_IN_RECORD',
    message: `${field.label}: value not of required type`,
    fields: [field.name],
  };
}

/** `REQUIRED_FIELD_MISSING` listing every missing field, as Salesforce lists them (reference §3.4, §5.2). */
export function requiredFieldsMissing(names: readonly string[]): SalesforceRecordError {
  return {
    statusCode: 'REQUIRED_FIELD_MISSING',
    message: `Required fields are missing: [${names.join(', ')}]`,
    fields: [...names],
  };
}

function outOfRange(field: DescribeField, value: unknown, errorField: string): Rejection {
  return recordError(
    'NUMBER_OUTSIDE_VALID_RANGE',
    `${field.label}: value outside of valid range on numeric field: ${echo(value)}`,
    errorField,
  );
}

function tooLong(field: DescribeField, value: string, errorField: string): Rejection {
  return recordError(
    'STRING_TOO_LONG',
    `${field.label}: data value too large: ${echo(value)} (max length=${field.length})`,
    errorField,
  );
}

function badPicklistValue(field: DescribeField, value: string, errorField: string): Rejection {
  return recordError(
    'INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST',
    `${field.label}: bad value for restricted picklist field: ${echo(value)}`,
    errorField,
  );
}

/** `MALFORMED_ID`: `Contact ID: id value of incorrect type: 001xx000003DGb2999` (reference §3.2). */
export function malformedId(field: DescribeField, value: unknown, errorField = field.name): Rejection {
  return recordError(
    'MALFORMED_ID',
    `${field.label}: id value of incorrect type: ${echo(value)}`,
    errorField,
  );
}

/** Scalars read as text; objects and arrays are not text. */
function toText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return undefined;
}

/** Decimal notation with optional exponent, surrounded by optional blanks: no `$`, no `,`, no hex, no `Infinity`. */
const NUMERIC = /^\s*[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?\s*$/;

/** A JSON number, or a number in a string (warehouses often send numerics as strings); NaN when neither. */
function toNumber(value: unknown): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'string' && NUMERIC.test(value)) return Number(value);
  return NaN;
}

/** Lengths are UTF-16 units, as Salesforce counts them: an emoji is two characters (Salesforce Help 005166849). */
function textConverter(field: DescribeField, errorField: string): Converter {
  const max = field.length > 0 ? field.length : Infinity;
  return (value) => {
    const text = toText(value);
    if (text === undefined) return invalidType(field, value, errorField);
    return text.length > max ? tooLong(field, text, errorField) : text;
  };
}

/**
 * Only active values pass, compared exactly: the API names of picklist values are what Describe
 * lists, and matching them case-insensitively would send a value whose case the org may not keep.
 */
function activeValues(field: DescribeField): Set<string> {
  return new Set(field.picklistValues.filter((p) => p.active).map((p) => p.value));
}

function restrictedPicklistConverter(field: DescribeField, errorField: string): Converter {
  const allowed = activeValues(field);
  return (value) => {
    const text = toText(value);
    if (text === undefined) return invalidType(field, value, errorField);
    return allowed.has(text) ? text : badPicklistValue(field, text, errorField);
  };
}

/**
 * A sensible check, not RFC 5322: one `@`, no blanks, a dotted domain, no empty or doubled dots. It
 * refuses what no org accepts and leaves the finer rules to Salesforce.
 */
const EMAIL = /^[^\s@.]+(?:\.[^\s@.]+)*@[^\s@.]+(?:\.[^\s@.]+)+$/;

function emailConverter(field: DescribeField, errorField: string): Converter {
  const max = field.length > 0 ? field.length : Infinity;
  return (value) => {
    const text = toText(value);
    if (text === undefined) return invalidType(field, value, errorField);
    if (!EMAIL.test(text)) {
      return recordError(
        'INVALID_EMAIL_ADDRESS',
        `${field.label}: invalid email address: ${echo(text)}`,
        errorField,
      );
    }
    return text.length > max ? tooLong(field, text, errorField) : text;
  };
}

/**
 * Multi-select values travel as one `;`-joined string (reference §6). Items are trimmed, empty ones
 * dropped and repeats removed in first-seen order; no item at all means no value (null).
 */
function multipicklistConverter(field: DescribeField, errorField: string): Converter {
  const allowed = field.restrictedPicklist ? activeValues(field) : undefined;
  const max = field.length > 0 ? field.length : Infinity;
  return (value) => {
    let items: unknown[];
    if (typeof value === 'string') items = value.split(';');
    else if (Array.isArray(value)) items = value;
    else return invalidType(field, value, errorField);
    const kept: string[] = [];
    for (const item of items) {
      const raw = toText(item);
      if (raw === undefined) return invalidType(field, value, errorField);
      const text = raw.trim();
      if (text === '' || kept.includes(text)) continue;
      if (allowed !== undefined && !allowed.has(text)) return badPicklistValue(field, text, errorField);
      kept.push(text);
    }
    if (kept.length === 0) return null;
    const joined = kept.join(';');
    return joined.length > max ? tooLong(field, joined, errorField) : joined;
  };
}

function booleanConverter(field: DescribeField, errorField: string): Converter {
  return (value) => {
    if (typeof value === 'boolean') return value;
    if (value === 1) return true;
    if (value === 0) return false;
    if (typeof value === 'string') {
      switch (value.trim().toLowerCase()) {
        case 'true':
        case '1':
        case 'yes':
          return true;
        case 'false':
        case '0':
        case 'no':
          return false;
      }
    }
    return invalidType(field, value, errorField);
  };
}

/** Largest Apex Integer; Describe gives `digits` 0 for some int fields, and the type is 32-bit. */
const INT32_MAX = 2147483647;

/**
 * `int` and `long`: whole numbers only ("1e3" and "12.0" are whole), within ±(10^digits − 1) when
 * Describe gives digits. A `long` also has to stay a safe JavaScript integer, or the value would change
 * before it is serialised.
 */
function integerConverter(field: DescribeField, errorField: string, ceiling: number): Converter {
  const max = field.digits > 0 ? Math.min(10 ** field.digits - 1, ceiling) : ceiling;
  return (value) => {
    const n = toNumber(value);
    if (Number.isNaN(n)) return invalidType(field, value, errorField);
    if (!Number.isFinite(n)) return outOfRange(field, value, errorField);
    if (!Number.isInteger(n)) return invalidType(field, value, errorField);
    return n > max || n < -max ? outOfRange(field, value, errorField) : n;
  };
}

/**
 * `double`, `currency`, `percent`: the integer part must fit `precision − scale` digits when Describe
 * gives a precision. Decimals beyond `scale` are left to Salesforce, which rounds them.
 */
function decimalConverter(field: DescribeField, errorField: string): Converter {
  const limit = field.precision > 0 ? 10 ** (field.precision - field.scale) : Infinity;
  return (value) => {
    const n = toNumber(value);
    if (Number.isNaN(n)) return invalidType(field, value, errorField);
    return Number.isFinite(n) && Math.abs(n) < limit ? n : outOfRange(field, value, errorField);
  };
}

const DAYS_IN_MONTH = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** Two ASCII digits at `at` as a number (the string has been matched against a digits pattern first). */
function twoDigits(text: string, at: number): number {
  return (text.charCodeAt(at) - 48) * 10 + text.charCodeAt(at + 1) - 48;
}

/** A real calendar date in `yyyy-MM-dd…` (leap years included); the shape is already matched. */
function isCalendarDate(text: string): boolean {
  const year = twoDigits(text, 0) * 100 + twoDigits(text, 2);
  const month = twoDigits(text, 5);
  const day = twoDigits(text, 8);
  if (month < 1 || month > 12 || day < 1) return false;
  if (month === 2 && day === 29) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  return day <= (DAYS_IN_MONTH[month - 1] ?? 0);
}

/**
 * `yyyy-MM-dd`, or a date-time at exactly midnight UTC (how warehouses often export dates). Any other
 * time or offset would make the date depend on a time zone, so it is refused rather than guessed.
 */
const DATE = /^\d{4}-\d{2}-\d{2}(?:[T ]00:00(?::00(?:\.0{1,9})?)?(?:Z|[+-]00:?00)?)?$/;

function dateConverter(field: DescribeField, errorField: string): Converter {
  return (value) => {
    if (typeof value !== 'string' || !DATE.test(value) || !isCalendarDate(value)) {
      return invalidType(field, value, errorField);
    }
    return value.length === 10 ? value : value.slice(0, 10);
  };
}

/** Already in the form Salesforce documents: sent as it is, after the range checks. */
const DATETIME_CANONICAL = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{3})?(?:Z|[+-]\d{2}:\d{2})$/;

/**
 * What else is accepted and rewritten: a space or `t` for `T`, no seconds, 1–9 fraction digits (cut to
 * milliseconds), `z`, an offset without colon (`+0200`, which Salesforce answers with JSON_PARSER_ERROR,
 * reference §6) or hours only (`+02`), or no offset at all — read as UTC, as Airbyte treats a timestamp
 * without time zone (https://docs.airbyte.com/platform/understanding-airbyte/supported-data-types).
 */
const DATETIME =
  /^(\d{4}-\d{2}-\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?(?:([Zz])|([+-])(\d{2})(?::?(\d{2}))?)?$/;

function isClock(hours: number, minutes: number, seconds: number): boolean {
  return hours <= 23 && minutes <= 59 && seconds <= 59;
}

/** `yyyy-MM-ddTHH:mm:ss[.SSS](Z|±HH:mm)`, or undefined when the value is no valid date-time. */
function normaliseDatetime(text: string): string | undefined {
  if (DATETIME_CANONICAL.test(text)) {
    if (!isCalendarDate(text) || !isClock(twoDigits(text, 11), twoDigits(text, 14), twoDigits(text, 17))) {
      return undefined;
    }
    const last = text.length - 1;
    if (text.charCodeAt(last) === 90 /* Z */) return text;
    return twoDigits(text, last - 4) <= 18 && twoDigits(text, last - 1) <= 59 ? text : undefined;
  }
  const m = DATETIME.exec(text);
  if (m === null) return undefined;
  const [, date = '', hh = '', mm = '', ss = '00', fraction, , sign, offsetHours, offsetMinutes = '00'] = m;
  if (!isCalendarDate(date) || !isClock(Number(hh), Number(mm), Number(ss))) return undefined;
  let offset = 'Z';
  if (sign !== undefined && offsetHours !== undefined) {
    if (Number(offsetHours) > 18 || Number(offsetMinutes) > 59) return undefined;
    offset = `${sign}${offsetHours}:${offsetMinutes}`;
  }
  const millis = fraction === undefined ? '' : `.${fraction.padEnd(3, '0').slice(0, 3)}`;
  return `${date}T${hh}:${mm}:${ss}${millis}${offset}`;
}

/** Numbers are refused: seconds or milliseconds since the epoch cannot be told apart. */
function datetimeConverter(field: DescribeField, errorField: string): Converter {
  return (value) => {
    const normalised = typeof value === 'string' ? normaliseDatetime(value) : undefined;
    return normalised ?? invalidType(field, value, errorField);
  };
}

const TIME_CANONICAL = /^\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const TIME = /^(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?[Zz]?$/;

/** Time fields take `HH:mm:ss.SSSZ`, not adjusted for any time zone (reference §6). */
function timeConverter(field: DescribeField, errorField: string): Converter {
  return (value) => {
    if (typeof value !== 'string') return invalidType(field, value, errorField);
    if (TIME_CANONICAL.test(value)) {
      return isClock(twoDigits(value, 0), twoDigits(value, 3), twoDigits(value, 6))
        ? value
        : invalidType(field, value, errorField);
    }
    const m = TIME.exec(value);
    if (m === null) return invalidType(field, value, errorField);
    const [, hh = '', mm = '', ss = '00', fraction = ''] = m;
    if (!isClock(Number(hh), Number(mm), Number(ss))) return invalidType(field, value, errorField);
    return `${hh}:${mm}:${ss}.${fraction.padEnd(3, '0').slice(0, 3)}Z`;
  };
}

const ID_SHAPE = /^[a-zA-Z0-9]{15}(?:[a-zA-Z0-5]{3})?$/;

function isUpper(code: number): boolean {
  return code >= 65 && code <= 90;
}

function isLetter(code: number): boolean {
  return isUpper(code) || (code >= 97 && code <= 122);
}

/**
 * The 18-character suffix encodes, per 5-character chunk, which characters are upper-case letters
 * (bit i set → character i is A–Z; 0–25 → A–Z, 26–31 → 0–5). An id whose body mixes cases has kept its
 * case, so the suffix must agree exactly. An all-lower or all-upper body is an id whose case was lost
 * (18-character ids are documented as case-insensitive, and Salesforce restores the case from the
 * suffix), so then only letters may be flagged: a flagged digit is never valid.
 */
function isValidId(text: string): boolean {
  if (!ID_SHAPE.test(text)) return false;
  if (text.length === 15) return true;
  let upper = false;
  let lower = false;
  for (let i = 0; i < 15; i++) {
    const code = text.charCodeAt(i);
    if (isUpper(code)) upper = true;
    else if (isLetter(code)) lower = true;
  }
  const caseKept = upper && lower;
  for (let chunk = 0; chunk < 3; chunk++) {
    const suffix = text.charCodeAt(15 + chunk) & ~32; // letters to upper case; '0'–'5' become 16–21
    const bits = suffix >= 65 ? suffix - 65 : suffix - 16 + 26;
    for (let j = 0; j < 5; j++) {
      const code = text.charCodeAt(chunk * 5 + j);
      const flagged = ((bits >> j) & 1) === 1;
      if (flagged && !isLetter(code)) return false;
      if (caseKept && flagged !== isUpper(code)) return false;
    }
  }
  return true;
}

/** Ids and lookups by Id: 15 or 18 characters, any other text is `MALFORMED_ID`. */
/**
 * Record Ids. For the object's own Id (`keyPrefix` given: update and remove by Id), an Id whose
 * three-character key prefix names another object is refused here, before any call: a collection
 * delete takes bare Ids with no object, so a Contact stream handed an Account's Id would delete the
 * Account (reference §2: Describe's keyPrefix names the object of every record Id).
 */
function idConverter(field: DescribeField, errorField: string, keyPrefix?: string | null): Converter {
  return (value) => {
    const text = toText(value);
    if (text === undefined) return invalidType(field, value, errorField);
    if (!isValidId(text)) return malformedId(field, text, errorField);
    if (keyPrefix && !canonicalId(text).startsWith(keyPrefix)) return malformedId(field, text, errorField);
    return text;
  };
}

/** Standard base64 alphabet with padding, no line breaks. */
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function base64Converter(field: DescribeField, errorField: string): Converter {
  return (value) =>
    typeof value === 'string' && BASE64.test(value) ? value : invalidType(field, value, errorField);
}

/** Types the connector does not model (json, complexvalue, …) travel as they are; Salesforce judges them. */
const passThrough: Converter = (value) => value;

/**
 * The converter for one field, chosen by its Describe type. `errorField` is the API name errors name in
 * `fields` (a lookup's reference field, when the value is for a parent's External ID field).
 */
export function converterFor(
  field: DescribeField,
  errorField = field.name,
  /** The object's key prefix (Describe `keyPrefix`), which its own record Ids start with. */
  keyPrefix?: string | null,
): Converter {
  switch (field.type) {
    case 'string':
    case 'textarea':
    case 'phone':
    case 'url':
    case 'combobox':
    case 'encryptedstring':
    case 'anyType':
      return textConverter(field, errorField);
    case 'picklist':
      return field.restrictedPicklist
        ? restrictedPicklistConverter(field, errorField)
        : textConverter(field, errorField);
    case 'email':
      return emailConverter(field, errorField);
    case 'multipicklist':
      return multipicklistConverter(field, errorField);
    case 'boolean':
      return booleanConverter(field, errorField);
    case 'int':
      return integerConverter(field, errorField, INT32_MAX);
    case 'long':
      return integerConverter(field, errorField, Number.MAX_SAFE_INTEGER);
    case 'double':
    case 'currency':
    case 'percent':
      return decimalConverter(field, errorField);
    case 'date':
      return dateConverter(field, errorField);
    case 'datetime':
      return datetimeConverter(field, errorField);
    case 'time':
      return timeConverter(field, errorField);
    case 'id':
      return idConverter(field, errorField, keyPrefix);
    case 'reference':
      return idConverter(field, errorField);
    case 'base64':
      return base64Converter(field, errorField);
    default:
      return passThrough;
  }
}
