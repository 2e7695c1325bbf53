/**
 * Public types of the Salesforce emulator: start options, runtime settings, statistics and the fault
 * controls. Every behaviour referred to here is described, with its source, in
 * ../shared/reference/salesforce-api.md (cited below as "reference §n").
 */
import type { KeyObject, webcrypto } from 'node:crypto';

/** A connected app ("client") registered with the emulator (reference §1). */
export interface ClientOptions {
  /** Consumer key. */
  clientId: string;
  /** Consumer secret. Omit for a public (PKCE) client that has no secret. */
  clientSecret?: string;
  /**
   * Whether the refresh-token and authorization-code grants must present the secret
   * ("Require Secret for Refresh Token Flow" / "… for Web Server Flow", reference §1.2).
   * Defaults to true when a secret is set. The client-credentials grant always needs it.
   */
  requireSecret?: boolean;
  /** Callback URLs; `redirect_uri` must equal one of them exactly (reference §1.5). */
  redirectUris?: string[];
  /** Refresh-token rotation: every refresh returns a new refresh token and invalidates the old one. */
  rotateRefreshTokens?: boolean;
  /**
   * Public key that verifies JWT-bearer assertions (reference §1.3): PEM (SPKI public key or the X.509
   * certificate uploaded to the connected app), a KeyObject, or a WebCrypto CryptoKey (jose KeyLike).
   */
  jwtPublicKey?: string | KeyObject | webcrypto.CryptoKey;
  /**
   * Usernames that have approved (or were pre-approved by an admin for) this app. JWT bearer for any
   * other user fails with `user hasn't approved this consumer`. Default: every known user.
   */
  approvedUsers?: string[];
  /** "Run As" username for the client-credentials grant; without it that grant fails (reference §1.4). */
  runAsUser?: string;
  /** Scopes granted when a request names none. Default `api refresh_token`. */
  scope?: string;
}

/** A refresh token known to the emulator from the start. */
export interface RefreshTokenOptions {
  token: string;
  clientId: string;
  /** Defaults to the integration user. */
  username?: string;
}

/** An additional org user (for JWT `sub`, client-credentials run-as users, OwnerId references). */
export interface UserOptions {
  username: string;
  name?: string;
  email?: string;
}

/** Context given to {@link EmulatorOptions.beforeSave}. */
export interface BeforeSaveContext {
  objectName: string;
  operation: 'create' | 'update';
  /** The record as it will be stored (field API names → stored values). */
  record: Readonly<Record<string, unknown>>;
}

/** A per-record error as Salesforce reports it inside results (reference §5.2). */
export interface RecordError {
  statusCode: string;
  message: string;
  fields: string[];
}

/** Options for {@link startEmulator}. All are optional. */
export interface EmulatorOptions {
  /** TCP port on 127.0.0.1; 0 (default) picks a free one. */
  port?: number;
  /** Directory holding the Describe fixtures; default `<repo>/../shared/salesforce-fixtures` or env SALESFORCE_FIXTURES_DIR. */
  fixturesDir?: string;
  /** Connected apps in addition to the default one (`emulator-client-id`). */
  clients?: ClientOptions[];
  /** Refresh tokens in addition to the default one (`emulator-refresh-token`). */
  refreshTokens?: RefreshTokenOptions[];
  /** Users in addition to the integration user (`integration@example.com`). */
  users?: UserOptions[];
  /** API versions offered, e.g. ['59.0', '60.0']. Default 31.0 … 66.0. */
  apiVersions?: string[];
  /** Daily API request allocation (shortcut for settings.dailyApiLimit). Default 5,000,000 (a sandbox, reference §5.3). */
  dailyApiLimit?: number;
  /** Fixed latency added to every request, in ms (shortcut for settings.latencyMs). */
  latencyMs?: number;
  /** Cap on requests in flight at once (shortcut for settings.maxConcurrent). */
  maxConcurrent?: number;
  /** Any other runtime setting. */
  settings?: Partial<EmulatorSettings>;
  /**
   * In-process hook standing in for validation rules / triggers (which the emulator does not
   * otherwise emulate): return an error to reject the record, e.g.
   * `{statusCode: 'FIELD_CUSTOM_VALIDATION_EXCEPTION', message: '…', fields: []}`.
   */
  beforeSave?: (context: BeforeSaveContext) => RecordError | undefined;
}

