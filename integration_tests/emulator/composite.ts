/**
 * Composite — POST /services/data/vNN.N/composite (reference §3.5): up to 25 subrequests, of which
 * at most 5 are sObject Collections or query operations; references `@{refId.path}` to earlier
 * results; allOrNone rolls the whole transaction back and every other subrequest reports 400
 * PROCESSING_HALTED; the top level is HTTP 200 `{compositeResponse: [...]}`. The whole call is one
 * API request.
 */
import type { Core } from './core.js';
import { type ApiResponse, apiError, MAX_URI_BYTES, notFound, uriTooLong } from './http-util.js';
import { type RestRequest, dispatch } from './rest.js';
import { Transaction } from './store.js';

const MAX_SUBREQUESTS = 25;
const MAX_COLLECTIONS_OR_QUERIES = 5;
const METHODS = new Set(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']);
const FORBIDDEN_HEADERS = new Set(['accept', 'authorization', 'content-type']);
const REFERENCE_ID = /^[A-Za-z0-9][A-Za-z0-9_]*$/;
const VERSIONED_URL = /^\/services\/data\/v(\d+\.\d+)(\/[^?]*)?(\?.*)?$/;
const REFERENCE = /@\{([A-Za-z0-9_]+)((?:\.[A-Za-z0-9_]+|\[\d+\])*)\}/g;

interface SubResult {
  body: unknown;
  httpHeaders: Record<string, string>;
  httpStatusCode: number;
  referenceId: string;
}

/** reference §3.5: rolled-back / skipped subrequest body. */
function halted(referenceId: string): SubResult {
  return {
    body: [
      {
        errorCode: 'PROCESSING_HALTED',
        message: 'The transaction was rolled back since another operation in the same transaction failed.',
      },
    ],
    httpHeaders: {},
    httpStatusCode: 400,
    referenceId,
  };
}

/** reference §3.5: the bad-reference body. */
function badReference(referenceId: string, expression: string, ref: string): SubResult {
  return {
    body: [
      {
        errorCode: 'PROCESSING_HALTED',
        message: `Invalid reference specified. No value for ${expression} found in ${ref}. Provided referenceId ('${expression}') must start with a letter or a number, and it can contain only letters, numbers and underscores ('_').`,
      },
    ],
    httpHeaders: {},
    httpStatusCode: 400,
    referenceId,
  };
}

class ReferenceError extends Error {
  constructor(
    readonly expression: string,
    readonly ref: string,
  ) {
    super(expression);
  }
}

/** Value of `@{ref.path}` from earlier results (case-sensitive, reference §3.5). */
function lookup(results: Map<string, SubResult>, ref: string, path: string): unknown {
  const expression = ref + path;
  const earlier = results.get(ref);
  if (earlier === undefined) throw new ReferenceError(expression, ref);
  let value: unknown = earlier.body;
  for (const m of path.matchAll(/\.([A-Za-z0-9_]+)|\[(\d+)\]/g)) {
    if (value === null || typeof value !== 'object') throw new ReferenceError(expression, ref);
    const key = m[1] ?? Number(m[2]);
    value = (value as Record<string | number, unknown>)[key];
  }
  if (value === undefined || value === null || typeof value === 'object')
    throw new ReferenceError(expression, ref);
  return value;
}

function substituteString(s: string, results: Map<string, SubResult>): unknown {
  if (!s.includes('@{')) return s;
  const whole = /^@\{([A-Za-z0-9_]+)((?:\.[A-Za-z0-9_]+|\[\d+\])*)\}$/.exec(s);
  if (whole !== null) return lookup(results, whole[1]!, whole[2]!);
  return s.replace(REFERENCE, (_all, ref: string, path: string) => String(lookup(results, ref, path)));
}

function substitute(value: unknown, results: Map<string, SubResult>): unknown {
  if (typeof value === 'string') return substituteString(value, results);
  if (Array.isArray(value)) return value.map((v) => substitute(v, results));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = substitute(v, results);
    return out;
  }
  return value;
}

interface SubRequest {
  method: string;
  url: string;
  referenceId: string;
  body: unknown;
  httpHeaders: Record<string, string>;
}

