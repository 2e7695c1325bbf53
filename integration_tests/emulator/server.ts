/**
 * The emulator's HTTP server (node:http on 127.0.0.1): login host and instance at once. It counts
 * every request by kind, meters the daily API allocation, adds `Sforce-Limit-Info`, applies the latency
 * model (latency.ts), the long-running limit, the server's call limit, the concurrency cap and injected
 * faults (held and stalled requests included), and routes to OAuth, versions, the REST API and the
 * admin endpoint under /__emulator/.
 */
import {
  createServer,
  type IncomingMessage,
  STATUS_CODES,
  type Server,
  type ServerResponse,
} from 'node:http';
import { setMaxListeners } from 'node:events';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { gunzipSync } from 'node:zlib';
import { bulkJobs } from './bulk.js';
import { type Core, Cursors, emptyBulkStats, newContext } from './core.js';
import type { DmlContext, User } from './dml.js';
import { FaultState } from './faults.js';
import {
  defaultApiVersions,
  loadMetadata,
  resolveFixturesDir,
  SERVED_OBJECTS,
  versionLabel,
} from './fixtures.js';
import {
  type ApiResponse,
  apiError,
  headersTooLarge,
  invalidSession,
  isResponse,
  json,
  MAX_URI_BYTES,
  notFound,
  parseJson,
  requestSizeError,
  uriTooLong,
} from './http-util.js';
import { IdGenerator, normalizeId } from './ids.js';
import { OAuthServer } from './oauth.js';
import { contentionChance, type Flight, Flights, modelLatencyMs, writeCost } from './latency.js';
import { inspectRecord } from './read.js';
import { type RestRequest, dispatch, kindOf } from './rest.js';
import { Problem, compileSchema, convertJson, fieldOf, formatDateTime, userDescribe } from './schema.js';
import { type Row, Store, type Table } from './store.js';
import type {
  Emulator,
  EmulatorCredentials,
  EmulatorOptions,
  EmulatorSettings,
  EmulatorStats,
  FaultControl,
  StallNextSpec,
  StallStats,
} from './types.js';

/** Default settings (see EmulatorSettings for each one's meaning and source). */
export function defaultSettings(): EmulatorSettings {
  return {
    dailyApiLimit: 5_000_000,
    dailyApiRecoverEvery: null,
    latencyMs: 0,
    latencyJitterMs: 0,
    jitterSeed: null,
    maxConcurrent: null,
    latencyPerRecordMs: 0,
    longRunningThresholdMs: 20_000,
    maxLongRunning: 25,
    serverCallLimitMs: 600_000,
    lockContention: false,
    lockContentionPerWriter: 0.02,
    lockContentionMax: 0.5,
    lockContentionSeed: 1,
    duplicateKeyRows: 'all',
    emailMatchCaseInsensitive: true,
    collectionsDeserializationErrors: 'record',
    coerceStringsToScalars: false,
    jwtAudiences: ['https://login.salesforce.com', 'https://test.salesforce.com'],
    jwtClockSkewSeconds: 30,
    bulkStartDelayMs: 0,
    bulkBatchSize: 10_000,
    bulkBatchDelayMs: 0,
    bulkAllowMultipleUploads: false,
    bulkUnknownColumns: 'fail',
    bulkShuffleResults: true,
    bulkResultSeed: 1,
    bulkJavaNumbers: true,
    bulkDailyBatchLimit: 15_000,
    bulkBatchesPerPoll: null,
    bulkMaxUploadBytes: (150 * 1024 * 1024 * 3) / 4,
    maxQueryCursors: 10,
    metadataLastModified: 'Fri, 14 Aug 2020 20:53:02 GMT',
  };
}

/** Credentials of the default app and user. */
export const DEFAULT_CREDENTIALS: EmulatorCredentials = {
  clientId: 'emulator-client-id',
  clientSecret: 'emulator-client-secret',
  refreshToken: 'emulator-refresh-token',
  username: 'integration@example.com',
};

/** Callback URLs of the default app (loopback, for the connector's `login` command and the demo). */
export const DEFAULT_REDIRECT_URIS = [
  'http://localhost:1717/OauthRedirect',
  'http://127.0.0.1:1717/OauthRedirect',
];

/** setTimeout's ceiling (ms): a longer call limit would fire at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** A setting given a value it cannot take. */
export class SettingError extends Error {
  override name = 'SettingError';
}

/** Check the latency-model settings a caller may set (the others are taken as given). */
function checkSettings(partial: Partial<EmulatorSettings>): void {
  const bad = (key: string, what: string): never => {
    throw new SettingError(`Emulator setting ${key} must be ${what}`);
  };
  const nonNegative = (key: keyof EmulatorSettings, integer: boolean, max = Infinity): void => {
    const v = partial[key];
    if (v === undefined) return;
    if (typeof v !== 'number' || !(v >= 0 && v <= max) || (integer && !Number.isInteger(v)))
      bad(key, `a non-negative ${integer ? 'integer' : 'number'}${max === Infinity ? '' : ` up to ${max}`}`);
  };
  nonNegative('latencyMs', false);
  if (partial.dailyApiRecoverEvery !== undefined && partial.dailyApiRecoverEvery !== null)
    nonNegative('dailyApiRecoverEvery', true);
  nonNegative('latencyPerRecordMs', false);
  nonNegative('longRunningThresholdMs', false);
  nonNegative('maxLongRunning', true);
  nonNegative('serverCallLimitMs', true, MAX_TIMER_MS);
  nonNegative('lockContentionPerWriter', false, 1);
  nonNegative('lockContentionMax', false, 1);
  if (partial.lockContentionSeed !== undefined && !Number.isInteger(partial.lockContentionSeed))
    bad('lockContentionSeed', 'an integer');
  if (partial.lockContention !== undefined && typeof partial.lockContention !== 'boolean')
    bad('lockContention', 'true or false');
}

