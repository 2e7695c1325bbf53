/**
 * The one HTTP path to the Salesforce REST API (STYLE.md principle 9): got for transport, one
 * bottleneck limiter for concurrency, and the retry rules in one place.
 *
 * - 401 INVALID_SESSION_ID: one shared token refresh, then the call is sent once more
 *   (reference §1.7: tokens have no expiry time, so refresh on 401, never on a timer).
 * - 403 REQUEST_LIMIT_EXCEEDED (and 429): pause with bounded exponential backoff, honouring
 *   Retry-After, up to the configured total wait; then RateLimitError (reference §5.1, §5.3).
 * - 503, and failures to connect: the request never reached Salesforce, so it is re-sent.
 * - 500/502/504, timeouts, dropped connections and success statuses with a body that is not JSON:
 *   the call may have been applied. Idempotent calls (reads, upserts by key, updates and deletes by
 *   Id) are re-sent; an insert is not — that could duplicate rows — and the caller gets
 *   UnknownOutcomeError.
 * Every response's Sforce-Limit-Info updates the API usage (reference §3.7).
 */
import http from 'node:http';
import https from 'node:https';
import Bottleneck from 'bottleneck';
import type { Got, Response } from 'got';
import type { TokenManager } from './auth.js';
import {
  networkCode,
  NetworkError,
  PROXY_REFUSED,
  RateLimitError,
  SalesforceApiError,
  TLS_CERTIFICATE_CODES,
  UnknownOutcomeError,
  type RequestContext,
} from './errors.js';
import type { ApiUsage } from './types.js';

/** A REST call. */
export interface SalesforceRequest {
  method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';
  /** `/composite` (relative to /services/data/vNN.N) or an absolute `/services/…` path. May carry a query string. */
  path: string;
  /** Serialised as JSON. */
  body?: unknown;
  /** A body sent as is (a Composite body assembled from record bytes), with its content type. */
  rawBody?: { data: Buffer; contentType: string };
  headers?: Record<string, string>;
  /** Safe to apply twice: re-sent after failures whose outcome is unknown. */
  idempotent: boolean;
  /** Counted under this name (composite, query, describe, …). */
  kind: string;
  /** Statuses that are answers rather than errors (e.g. 300 for an ambiguous upsert). */
  acceptStatuses?: readonly number[];
  /** Incremented for every call sent (retries included), so callers can attribute quota use. */
  counter?: RequestCounter;
}

/** A tally of calls sent on someone's behalf. */
export interface RequestCounter {
  requests: number;
}

/** The answer to a call. */
export interface SalesforceResponse<T> {
  status: number;
  body: T;
  headers: Record<string, string | string[] | undefined>;
}

/** Minimal logging surface, so this module knows nothing of the connector's logger. */
export interface HttpLog {
  warn(message: string): void;
  debug(message: string): void;
}

/** Settings of the HTTP client. */
export interface SalesforceHttpOptions {
  tokens: TokenManager;
  /** e.g. `v61.0` */
  apiVersion: string;
  got: Got;
  maxConcurrent: number;
  timeoutMs: number;
  /** Attempts for 5xx and network failures (default 6). */
  maxAttempts?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Total time to keep pausing on REQUEST_LIMIT_EXCEEDED before giving up. */
  rateLimitMaxWaitMs: number;
  /** Stop before the org's rolling 24 h usage reaches this share of its allocation (1–100). */
  apiBudgetPercent?: number;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  log?: HttpLog;
  /** Extra headers on every call (e.g. Sforce-Call-Options). */
  headers?: Record<string, string>;
}

/**
 * Error codes that mean the request never left this machine, so re-sending cannot duplicate it: no
 * connection, or a TLS handshake that refused the server's certificate (nothing is sent before it).
 */
const NOT_SENT = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ERR_INVALID_URL',
  ...TLS_CERTIFICATE_CODES,
]);

const defaultSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** The agents got uses for one call. */
export interface Agents {
  http: http.Agent;
  https: https.Agent;
}

/** Keep-alive agents sized to the concurrency: reusing connections saves a TLS handshake per call. */
export function keepAliveAgents(maxSockets: number): Agents {
  return {
    http: new http.Agent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets }),
    https: new https.Agent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets }),
  };
}

/** The REST client: every call to /services/data goes through `request`. */
export class SalesforceHttp {
  private readonly limiter: Bottleneck;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;
  /** Latest `api-usage` from Sforce-Limit-Info. */
  usage: ApiUsage | undefined;
  /** Calls sent, by kind (retries included: each one costs quota). */
  readonly counts = new Map<string, number>();
  /** Total calls sent. */
  total = 0;
  /** Time spent paused on REQUEST_LIMIT_EXCEEDED, in ms. */
  rateLimitedMs = 0;
  /** Retries after 5xx or network failures. */
  retries = 0;

