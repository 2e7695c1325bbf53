/**
 * The one HTTP client for every call to Salesforce (STYLE.md principle 9): sign-in at the login host,
 * the versions listing, Describe, queries, Composite and Bulk. got for transport, one bottleneck
 * limiter for concurrency, and one policy:
 *
 * - Only https, or plain http to this machine's loopback (the emulator): nothing, least of all a
 *   credential, goes over plain http across a network.
 * - No redirect is followed. A 3xx answer ends the call with a RedirectError naming where it
 *   pointed: a redirect could carry a sign-in's secrets or the access token to another host.
 * - 401 INVALID_SESSION_ID on a REST call: one shared token refresh, then the call is sent once more
 *   (reference §1.7: tokens have no expiry time, so refresh on 401, never on a timer).
 * - 403 REQUEST_LIMIT_EXCEEDED (and 429): pause with bounded exponential backoff, honouring
 *   Retry-After, up to the configured total wait; then RateLimitError (reference §5.1, §5.3).
 * - 503, and failures to connect: the request never reached Salesforce, so it is re-sent.
 * - 500/502/504, timeouts, dropped connections and success statuses with a body that is not JSON:
 *   the call may have been applied. Idempotent calls (reads, sign-in, upserts by key, updates and
 *   deletes by Id) are re-sent; an insert is not — that could duplicate rows — and the caller gets
 *   UnknownOutcomeError. When no answer came at all (a timeout, a dropped connection, a gateway's
 *   502/504), Salesforce may still be applying the call — it keeps going after its client has left,
 *   for up to 10 minutes (reference §5.3) — and the caller is told when that attempt was sent
 *   (`onDoubt`), so that it can keep newer writes of the same records from landing first.
 * Every REST response's Sforce-Limit-Info updates the API usage (reference §3.7).
 */
import { read } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { Readable } from 'node:stream';
import Bottleneck from 'bottleneck';
import type { Got, Response } from 'got';
import type { AccessToken } from './auth.js';
import {
  InsecureUrlError,
  networkCode,
  NetworkError,
  parseErrorBody,
  PROXY_REFUSED,
  RateLimitError,
  RedirectError,
  SalesforceApiError,
  TLS_CERTIFICATE_CODES,
  UnknownOutcomeError,
  type RequestContext,
} from './errors.js';
import type { ApiUsage } from './types.js';