/**
 * [U] Salesforce's answer to a REST call still running at its 10-minute limit: the limits cheat sheet
 * (reference §5.3's source) names the QUERY_TIMEOUT exception code for REST; status and message are
 * those clients record for a SOQL timeout.
 */
function callLimitExceeded(): ApiResponse {
  return apiError(400, 'QUERY_TIMEOUT', 'Your query request was running for too long.');
}

/** How a wait in flight ended: its time served / released, the server's call limit, or the emulator closing. */
type WaitEnd = 'done' | 'limit' | 'closed';

/** A stalled request whose client has gone: applied once `left` more API requests are answered. */
interface Orphan {
  left: number;
  apply(): void;
}

/** An API call as read at arrival (see EmulatorServer.readApiCall). */
interface ApiCall {
  method: string;
  version: string;
  segments: string[];
  query: URLSearchParams;
  headers: Record<string, string | undefined>;
  raw: Buffer;
  parsed: { body: unknown; text: string } | ApiResponse;
  /** Records written or deleted (latency model). */
  records: number;
}

/** An API call read up to its dispatch: the request, or the answer it gets without one. */
type Prepared = { resp: ApiResponse; limitInfo: boolean } | { ready: RestRequest };

/** Deterministic PRNG (mulberry32) for latency jitter; only used when a seed is set. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const API_PATH = /^\/services\/data\/v(\d+\.\d+)(\/.*)?$/;

/**
 * node's own limit on a request line + headers (its default, 16 KiB, would answer Salesforce's 414
 * with a bare 431): far above Salesforce's {@link MAX_URI_BYTES}, so that oversize requests reach the
 * handler, which refuses them as Salesforce does (reference §5.1).
 */
const NODE_MAX_HEADER_BYTES = 1024 * 1024;

/** node's answers to other unparseable requests (its built-in `clientError` handling). */
const NODE_CLIENT_ERRORS: Record<string, number> = {
  HPE_CHUNK_EXTENSIONS_OVERFLOW: 413,
  ERR_HTTP_REQUEST_TIMEOUT: 408,
};

/**
 * Salesforce's refusal of a request over even {@link NODE_MAX_HEADER_BYTES}, from the packet node was
 * parsing when it gave up (often not the first: node does not keep the rest). The request line when the
 * packet starts with it; else a packet without CRLF or space is the middle of a request target (a URI
 * has no spaces, a header block has line breaks), so 414; otherwise 431.
 */
function overflowRefusal(packet: Buffer | undefined): ApiResponse {
  const text = packet?.toString('latin1') ?? '';
  const line = /^[A-Z]+ (\S+)(?: HTTP\/|$)/.exec(text);
  if (line !== null) return line[1]!.length > MAX_URI_BYTES ? uriTooLong() : headersTooLarge();
  return text !== '' && !/[\r\n ]/.test(text) ? uriTooLong() : headersTooLarge();
}

