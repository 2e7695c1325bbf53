/**
 * sObject Collections inside one Composite call (reference §3.2, §3.5): up to 5 collection
 * subrequests of up to 200 records each — 1,000 records for one API request — with
 * `allOrNone: false` at both levels, so one bad record never takes the others down.
 *
 * Records arrive already serialised (the loader serialises each once, and measures it that way),
 * and the body is assembled from those strings.
 */
import type { RequestCounter, SalesforceHttp } from './http.js';
import type { SalesforceRecordError, SaveResult } from './types.js';

/** Most collection subrequests one Composite call may carry. */
export const MAX_COLLECTIONS_PER_COMPOSITE = 5;
/** Most records (or ids) one collection request may carry. */
export const MAX_RECORDS_PER_COLLECTION = 200;

/** One collection subrequest. `records` are JSON object texts that already carry `attributes`. */
export type CollectionRequest =
  | { kind: 'create'; records: string[] }
  | { kind: 'update'; records: string[] }
  | { kind: 'upsert'; object: string; externalIdField: string; records: string[] }
  | { kind: 'delete'; ids: string[] };

/** The per-record results of one subrequest, or the error that failed the whole subrequest. */
export type CollectionOutcome =
  { ok: true; results: SaveResult[] } | { ok: false; status: number; error: SalesforceRecordError };

/** Options of a composite send. */
export interface CompositeOptions {
  /** Headers for every subrequest (Sforce-Auto-Assign, Sforce-Duplicate-Rule-Header). */
  headers?: Record<string, string>;
  /** True when every subrequest can be applied twice harmlessly (upsert, update, delete). */
  idempotent: boolean;
  counter?: RequestCounter;
}

interface CompositeSubresponse {
  body: unknown;
  httpStatusCode: number;
  referenceId: string;
}

function subrequest(apiBase: string, request: CollectionRequest, index: number, headers: string): string {
  const ref = `"referenceId":"c${index}"${headers}`;
  switch (request.kind) {
    case 'create':
      return `{"method":"POST","url":"${apiBase}/composite/sobjects",${ref},"body":{"allOrNone":false,"records":[${request.records.join(',')}]}}`;
    case 'update':
      return `{"method":"PATCH","url":"${apiBase}/composite/sobjects",${ref},"body":{"allOrNone":false,"records":[${request.records.join(',')}]}}`;
    case 'upsert': {
      const url = `${apiBase}/composite/sobjects/${encodeURIComponent(request.object)}/${encodeURIComponent(request.externalIdField)}`;
      return `{"method":"PATCH","url":${JSON.stringify(url)},${ref},"body":{"allOrNone":false,"records":[${request.records.join(',')}]}}`;
    }
    case 'delete': {
      const url = `${apiBase}/composite/sobjects?ids=${request.ids.map(encodeURIComponent).join(',')}&allOrNone=false`;
      return `{"method":"DELETE","url":${JSON.stringify(url)},${ref}}`;
    }
  }
}

/** Number of records or ids in a subrequest. */
export function sizeOf(request: CollectionRequest): number {
  return request.kind === 'delete' ? request.ids.length : request.records.length;
}

/** Sends up to five collection subrequests in one Composite call and returns one outcome per subrequest. */
export async function sendCollections(
  http: SalesforceHttp,
  requests: CollectionRequest[],
  options: CompositeOptions,
): Promise<CollectionOutcome[]> {
  if (requests.length === 0) return [];
  if (requests.length > MAX_COLLECTIONS_PER_COMPOSITE) {
    throw new RangeError(
      `at most ${MAX_COLLECTIONS_PER_COMPOSITE} collection subrequests per Composite call`,
    );
  }
  const apiBase = `/services/data/${http.apiVersion}`;
  const headers =
    options.headers && Object.keys(options.headers).length > 0
      ? `,"httpHeaders":${JSON.stringify(options.headers)}`
      : '';
  const body = `{"allOrNone":false,"collateSubrequests":false,"compositeRequest":[${requests
    .map((r, i) => subrequest(apiBase, r, i, headers))
    .join(',')}]}`;
  const response = await http.request<{ compositeResponse: CompositeSubresponse[] }>({
    method: 'POST',
    path: '/composite',
    rawBody: { data: body, contentType: 'application/json' },
    idempotent: options.idempotent,
    kind: 'composite',
    ...(options.counter ? { counter: options.counter } : {}),
  });
  const subresponses = response.body?.compositeResponse ?? [];
  return requests.map((request, i) => {
    const sub = subresponses.find((s) => s.referenceId === `c${i}`) ?? subresponses[i];
    if (sub === undefined) {
      return {
        ok: false,
        status: 0,
        error: {
          statusCode: 'UNKNOWN_ERROR',
          message: 'Salesforce returned no result for this subrequest',
          fields: [],
        },
      };
    }
    if (sub.httpStatusCode < 300 && Array.isArray(sub.body) && sub.body.length === sizeOf(request)) {
      return { ok: true, results: sub.body as SaveResult[] };
    }
    return { ok: false, status: sub.httpStatusCode, error: subrequestError(sub) };
  });
}

/** The error of a failed subrequest (`[{errorCode, message, fields}]`), in per-record form. */
function subrequestError(sub: CompositeSubresponse): SalesforceRecordError {
  const first = (Array.isArray(sub.body) ? sub.body[0] : sub.body) as
    Record<string, unknown> | null | undefined;
  if (first && typeof first === 'object') {
    const code = first.errorCode ?? first.statusCode;
    if (typeof code === 'string') {
      return {
        statusCode: code,
        message: typeof first.message === 'string' ? first.message : '',
        fields: Array.isArray(first.fields) ? (first.fields as string[]) : [],
      };
    }
  }
  return {
    statusCode: 'UNKNOWN_ERROR',
    message: `unexpected subrequest answer (HTTP ${sub.httpStatusCode})`,
    fields: [],
  };
}