/** Validation of the whole request; a problem is a top-level 400 and nothing runs. */
function validate(body: unknown): SubRequest[] | ApiResponse {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return apiError(400, 'JSON_PARSER_ERROR', 'Cannot deserialize instance of CompositeRequest from input');
  }
  const b = body as Record<string, unknown>;
  for (const flag of ['allOrNone', 'collateSubrequests']) {
    if (b[flag] !== undefined && typeof b[flag] !== 'boolean') {
      return apiError(
        400,
        'JSON_PARSER_ERROR',
        `Cannot deserialize instance of boolean from ${JSON.stringify(b[flag])} for ${flag}`,
      );
    }
  }
  const list = b.compositeRequest;
  if (!Array.isArray(list) || list.length === 0) {
    return apiError(400, 'INVALID_INPUT', 'compositeRequest must contain at least one subrequest');
  }
  // [U] reference §3.5 gives the limits, not the wording of the refusal; LIMIT_EXCEEDED is a documented status code.
  if (list.length > MAX_SUBREQUESTS) {
    return apiError(
      400,
      'LIMIT_EXCEEDED',
      `A composite request can have at most ${MAX_SUBREQUESTS} subrequests; this one has ${list.length}.`,
    );
  }
  const subs: SubRequest[] = [];
  const ids = new Set<string>();
  let heavy = 0;
  for (const raw of list) {
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
      return apiError(
        400,
        'JSON_PARSER_ERROR',
        'Cannot deserialize instance of CompositeSubrequest from input',
      );
    }
    const r = raw as Record<string, unknown>;
    const { method, url, referenceId } = r;
    if (typeof method !== 'string' || !METHODS.has(method)) {
      // Methods are case-sensitive (reference §3.5).
      return apiError(
        400,
        'INVALID_INPUT',
        `Invalid method: ${String(method)}. Supported methods are GET, POST, PUT, PATCH, DELETE`,
      );
    }
    if (typeof url !== 'string' || !VERSIONED_URL.test(url)) {
      return apiError(400, 'INVALID_INPUT', `The url must start with /services/data/vXX.X/: ${String(url)}`);
    }
    if (typeof referenceId !== 'string' || !REFERENCE_ID.test(referenceId)) {
      return apiError(
        400,
        'INVALID_INPUT',
        `Provided referenceId ('${String(referenceId)}') must start with a letter or a number, and it can contain only letters, numbers and underscores ('_').`,
      );
    }
    if (ids.has(referenceId))
      return apiError(400, 'INVALID_INPUT', `Duplicate referenceId provided in the request: ${referenceId}`);
    ids.add(referenceId);
    const headers: Record<string, string> = {};
    if (r.httpHeaders !== undefined) {
      if (typeof r.httpHeaders !== 'object' || r.httpHeaders === null) {
        return apiError(400, 'JSON_PARSER_ERROR', 'Cannot deserialize instance of Map from httpHeaders');
      }
      for (const [k, v] of Object.entries(r.httpHeaders)) {
        if (FORBIDDEN_HEADERS.has(k.toLowerCase())) {
          // reference §3.5: Accept, Authorization and Content-Type are inherited; specifying them is a top-level 400.
          return apiError(
            400,
            'INVALID_INPUT',
            `The ${k} header isn't allowed in a subrequest; it is inherited from the composite request.`,
          );
        }
        headers[k.toLowerCase()] = String(v);
      }
    }
    const path = (VERSIONED_URL.exec(url)?.[2] ?? '').split('/').filter((x) => x !== '');
    if (path[0] === 'query' || path[0] === 'queryAll' || (path[0] === 'composite' && path[1] === 'sobjects'))
      heavy++;
    subs.push({ method, url, referenceId, body: r.body, httpHeaders: headers });
  }
  if (heavy > MAX_COLLECTIONS_OR_QUERIES) {
    return apiError(
      400,
      'LIMIT_EXCEEDED',
      `A composite request can have at most ${MAX_COLLECTIONS_OR_QUERIES} sObject Collections or query subrequests; this one has ${heavy}.`,
    );
  }
  return subs;
}

function bodyOf(resp: ApiResponse): unknown {
  if (resp.raw !== undefined) {
    const text = resp.raw.toString();
    if (text === '') return null;
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return text;
    }
  }
  return resp.body === undefined ? null : resp.body;
}

function subHeaders(resp: ApiResponse): Record<string, string> {
  const out: Record<string, string> = {};
  // Composite results carry no Content-Length (reference §3.5).
  for (const [k, v] of Object.entries(resp.headers ?? {}))
    if (k.toLowerCase() !== 'content-length') out[k] = v;
  return out;
}

