/**
 * Errors of the Salesforce client. They keep what Salesforce said (HTTP status, errorCode, message)
 * and where (method, path) — never a token, a secret or a query string with credentials
 * (STYLE.md principle 8). The Airbyte side decides what each means for the user.
 */

/** Where a request went, for error context. Paths never carry secrets (queries are stripped). */
export interface RequestContext {
  method: string;
  path: string;
}

/** A REST call answered with an error status (request level, `[{errorCode, message, fields}]`). */
export class SalesforceApiError extends Error {
  constructor(
    readonly status: number,
    readonly errorCode: string,
    /** The message Salesforce sent, as it sent it. */
    readonly salesforceMessage: string,
    readonly context: RequestContext,
    readonly fields: string[] = [],
  ) {
    super(`${context.method} ${context.path} → ${status} ${errorCode}: ${salesforceMessage}`);
    this.name = 'SalesforceApiError';
  }
}

/** One error of a Salesforce error body, in the shape every caller reads. */
export interface ErrorBodyEntry {
  errorCode: string;
  message: string;
  fields: string[];
}

/**
 * The first error of a Salesforce error body, whatever form it came in: the REST array
 * `[{errorCode, message, fields}]`, a single object, a per-record `{statusCode, message, fields}`, or
 * the token endpoint's `{error, error_description}` (reference §1.2, §5.1). Undefined when the body
 * carries none (not JSON, an empty array, a proxy's page).
 */
export function parseErrorBody(body: unknown): ErrorBodyEntry | undefined {
  let value = body;
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value) as unknown;
    } catch {
      return undefined;
    }
  }
  const first = (Array.isArray(value) ? value[0] : value) as Record<string, unknown> | null | undefined;
  if (first === null || typeof first !== 'object') return undefined;
  const pick = (...values: unknown[]): string | undefined =>
    values.find((v): v is string => typeof v === 'string');
  const errorCode = pick(first.errorCode, first.statusCode, first.error);
  if (errorCode === undefined) return undefined;
  return {
    errorCode,
    message: pick(first.message, first.error_description) ?? '',
    fields: Array.isArray(first.fields) ? first.fields.filter((f): f is string => typeof f === 'string') : [],
  };
}

/**
 * A call was answered with a redirect. No call to Salesforce follows one (STYLE.md principle 9): a
 * redirect could carry the credentials of a sign-in, or the access token, to another host, or over
 * plain http. `location` is the origin it pointed to (scheme, host and port only).
 */
export class RedirectError extends Error {
  constructor(
    readonly context: RequestContext & { host: string },
    readonly status: number,
    readonly location: string,
  ) {
    super(`${context.method} ${context.host}${context.path} → ${status} redirect to ${location}`);
    this.name = 'RedirectError';
  }
}

/** A call would have gone over plain http to a host that is not this machine's loopback. */
export class InsecureUrlError extends Error {
  constructor(
    readonly context: RequestContext,
    /** The origin refused (scheme, host and port). */
    readonly origin: string,
  ) {
    super(`${context.method} ${origin}${context.path} refused: plain http off loopback`);
    this.name = 'InsecureUrlError';
  }
}

/** The token endpoint refused (`400 {error, error_description}`, reference §1.2). */
export class OAuthError extends Error {
  constructor(
    readonly status: number,
    readonly error: string,
    readonly description: string,
    readonly grantType: string,
  ) {
    super(`token request (${grantType}) → ${status} ${error}: ${description}`);
    this.name = 'OAuthError';
  }
}

/**
 * Error codes of a TLS handshake that refused the server's certificate. Nothing is sent before the
 * handshake succeeds, and retrying does not help: the trust store or a proxy must change.
 */
export const TLS_CERTIFICATE_CODES: ReadonlySet<string> = new Set([
  'CERT_HAS_EXPIRED',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** The prefix of the code for a proxy that refused to open a tunnel: `PROXY_HTTP_407`, … */
export const PROXY_REFUSED = 'PROXY_HTTP_';

/**
 * The code of a failed connection: the system's (ECONNRESET, …), or PROXY_HTTP_<status> when the
 * proxy named by the environment answered the tunnel request with an error status (salesforce/proxy.ts;
 * nothing reached Salesforce then).
 */
export function networkCode(error: unknown): string {
  if (!(error instanceof Error)) return 'ERR_NETWORK';
  const proxyStatus = /^Bad response: (\d{3})$/.exec(error.message);
  if (proxyStatus) return `${PROXY_REFUSED}${proxyStatus[1]}`;
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' ? code : 'ERR_NETWORK';
}

/** The network failed: no HTTP answer. `sent` tells whether the request may have reached Salesforce. */
export class NetworkError extends Error {
  constructor(
    readonly code: string,
    readonly context: RequestContext,
    readonly sent: boolean,
    cause?: unknown,
  ) {
    // A failure of our own while reading the answer (a results file that is not CSV) says what it was.
    const own = cause instanceof Error && !('code' in cause) ? ` (${cause.message})` : '';
    super(
      `${context.method} ${context.path} failed: ${code}${own}`,
      cause === undefined ? undefined : { cause },
    );
    this.name = 'NetworkError';
  }
}

/** REQUEST_LIMIT_EXCEEDED persisted past the configured wait, or the API budget was reached. */
export class RateLimitError extends Error {
  constructor(
    message: string,
    readonly context: RequestContext | undefined,
    readonly usage?: { used: number; max: number },
  ) {
    super(message);
    this.name = 'RateLimitError';
  }
}

/**
 * A write whose outcome Salesforce never told us (connection dropped after the request was sent,
 * a 500 or a timeout on a non-idempotent call). Retrying an insert could duplicate rows, so the
 * caller decides what to do with the records.
 */
export class UnknownOutcomeError extends Error {
  constructor(
    readonly context: RequestContext,
    readonly reason: string,
    /** When the attempt whose answer never came was sent (Salesforce may apply it later). */
    readonly sentAt: number = Date.now(),
  ) {
    super(`${context.method} ${context.path}: outcome unknown (${reason})`);
    this.name = 'UnknownOutcomeError';
  }
}