/** Runtime settings; change them with `emulator.configure()` or POST /__emulator/configure. */
export interface EmulatorSettings {
  /** Daily API request allocation ("Total API Request Allocations", reference §5.3). */
  dailyApiLimit: number;
  /**
   * The allocation is a rolling 24-hour window (reference §5.3): at its edge, requests age out and
   * free slots one by one, so refusals and acceptances interleave. With a number N, once the
   * allocation is used up, every N-th refused request frees one slot (the next request is accepted);
   * null = nothing frees (the allocation only grows until reset).
   */
  dailyApiRecoverEvery: number | null;
  /** Latency added to every request (ms). Deterministic. */
  latencyMs: number;
  /** Extra random latency 0..latencyJitterMs; only applied when `jitterSeed` is set (deterministic PRNG). */
  latencyJitterMs: number;
  /** Seed of the jitter PRNG; null = no jitter. */
  jitterSeed: number | null;
  /**
   * A crude cap on every request in flight, however young: above it a request gets 403
   * ConcurrentPerOrgLongTxn (not metered); null = unlimited. Salesforce's own rule is the long-running
   * one ({@link longRunningThresholdMs}, {@link maxLongRunning}); this cap predates it and stays for
   * tests that want a hard ceiling.
   */
  maxConcurrent: number | null;
  /**
   * Latency per record written or deleted by a request (ms, fractions allowed): a collection counts its
   * records, a single-record write 1, a Composite call the sum over its subrequests. Reads and Bulk
   * calls cost {@link latencyMs} only. See README "Latency model".
   */
  latencyPerRecordMs: number;
  /** A request in flight at least this long is long-running (Salesforce: 20,000 ms, reference §5.3). */
  longRunningThresholdMs: number;
  /**
   * Long-running requests allowed at once (reference §5.3: 25 in production and sandboxes, 5 in
   * Developer Edition): an API request arriving while this many are in flight gets 403
   * `ConcurrentPerOrgLongTxn Limit exceeded.` and is metered.
   */
  maxLongRunning: number;
  /**
   * The server's limit on one call, from its arrival (Salesforce: 10 minutes for REST calls,
   * reference §5.3). A request not applied by then never is; a client still waiting gets 400
   * QUERY_TIMEOUT. Applies to latency, held and stalled requests.
   */
  serverCallLimitMs: number;
  /**
   * Lock-contention mode: each record a REST call writes to object O fails with UNABLE_TO_LOCK_ROW
   * with probability min({@link lockContentionMax}, {@link lockContentionPerWriter} × (w − 1)),
   * w = API calls in flight writing O at that moment (the call itself included). Off by default.
   */
  lockContention: boolean;
  /** The k of the lock-contention formula: added chance per other call writing the same object. */
  lockContentionPerWriter: number;
  /** The ceiling of the lock-contention chance per record. */
  lockContentionMax: number;
  /** Seed of the lock-contention PRNG (mulberry32): the same seed and arrival order give the same failures. */
  lockContentionSeed: number;
  /**
   * [U] reference §3.3/§7: when one upsert request carries the same key twice, Salesforce answers
   * DUPLICATE_VALUE "Duplicate external id specified". 'all' (default, what a third-party connector
   * reports) fails every row sharing the key; 'later' fails only the second and later ones.
   */
  duplicateKeyRows: 'all' | 'later';
  /**
   * [U] reference §3.3/§7: whether upsert matching on the (non-unique, idLookup) Email field ignores
   * case. Default true: Salesforce text matching is case-insensitive unless a field is case-sensitive.
   */
  emailMatchCaseInsensitive: boolean;
  /**
   * [U] reference §3.2: where a deserialization problem inside an sObject Collections record (unknown
   * field, wrong JSON type) is reported. 'record' (default): a per-record error, the other records
   * proceed; 'request': the whole request fails with HTTP 400.
   */
  collectionsDeserializationErrors: 'record' | 'request';
  /**
   * [U] reference §6: whether a JSON string is accepted for a number/boolean field ("50" for int).
   * Default false: rejected like a JSON type mismatch.
   */
  coerceStringsToScalars: boolean;
  /** Accepted JWT `aud` values besides the emulator's own URL (reference §1.3). */
  jwtAudiences: string[];
  /** Clock skew tolerated on JWT `exp` (seconds). */
  jwtClockSkewSeconds: number;
  /** Delay before a Bulk API 2.0 job that reached UploadComplete starts processing (ms). */
  bulkStartDelayMs: number;
  /** Records per internal Bulk batch (Salesforce: 10,000, reference §4.2). */
  bulkBatchSize: number;
  /** Pause between internal Bulk batches (ms), so a test can observe InProgress. */
  bulkBatchDelayMs: number;
  /**
   * [U] Bulk API 2.0 accepts one upload (PUT) per job; a second one is refused with "Found multiple
   * contents for job". Set true to accept several uploads.
   */
  bulkAllowMultipleUploads: boolean;
  /**
   * CSV header columns that match no field: 'fail' (default) ends the job Failed with
   * `InvalidBatch : Field name not found : X` and every row unprocessed, as Salesforce has been seen to do
   * (bulk2-ingest.md §1.3); 'ignore' leaves them out of processing and results, the lenient reading of
   * "Results only include columns that are a match" (reference §4.3).
   */
  bulkUnknownColumns: 'fail' | 'ignore';
  /**
   * Result rows of successfulResults, failedResults and unprocessedrecords come back in an order that is
   * not the upload's ("The order of records in the response is not guaranteed", bulk2-ingest.md §1.4):
   * rows are shuffled within each internal batch and the batches come back in shuffled order. Default
   * true; deterministic for a given {@link bulkResultSeed}.
   */
  bulkShuffleResults: boolean;
  /** Seed of the result shuffle (with the job's sequence number and the batch, so jobs differ). */
  bulkResultSeed: number;
  /**
   * Double, currency and percent cells are echoed in results as Java prints doubles (`3` → `3.0`,
   * `10000000` → `1.0E7`), as Salesforce does (reference §4.1 step 5: `9.12260031E8`). Default true.
   */
  bulkJavaNumbers: boolean;
  /**
   * `DailyBulkApiBatches` Max (reference §4.2: 15,000 per 24 h, shared with Bulk 1.0). Each internal
   * batch uses one; a job that needs a batch past it ends Failed, the rest unprocessed ("Results are not
   * recorded for batches that exceed the daily batch allocation", bulk2-ingest.md §1.2).
   */
  bulkDailyBatchLimit: number;
  /**
   * null (default): a closed job is processed on its own, batch after batch. A number n: processing is
   * driven by polls instead, each GET of the job's info first processing up to n more internal batches,
   * so a test sees UploadComplete, InProgress and the end at polls it chooses (no timing).
   */
  bulkBatchesPerPoll: number | null;
  /**
   * Largest upload accepted (bytes, after any gzip): reference §4.1 step 2 allows 150 MB per job after
   * base64, i.e. 150 MiB × 3/4 raw. [U] the refusal's wording.
   */
  bulkMaxUploadBytes: number;
  /** Max open query cursors (query locators) per org; the oldest is dropped beyond it. */
  maxQueryCursors: number;
  /** `Last-Modified` of the metadata (describes); drives If-Modified-Since → 304 (reference §2.3). */
  metadataLastModified: string;
}

