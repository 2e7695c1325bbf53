/**
 * SOQL (reference §5.4): literal quoting that no key value can escape, paged queries that follow
 * `nextRecordsUrl`, and Id look-ups by a key field batched five queries per Composite call.
 */
import { compositeGets } from './composite.js';
import { parseErrorBody, SalesforceApiError } from './errors.js';
import type { RequestCounter, SalesforceHttp } from './http.js';
import type { QueryResult } from './types.js';

/**
 * A SOQL string literal. SOQL's escapes: \' \" \\ \n \r \t \b \f
 * (https://developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/soql_sosl/sforce_api_calls_soql_select_quotedstringescapes.htm).
 */
export function soqlQuote(value: string): string {
  let out = "'";
  for (const ch of value) {
    switch (ch) {
      case '\\':
        out += '\\\\';
        break;
      case "'":
        out += "\\'";
        break;
      case '"':
        out += '\\"';
        break;
      case '\n':
        out += '\\n';
        break;
      case '\r':
        out += '\\r';
        break;
      case '\t':
        out += '\\t';
        break;
      case '\b':
        out += '\\b';
        break;
      case '\f':
        out += '\\f';
        break;
      default:
        out += ch;
    }
  }
  return out + "'";
}

/** Numeric Describe types, whose literals are not quoted. */
const NUMERIC = new Set(['double', 'int', 'long', 'currency', 'percent']);

/** The Describe facts a literal depends on. */
export interface LiteralField {
  type: string;
  /** Digits after the point a number field keeps (Describe `scale`). */
  scale?: number | undefined;
}

/**
 * A number as Salesforce holds it and SOQL reads it: rounded to the field's scale (Salesforce
 * rounds extra decimals when it saves, reference §6), in plain decimal notation — String(0.0000001)
 * is "1e-7", which SOQL refuses as MALFORMED_QUERY — without trailing zeros.
 */
export function plainDecimal(n: number, scale?: number): string {
  // From the shortest decimal form of the number (what was sent), never from its binary value:
  // (1234567890.12).toFixed(8) is "1234567890.11999989", and Salesforce compares decimals.
  let text = withoutExponent(String(n));
  if (scale !== undefined && scale >= 0) text = roundHalfUp(text, scale);
  if (text.includes('.')) text = text.replace(/\.?0+$/, '');
  return text === '-0' || text === '' ? '0' : text;
}

/** A plain decimal string rounded to `scale` digits after the point, half away from zero (as Java's HALF_UP). */
function roundHalfUp(text: string, scale: number): string {
  const negative = text.startsWith('-');
  const [whole = '0', fraction = ''] = (negative ? text.slice(1) : text).split('.');
  if (fraction.length <= scale) return text;
  const kept = whole + fraction.slice(0, scale);
  let digits = kept;
  if (fraction.charCodeAt(scale) >= 53 /* '5' */) {
    // Add one in the last kept place, carrying leftwards.
    const out = kept.split('');
    let i = out.length - 1;
    for (; i >= 0; i -= 1) {
      if (out[i] === '9') out[i] = '0';
      else {
        out[i] = String(Number(out[i]) + 1);
        break;
      }
    }
    digits = (i < 0 ? '1' : '') + out.join('');
  }
  const point = digits.length - scale;
  const rounded = scale === 0 ? digits : `${digits.slice(0, point) || '0'}.${digits.slice(point)}`;
  return negative ? `-${rounded}` : rounded;
}

/** JavaScript's shortest form of a number ("1.5e-7", "1e+21") with the point moved instead: exact. */
function withoutExponent(text: string): string {
  const match = /^(-?)(\d+)(?:\.(\d+))?e([+-]\d+)$/.exec(text);
  if (match === null) return text;
  const [, sign, whole, fraction = '', exponent] = match;
  const digits = whole! + fraction;
  const point = whole!.length + Number(exponent);
  if (point <= 0) return `${sign}0.${'0'.repeat(-point)}${digits}`;
  if (point >= digits.length) return `${sign}${digits}${'0'.repeat(point - digits.length)}`;
  return `${sign}${digits.slice(0, point)}.${digits.slice(point)}`;
}

/** A literal for a value of a field; undefined when the value cannot be one. */
export function soqlLiteral(value: string, field: LiteralField): string | undefined {
  if (NUMERIC.has(field.type)) {
    const n = Number(value.trim());
    return value.trim() !== '' && Number.isFinite(n) ? plainDecimal(n, field.scale) : undefined;
  }
  return soqlQuote(value);
}

