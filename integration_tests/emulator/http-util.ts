/**
 * Small HTTP helpers: the response value handlers return, Salesforce error bodies, and the
 * Jackson-style JSON_PARSER_ERROR messages (reference §3.1, §5.1).
 */

/** A response produced by a handler, written by the server (or embedded in a composite result). */
export interface ApiResponse {
  status: number;
  /** JSON body (serialized by the server); ignored when `raw` is set. */
  body?: unknown;
  /** Raw body (CSV, HTML, pre-serialized JSON). */
  raw?: string | Buffer;
  /** Raw body in pieces, written one after another (large Bulk results, never joined in memory). */
  chunks?: Buffer[];
  contentType?: string;
  headers?: Record<string, string>;
}

/** A JSON response. */
export function json(status: number, body: unknown, headers?: Record<string, string>): ApiResponse {
  return headers === undefined ? { status, body } : { status, body, headers };
}

/** Request-level error body: `[{"message", "errorCode", "fields"?}]` (reference §5.1). */
export function apiError(status: number, errorCode: string, message: string, fields?: string[]): ApiResponse {
  const entry: Record<string, unknown> = { message, errorCode };
  if (fields !== undefined) entry.fields = fields;
  return { status, body: [entry] };
}

/** 404 `[{"errorCode":"NOT_FOUND","message":"The requested resource does not exist"}]` (reference §2.3, recorded). */
export function notFound(): ApiResponse {
  return {
    status: 404,
    body: [{ errorCode: 'NOT_FOUND', message: 'The requested resource does not exist' }],
  };
}

/** 401 `Session expired or invalid` (reference §1.7). */
export function invalidSession(): ApiResponse {
  return apiError(401, 'INVALID_SESSION_ID', 'Session expired or invalid');
}

/**
 * Salesforce's request-size limit: 16,384 bytes for the URI, and for the URI and headers together
 * (reference §5.1). The Help article "Maximum number of rows returned by SOQL queries over the REST API"
 * (https://help.salesforce.com/s/articleView?id=000386264&type=1) says which wins: 414 when the URI
 * itself is over the limit, else 431.
 */
export const MAX_URI_BYTES = 16_384;

/**
 * 414 for a URI over {@link MAX_URI_BYTES}. [U] reference §5.1 gives the status, not a body: this is
 * §5.1's request-level error shape with the reason phrase as errorCode, as for 405 METHOD_NOT_ALLOWED
 * and 415 UNSUPPORTED_MEDIA_TYPE.
 */
export function uriTooLong(): ApiResponse {
  return apiError(414, 'URI_TOO_LONG', `The request URI is longer than ${MAX_URI_BYTES} bytes.`);
}

/** 431 for a URI and headers over {@link MAX_URI_BYTES} together; [U] body as for {@link uriTooLong}. */
export function headersTooLarge(): ApiResponse {
  return apiError(
    431,
    'REQUEST_HEADER_FIELDS_TOO_LARGE',
    `The request URI and headers together are longer than ${MAX_URI_BYTES} bytes.`,
  );
}

/**
 * Salesforce's refusal of an oversize request, if any (reference §5.1): 414 when the URI alone is over
 * the limit, else 431 when the URI and headers are. Takes node's `req.url` and `req.rawHeaders`, whose
 * strings hold one byte per character; each header counts as its wire line `name: value` CRLF.
 */
export function requestSizeError(uri: string, rawHeaders: readonly string[]): ApiResponse | undefined {
  if (uri.length > MAX_URI_BYTES) return uriTooLong();
  let total = uri.length;
  // a name and its ': ', a value and its CRLF
  for (const part of rawHeaders) total += part.length + 2;
  return total > MAX_URI_BYTES ? headersTooLarge() : undefined;
}

/** Line and column (1-based) of a character offset. */
export function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}

/**
 * Parse a JSON request body. A syntax error gives Salesforce's 400 JSON_PARSER_ERROR with a
 * Jackson-style message, e.g. `Unexpected character ('j' (code 106)): … at [line:1, column:10]`.
 */
export function parseJson(text: string): { value: unknown } | ApiResponse {
  try {
    return { value: JSON.parse(text) as unknown };
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    const m = /position (\d+)/.exec(msg);
    const offset = m === null ? text.length : Number(m[1]);
    const { line, column } = lineColumn(text, offset);
    const ch = text[offset];
    const message =
      ch === undefined
        ? `Unexpected end-of-input: expected close marker for OBJECT at [line:${line}, column:${column}]`
        : `Unexpected character ('${ch}' (code ${ch.charCodeAt(0)})): was expecting double-quote to start field name at [line:${line}, column:${column}]`;
    return apiError(400, 'JSON_PARSER_ERROR', message);
  }
}

/** True for a parse failure returned by {@link parseJson}. */
export function isResponse(v: unknown): v is ApiResponse {
  return typeof v === 'object' && v !== null && 'status' in v;
}

/**
 * The JSON_PARSER_ERROR message for a value of the wrong type (reference §3.1), e.g.
 * `Cannot deserialize instance of datetime from VALUE_STRING value "2013-08-12T15:20:00+0000" at [line:1, column:179]`.
 * The position is that of the value after the field name in `text` (best effort).
 */
export function typeMismatchMessage(
  text: string,
  fieldName: string,
  typeName: string,
  token: string,
  shown: string,
): string {
  let offset = text.indexOf(`"${fieldName}"`);
  if (offset < 0) offset = text.toLowerCase().indexOf(`"${fieldName.toLowerCase()}"`);
  if (offset >= 0) {
    const colon = text.indexOf(':', offset + fieldName.length + 2);
    offset = colon < 0 ? offset : colon + 1;
    while (offset < text.length && /\s/.test(text[offset]!)) offset++;
    // Jackson reports the position just after the offending token.
    const start = offset;
    if (text[start] === '"') {
      let i = start + 1;
      while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
      offset = i + 1;
    } else {
      while (offset < text.length && !/[,}\]\s]/.test(text[offset]!)) offset++;
    }
  } else offset = 0;
  const { line, column } = lineColumn(text, offset);
  const value = token === 'VALUE_STRING' ? `"${shown}"` : shown;
  return `Cannot deserialize instance of ${typeName} from ${token} value ${value} at [line:${line}, column:${column}]`;
}

/** HTTP date (RFC 7231) → ms, or undefined. */
export function parseHttpDate(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms;
}