/** A call to Salesforce. */
export interface SalesforceRequest {
  method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';
  /**
   * A REST call on the instance, sent with the access token: a path relative to
   * /services/data/vNN.N (`/composite`) or an absolute `/services/…` path. May carry a query string.
   */
  path?: string;
  /**
   * A call to an absolute URL without the access token: sign-in at the login host, the versions
   * listing on an instance. Not an API request in Salesforce's accounting (reference §2.1).
   */
  url?: string;
  /** Serialised as JSON. */
  body?: unknown;
  /** A body sent as is (a Composite body assembled from record bytes), with its content type. */
  rawBody?: { data: Buffer; contentType: string };
  /**
   * A body read from a file for each attempt (a Bulk job's CSV, up to ~100 MB: never held in
   * memory), with its size and content type.
   */
  /**
   * A body read from a file as it is sent: `size` bytes in all, `prefix` (if any) first and then the
   * file's first `size - prefix.length` bytes (so a file need not be copied to put a line before it).
   */
  /**
   * A body of `size` bytes: `prefix`, then the first bytes of the open file `fd` (read by position,
   * so a retry reads them again; the descriptor stays open).
   */
  fileBody?: { fd?: number; size: number; contentType: string; prefix?: Buffer };
  /**
   * Reads a success answer as a stream (Bulk results, up to ~100 MB): the client hands the body to
   * `consume` and returns what it resolves with. A failure mid-stream is retried like a dropped
   * connection (for idempotent calls), so `consume` must give the same result when run again.
   */
  consume?: (body: Readable) => Promise<unknown>;
  /** Sent as application/x-www-form-urlencoded (the token endpoint). */
  form?: Record<string, string>;
  headers?: Record<string, string>;
  /** Safe to apply twice: re-sent after failures whose outcome is unknown. */
  idempotent: boolean;
  /** Counted under this name (composite, query, describe, …). */
  kind: string;
  /** Statuses that are answers rather than errors (e.g. 300 for an ambiguous upsert). */
  acceptStatuses?: readonly number[];
  /** Every status below 500 is an answer (the token endpoint's 400 `{error, error_description}`). */
  anyAnswer?: boolean;
  /** Incremented for every call sent (retries included), so callers can attribute quota use. */
  counter?: RequestCounter;
  /** Time allowed for one attempt; the client's default otherwise. */
  timeoutMs?: number;
  /** Ends the call (and its retries) as soon as this signal aborts. */
  signal?: AbortSignal;
  /**
   * Called when an attempt was sent and no answer came (a timeout, a dropped connection, a gateway's
   * 502/504): Salesforce may go on applying it for a while. `sentAt` is when that attempt left.
   */
  onDoubt?: (sentAt: number) => void;
  /**
   * Called in the limiter's slot just before each attempt leaves: throwing there stops the call
   * unsent (an insert after the run has failed must not go out, whatever was already queued).
   */
  beforeSend?: () => void;
  /**
   * Leaves even after the run's stop: the few calls a stop itself needs (aborting a Bulk job that
   * is still Open, so that Salesforce never processes it).
   */
  evenWhenStopped?: boolean;
  /** Told the time of the attempt that was answered (send to answer, not the wait for a slot). */
  onTiming?: (attemptMs: number) => void;
  /** Told when Salesforce pushed back on an attempt (503, ConcurrentPerOrgLongTxn) before it was retried. */
  onPushback?: (what: string) => void;
  /** Read the answer as text, not JSON (CSV results). */
  text?: boolean;
  /**
   * Return a JSON answer as its text, unparsed (the caller reads it faster than a full parse); an
   * answer that does not even look like JSON is handled as an unreadable one.
   */
  jsonText?: boolean;
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

/** Where REST calls get their access token (the token manager, auth.ts). */
export interface TokenSource {
  get(): Promise<AccessToken>;
  /** A fresh token; `stale` is the one that was refused. */
  refresh(stale?: string): Promise<AccessToken>;
}

/** Settings of the HTTP client. */
export interface SalesforceHttpOptions {
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
  now?: () => number;
  log?: HttpLog;
  /** Extra headers on every REST call (e.g. Sforce-Call-Options). */
  headers?: Record<string, string>;
  /**
   * The run's stop: once it aborts, no new call (or retry) leaves; calls already in flight finish
   * (a refresh-token grant must, since Salesforce may rotate the token as it answers).
   */
  stopSignal?: AbortSignal;
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

/** Answers from a gateway in front of Salesforce: the call may still be running behind it. */
const GATEWAY_STATUSES: ReadonlySet<number> = new Set([502, 504]);

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

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);

/** True for URLs on this machine's loopback interface (the emulator). */
export function isLoopbackUrl(url: URL): boolean {
  return LOOPBACK_HOSTS.has(url.hostname);
}

/** How far one call has got through its retries. */
interface Tries {
  max: number;
  attempt: number;
  refreshed: boolean;
  rateLimitWaited: number;
  rateLimitAttempt: number;
}

/** The client: every call to Salesforce goes through `request`. */
export class SalesforceHttp {
  private readonly limiter: Bottleneck;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;
  private readonly now: () => number;
  private tokens: TokenSource | undefined;
  private currentConcurrency: number;
  /** Latest `api-usage` from Sforce-Limit-Info. */
  usage: ApiUsage | undefined;
  /** REST calls sent, by kind (retries included: each one costs quota). */
  readonly counts = new Map<string, number>();
  /** Total REST calls sent (API requests in Salesforce's accounting). */
  total = 0;
  /** Time spent paused on REQUEST_LIMIT_EXCEEDED, in ms. */
  rateLimitedMs = 0;
  /** Retries after 5xx or network failures. */
  retries = 0;
  /** Salesforce answered REQUEST_LIMIT_EXCEEDED (or 429) during this run. */
  limitSeen = false;
  /** REST calls in flight now. */
  private inFlight = 0;

  constructor(private readonly options: SalesforceHttpOptions) {
    this.limiter = new Bottleneck({ maxConcurrent: options.maxConcurrent });
    this.currentConcurrency = options.maxConcurrent;
    this.sleep = options.sleep ?? defaultSleep;
    this.random = options.random ?? Math.random;
    this.now = options.now ?? Date.now;
  }