/** SOQL identifiers are API names; anything else is refused rather than spliced into a query. */
export function soqlIdentifier(name: string): string {
  if (!/^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)?$/.test(name)) {
    throw new RangeError(`"${name}" is not a Salesforce API name`);
  }
  return name;
}

/** Yields query result pages (with totalSize), following nextRecordsUrl until done. */
export async function* queryPages<T = Record<string, unknown>>(
  http: SalesforceHttp,
  soql: string,
  options: { all?: boolean; counter?: RequestCounter } = {},
): AsyncGenerator<QueryResult<T>> {
  let path: string | undefined = `/${options.all ? 'queryAll' : 'query'}/?q=${encodeURIComponent(soql)}`;
  while (path !== undefined) {
    const response: { body: QueryResult<T> } = await http.request<QueryResult<T>>({
      method: 'GET',
      path,
      idempotent: true,
      kind: 'query',
      ...(options.counter ? { counter: options.counter } : {}),
    });
    yield response.body;
    path = response.body.done ? undefined : response.body.nextRecordsUrl;
  }
}

/** A record found by a key: its Id and the key value Salesforce holds. */
export interface KeyMatch {
  Id: string;
  value: string;
}

/** Keeps each query's URL well under the 16,384-byte limit (reference §3.2: 414 above it). */
const MAX_QUERY_URL = 12_000;

/**
 * Finds the Ids of the records whose `field` equals one of `values`, five queries per Composite call.
 * Returns matches keyed by the value as Salesforce holds it; the caller compares with the field's
 * case rules. Values that cannot be literals of the field's type match nothing.
 */
export async function lookupIds(
  http: SalesforceHttp,
  object: string,
  field: LiteralField & { name: string },
  values: readonly string[],
  counter?: RequestCounter,
): Promise<KeyMatch[]> {
  const obj = soqlIdentifier(object);
  const f = soqlIdentifier(field.name);
  const prefix = `SELECT Id, ${f} FROM ${obj} WHERE ${f} IN (`;
  const queries: string[] = [];
  let literals: string[] = [];
  let length = encodeURIComponent(prefix).length + 30;
  for (const value of new Set(values)) {
    const literal = soqlLiteral(value, field);
    if (literal === undefined) continue;
    const cost = encodeURIComponent(literal).length + 3;
    if (literals.length > 0 && length + cost > MAX_QUERY_URL) {
      queries.push(`${prefix}${literals.join(',')})`);
      literals = [];
      length = encodeURIComponent(prefix).length + 30;
    }
    literals.push(literal);
    length += cost;
  }
  if (literals.length > 0) queries.push(`${prefix}${literals.join(',')})`);

  const matches: KeyMatch[] = [];
  for (let i = 0; i < queries.length; i += 5) {
    const group = queries.slice(i, i + 5);
    const answers = await compositeGets(
      http,
      group.map((q) => `/query/?q=${encodeURIComponent(q)}`),
      'composite',
      counter,
    );
    for (const sub of answers) {
      if (sub === undefined || sub.httpStatusCode >= 300) {
        const error = sub === undefined ? undefined : parseErrorBody(sub.body);
        const status = sub?.httpStatusCode ?? 0;
        throw new SalesforceApiError(status, error?.errorCode ?? `HTTP_${status}`, error?.message ?? '', {
          method: 'GET',
          path: `/query (Id look-up on ${object}.${field.name})`,
        });
      }
      let page = sub.body as QueryResult<Record<string, unknown>>;
      collect(page.records, field.name, matches);
      while (!page.done && page.nextRecordsUrl !== undefined) {
        const next: { body: QueryResult<Record<string, unknown>> } = await http.request<
          QueryResult<Record<string, unknown>>
        >({
          method: 'GET',
          path: page.nextRecordsUrl,
          idempotent: true,
          kind: 'query',
          ...(counter ? { counter } : {}),
        });
        page = next.body;
        collect(page.records, field.name, matches);
      }
    }
  }
  return matches;
}

function collect(records: Array<Record<string, unknown>>, field: string, into: KeyMatch[]): void {
  for (const r of records) {
    const id = r.Id;
    const raw = Object.entries(r).find(([k]) => k.toLowerCase() === field.toLowerCase())?.[1];
    if (typeof id === 'string' && (typeof raw === 'string' || typeof raw === 'number'))
      into.push({ Id: id, value: String(raw) });
  }
}