/** Counters returned by `emulator.stats()` and GET /__emulator/stats. */
export interface EmulatorStats {
  /** Every request received except the admin endpoint (OAuth and versions included). */
  apiRequests: number;
  /** The same, per kind: oauth, versions, identity, resources, describe, sobject, collections, composite, query, limits, bulk, other. */
  byKind: Record<string, number>;
  /** Daily allocation used (OAuth and versions calls don't consume it, reference §2.1). */
  apiUsed: number;
  /** Daily allocation. */
  apiMax: number;
  /** process.cpuUsage() of the emulator's process since start / the last resetStats(). */
  cpuUserMicros: number;
  cpuSystemMicros: number;
  /** Requests in flight now (admin calls excluded). */
  inFlight: number;
  /** Of those, the ones in flight for at least `longRunningThresholdMs` now. */
  longRunningInFlight: number;
  /** Requests held by {@link FaultControl.holdNext} now, waiting for `releaseHeld()`. */
  held: number;
  /** Requests stalled by {@link FaultControl.stallNext}: gauges (waiting, clientGone) and counters. */
  stalled: StallStats;
  /** Latency the model assigned to requests since start / the last resetStats() (ms, jitter included). */
  latencyTotalMs: number;
  /**
   * Of that, what was served on the timer (ms): the rest had passed already, reading and parsing the
   * body, since the latency counts from a request's arrival.
   */
  latencyWaitedMs: number;
  /**
   * UNABLE_TO_LOCK_ROW record errors given since start / the last resetStats(), by lock contention or
   * the lockRows fault, on every path (REST and Bulk rows): a row that fails twice counts twice.
   */
  lockErrors: number;
  /**
   * The longest time from a request's arrival to its answer (or its end: a dropped or stalled request)
   * since start / the last resetStats(), in ms; admin calls excluded.
   */
  longestRequestMs: number;
  /** Bulk API 2.0 ingest calls by what they did, and the work done (since start / resetStats()). */
  bulk: BulkStats;
}