  constructor(private readonly options: SalesforceHttpOptions) {
    this.limiter = new Bottleneck({ maxConcurrent: options.maxConcurrent });
    this.sleep = options.sleep ?? defaultSleep;
    this.random = options.random ?? Math.random;
  }

  /** The API version in use, e.g. `v61.0`. */
  get apiVersion(): string {
    return this.options.apiVersion;
  }

  /** Sends a call with the retry rules above. */
  async request<T>(req: SalesforceRequest): Promise<SalesforceResponse<T>> {
    const context: RequestContext = { method: req.method, path: req.path.split('?')[0]! };
    const maxAttempts = this.options.maxAttempts ?? 6;
    let attempt = 0;
    let refreshed = false;
    let rateLimitWaited = 0;
    let rateLimitAttempt = 0;
    for (;;) {
      this.checkBudget(context);
      const token = await this.options.tokens.get();
      let response: Response<string>;
      try {
        response = await this.limiter.schedule(() => this.send(req, token.instanceUrl, token.accessToken));
      } catch (error) {
        const code = networkCode(error);
        const sent = !NOT_SENT.has(code) && !code.startsWith(PROXY_REFUSED);
        attempt += 1;
        if (sent && !req.idempotent)
          throw new UnknownOutcomeError(context, `connection failed after sending: ${code}`);
        if (attempt >= maxAttempts) throw new NetworkError(code, context, sent, error);
        await this.backoff(attempt, undefined, `${context.method} ${context.path} failed (${code})`);
        continue;
      }
      this.recordUsage(response.headers['sforce-limit-info']);
      const status = response.statusCode;
      if (status < 300 || req.acceptStatuses?.includes(status)) {
        let body: T;
        try {
          body = this.parse<T>(response.body);
        } catch {
          // Answered, but not in a form we can read (a proxy's page, a cut-off body): what the call
          // did is as unknown as after a dropped connection, and handled the same way.
          const what = `HTTP ${status} with an answer that is not JSON (${describeBody(response)})`;
          attempt += 1;
          if (!req.idempotent) throw new UnknownOutcomeError(context, what);
          if (attempt >= maxAttempts) {
            throw new SalesforceApiError(status, 'UNREADABLE_RESPONSE', `${what}, ${attempt} times`, context);
          }
          await this.backoff(attempt, undefined, `${context.method} ${context.path} answered ${what}`);
          continue;
        }
        return { status, body, headers: response.headers };
      }
      const error = firstError(response.body);
      if (status === 401 && !refreshed) {
        // One shared refresh, then one more try (PRODUCT.md section 7).
        refreshed = true;
        await this.options.tokens.refresh(token.accessToken);
        continue;
      }
      if ((status === 403 && error.errorCode === 'REQUEST_LIMIT_EXCEEDED') || status === 429) {
        rateLimitAttempt += 1;
        const delay = this.delayFor(rateLimitAttempt, response);
        if (rateLimitWaited + delay > this.options.rateLimitMaxWaitMs) {
          throw new RateLimitError(
            `Salesforce refused calls with ${error.errorCode || `HTTP ${status}`} ("${error.message}") for ${Math.round(rateLimitWaited / 1000)} s`,
            context,
            this.usage,
          );
        }
        rateLimitWaited += delay;
        this.rateLimitedMs += delay;
        this.options.log?.warn(
          `Salesforce answered ${error.errorCode} (${error.message}); pausing ${delay < 10_000 ? (delay / 1000).toFixed(1) : Math.round(delay / 1000)} s before retrying.`,
        );
        await this.sleep(delay);
        continue;
      }
      if (status >= 500) {
        attempt += 1;
        const neverApplied = status === 503;
        if (!neverApplied && !req.idempotent) {
          throw new UnknownOutcomeError(
            context,
            `HTTP ${status}${error.errorCode ? ` ${error.errorCode}` : ''}`,
          );
        }
        if (attempt >= maxAttempts) {
          throw new SalesforceApiError(status, error.errorCode || `HTTP_${status}`, error.message, context);
        }
        await this.backoff(attempt, response, `${context.method} ${context.path} answered HTTP ${status}`);
        continue;
      }
      throw new SalesforceApiError(
        status,
        error.errorCode || `HTTP_${status}`,
        error.message,
        context,
        error.fields,
      );
    }
  }

  /** Remaining daily API requests, if Salesforce has told us. */
  get remaining(): number | undefined {
    return this.usage === undefined ? undefined : this.usage.max - this.usage.used;
  }

