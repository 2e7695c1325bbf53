/**
 * Writes inside one Composite call (reference §3.2, §3.5). A Composite call may carry 25
 * subrequests, of which at most 5 may be sObject Collections: this packs five collections of up to
 * 200 records and up to 20 single-record subrequests, 1,020 records for one API request, with
 * `allOrNone: false` at both levels, so one bad record never takes the others down.
 *
 * Records arrive already serialised as UTF-8 bytes (the loader serialises each once, load/arena.ts),
 * and the body is assembled from those bytes with a few memory copies: no large string is built.
 */
import { parseErrorBody, SalesforceApiError } from './errors.js';
import type { RequestCounter, SalesforceHttp } from './http.js';
import type { SalesforceRecordError, SaveResult } from './types.js';

/** Most subrequests of one Composite call. */
export const MAX_SUBREQUESTS_PER_COMPOSITE = 25;
/** Most collection (or query) subrequests one Composite call may carry. */
export const MAX_COLLECTIONS_PER_COMPOSITE = 5;
/** Most records (or ids) one collection request may carry. */
export const MAX_RECORDS_PER_COLLECTION = 200;
/** Records one Composite call carries in collections. */
export const MAX_COLLECTION_RECORDS_PER_COMPOSITE =
  MAX_COLLECTIONS_PER_COMPOSITE * MAX_RECORDS_PER_COLLECTION;
/** Single-record subrequests that fit beside five collections. */
export const MAX_SINGLES_PER_COMPOSITE = MAX_SUBREQUESTS_PER_COMPOSITE - MAX_COLLECTIONS_PER_COMPOSITE;

/**
 * One record's JSON object (carrying `attributes`) as UTF-8 bytes: `chunk[start..end)`, and
 * `chunk[end]` is a comma, so records written one after the other form a comma-separated run.
 */
export interface RecordBytes {
  chunk: Buffer;
  start: number;
  end: number;
}

/** One collection subrequest. */
export type CollectionRequest =
  | { kind: 'create'; records: RecordBytes[] }
  | { kind: 'update'; records: RecordBytes[] }
  | { kind: 'upsert'; object: string; externalIdField: string; records: RecordBytes[] }
  | { kind: 'delete'; ids: string[] };

/** One single-record subrequest (reference §3.1, §3.3). `body` is a JSON object without `attributes`. */
export type SingleRequest =
  | { kind: 'create'; object: string; body: string }
  | { kind: 'update'; object: string; id: string; body: string }
  | { kind: 'upsert'; object: string; externalIdField: string; value: string; body: string }
  | { kind: 'delete'; object: string; id: string };

/** The per-record results of one collection subrequest, or the error that failed the whole subrequest. */
export type CollectionOutcome =
  { ok: true; results: SaveResult[] } | { ok: false; status: number; error: SalesforceRecordError };

/** Options of a composite send. */
export interface CompositeOptions {
  /** Headers for every subrequest (Sforce-Auto-Assign, Sforce-Duplicate-Rule-Header). */
  headers?: Record<string, string>;
  /** True when every subrequest can be applied twice harmlessly (upsert, update, delete). */
  idempotent: boolean;
  counter?: RequestCounter;
  /** Told when an attempt's answer was lost after it was sent (see SalesforceRequest.onDoubt). */
  onDoubt?: (sentAt: number) => void;
  /** Called just before each attempt leaves; may throw to stop it unsent. */
  beforeSend?: () => void;
  /** Told the answered attempt's time. */
  onTiming?: (attemptMs: number) => void;
  /** Told when Salesforce pushed back (503, ConcurrentPerOrgLongTxn). */
  onPushback?: (what: string) => void;
}

/** One subrequest's answer in a Composite response. */
export interface CompositeSubresponse {
  body: unknown;
  httpStatusCode: number;
  referenceId: string;
}

/**
 * Sends GET subrequests (Describes, queries) in one Composite call, which counts as one API request
 * whatever it carries (reference §3.5). `paths` are relative to /services/data/vNN.N. Answers come
 * back in the order of `paths`; undefined where Salesforce returned no answer for one.
 */