  /** Where REST calls get their token; set once the token manager (which signs in through this client) exists. */
  useTokens(tokens: TokenSource): void {
    this.tokens = tokens;
  }

  /** The API version in use, e.g. `v61.0`. */
  get apiVersion(): string {
    return this.options.apiVersion;
  }

  /** Sends a call with the policy above. */
  async request<T>(req: SalesforceRequest): Promise<SalesforceResponse<T>> {
    const rest = req.url === undefined;
    const context: RequestContext = { method: req.method, path: pathOf(req) };
    const tries: Tries = {
      max: this.options.maxAttempts ?? 6,
      attempt: 0,
      refreshed: false,
      rateLimitWaited: 0,
      rateLimitAttempt: 0,
    };
    const stop = req.evenWhenStopped === true ? undefined : this.options.stopSignal;
    for (;;) {
      if (stop?.aborted === true) throw new DOMException('the run was stopped', 'AbortError');
      let token: AccessToken | undefined;
      let url: string;
      if (rest) {
        this.checkBudget(context);
        if (this.tokens === undefined) throw new Error('REST call before a token source was set');
        token = await this.tokens.get();
        url = this.restUrl(req.path!, token.instanceUrl);
      } else {
        url = req.url!;
      }
      const target = checkUrl(url, context);
      let response: Response<string>;
      let sentAt = this.now();
      try {
        response = await this.limiter.schedule(() => {
          if (stop?.aborted === true) throw new DOMException('the run was stopped', 'AbortError');
          req.beforeSend?.();
          sentAt = this.now();
          return this.send(req, target, token);
        });
      } catch (error) {
        await this.afterNetworkFailure(req, error, context, sentAt, tries);
        continue;
      }
      if (rest) this.recordUsage(response.headers['sforce-limit-info']);
      const status = response.statusCode;
      req.onTiming?.(this.now() - sentAt);
      if (status >= 300 && status < 400 && !req.acceptStatuses?.includes(status)) {
        throw new RedirectError(
          { ...context, host: `${target.protocol}//${target.host}` },
          status,
          originOf(response.headers.location, target),
        );
      }
      if (
        status < 300 ||
        req.acceptStatuses?.includes(status) ||
        (req.anyAnswer === true && status < 500 && !(rest && status === 401))
      ) {
        const answer = await this.readAnswer<T>(req, response, context, sentAt, tries);
        if (answer !== undefined) return answer;
        continue;
      }
      await this.afterRefusal(req, response, rest, token, context, sentAt, tries);
    }
  }

  /** A call that got no answer: throws, or returns once it is right to try again. */
  private async afterNetworkFailure(
    req: SalesforceRequest,
    error: unknown,
    context: RequestContext,
    sentAt: number,
    tries: Tries,
  ): Promise<void> {
    if (req.signal?.aborted === true || isAbortError(error))
      throw new DOMException('call stopped', 'AbortError');
    const code = networkCode(error);
    const sent = !NOT_SENT.has(code) && !code.startsWith(PROXY_REFUSED);
    tries.attempt += 1;
    if (sent && !req.idempotent)
      throw new UnknownOutcomeError(context, `connection failed after sending: ${code}`, sentAt);
    if (sent) req.onDoubt?.(sentAt);
    if (tries.attempt >= tries.max) throw new NetworkError(code, context, sent, error);
    await this.backoff(tries.attempt, undefined, `${context.method} ${context.path} failed (${code})`);
  }

  /** Reads an accepted answer in the form asked for; undefined once it is right to try again. */
  private async readAnswer<T>(
    req: SalesforceRequest,
    response: Response<string>,
    context: RequestContext,
    sentAt: number,
    tries: Tries,
  ): Promise<SalesforceResponse<T> | undefined> {
    const status = response.statusCode;
    if (req.consume !== undefined) {
      return { status, body: (response as { consumed?: unknown }).consumed as T, headers: response.headers };
    }
    if (req.text === true) return { status, body: response.body as T, headers: response.headers };
    try {
      if (req.jsonText !== true) return { status, body: parse<T>(response.body), headers: response.headers };
      if (looksLikeJson(response.body))
        return { status, body: response.body as T, headers: response.headers };
    } catch {
      // read below
    }
    // Answered, but not in a form we can read (a proxy's page, a cut-off body): what the call
    // did is as unknown as after a dropped connection, and handled the same way.
    const what = `HTTP ${status} with an answer that is not JSON (${describeBody(response)})`;
    tries.attempt += 1;
    if (!req.idempotent) throw new UnknownOutcomeError(context, what, sentAt);
    if (tries.attempt >= tries.max) {
      throw new SalesforceApiError(status, 'UNREADABLE_RESPONSE', `${what}, ${tries.attempt} times`, context);
    }
    await this.backoff(tries.attempt, undefined, `${context.method} ${context.path} answered ${what}`);
    return undefined;
  }