/** Stalled requests (see {@link FaultControl.stallNext}). */
export interface StallStats {
  /** Held now, their client still connected. */
  waiting: number;
  /** Held now, their client gone: applied after the set number of further API requests. */
  clientGone: number;
  /** Applied after their client had gone (since the last resetStats()). */
  applied: number;
  /** Rolled back at the server's call limit, never applied (since the last resetStats()). */
  rolledBack: number;
}

/**
 * Bulk API 2.0 ingest calls answered (each one API request, bulk2-ingest.md §1.2), by what they did,
 * and the processing they caused. A call refused before the Bulk handler (authentication, daily limit,
 * an injected fault applied before it) is not in these counts.
 */
export interface BulkStats {
  jobsCreated: number;
  /** PUT …/batches calls, and their bytes. */
  uploads: number;
  uploadBytes: number;
  /** PATCH {state: UploadComplete}. */
  closes: number;
  /** PATCH {state: Aborted}. */
  aborts: number;
  /** GET of one job's info. */
  polls: number;
  /** GET of successfulResults, failedResults or unprocessedrecords. */
  resultGets: number;
  /** GET of the job list. */
  lists: number;
  /** DELETE of a job. */
  deletes: number;
  /** Internal batches processed (each counts against DailyBulkApiBatches), and their rows. */
  batchesProcessed: number;
  recordsProcessed: number;
}

/** Which requests a fault applies to; all given members must match. */
export interface FaultMatch {
  method?: string;
  pathIncludes?: string;
  /** Request kind as counted in {@link EmulatorStats.byKind}. */
  kind?: string;
}

/** Answer the next matching request(s) with an error. */
export interface FailNextSpec {
  /** Number of requests to fail (default 1). */
  count?: number;
  /** HTTP status, e.g. 500, 503. */
  status: number;
  /** JSON body (default `[{"message":"…","errorCode":"SERVER_UNAVAILABLE"}]`-like). */
  body?: unknown;
  /** Extra headers, e.g. {'Retry-After': '2'}. */
  headers?: Record<string, string>;
  match?: FaultMatch;
  /** 'before' (default): the request is not applied. 'after': it is applied, then the error is answered (a lost response). */
  when?: 'before' | 'after';
}

/** Destroy the socket of the next matching request(s) without answering. */
export interface DropNextSpec {
  count?: number;
  match?: FaultMatch;
  /** 'before' (default): not applied. 'after': applied, then dropped (the write happened; the client never learns it). */
  when?: 'before' | 'after';
}

/** Make records answer UNABLE_TO_LOCK_ROW for a number of attempts (reference §5.2). */
export interface LockRowsSpec {
  object: string;
  /** Records whose field (stored or incoming) equals one of these values. */
  match?: { field: string; values: Array<string | number | boolean> };
  /** Or records by Id. */
  ids?: string[];
  /** Attempts that fail per record (default 1). */
  times?: number;
}

/** Hold the next matching API request(s) in flight, unanswered and unapplied, until `releaseHeld()`. */
export interface HoldNextSpec {
  count?: number;
  match?: FaultMatch;
}

/**
 * Stall the next matching API request(s): held without an answer; once the client has gone (its
 * connection closed) the request is applied, exactly as if it ran then, after `applyAfterRequests`
 * further API requests have been answered — unless the server's call limit (`serverCallLimitMs`, from
 * its arrival) passes first: then it is rolled back and never applied, and a client still waiting gets
 * 400 QUERY_TIMEOUT.
 */