export async function compositeGets(
  http: SalesforceHttp,
  paths: readonly string[],
  kind: string,
  counter?: RequestCounter,
): Promise<Array<CompositeSubresponse | undefined>> {
  if (paths.length > MAX_SUBREQUESTS_PER_COMPOSITE) {
    throw new RangeError('too many subrequests for one Composite call');
  }
  const apiBase = `/services/data/${http.apiVersion}`;
  const response = await http.request<{ compositeResponse?: CompositeSubresponse[] }>({
    method: 'POST',
    path: '/composite',
    body: {
      allOrNone: false,
      compositeRequest: paths.map((path, i) => ({
        method: 'GET',
        url: `${apiBase}${path}`,
        referenceId: `g${i}`,
      })),
    },
    idempotent: true,
    kind,
    ...(counter ? { counter } : {}),
  });
  const byRef = new Map<string, CompositeSubresponse>();
  for (const sub of response.body?.compositeResponse ?? []) byRef.set(sub.referenceId, sub);
  return paths.map((_, i) => byRef.get(`g${i}`));
}

/**
 * Buffers for Composite bodies, used again once a call has been answered. A fresh buffer of a few
 * hundred kilobytes per call costs its page faults every time (bench/: ~5 % of the connector's CPU
 * per row); the pool holds at most one buffer per call that can be in flight.
 */
const bodyPool: Buffer[] = [];
const POOL_MAX = 32;
const POOLED_MAX_BYTES = 8 * 1024 * 1024;

function takeBody(size: number): Buffer {
  for (let i = bodyPool.length - 1; i >= 0; i -= 1) {
    const buffer = bodyPool[i]!;
    if (buffer.length >= size) {
      bodyPool.splice(i, 1);
      return buffer.subarray(0, size);
    }
  }
  // Room to grow: the next, slightly larger body fits the same buffer.
  return Buffer.allocUnsafeSlow(
    size > POOLED_MAX_BYTES ? size : Math.ceil((size * 1.25) / 65_536) * 65_536,
  ).subarray(0, size);
}

function releaseBody(body: Buffer): void {
  const whole = Buffer.from(body.buffer, body.byteOffset, body.buffer.byteLength - body.byteOffset);
  if (whole.length <= POOLED_MAX_BYTES && bodyPool.length < POOL_MAX) bodyPool.push(whole);
}

/** A JSON body assembled from text and record bytes, then written into one Buffer. */
class Body {
  private readonly parts: Array<string | RecordBytes> = [];
  private size = 0;

  text(text: string): void {
    this.parts.push(text);
    this.size += Buffer.byteLength(text, 'utf8');
  }

  /** The records, comma-separated; records adjacent in one chunk are copied as one run. */
  records(records: readonly RecordBytes[]): void {
    let run: RecordBytes | undefined;
    for (const r of records) {
      if (run !== undefined && r.chunk === run.chunk && r.start === run.end + 1) {
        run.end = r.end;
        continue;
      }
      if (run !== undefined) this.run(run, true);
      run = { chunk: r.chunk, start: r.start, end: r.end };
    }
    if (run !== undefined) this.run(run, false);
  }

  /** The body in a buffer from the pool (give it back with {@link releaseBody} once sent). */
  toBuffer(): Buffer {
    const out = takeBody(this.size);
    let at = 0;
    for (const part of this.parts) {
      at +=
        typeof part === 'string'
          ? out.write(part, at, 'utf8')
          : part.chunk.copy(out, at, part.start, part.end);
    }
    return out;
  }

  private run(run: RecordBytes, comma: boolean): void {
    // The comma after a record in its chunk doubles as the separator.
    const end = comma ? run.end + 1 : run.end;
    this.parts.push({ chunk: run.chunk, start: run.start, end });
    this.size += end - run.start;
  }
}