  /** A refused call: throws, or returns once it is right to try again (after a refresh or a pause). */
  private async afterRefusal(
    req: SalesforceRequest,
    response: Response<string>,
    rest: boolean,
    token: AccessToken | undefined,
    context: RequestContext,
    sentAt: number,
    tries: Tries,
  ): Promise<void> {
    const status = response.statusCode;
    const error = parseErrorBody(response.body) ?? {
      errorCode: '',
      message: response.body.slice(0, 200),
      fields: [],
    };
    if (rest && status === 401 && !tries.refreshed) {
      // One shared refresh, then one more try (PRODUCT.md section 7).
      tries.refreshed = true;
      await this.tokens!.refresh(token!.accessToken);
      return;
    }
    if ((status === 403 && error.errorCode === 'REQUEST_LIMIT_EXCEEDED') || status === 429) {
      await this.pauseForLimit(req, response, error, context, tries);
      return;
    }
    if (status >= 500) {
      tries.attempt += 1;
      const neverApplied = status === 503;
      if (neverApplied) req.onPushback?.('Salesforce answered 503 (unavailable)');
      if (!neverApplied && !req.idempotent) {
        throw new UnknownOutcomeError(
          context,
          `HTTP ${status}${error.errorCode ? ` ${error.errorCode}` : ''}`,
          sentAt,
        );
      }
      if (GATEWAY_STATUSES.has(status)) req.onDoubt?.(sentAt);
      if (tries.attempt >= tries.max) {
        throw new SalesforceApiError(status, error.errorCode || `HTTP_${status}`, error.message, context);
      }
      await this.backoff(
        tries.attempt,
        response,
        `${context.method} ${context.path} answered HTTP ${status}`,
      );
      return;
    }
    throw new SalesforceApiError(
      status,
      error.errorCode || `HTTP_${status}`,
      error.message,
      context,
      error.fields,
    );
  }

  /** REQUEST_LIMIT_EXCEEDED or 429: pauses within rate_limit_max_wait_seconds, then fails the run. */
  private async pauseForLimit(
    req: SalesforceRequest,
    response: Response<string>,
    error: { errorCode: string; message: string },
    context: RequestContext,
    tries: Tries,
  ): Promise<void> {
    if (/ConcurrentPerOrgLongTxn/i.test(error.message)) {
      req.onPushback?.(
        `Salesforce answered ConcurrentPerOrgLongTxn: the org's 25 long-running requests are taken`,
      );
    } else this.limitSeen = true;
    tries.rateLimitAttempt += 1;
    const delay = this.delayFor(tries.rateLimitAttempt, response);
    if (tries.rateLimitWaited + delay > this.options.rateLimitMaxWaitMs) {
      throw new RateLimitError(
        `Salesforce refused calls with ${error.errorCode || `HTTP ${response.statusCode}`} ("${error.message}") for ${Math.round(tries.rateLimitWaited / 1000)} s`,
        context,
        this.usage,
      );
    }
    tries.rateLimitWaited += delay;
    this.rateLimitedMs += delay;
    this.options.log?.warn(
      `Salesforce answered ${error.errorCode} (${error.message}); pausing ${delay < 10_000 ? (delay / 1000).toFixed(1) : Math.round(delay / 1000)} s before retrying.`,
    );
    await this.sleep(delay);
  }

  /** Remaining daily API requests, if Salesforce has told us. */
  get remaining(): number | undefined {
    return this.usage === undefined ? undefined : this.usage.max - this.usage.used;
  }