  /** Waits for calls in flight to finish and stops the limiter. */
  async stop(): Promise<void> {
    await this.limiter.stop({ dropWaitingJobs: false });
  }

  private checkBudget(context: RequestContext): void {
    const budget = this.options.apiBudgetPercent;
    if (budget === undefined || budget >= 100 || this.usage === undefined || this.usage.max === 0) return;
    if ((this.usage.used / this.usage.max) * 100 >= budget) {
      throw new RateLimitError(
        `the org has used ${this.usage.used} of its ${this.usage.max} daily API requests, which reaches the configured budget of ${budget} %`,
        context,
        this.usage,
      );
    }
  }

  private async send(
    req: SalesforceRequest,
    instanceUrl: string,
    accessToken: string,
  ): Promise<Response<string>> {
    const url = req.path.startsWith('/services/')
      ? `${instanceUrl}${req.path}`
      : `${instanceUrl}/services/data/${this.options.apiVersion}${req.path}`;
    const headers: Record<string, string> = {
      authorization: `Bearer ${accessToken}`,
      accept: 'application/json',
      ...this.options.headers,
      ...req.headers,
    };
    // A Buffer body: got handles a long string body noticeably slower (measured: ~1 ms more CPU per
    // 370 KB Composite call), and these calls carry up to 1,020 records.
    let body: Buffer | undefined;
    if (req.rawBody !== undefined) {
      body = req.rawBody.data;
      headers['content-type'] = req.rawBody.contentType;
    } else if (req.body !== undefined) {
      body = Buffer.from(JSON.stringify(req.body));
      headers['content-type'] = 'application/json';
    }
    this.total += 1;
    this.counts.set(req.kind, (this.counts.get(req.kind) ?? 0) + 1);
    if (req.counter !== undefined) req.counter.requests += 1;
    return this.options.got(url, {
      method: req.method,
      headers,
      ...(body === undefined ? {} : { body }),
      throwHttpErrors: false,
      retry: { limit: 0 },
      followRedirect: false,
      timeout: { request: this.options.timeoutMs },
      responseType: 'text',
      decompress: true,
    });
  }

  private parse<T>(text: string): T {
    if (text.length === 0) return undefined as T;
    return JSON.parse(text) as T;
  }

  private recordUsage(header: string | string[] | undefined): void {
    const value = Array.isArray(header) ? header[0] : header;
    if (value === undefined) return;
    const match = /api-usage=(\d+)\/(\d+)/.exec(value);
    if (match) this.usage = { used: Number(match[1]), max: Number(match[2]) };
  }

  /** Exponential backoff with full jitter, at least Retry-After when the server sent one. */
  private delayFor(attempt: number, response?: Response<string>): number {
    const base = this.options.baseDelayMs ?? 500;
    const cap = this.options.maxDelayMs ?? 30_000;
    const exp = Math.min(cap, base * 2 ** Math.max(0, attempt - 1));
    let delay = exp / 2 + (this.random() * exp) / 2;
    const retryAfter = response?.headers['retry-after'];
    if (typeof retryAfter === 'string') {
      const seconds = Number(retryAfter);
      const ms = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(retryAfter) - Date.now();
      if (Number.isFinite(ms) && ms > delay) delay = Math.min(ms, Math.max(cap, 300_000));
    }
    return Math.round(delay);
  }

  private async backoff(
    attempt: number,
    response: Response<string> | undefined,
    what: string,
  ): Promise<void> {
    const delay = this.delayFor(attempt, response);
    this.retries += 1;
    this.options.log?.debug(`${what}; retry ${attempt} in ${delay} ms`);
    await this.sleep(delay);
  }
}

/** What an unreadable answer was, without its content: its type and size. */
function describeBody(response: Response<string>): string {
  const type = response.headers['content-type'];
  return `${typeof type === 'string' ? type.split(';')[0] : 'no content type'}, ${response.body.length} characters`;
}

/** The first `{errorCode, message, fields}` of a REST error body (an array), tolerating other shapes. */
function firstError(text: string): { errorCode: string; message: string; fields: string[] } {
  try {
    const body = JSON.parse(text) as unknown;
    const first = (Array.isArray(body) ? body[0] : body) as Record<string, unknown> | undefined;
    if (first && typeof first === 'object') {
      const pick = (...values: unknown[]): string =>
        values.find((v): v is string => typeof v === 'string') ?? '';
      return {
        errorCode: pick(first.errorCode, first.error),
        message: pick(first.message, first.error_description),
        fields: Array.isArray(first.fields) ? (first.fields as string[]) : [],
      };
    }
  } catch {
    // not JSON: an HTML error page from a proxy, say
  }
  return { errorCode: '', message: text.slice(0, 200), fields: [] };
}