function recordsSubrequest(
  body: Body,
  method: string,
  url: string,
  ref: string,
  records: readonly RecordBytes[],
): void {
  body.text(
    `{"method":"${method}","url":${JSON.stringify(url)},${ref},"body":{"allOrNone":false,"records":[`,
  );
  body.records(records);
  body.text(']}}');
}

function collectionSubrequest(body: Body, apiBase: string, request: CollectionRequest, ref: string): void {
  switch (request.kind) {
    case 'create':
      return recordsSubrequest(body, 'POST', `${apiBase}/composite/sobjects`, ref, request.records);
    case 'update':
      return recordsSubrequest(body, 'PATCH', `${apiBase}/composite/sobjects`, ref, request.records);
    case 'upsert':
      return recordsSubrequest(
        body,
        'PATCH',
        `${apiBase}/composite/sobjects/${encodeURIComponent(request.object)}/${encodeURIComponent(request.externalIdField)}`,
        ref,
        request.records,
      );
    case 'delete': {
      const url = `${apiBase}/composite/sobjects?ids=${request.ids.map(encodeURIComponent).join(',')}&allOrNone=false`;
      return body.text(`{"method":"DELETE","url":${JSON.stringify(url)},${ref}}`);
    }
  }
}

function singleSubrequest(apiBase: string, request: SingleRequest, ref: string): string {
  const object = encodeURIComponent(request.object);
  switch (request.kind) {
    case 'create':
      return `{"method":"POST","url":"${apiBase}/sobjects/${object}/",${ref},"body":${request.body}}`;
    case 'update':
      return `{"method":"PATCH","url":"${apiBase}/sobjects/${object}/${encodeURIComponent(request.id)}",${ref},"body":${request.body}}`;
    case 'upsert': {
      const url = `${apiBase}/sobjects/${object}/${encodeURIComponent(request.externalIdField)}/${encodeURIComponent(request.value)}`;
      return `{"method":"PATCH","url":${JSON.stringify(url)},${ref},"body":${request.body}}`;
    }
    case 'delete':
      return `{"method":"DELETE","url":"${apiBase}/sobjects/${object}/${encodeURIComponent(request.id)}",${ref}}`;
  }
}

/** Number of records or ids in a collection subrequest. */
export function sizeOf(request: CollectionRequest): number {
  return request.kind === 'delete' ? request.ids.length : request.records.length;
}

/**
 * Sends up to five collection subrequests and up to twenty single-record subrequests in one
 * Composite call. Returns one outcome per collection subrequest and one SaveResult per single.
 */