  /**
   * True once the org's API limit is near: Salesforce answered REQUEST_LIMIT_EXCEEDED in this run, or
   * the requests left under the budget (by the last Sforce-Limit-Info) are no more than the calls
   * that may be in flight. Callers that must not overshoot (inserts) then send one call at a time.
   */
  get limitPressure(): boolean {
    if (this.limitSeen) return true;
    const usage = this.usage;
    if (usage === undefined || usage.max === 0) return false;
    const budget = Math.min(100, this.options.apiBudgetPercent ?? 100);
    const left = Math.floor((usage.max * budget) / 100) - usage.used;
    return left <= Math.max(this.inFlight, this.currentConcurrency) + 1;
  }

  /** Calls allowed in flight at once. */
  get concurrency(): number {
    return this.currentConcurrency;
  }

  /** Calls waiting for a slot of the limiter (not yet sent). */
  get backlog(): number {
    const counts = this.limiter.counts();
    return counts.RECEIVED + counts.QUEUED;
  }

  /** Changes the calls allowed in flight (adaptive concurrency); calls already running go on. */
  setConcurrency(maxConcurrent: number): void {
    if (maxConcurrent === this.currentConcurrency) return;
    this.currentConcurrency = maxConcurrent;
    this.limiter.updateSettings({ maxConcurrent });
  }

  /** Waits for calls in flight to finish and stops the limiter. */
  async stop(): Promise<void> {
    await this.limiter.stop({ dropWaitingJobs: false });
  }

  private restUrl(path: string, instanceUrl: string): string {
    return path.startsWith('/services/')
      ? `${instanceUrl}${path}`
      : `${instanceUrl}/services/data/${this.options.apiVersion}${path}`;
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
    url: URL,
    token: AccessToken | undefined,
  ): Promise<Response<string>> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (token !== undefined) {
      headers.authorization = `Bearer ${token.accessToken}`;
      Object.assign(headers, this.options.headers);
    }
    Object.assign(headers, req.headers);
    // A Buffer body: got handles a long string body noticeably slower (measured: ~1 ms more CPU per
    // 370 KB Composite call), and these calls carry up to 1,020 records.
    let body: Buffer | undefined;
    if (req.rawBody !== undefined) {
      body = req.rawBody.data;
      headers['content-type'] = req.rawBody.contentType;
    } else if (req.fileBody !== undefined) {
      headers['content-type'] = req.fileBody.contentType;
      headers['content-length'] = String(req.fileBody.size);
    } else if (req.form !== undefined) {
      body = Buffer.from(new URLSearchParams(req.form).toString());
      headers['content-type'] = 'application/x-www-form-urlencoded';
    } else if (req.body !== undefined) {
      body = Buffer.from(JSON.stringify(req.body));
      headers['content-type'] = 'application/json';
    }
    if (token !== undefined) {
      this.total += 1;
      this.counts.set(req.kind, (this.counts.get(req.kind) ?? 0) + 1);
      if (req.counter !== undefined) req.counter.requests += 1;
    }
    this.inFlight += 1;
    try {
      const options = {
        method: req.method,
        headers,
        ...(body === undefined ? {} : { body }),
        ...(req.fileBody === undefined ? {} : { body: fileBody(req.fileBody) }),
        throwHttpErrors: false,
        retry: { limit: 0 },
        followRedirect: false,
        timeout: { request: req.timeoutMs ?? this.options.timeoutMs },
        decompress: true,
        ...(req.signal === undefined ? {} : { signal: req.signal }),
      } as const;
      if (req.consume !== undefined) return await this.streamed(url, options, req.consume);
      return await this.options.got(url, { ...options, responseType: 'text' });
    } finally {
      this.inFlight -= 1;
    }
  }