export interface StallNextSpec {
  count?: number;
  match?: FaultMatch;
  /** Further requests under /services/data/ to answer, after the client has gone, before it is applied (0 = at once). */
  applyAfterRequests: number;
}

/**
 * A fault in the processing of Bulk API 2.0 ingest jobs (reference §4.2: a batch that keeps failing
 * ends the job Failed, "the remaining data isn't processed"). It applies to the next `count` jobs whose
 * processing starts (optionally only those of an object / operation), and ends by event — a number of
 * batches, particular rows — never by time. The job ends Failed with `errorMessage`; the rows not
 * processed come back from unprocessedrecords.
 */
export interface BulkJobFaultSpec {
  /** Jobs affected (default 1). */
  count?: number;
  /** Only jobs on this object (case-insensitive) … */
  object?: string;
  /** … and/or with this operation. */
  operation?: string;
  /** End the job after this many internal batches (0: before the first); a job with no more completes. */
  failAfterBatches?: number;
  /** Leave these data rows unprocessed (1 = the first record after the header, blank lines not counted). */
  unprocessedRows?: number[];
  /** Or leave the rows whose cell under this header equals one of the values unprocessed. */
  unprocessedMatch?: { column: string; values: string[] };
  /** The failed job's errorMessage. Default `Unknown : Injected fault: …` ([U] Unknown is a documented code, reference §4.4). */
  errorMessage?: string;
}

/** Fault injection; every call is also available as POST /__emulator/faults. */
export interface FaultControl {
  failNext(spec: FailNextSpec): void;
  dropNext(spec: DropNextSpec): void;
  lockRows(spec: LockRowsSpec): void;
  /** Hold the next matching API request(s) in flight (they count as in flight and, in time, long-running). */
  holdNext(spec: HoldNextSpec): void;
  /** Let every held request go on (latency already served: it is applied and answered now); returns how many. */
  releaseHeld(): number;
  /** A request that outlives its client and lands later (see {@link StallNextSpec}). */
  stallNext(spec: StallNextSpec): void;
  /** A Bulk ingest job ends Failed after some batches, or leaves rows unprocessed. */
  bulkJob(spec: BulkJobFaultSpec): void;
  /** 403 REQUEST_LIMIT_EXCEEDED "TotalRequests Limit exceeded." for a time window or a number of requests. */
  requestLimitExceeded(spec: { forMs?: number; forRequests?: number }): void;
  /** Set the daily allocation already used (at or above the limit, every API request gets 403). */
  setApiUsed(used: number): void;
  /** Every access token issued so far becomes invalid (401 INVALID_SESSION_ID). */
  expireTokensNow(): void;
  /** After this many further API calls, every access token issued so far becomes invalid. */
  expireTokensAfter(calls: number): void;
  /** Remove every pending fault (requests already held or stalled stay as they are). */
  clear(): void;
}

/** Credentials of the default connected app and integration user. */
export interface EmulatorCredentials {
  clientId: string;
  clientSecret: string;
  refreshToken: string;
  username: string;
}

/** A running emulator. */
export interface Emulator {
  /** e.g. http://127.0.0.1:54321 — login host and instance URL at once. */
  url: string;
  /** Stop listening and drop open connections. */
  close(): Promise<void>;
  /** Live (not deleted) records of an object: copies of the stored values incl. system fields. */
  records(objectName: string): Array<Record<string, unknown>>;
  /** One record (deleted ones too, with IsDeleted true), or undefined. */
  record(objectName: string, id: string): Record<string, unknown> | undefined;
  /** Number of live records. */
  count(objectName: string): number;
  stats(): EmulatorStats;
  resetStats(): void;
  /** Insert records bypassing validation and quota; system fields are filled; returns the ids. */
  seed(objectName: string, records: Array<Record<string, unknown>>): string[];
  /** Clear records, tokens issued at run time, jobs, cursors and faults; settings and clients stay. */
  reset(): void;
  configure(partial: Partial<EmulatorSettings>): void;
  /** Current settings (a copy). */
  settings(): EmulatorSettings;
  faults: FaultControl;
  credentials: EmulatorCredentials;
}