export async function sendComposite(
  http: SalesforceHttp,
  collections: CollectionRequest[],
  singles: SingleRequest[],
  options: CompositeOptions,
): Promise<{ collections: CollectionOutcome[]; singles: SaveResult[] }> {
  if (collections.length === 0 && singles.length === 0) return { collections: [], singles: [] };
  if (
    collections.length > MAX_COLLECTIONS_PER_COMPOSITE ||
    collections.length + singles.length > MAX_SUBREQUESTS_PER_COMPOSITE
  ) {
    throw new RangeError('too many subrequests for one Composite call');
  }
  const apiBase = `/services/data/${http.apiVersion}`;
  const headers =
    options.headers && Object.keys(options.headers).length > 0
      ? `,"httpHeaders":${JSON.stringify(options.headers)}`
      : '';
  const body = new Body();
  body.text('{"allOrNone":false,"collateSubrequests":false,"compositeRequest":[');
  // Loops rather than callbacks: a closure made per call is optimised anew by V8 for each call.
  for (let i = 0; i < collections.length; i += 1) {
    if (i > 0) body.text(',');
    collectionSubrequest(body, apiBase, collections[i]!, `"referenceId":"c${i}"${headers}`);
  }
  for (let i = 0; i < singles.length; i += 1) {
    if (i > 0 || collections.length > 0) body.text(',');
    body.text(singleSubrequest(apiBase, singles[i]!, `"referenceId":"s${i}"${headers}`));
  }
  body.text(']}');
  const data = body.toBuffer();
  let text: string;
  try {
    const response = await http.request<string>({
      method: 'POST',
      path: '/composite',
      rawBody: { data, contentType: 'application/json' },
      idempotent: options.idempotent,
      kind: 'composite',
      jsonText: true,
      ...(options.counter ? { counter: options.counter } : {}),
      ...(options.onDoubt ? { onDoubt: options.onDoubt } : {}),
      ...(options.beforeSend ? { beforeSend: options.beforeSend } : {}),
      ...(options.onTiming ? { onTiming: options.onTiming } : {}),
      ...(options.onPushback ? { onPushback: options.onPushback } : {}),
    });
    text = response.body;
  } finally {
    releaseBody(data);
  }
  const saved = allSaved(text, collections, singles);
  if (saved !== undefined) return saved;
  // The client let only a text that looks like JSON through; one that still is not JSON is as
  // unreadable as any other, and the call fails (its rows stay unacknowledged).
  let parsed: { compositeResponse?: CompositeSubresponse[] } | undefined;
  try {
    parsed = JSON.parse(text) as { compositeResponse?: CompositeSubresponse[] };
  } catch {
    throw new SalesforceApiError(200, 'UNREADABLE_RESPONSE', 'a Composite answer that is not JSON', {
      method: 'POST',
      path: '/composite',
    });
  }
  const byRef = new Map<string, CompositeSubresponse>();
  for (const sub of parsed?.compositeResponse ?? []) byRef.set(sub.referenceId, sub);
  const outcomes: CollectionOutcome[] = [];
  for (let i = 0; i < collections.length; i += 1)
    outcomes.push(collectionOutcome(byRef.get(`c${i}`), collections[i]!));
  const results: SaveResult[] = [];
  for (let i = 0; i < singles.length; i += 1) results.push(singleOutcome(byRef.get(`s${i}`)));
  return { collections: outcomes, singles: results };
}

/** Sends collection subrequests only (at most five): the common case. */
export async function sendCollections(
  http: SalesforceHttp,
  requests: CollectionRequest[],
  options: CompositeOptions,
): Promise<CollectionOutcome[]> {
  return (await sendComposite(http, requests, [], options)).collections;
}

/** Shared results for the common case: every record saved (allSaved). Never changed. */
const SAVED: SaveResult = Object.freeze({ success: true, errors: [] });
const SAVED_CREATED: SaveResult = Object.freeze({ success: true, errors: [], created: true });
const SAVED_UPDATED: SaveResult = Object.freeze({ success: true, errors: [], created: false });

/**
 * How many `"success":` members `text` has, or -1 if any of them is not `true`. One scan, where
 * counting `true`s and looking for a `false` took two.
 */
function successes(text: string): number {
  const needle = '"success":';
  let n = 0;
  for (let at = text.indexOf(needle); at !== -1; at = text.indexOf(needle, at)) {
    at += needle.length;
    if (text.charCodeAt(at) !== 0x74 /* t */) return -1;
    n += 1;
  }
  return n;
}

/**
 * How many `"httpStatusCode":` members `text` has, or -1 if any of them is not 200 or 201. One scan,
 * where counting the members, the 200s and the 201s took three.
 */
function okStatuses(text: string): number {
  const needle = '"httpStatusCode":';
  let n = 0;
  for (let at = text.indexOf(needle); at !== -1; at = text.indexOf(needle, at)) {
    at += needle.length;
    const last = text.charCodeAt(at + 2);
    const next = text.charCodeAt(at + 3);
    const ok =
      text.startsWith('20', at) &&
      (last === 0x30 || last === 0x31) /* 0 or 1 */ &&
      !(next >= 0x30 && next <= 0x39);
    if (!ok) return -1;
    n += 1;
  }
  return n;
}