  /**
   * One attempt whose success answer is read as a stream by `consume`; an error answer is read as
   * text like any other. Returns a text response whose `consumed` carries what `consume` gave.
   */
  private streamed(
    url: URL,
    options: Record<string, unknown>,
    consume: (body: Readable) => Promise<unknown>,
  ): Promise<Response<string>> {
    return new Promise((resolve, reject) => {
      const stream = this.options.got.stream(url, options as unknown as Parameters<Got['stream']>[0]);
      stream.once('error', reject);
      stream.once('response', (response: Response<string>) => {
        const status = response.statusCode;
        if (status >= 200 && status < 300) {
          consume(stream).then(
            (value) => resolve(Object.assign(response, { body: '', consumed: value })),
            reject,
          );
          return;
        }
        let text = '';
        stream.setEncoding('utf8');
        stream.on('data', (chunk: string) => (text += chunk.length + text.length < 65_536 ? chunk : ''));
        stream.once('end', () => resolve(Object.assign(response, { body: text })));
      });
    });
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

function isAbortError(error: unknown): boolean {
  return error instanceof Error && error.name === 'AbortError';
}

/** The path a call is known by in errors and logs: never a query string, which may carry values. */
function pathOf(req: SalesforceRequest): string {
  const where = req.path ?? safePath(req.url!);
  return where.split('?')[0]!;
}

function safePath(url: string): string {
  try {
    return new URL(url).pathname;
  } catch {
    return '(not a URL)';
  }
}

/**
 * The URL a call may go to: https anywhere, plain http only on loopback (PRODUCT.md section 3). The
 * login host and the instance are checked when the config is read and when a token names them; this
 * is the last line, for every call.
 */
function checkUrl(url: string, context: RequestContext): URL {
  const target = new URL(url);
  if (target.protocol === 'https:' || (target.protocol === 'http:' && isLoopbackUrl(target))) return target;
  throw new InsecureUrlError(context, `${target.protocol}//${target.host}`);
}

/** Where a redirect pointed: its origin only (a path or query could carry anything). */
function originOf(location: string | undefined, base: URL): string {
  if (location === undefined || location === '') return '(no Location)';
  try {
    const url = new URL(location, base);
    return `${url.protocol}//${url.host}`;
  } catch {
    return '(an unreadable Location)';
  }
}

/** A cheap check that a text is a JSON object or array, whole: it starts and ends like one. */
function looksLikeJson(text: string): boolean {
  const start = text.trimStart().charCodeAt(0);
  const end = text.trimEnd().charCodeAt(text.trimEnd().length - 1);
  return (start === 0x7b && end === 0x7d) || (start === 0x5b && end === 0x5d);
}

function parse<T>(text: string): T {
  if (text.length === 0) return undefined as T;
  return JSON.parse(text) as T;
}

/** What an unreadable answer was, without its content: its type and size. */
function describeBody(response: Response<string>): string {
  const type = response.headers['content-type'];
  return `${typeof type === 'string' ? type.split(';')[0] : 'no content type'}, ${response.body.length} characters`;
}

/** Bytes a file body is read in. */
const FILE_CHUNK = 1024 * 1024;

/**
 * A file body: its prefix, then the file's bytes up to the body's size, read into one buffer that is
 * used again for each piece. got writes each piece and waits until it has been handed to the socket
 * before it asks for the next, so the buffer is free by then. A stream would allocate a new buffer
 * per 64 KB, ~100 MB of them per Bulk job, which the garbage collector only frees when their total
 * crosses its threshold for memory outside the heap: peak memory then grew with the job's size.
 * Each attempt reads the file anew from its start (the descriptor stays open for a retry).
 */
async function* fileBody(file: { fd?: number; size: number; prefix?: Buffer }): AsyncGenerator<Uint8Array> {
  const prefix = file.prefix ?? Buffer.alloc(0);
  const length = file.size - prefix.length;
  if (length > 0 && file.fd === undefined) throw new Error('a file body longer than its prefix needs a file');
  if (prefix.length > 0) yield prefix;
  if (length <= 0) return;
  const buffer = Buffer.allocUnsafeSlow(Math.min(FILE_CHUNK, length));
  for (let at = 0; at < length;) {
    const { bytesRead } = await readAt(file.fd!, buffer, Math.min(buffer.length, length - at), at);
    if (bytesRead === 0) throw new Error(`the file to upload ended after ${at} of ${length} bytes`);
    at += bytesRead;
    yield buffer.subarray(0, bytesRead);
  }
}

/** `fs.read` at a position, as a promise. */
function readAt(
  fd: number,
  buffer: Buffer,
  length: number,
  position: number,
): Promise<{ bytesRead: number }> {
  return new Promise((resolve, reject) => {
    read(fd, buffer, 0, length, position, (error, bytesRead) =>
      error ? reject(error) : resolve({ bytesRead }),
    );
  });
}