/** A whole HTTP/1.1 response that closes the connection, for a socket node has stopped parsing. */
function rawHttpResponse(status: number, body?: unknown): string {
  const reason = STATUS_CODES[status] ?? '';
  if (body === undefined) return `HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\n\r\n`;
  const payload = JSON.stringify(body);
  return (
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json;charset=UTF-8\r\n` +
    `Content-Length: ${Buffer.byteLength(payload)}\r\nConnection: close\r\n\r\n${payload}`
  );
}

/**
 * node's `clientError` handling, except that a request over node's header limit gets Salesforce's 414
 * or 431 with a JSON body. As node does: answer only when no response is under way on the socket.
 */
function onClientError(err: Error & { code?: string; rawPacket?: Buffer }, socket: Duplex): void {
  // node's private `_httpMessage` is the response under way on the socket; its own handler checks it too.
  const current = (socket as Duplex & { _httpMessage?: ServerResponse | null })._httpMessage;
  if (socket.writable && (current === undefined || current === null || !current.headersSent)) {
    if (err.code === 'HPE_HEADER_OVERFLOW') {
      const refusal = overflowRefusal(err.rawPacket);
      socket.write(rawHttpResponse(refusal.status, refusal.body));
    } else socket.write(rawHttpResponse(NODE_CLIENT_ERRORS[err.code ?? ''] ?? 400));
  }
  socket.destroy(err);
}

function lowerHeaders(req: IncomingMessage): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(req.headers)) out[k] = Array.isArray(v) ? v.join(', ') : v;
  return out;
}

/** The JSON body of an API call, or the 415 / JSON_PARSER_ERROR answer it gets (after authentication). */
function parseApiBody(
  method: string,
  segments: string[],
  headers: Record<string, string | undefined>,
  raw: Buffer,
): { body: unknown; text: string } | ApiResponse {
  const isUpload = method === 'PUT' && segments[0] === 'jobs';
  if (isUpload || raw.length === 0) return { body: undefined, text: '' };
  const type = (headers['content-type'] ?? 'application/json').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/json' && type !== '') {
    // The emulator speaks JSON only (Salesforce also accepts XML).
    return apiError(
      415,
      'UNSUPPORTED_MEDIA_TYPE',
      `Content-Type header specified in HTTP request is not supported: ${type}`,
    );
  }
  const text = raw.toString('utf8');
  const parsed = parseJson(text);
  if (isResponse(parsed)) return parsed;
  return { body: parsed.value, text };
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const length = Number(req.headers['content-length'] ?? NaN);
  if (Number.isSafeInteger(length) && length > 0) {
    // A body of known length is read into one buffer as it arrives: a 100 MB Bulk upload is then held
    // once, not as its chunks plus their concatenation.
    let raw = Buffer.allocUnsafe(length);
    let at = 0;
    for await (const chunk of req) at += (chunk as Buffer).copy(raw, at);
    if (at < length) raw = raw.subarray(0, at);
    if ((req.headers['content-encoding'] ?? '').toLowerCase() === 'gzip') return gunzipSync(raw);
    return raw;
  }
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const raw = Buffer.concat(chunks);
  if ((req.headers['content-encoding'] ?? '').toLowerCase() === 'gzip' && raw.length > 0)
    return gunzipSync(raw);
  return raw;
}

/** The emulator: state + HTTP server. */
export class EmulatorServer implements Emulator {
  url = '';
  readonly credentials: EmulatorCredentials = { ...DEFAULT_CREDENTIALS };
  readonly faults: FaultControl;
  private readonly core: Core;
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  private readonly flights = new Flights();
  /** Aborted by close(): every wait in flight (latency, hold, stall) ends. */
  private readonly stopping = new AbortController();
  /** Releases of the requests held by holdNext. */
  private readonly held = new Set<() => void>();
  private readonly orphans = new Set<Orphan>();
  private stallCounts: StallStats = { waiting: 0, clientGone: 0, applied: 0, rolledBack: 0 };
  private latencyTotal = 0;
  private latencyWaited = 0;
  private lockErrors = 0;
  private longestRequest = 0;
  private counts: Record<string, number> = {};
  private total = 0;
  private cpuBase = process.cpuUsage();
  private jitter: (() => number) | undefined;
  private contentionRng: () => number = prng(1);
  private readonly seedUsers: User[];

  constructor(private readonly options: EmulatorOptions = {}) {
    const settings: EmulatorSettings = { ...defaultSettings(), ...options.settings };
    if (options.dailyApiLimit !== undefined) settings.dailyApiLimit = options.dailyApiLimit;
    if (options.latencyMs !== undefined) settings.latencyMs = options.latencyMs;
    if (options.maxConcurrent !== undefined) settings.maxConcurrent = options.maxConcurrent;
    checkSettings(settings);
    const metadata = loadMetadata(resolveFixturesDir(options.fixturesDir));
    const store = new Store();
    for (const name of SERVED_OBJECTS) store.add(compileSchema(metadata.describes.get(name)!, true));
    store.add(compileSchema(userDescribe(), false));
    const orgId = IdGenerator.make('00D', 1);
    const users = new Map<string, User>();
    const integration: User = {
      id: IdGenerator.make('005', 1),
      username: DEFAULT_CREDENTIALS.username,
      name: 'Integration User',
      email: DEFAULT_CREDENTIALS.username,
    };
    users.set(integration.username, integration);
    (options.users ?? []).forEach((u, i) => {
      users.set(u.username, {
        id: IdGenerator.make('005', i + 2),
        username: u.username,
        name: u.name ?? u.username,
        email: u.email ?? u.username,
      });
    });
    this.seedUsers = [...users.values()];
    const faultState = new FaultState();
    const versions = options.apiVersions ?? defaultApiVersions();
    const oauth = new OAuthServer(
      users,
      orgId,
      () => this.core.settings,
      () => this.url,
    );
    oauth.addClient({
      clientId: DEFAULT_CREDENTIALS.clientId,
      clientSecret: DEFAULT_CREDENTIALS.clientSecret,
      redirectUris: DEFAULT_REDIRECT_URIS,
    });
    for (const c of options.clients ?? []) oauth.addClient(c);
    oauth.addRefreshToken(
      DEFAULT_CREDENTIALS.refreshToken,
      DEFAULT_CREDENTIALS.clientId,
      integration.username,
    );
    for (const t of options.refreshTokens ?? [])
      oauth.addRefreshToken(t.token, t.clientId, t.username ?? integration.username);
    this.core = {
      store,
      metadata,
      settings,
      faults: faultState,
      oauth,
      users,
      integrationUser: integration,
      orgId,
      versions,
      versionSet: new Set(versions),
      dml: {
        store,
        settings,
        // Counted here, where every lock fault is decided, for stats().lockErrors.
        locks: {
          check: (table, id, stored, incoming) => {
            const error = faultState.locks.check(table, id, stored, incoming);
            if (error !== undefined) this.lockErrors++;
            return error;
          },
        },
        beforeSave: options.beforeSave,
      },
      cursors: new Cursors(() => settings.maxQueryCursors),
      usage: { apiUsed: 0, bulkBatches: 0, refusedAtLimit: 0, bulk: emptyBulkStats() },
      baseUrl: () => this.url,
    };
    this.seedUserRows();
    this.resetJitter();
    this.resetContention();
    // Every wait in flight listens for close(): as many listeners as requests in flight.
    setMaxListeners(0, this.stopping.signal);
    this.faults = {
      failNext: (spec) => faultState.failNext(spec),
      dropNext: (spec) => faultState.dropNext(spec),
      lockRows: (spec) => faultState.locks.add(spec),
      holdNext: (spec) => faultState.holdNext(spec),
      releaseHeld: () => {
        const releases = [...this.held];
        for (const release of releases) release();
        return releases.length;
      },
      stallNext: (spec) => faultState.stallNext(spec),
      bulkJob: (spec) => bulkJobs(this.core).addFault(spec),
      requestLimitExceeded: (spec) => {
        if (spec.forMs !== undefined) faultState.limitUntil = Date.now() + spec.forMs;
        if (spec.forRequests !== undefined) faultState.limitRequests = spec.forRequests;
      },
      setApiUsed: (used) => {
        this.core.usage.apiUsed = used;
      },
      expireTokensNow: () => oauth.expireAccessTokens(),
      expireTokensAfter: (calls) => {
        faultState.expireAfter = calls;
      },
      clear: () => {
        faultState.clear();
        bulkJobs(this.core).clearFaults();
      },
    };
    this.server = createServer({ maxHeaderSize: NODE_MAX_HEADER_BYTES }, (req, res) => {
      this.handle(req, res).catch((e: unknown) => {
        if (!res.headersSent) {
          res.writeHead(500, { 'Content-Type': 'application/json;charset=UTF-8' });
          res.end(
            JSON.stringify([{ message: `Emulator error: ${String(e)}`, errorCode: 'UNKNOWN_EXCEPTION' }]),
          );
        } else res.destroy();
      });
    });
    this.server.on('clientError', onClientError);
    this.server.keepAliveTimeout = 30_000;
    this.server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
  }

  private seedUserRows(): void {
    const table = this.core.store.table('User')!;
    const now = formatDateTime(Date.now());
    for (const u of this.seedUsers) {
      const [first, ...rest] = u.name.split(' ');
      table.insert({
        Id: u.id,
        Username: u.username,
        FirstName: rest.length > 0 ? (first ?? null) : null,
        LastName: rest.length > 0 ? rest.join(' ') : u.name,
        Name: u.name,
        Email: u.email,
        IsActive: true,
        CreatedDate: now,
        LastModifiedDate: now,
        SystemModstamp: now,
      });
    }
  }

  private resetJitter(): void {
    const seed = this.core.settings.jitterSeed;
    this.jitter = seed === null ? undefined : prng(seed);
  }

  private resetContention(): void {
    this.contentionRng = prng(this.core.settings.lockContentionSeed);
  }

  /** Lock-contention mode: whether a record written to `table` now fails with UNABLE_TO_LOCK_ROW. */
  private readonly contended = (table: Table): boolean => {
    const s = this.core.settings;
    if (!s.lockContention) return false;
    const writers = this.flights.writersOf(table.schema.name);
    const chance = contentionChance(s, writers);
    const lost = chance > 0 && this.contentionRng() < chance;
    if (lost) this.lockErrors++;
    return lost;
  };

  /** The DML context of a REST call applied now (its transaction time is now). */
  private requestContext(user: User): DmlContext {
    return { ...newContext(this.core, user), contention: this.contended };
  }

  /** The object an id belongs to, by key prefix (for the cost of a delete). */
  private readonly objectOfId = (raw: string): string | undefined => {
    const id = normalizeId(raw);
    return id === undefined ? undefined : this.core.store.tableOfId(id)?.schema.name;
  };

  /** Start listening. */
  async listen(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.options.port ?? 0, '127.0.0.1', () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    const address = this.server.address();
    if (address === null || typeof address === 'string') throw new Error('no TCP address');
    this.url = `http://127.0.0.1:${address.port}`;
  }

  async close(): Promise<void> {
    this.stopping.abort();
    bulkJobs(this.core).clear();
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      for (const s of this.sockets) s.destroy();
      this.server.closeAllConnections();
    });
  }

  // ------------------------------------------------------------------------------------------
  // Inspection and data

  private tableOrThrow(objectName: string): Table {
    const table = this.core.store.table(objectName);
    if (table === undefined) throw new Error(`The emulator does not store ${objectName}`);
    return table;
  }

  records(objectName: string): Array<Record<string, unknown>> {
    const table = this.tableOrThrow(objectName);
    const out: Array<Record<string, unknown>> = [];
    for (const row of table.rows.values())
      if (row.IsDeleted !== true) out.push(inspectRecord(table.schema, row));
    return out;
  }

  record(objectName: string, id: string): Record<string, unknown> | undefined {
    const table = this.tableOrThrow(objectName);
    const canonical = normalizeId(id);
    const row = canonical === undefined ? undefined : table.rows.get(canonical);
    return row === undefined ? undefined : inspectRecord(table.schema, row);
  }

  count(objectName: string): number {
    return this.tableOrThrow(objectName).live;
  }

  stats(): EmulatorStats {
    const cpu = process.cpuUsage(this.cpuBase);
    return {
      apiRequests: this.total,
      byKind: { ...this.counts },
      apiUsed: this.core.usage.apiUsed,
      apiMax: this.core.settings.dailyApiLimit,
      cpuUserMicros: cpu.user,
      cpuSystemMicros: cpu.system,
      inFlight: this.flights.size,
      longRunningInFlight: this.flights.longRunning(
        performance.now(),
        this.core.settings.longRunningThresholdMs,
      ),
      held: this.held.size,
      stalled: { ...this.stallCounts },
      latencyTotalMs: this.latencyTotal,
      latencyWaitedMs: this.latencyWaited,
      lockErrors: this.lockErrors,
      longestRequestMs: this.longestRequest,
      bulk: { ...this.core.usage.bulk },
    };
  }

  /** Zero the request counters, the daily allocation used and the CPU baseline. */
  resetStats(): void {
    this.counts = {};
    this.total = 0;
    this.core.usage.apiUsed = 0;
    this.core.usage.bulkBatches = 0;
    this.core.usage.refusedAtLimit = 0;
    this.core.usage.bulk = emptyBulkStats();
    this.cpuBase = process.cpuUsage();
    this.latencyTotal = 0;
    this.latencyWaited = 0;
    this.lockErrors = 0;
    this.longestRequest = 0;
    this.stallCounts = { ...this.stallCounts, applied: 0, rolledBack: 0 };
  }

  seed(objectName: string, records: Array<Record<string, unknown>>): string[] {
    const table = this.tableOrThrow(objectName);
    const schema = table.schema;
    const user = this.core.integrationUser;
    const now = formatDateTime(Date.now());
    const ids: string[] = [];
    const has = schema.has;
    for (const input of records) {
      const row: Row = { Id: null };
      if (has.owner) row.OwnerId = user.id;
      if (has.createdDate) row.CreatedDate = now;
      if (has.createdBy) row.CreatedById = user.id;
      if (has.lastModifiedDate) row.LastModifiedDate = now;
      if (has.lastModifiedBy) row.LastModifiedById = user.id;
      if (has.systemModstamp) row.SystemModstamp = now;
      for (const f of schema.createDefaults)
        if (f.createDefault !== undefined && f.createDefault !== false) row[f.name] = f.createDefault;
      let id: string | undefined;
      let deleted = false;
      for (const key in input) {
        if (key === 'attributes') continue;
        const value = input[key];
        const field = fieldOf(schema, key);
        if (field === undefined) throw new Error(`seed: no field ${key} on ${schema.name}`);
        if (field.name === 'Id') {
          const given = typeof value === 'string' ? normalizeId(value) : undefined;
          if (given === undefined || !given.startsWith(schema.keyPrefix))
            throw new Error(`seed: bad Id ${String(value)}`);
          id = given;
        } else if (field.name === 'IsDeleted') deleted = value === true;
        else if (value === null || value === undefined) row[field.name] = null;
        else {
          // Bypasses validation, but values are stored in Salesforce's form when they can be.
          const converted = convertJson(field, value, true);
          row[field.name] = converted instanceof Problem ? (value as Row[string]) : converted;
        }
      }
      if (schema.compoundName && !('Name' in input)) {
        const parts = [row.FirstName, row.LastName].filter(
          (p): p is string => typeof p === 'string' && p !== '',
        );
        row.Name = parts.length === 0 ? null : parts.join(' ');
      }
      const auto = schema.autoNumberField;
      if (auto !== undefined && row[auto.name] === undefined)
        row[auto.name] = String(table.autoNumber++).padStart(8, '0');
      id ??= this.core.store.ids.next(schema.keyPrefix);
      if (table.rows.has(id)) throw new Error(`seed: duplicate Id ${id}`);
      row.Id = id;
      table.insert(row);
      if (deleted) table.softDelete(id, { ...row, IsDeleted: true });
      ids.push(id);
    }
    return ids;
  }

  reset(): void {
    this.core.store.clear();
    this.seedUserRows();
    this.core.faults.clear();
    this.core.cursors.clear();
    this.core.oauth.reset();
    bulkJobs(this.core).clear();
  }

  configure(partial: Partial<EmulatorSettings>): void {
    const defaults = defaultSettings();
    for (const key of Object.keys(partial)) {
      if (!(key in defaults)) throw new SettingError(`Unknown emulator setting: ${key}`);
    }
    checkSettings(partial);
    Object.assign(this.core.settings, partial);
    if ('jitterSeed' in partial) this.resetJitter();
    if ('lockContentionSeed' in partial || 'lockContention' in partial) this.resetContention();
  }

  settings(): EmulatorSettings {
    return { ...this.core.settings, jwtAudiences: [...this.core.settings.jwtAudiences] };
  }

  // ------------------------------------------------------------------------------------------
  // HTTP

  private countRequest(kind: string): void {
    this.total++;
    this.counts[kind] = (this.counts[kind] ?? 0) + 1;
  }

  /** The latency of a request writing `records` records: the model's figure plus seeded jitter. */
  private latency(records: number): number {
    const s = this.core.settings;
    let ms = modelLatencyMs(s, records);
    if (this.jitter !== undefined && s.latencyJitterMs > 0)
      ms += Math.floor(this.jitter() * (s.latencyJitterMs + 1));
    return ms;
  }

  /** Serve `ms` of latency on a timer (no CPU while waiting), but not past `deadline` (performance.now()). */
  private async pause(ms: number, deadline: number): Promise<WaitEnd> {
    const left = deadline - performance.now();
    try {
      await sleep(Math.max(0, Math.min(ms, left)), undefined, { signal: this.stopping.signal });
    } catch {
      return 'closed';
    }
    return ms <= left ? 'done' : 'limit';
  }

  /** Hold a request until releaseHeld(), the server's call limit or close(). */
  private hold(deadline: number): Promise<WaitEnd> {
    return new Promise<WaitEnd>((resolve) => {
      const signal = this.stopping.signal;
      const end = (how: WaitEnd): void => {
        clearTimeout(timer);
        this.held.delete(release);
        signal.removeEventListener('abort', closed);
        resolve(how);
      };
      const release = (): void => end('done');
      const closed = (): void => end('closed');
      const timer = setTimeout(() => end('limit'), Math.max(0, deadline - performance.now()));
      this.held.add(release);
      signal.addEventListener('abort', closed, { once: true });
    });
  }

  /**
   * Stall a request (FaultControl.stallNext): no answer; once its client has gone, `apply` runs after
   * `applyAfterRequests` further API requests are answered — unless the call limit comes first, when it
   * is rolled back (never applied) and a client still waiting gets the call-limit answer.
   */
  private stall(
    req: IncomingMessage,
    res: ServerResponse,
    deadline: number,
    spec: StallNextSpec,
    apply: () => void,
  ): Promise<void> {
    return new Promise<void>((resolve) => {
      const signal = this.stopping.signal;
      let gone = false;
      this.stallCounts.waiting++;
      const finish = (): void => {
        clearTimeout(timer);
        res.off('close', clientGone);
        signal.removeEventListener('abort', finish);
        this.orphans.delete(orphan);
        if (gone) this.stallCounts.clientGone--;
        else this.stallCounts.waiting--;
        resolve();
      };
      const orphan: Orphan = {
        left: spec.applyAfterRequests,
        apply: () => {
          finish();
          this.stallCounts.applied++;
          apply();
        },
      };
      const clientGone = (): void => {
        gone = true;
        this.stallCounts.waiting--;
        this.stallCounts.clientGone++;
        if (orphan.left <= 0) orphan.apply();
        else this.orphans.add(orphan);
      };
      const timer = setTimeout(
        () => {
          // reference §5.3: the call limit passed first; nothing of the request was written.
          this.stallCounts.rolledBack++;
          const waiting = !gone;
          finish();
          if (waiting) this.send(res, callLimitExceeded());
        },
        Math.max(0, deadline - performance.now()),
      );
      signal.addEventListener('abort', finish, { once: true });
      if (req.socket.destroyed) clientGone();
      else res.once('close', clientGone);
    });
  }

  /** A request under /services/data/ was answered: stalled requests whose client has gone count it. */
  private answered(): void {
    for (const orphan of [...this.orphans]) {
      orphan.left--;
      if (orphan.left <= 0) orphan.apply();
    }
  }

  private send(res: ServerResponse, resp: ApiResponse, extra?: Record<string, string>): void {
    const headers: Record<string, string> = { ...resp.headers, ...extra };
    let payload: string | Buffer | undefined;
    if (resp.status === 204 || resp.status === 304) payload = undefined;
    else if (resp.chunks !== undefined) {
      if (resp.contentType !== undefined) headers['Content-Type'] = resp.contentType;
      headers['Content-Length'] = String(resp.chunks.reduce((n, c) => n + c.length, 0));
      res.writeHead(resp.status, headers);
      for (const chunk of resp.chunks) res.write(chunk);
      res.end();
      return;
    } else if (resp.raw !== undefined) {
      payload = resp.raw;
      if (resp.contentType !== undefined) headers['Content-Type'] = resp.contentType;
    } else if (resp.body !== undefined) {
      payload = JSON.stringify(resp.body);
      headers['Content-Type'] = 'application/json;charset=UTF-8';
    }
    res.writeHead(resp.status, headers);
    res.end(payload);
  }

  private classify(method: string, path: string): string {
    if (path.startsWith('/services/oauth2/')) return 'oauth';
    if (path === '/services/data' || path === '/services/data/') return 'versions';
    if (path.startsWith('/id/')) return 'identity';
    const m = API_PATH.exec(path);
    if (m !== null)
      return kindOf(
        method,
        (m[2] ?? '').split('/').filter((x) => x !== ''),
      );
    return 'other';
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = (req.method ?? 'GET').toUpperCase();
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const path = url.pathname;
    if (path === '/__emulator' || path.startsWith('/__emulator/')) {
      const body = await readBody(req);
      this.send(res, this.admin(method, path, url.searchParams, body));
      return;
    }
    const kind = this.classify(method, path);
    this.countRequest(kind);
    // reference §5.1: an oversize request is refused before it is authenticated, metered or delayed.
    const tooLarge = requestSizeError(req.url ?? '/', req.rawHeaders);
    if (tooLarge !== undefined) {
      this.send(res, tooLarge);
      return;
    }
    const settings = this.core.settings;
    const arrivedAt = performance.now();
    // reference §5.3: the long-running requests are counted as this one arrives.
    const tooManyLong =
      API_PATH.test(path) &&
      this.flights.longRunning(arrivedAt, settings.longRunningThresholdMs) >= settings.maxLongRunning;
    const flight = this.flights.begin(arrivedAt);
    const deadline = arrivedAt + settings.serverCallLimitMs;
    let stalled = false;
    try {
      const info = { method, path, kind };
      const cap = settings.maxConcurrent;
      const overCap = cap !== null && this.flights.size > cap;
      const raw = await readBody(req);
      const call = this.readApiCall(
        method,
        path,
        url.searchParams,
        raw,
        req,
        tooManyLong ? undefined : flight,
      );
      const delay = tooManyLong ? 0 : this.latency(call?.records ?? 0);
      this.latencyTotal += delay;
      if (delay > 0) {
        // The model's latency is the whole call's, counted from its arrival: the time this one thread
        // took to read and parse the body (longer the more calls arrive together) is part of it, not
        // added to it. Salesforce's servers do not slow down a call because others are in flight.
        const wait = Math.max(0, delay - (performance.now() - arrivedAt));
        this.latencyWaited += wait;
        const end = await this.pause(wait, deadline);
        if (end === 'closed') return;
        if (end === 'limit') {
          this.send(res, callLimitExceeded());
          return;
        }
      }
      if (this.core.faults.takeDrop(info, 'before')) {
        req.socket.destroy();
        return;
      }
      const failBefore = this.core.faults.takeFail(info, 'before');
      if (failBefore !== undefined) {
        this.send(res, this.faultResponse(failBefore.status, failBefore.body), failBefore.headers);
        return;
      }
      let resp: ApiResponse;
      let limitInfo = false;
      if (overCap) {
        // The crude cap on every request in flight (settings.maxConcurrent), answered as Salesforce
        // answers its long-running limit.
        resp = apiError(403, 'REQUEST_LIMIT_EXCEEDED', 'ConcurrentPerOrgLongTxn Limit exceeded.');
      } else if (kind === 'oauth') resp = await this.oauth(method, path, url.searchParams, raw, req);
      else if (kind === 'versions') resp = this.versions(method);
      else if (kind === 'identity') resp = this.identity(path, req);
      else if (call !== undefined) {
        const prepared = this.api(call, req, tooManyLong);
        if ('ready' in prepared) {
          const ready = prepared.ready;
          if (this.core.faults.takeHold(info)) {
            const end = await this.hold(deadline);
            if (end === 'closed') return;
            if (end === 'limit') {
              this.send(res, callLimitExceeded());
              return;
            }
          }
          const stall = this.core.faults.takeStall(info);
          if (stall !== undefined) {
            stalled = true;
            await this.stall(req, res, deadline, stall, () => this.applyStalled(ready));
            return;
          }
          resp = dispatch(this.core, { ...ready, ctx: this.requestContext(ready.user) });
          limitInfo = true;
        } else ({ resp, limitInfo } = prepared);
      } else resp = notFound();
      if (this.core.faults.takeDrop(info, 'after')) {
        req.socket.destroy();
        return;
      }
      const failAfter = this.core.faults.takeFail(info, 'after');
      if (failAfter !== undefined) {
        this.send(res, this.faultResponse(failAfter.status, failAfter.body), failAfter.headers);
        return;
      }
      const extra = limitInfo
        ? { 'Sforce-Limit-Info': `api-usage=${this.core.usage.apiUsed}/${this.core.settings.dailyApiLimit}` }
        : undefined;
      this.send(res, resp, extra);
    } finally {
      this.flights.end(flight);
      this.longestRequest = Math.max(this.longestRequest, performance.now() - arrivedAt);
      if (!stalled && path.startsWith('/services/data/')) this.answered();
    }
  }

  /** Apply a stalled request whose client has gone: its writes land now; the answer goes nowhere. */
  private applyStalled(ready: RestRequest): void {
    try {
      dispatch(this.core, { ...ready, ctx: this.requestContext(ready.user) });
    } catch (e) {
      // No client to tell: say it where a developer running the tests will see it.
      process.emitWarning(`Emulator: a stalled request failed as it was applied: ${String(e)}`);
    }
  }

  private faultResponse(status: number, body: unknown): ApiResponse {
    if (body !== undefined) return json(status, body);
    if (status === 503)
      return apiError(503, 'SERVER_UNAVAILABLE', 'Server temporarily unavailable; try again later.');
    if (status >= 500) {
      return apiError(
        status,
        'UNKNOWN_EXCEPTION',
        'An unexpected error occurred. Please include this ErrorId if you contact support: 1234567890-1234 (1234567890)',
      );
    }
    return apiError(status, 'INJECTED_FAULT', `Injected fault with status ${status}`);
  }

  private versions(method: string): ApiResponse {
    if (method !== 'GET')
      return apiError(405, 'METHOD_NOT_ALLOWED', `HTTP Method '${method}' not allowed. Allowed are GET`);
    return json(
      200,
      this.core.versions.map((v) => ({ label: versionLabel(v), url: `/services/data/v${v}`, version: v })),
    );
  }

  private identity(path: string, req: IncomingMessage): ApiResponse {
    const session = this.core.oauth.authenticate(req.headers.authorization);
    if (session === undefined) return { status: 403, raw: 'Bad_OAuth_Token', contentType: 'text/plain' };
    const [, , org, userId] = path.split('/');
    const user = session.user;
    if (org !== this.core.orgId || userId !== user.id) return notFound();
    const latest = this.core.versions[this.core.versions.length - 1] ?? '66.0';
    const base = this.url;
    return json(200, {
      id: `${base}/id/${org}/${user.id}`,
      asserted_user: true,
      user_id: user.id,
      organization_id: org,
      username: user.username,
      nick_name: user.username.split('@')[0],
      display_name: user.name,
      email: user.email,
      active: true,
      user_type: 'STANDARD',
      language: 'en_US',
      locale: 'en_US',
      utcOffset: 0,
      urls: {
        rest: `${base}/services/data/v{version}/`,
        sobjects: `${base}/services/data/v{version}/sobjects/`,
        query: `${base}/services/data/v{version}/query/`,
        limits: `${base}/services/data/v{version}/limits/`,
        profile: `${base}/${user.id}`,
        custom_domain: base,
      },
      last_modified_date: formatDateTime(Date.now()),
      is_app_installed: true,
      latest_api_version: latest,
    });
  }

  private async oauth(
    method: string,
    path: string,
    query: URLSearchParams,
    body: Buffer,
    req: IncomingMessage,
  ): Promise<ApiResponse> {
    const oauth = this.core.oauth;
    const form = new URLSearchParams(body.toString('utf8'));
    switch (path.replace(/\/$/, '')) {
      case '/services/oauth2/token':
        if (method !== 'POST')
          return apiError(405, 'METHOD_NOT_ALLOWED', 'HTTP Method not allowed. Allowed are POST');
        return oauth.token(form, req.headers.authorization);
      case '/services/oauth2/authorize':
        return oauth.authorize(query, this.core.integrationUser.username);
      case '/services/oauth2/revoke':
        return oauth.revoke(
          method === 'GET' ? query.get('token') : (form.get('token') ?? query.get('token')),
        );
      default:
        return notFound();
    }
  }

  /**
   * An API call under /services/data/vNN.N/ as it arrives: its path, headers and JSON body (or the answer
   * a bad body gets once authenticated), and the records it writes — registered with `flight` for
   * lock contention. Undefined for other paths.
   */
  private readApiCall(
    method: string,
    path: string,
    query: URLSearchParams,
    raw: Buffer,
    req: IncomingMessage,
    flight: Flight | undefined,
  ): ApiCall | undefined {
    const m = API_PATH.exec(path);
    if (m === null) return undefined;
    const segments = (m[2] ?? '')
      .split('/')
      .filter((x) => x !== '')
      .map((x) => decodeURIComponent(x));
    const headers = lowerHeaders(req);
    const parsed = parseApiBody(method, segments, headers, raw);
    let records = 0;
    if (!isResponse(parsed)) {
      const cost = writeCost({ method, segments, query, body: parsed.body }, this.objectOfId);
      records = cost.records;
      if (flight !== undefined && cost.byObject.size > 0) this.flights.setWrites(flight, cost.byObject);
    }
    return { method, version: m[1]!, segments, query, headers, raw, parsed, records };
  }

  /** Authenticate and meter an API call: the request ready to dispatch, or the answer it gets instead. */
  private api(call: ApiCall, req: IncomingMessage, tooManyLong: boolean): Prepared {
    const { version, parsed } = call;
    if (!this.core.versionSet.has(version)) return { resp: notFound(), limitInfo: false };
    const session = this.core.oauth.authenticate(req.headers.authorization);
    if (session === undefined) return { resp: invalidSession(), limitInfo: false };
    const faults = this.core.faults;
    if (faults.expireAfter !== null) {
      if (faults.expireAfter <= 0) {
        faults.expireAfter = null;
        this.core.oauth.expireAccessTokens();
        return { resp: invalidSession(), limitInfo: false };
      }
      faults.expireAfter--;
    }
    const usage = this.core.usage;
    if (usage.apiUsed >= this.core.settings.dailyApiLimit || faults.takeLimit(Date.now())) {
      // reference §5.1: daily allocation used up. At the edge of the rolling window a slot frees now
      // and then (dailyApiRecoverEvery), so a later request may be accepted after an earlier refusal.
      const every = this.core.settings.dailyApiRecoverEvery;
      if (every !== null && usage.apiUsed >= this.core.settings.dailyApiLimit) {
        usage.refusedAtLimit += 1;
        if (usage.refusedAtLimit % every === 0) usage.apiUsed -= 1;
      }
      return {
        resp: apiError(403, 'REQUEST_LIMIT_EXCEEDED', 'TotalRequests Limit exceeded.'),
        limitInfo: true,
      };
    }
    usage.apiUsed++;
    if (tooManyLong) {
      // reference §5.1, §5.3: too many long-running requests at once; the refusal is metered.
      return {
        resp: apiError(403, 'REQUEST_LIMIT_EXCEEDED', 'ConcurrentPerOrgLongTxn Limit exceeded.'),
        limitInfo: true,
      };
    }
    if (isResponse(parsed)) return { resp: parsed, limitInfo: true };
    const text = parsed.text;
    return {
      ready: {
        method: call.method,
        segments: call.segments,
        query: call.query,
        headers: call.headers,
        body: parsed.body,
        bodyText: () => text,
        rawBody: call.raw,
        version,
        user: session.user,
        ctx: newContext(this.core, session.user),
        inComposite: false,
        forceAllOrNone: false,
      },
    };
  }

  // ------------------------------------------------------------------------------------------
  // Admin endpoint (not counted, no auth)

  private admin(method: string, path: string, query: URLSearchParams, raw: Buffer): ApiResponse {
    const parts = path
      .split('/')
      .filter((x) => x !== '')
      .slice(1);
    let body: unknown;
    if (raw.length > 0) {
      const parsed = parseJson(raw.toString('utf8'));
      if (isResponse(parsed)) return parsed;
      body = parsed.value;
    }
    const bad = (message: string): ApiResponse => json(400, { error: message });
    try {
      const [what, objectName] = parts;
      switch (`${method} ${what ?? ''}`) {
        case 'GET stats':
          return json(200, this.stats());
        case 'GET settings':
          return json(200, this.settings());
        case 'GET credentials':
          return json(200, { url: this.url, ...this.credentials });
        case 'POST reset':
          this.reset();
          return { status: 204 };
        case 'POST reset-stats':
          this.resetStats();
          return { status: 204 };
        case 'POST configure':
          if (typeof body !== 'object' || body === null) return bad('body must be a settings object');
          this.configure(body);
          return json(200, this.settings());
        case 'POST faults':
          if (typeof body !== 'object' || body === null) return bad('body must be a faults object');
          this.applyFaults(body as Record<string, unknown>);
          return { status: 204 };
        case 'GET records': {
          if (objectName === undefined) return bad('object name required');
          const all = this.records(objectName);
          const offset = Number(query.get('offset') ?? 0);
          const limit = Number(query.get('limit') ?? all.length);
          return json(200, { totalSize: all.length, records: all.slice(offset, offset + limit) });
        }
        case 'GET count':
          if (objectName === undefined) return bad('object name required');
          return json(200, { count: this.count(objectName) });
        case 'POST seed': {
          if (objectName === undefined) return bad('object name required');
          const records = Array.isArray(body) ? body : (body as { records?: unknown } | undefined)?.records;
          if (!Array.isArray(records)) return bad('body must be an array of records');
          return json(200, { ids: this.seed(objectName, records as Array<Record<string, unknown>>) });
        }
        default:
          return json(404, { error: `unknown admin resource: ${method} ${path}` });
      }
    } catch (e) {
      return bad(e instanceof Error ? e.message : String(e));
    }
  }

  /** POST /__emulator/faults body: any of the FaultControl calls, keyed by name. */
  private applyFaults(body: Record<string, unknown>): void {
    const f = this.faults;
    for (const [key, value] of Object.entries(body)) {
      switch (key) {
        case 'failNext':
          f.failNext(value as Parameters<FaultControl['failNext']>[0]);
          break;
        case 'dropNext':
          f.dropNext(value as Parameters<FaultControl['dropNext']>[0]);
          break;
        case 'lockRows':
          f.lockRows(value as Parameters<FaultControl['lockRows']>[0]);
          break;
        case 'holdNext':
          f.holdNext(value as Parameters<FaultControl['holdNext']>[0]);
          break;
        case 'releaseHeld':
          if (value === true) f.releaseHeld();
          break;
        case 'stallNext':
          f.stallNext(value as Parameters<FaultControl['stallNext']>[0]);
          break;
        case 'bulkJob':
          f.bulkJob(value as Parameters<FaultControl['bulkJob']>[0]);
          break;
        case 'requestLimitExceeded':
          f.requestLimitExceeded(value as Parameters<FaultControl['requestLimitExceeded']>[0]);
          break;
        case 'apiUsed':
        case 'setApiUsed':
          f.setApiUsed(Number(value));
          break;
        case 'expireTokensNow':
          if (value === true) f.expireTokensNow();
          break;
        case 'expireTokensAfter':
          f.expireTokensAfter(Number(value));
          break;
        case 'clear':
          if (value === true) f.clear();
          break;
        default:
          throw new Error(`unknown fault: ${key}`);
      }
    }
  }
}