/**
 * The answers of a call in which every record saved, read without parsing 1,020 result objects
 * (this runs for every call; parsing and collecting them cost CPU per row). Taken only when the
 * text proves it: as many `"success":` as records sent, each of them `true`, no error, and every
 * subrequest answered 200 or 201; for upserts, one `"created":` per record, read in order (the
 * answers come in the order of the subrequests). Anything else is parsed in full.
 */
function allSaved(
  text: string,
  collections: readonly CollectionRequest[],
  singles: readonly SingleRequest[],
): { collections: CollectionOutcome[]; singles: SaveResult[] } | undefined {
  let total = singles.length;
  for (const c of collections) total += sizeOf(c);
  if (
    successes(text) !== total ||
    okStatuses(text) !== collections.length + singles.length ||
    text.includes('"errorCode"') ||
    text.includes('"statusCode"')
  ) {
    return undefined;
  }
  const upserts = collections.some((c) => c.kind === 'upsert') || singles.some((s) => s.kind === 'upsert');
  let at = 0;
  const next = (): SaveResult | undefined => {
    if (!upserts) return SAVED;
    at = text.indexOf('"created":', at);
    if (at === -1) return undefined;
    at += 10;
    return text.charCodeAt(at) === 0x74 /* t */ ? SAVED_CREATED : SAVED_UPDATED;
  };
  const outcomes: CollectionOutcome[] = [];
  for (const c of collections) {
    const results: SaveResult[] = new Array<SaveResult>(sizeOf(c));
    for (let i = 0; i < results.length; i += 1) {
      const r = next();
      if (r === undefined) return undefined;
      results[i] = r;
    }
    outcomes.push({ ok: true, results });
  }
  const results: SaveResult[] = [];
  for (let i = 0; i < singles.length; i += 1) {
    const r = next();
    if (r === undefined) return undefined;
    results.push(r);
  }
  return { collections: outcomes, singles: results };
}

const MISSING: SalesforceRecordError = {
  statusCode: 'UNKNOWN_ERROR',
  message: 'Salesforce returned no result for this subrequest',
  fields: [],
};

function collectionOutcome(
  sub: CompositeSubresponse | undefined,
  request: CollectionRequest,
): CollectionOutcome {
  if (sub === undefined) return { ok: false, status: 0, error: MISSING };
  if (sub.httpStatusCode < 300 && Array.isArray(sub.body) && sub.body.length === sizeOf(request)) {
    return { ok: true, results: sub.body as SaveResult[] };
  }
  return { ok: false, status: sub.httpStatusCode, error: subrequestError(sub) };
}

/** A single-record answer in SaveResult form: 201/200 bodies, 204 without body, 300 for an ambiguous key, errors. */
function singleOutcome(sub: CompositeSubresponse | undefined): SaveResult {
  if (sub === undefined) return { success: false, errors: [MISSING] };
  const status = sub.httpStatusCode;
  if (status === 204) return { success: true, errors: [] };
  if (status < 300 && sub.body !== null && typeof sub.body === 'object' && !Array.isArray(sub.body)) {
    const body = sub.body as SaveResult;
    return { ...body, errors: body.errors ?? [] };
  }
  if (status === 300) {
    const urls = Array.isArray(sub.body) ? (sub.body as unknown[]).map(String) : [];
    return {
      success: false,
      errors: [
        {
          statusCode: 'DUPLICATE_EXTERNAL_ID',
          message: `more than one record found for external id field: [${urls.map((u) => u.split('/').pop()).join(', ')}]`,
          fields: [],
        },
      ],
    };
  }
  return { success: false, errors: [subrequestError(sub)] };
}

/** The error of a failed subrequest (`[{errorCode, message, fields}]`), in per-record form. */
export function subrequestError(sub: CompositeSubresponse): SalesforceRecordError {
  const error = parseErrorBody(sub.body);
  if (error !== undefined)
    return { statusCode: error.errorCode, message: error.message, fields: error.fields };
  return {
    statusCode: 'UNKNOWN_ERROR',
    message: `unexpected subrequest answer (HTTP ${sub.httpStatusCode})`,
    fields: [],
  };
}