/** POST /composite */
export function handleComposite(core: Core, req: RestRequest): ApiResponse {
  const subs = validate(req.body);
  if ('status' in subs) return subs;
  const body = req.body as Record<string, unknown>;
  const allOrNone = body.allOrNone === true;
  const txn = allOrNone ? new Transaction() : undefined;
  const hasReferences = req.bodyText().includes('@{');
  const results: SubResult[] = [];
  const byRef = new Map<string, SubResult>();
  let failedAt = -1;
  for (const sub of subs) {
    if (failedAt >= 0) {
      results.push(halted(sub.referenceId));
      continue;
    }
    let result: SubResult;
    try {
      const url = hasReferences ? String(substituteString(sub.url, byRef)) : sub.url;
      const subBody = hasReferences ? substitute(sub.body, byRef) : sub.body;
      // reference §5.1: a URI over 16,384 bytes is 414, a subrequest's url (as resolved) included.
      result =
        Buffer.byteLength(url, 'utf8') > MAX_URI_BYTES
          ? subResult(sub.referenceId, uriTooLong())
          : run(core, req, sub, url, subBody, txn, allOrNone);
    } catch (e) {
      if (!(e instanceof ReferenceError)) throw e;
      result = badReference(sub.referenceId, e.expression, e.ref);
    }
    results.push(result);
    byRef.set(sub.referenceId, result);
    if (allOrNone && failedSubrequest(result)) failedAt = results.length - 1;
  }
  if (failedAt >= 0) {
    txn!.rollback();
    for (let i = 0; i < results.length; i++) if (i !== failedAt) results[i] = halted(results[i]!.referenceId);
  }
  return { status: 200, body: { compositeResponse: results } };
}

/** A subrequest failed: an HTTP error, or (under allOrNone) a collections result with a failed record. */
function failedSubrequest(r: SubResult): boolean {
  if (r.httpStatusCode >= 400) return true;
  return (
    Array.isArray(r.body) &&
    r.body.some(
      (x) => typeof x === 'object' && x !== null && (x as Record<string, unknown>).success === false,
    )
  );
}

/** A subrequest's target: API version, path segments after /services/data/vNN.N/ (decoded) and query. */
export interface SubrequestTarget {
  version: string;
  segments: string[];
  query: URLSearchParams;
}

/** Read a subrequest url `/services/data/vNN.N/...`; undefined when it is not one. */
export function parseSubrequestUrl(url: string): SubrequestTarget | undefined {
  const m = VERSIONED_URL.exec(url);
  if (m === null) return undefined;
  const parsed = new URL(url, 'http://composite.invalid');
  const segments = parsed.pathname
    .split('/')
    .slice(4)
    .filter((x) => x !== '')
    .map((x) => decodeURIComponent(x));
  return { version: m[1]!, segments, query: parsed.searchParams };
}

function run(
  core: Core,
  parent: RestRequest,
  sub: SubRequest,
  url: string,
  body: unknown,
  txn: Transaction | undefined,
  allOrNone: boolean,
): SubResult {
  const target = parseSubrequestUrl(url);
  let resp: ApiResponse;
  if (target === undefined || !core.versionSet.has(target.version)) resp = notFound();
  else {
    const { version, segments, query } = target;
    // Subrequests inherit the request's headers, except conditional ones, plus their own httpHeaders.
    const headers: Record<string, string | undefined> = { ...parent.headers };
    delete headers['if-modified-since'];
    delete headers['if-none-match'];
    Object.assign(headers, sub.httpHeaders);
    const subReq: RestRequest = {
      method: sub.method,
      segments,
      query,
      headers,
      body,
      bodyText: () => (body === undefined ? '' : JSON.stringify(body)),
      rawBody: Buffer.alloc(0),
      version,
      user: parent.user,
      ctx: { ...parent.ctx, txn },
      inComposite: true,
      forceAllOrNone: allOrNone,
    };
    resp = dispatch(core, subReq);
  }
  return subResult(sub.referenceId, resp);
}

/** A subrequest's response as a composite result (reference §3.5). */
function subResult(referenceId: string, resp: ApiResponse): SubResult {
  return {
    body: bodyOf(resp),
    httpHeaders: subHeaders(resp),
    httpStatusCode: resp.status,
    referenceId,
  };
}
