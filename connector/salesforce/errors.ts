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
    message: string,
    readonly context: RequestContext,
    readonly fields: string[] = [],
  ) {
    super(`${context.method} ${context.path} → ${status} ${errorCode}: ${message}`);
    this.name = 'SalesforceApiError';
  }

  /** The message Salesforce sent, without the request prefix. */
  get salesforceMessage(): string {
    return this.message.slice(this.message.indexOf(': ') + 2);
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
    super(`${context.method} ${context.path} failed: ${code}`, cause === undefined ? undefined : { cause });
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
  ) {
    super(`${context.method} ${context.path}: outcome unknown (${reason})`);
    this.name = 'UnknownOutcomeError';
  }
}
