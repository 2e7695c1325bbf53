/**
 * SOQL (reference §5.4): literal quoting that no key value can escape, paged queries that follow
 * `nextRecordsUrl`, and Id look-ups by a key field batched five queries per Composite call.
 */
import { SalesforceApiError } from './errors.js';
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

/** A literal for a value of a field of the given Describe type; undefined when the value cannot be one. */
export function soqlLiteral(value: string, fieldType: string): string | undefined {
  if (NUMERIC.has(fieldType)) {
    const n = Number(value.trim());
    return value.trim() !== '' && Number.isFinite(n) ? String(n) : undefined;
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
  field: string,
  fieldType: string,
  values: readonly string[],
  counter?: RequestCounter,
): Promise<KeyMatch[]> {
  const obj = soqlIdentifier(object);
  const f = soqlIdentifier(field);
  const prefix = `SELECT Id, ${f} FROM ${obj} WHERE ${f} IN (`;
  const queries: string[] = [];
  let literals: string[] = [];
  let length = encodeURIComponent(prefix).length + 30;
  for (const value of new Set(values)) {
    const literal = soqlLiteral(value, fieldType);
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
  const apiBase = `/services/data/${http.apiVersion}`;
  for (let i = 0; i < queries.length; i += 5) {
    const group = queries.slice(i, i + 5);
    const body = {
      allOrNone: false,
      compositeRequest: group.map((q, j) => ({
        method: 'GET',
        url: `${apiBase}/query/?q=${encodeURIComponent(q)}`,
        referenceId: `q${j}`,
      })),
    };
    const response = await http.request<{
      compositeResponse: Array<{ body: unknown; httpStatusCode: number; referenceId: string }>;
    }>({
      method: 'POST',
      path: '/composite',
      body,
      idempotent: true,
      kind: 'composite',
      ...(counter ? { counter } : {}),
    });
    for (const sub of response.body.compositeResponse) {
      if (sub.httpStatusCode >= 300) {
        const first = (Array.isArray(sub.body) ? sub.body[0] : sub.body) as
          { errorCode?: string; message?: string } | undefined;
        throw new SalesforceApiError(
          sub.httpStatusCode,
          first?.errorCode ?? `HTTP_${sub.httpStatusCode}`,
          first?.message ?? '',
          { method: 'GET', path: `/query (Id look-up on ${object}.${field})` },
        );
      }
      let page = sub.body as QueryResult<Record<string, unknown>>;
      collect(page.records, field, matches);
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
        collect(page.records, field, matches);
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
