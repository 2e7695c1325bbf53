/**
 * The Bulk API 2.0 sink (PRODUCT.md section 7a, bulk2-ingest.md): a stream's rows go into ingest
 * jobs of up to ~100 MB of CSV, spooled to disk as they arrive (memory stays flat whatever a job
 * holds), then each job is created, uploaded once, closed and polled, and its three result sets are
 * joined back to the input rows by key — never by position: Salesforce returns them in no guaranteed
 * order, with numbers re-formatted. Every row ends committed or rejected through the same Settler as
 * the REST path (settle.ts); rows the job did not process, rows it could not lock and rows it said
 * nothing about go to the REST sink, never dropped.
 *
 * Ordering: a job bars its object's key ledger (keys.ts): it waits for every write of the object on
 * the same key that started before it, and every write that starts after it waits for it. Rows of one
 * key inside one job would fail (Salesforce refuses a repeated External ID in a job), so a repeated key
 * starts the next job.
 *
 * A stop (SIGTERM) aborts a job still Open, since nothing in it was applied; a job already closed is
 * left to finish on Salesforce's side, unacknowledged, and the next sync sends its rows again. No
 * client timeout ever deletes or aborts a closed job.
 */
import { ConfigError } from '../errors.js';
import type { Logger } from '../logger.js';
import {
  parseBulkError,
  type BulkClient,
  type BulkJobInfo,
  type BulkJobRequest,
  type BulkOperation,
  type UploadFile,
} from '../salesforce/bulk.js';
import { canonicalId } from '../salesforce/ids.js';
import { plainDecimal } from '../salesforce/query.js';
import type { SalesforceRecordError } from '../salesforce/types.js';
import { checkBytes, releaseBytes, standalone } from './arena.js';
import { awaitJob, submitJob, type JobLife } from './bulk-job.js';
import { csvCells, csvLine, NotExpressible, payloadCells, rowPayload, BULK_NULL } from './csv.js';
import { Hold, normalizeKey, waitForAll } from './keys.js';
import { hashA } from './mirror-keys.js';
import type { RestLoader } from './rest-loader.js';
import { ALREADY_GONE } from './rest-loader.js';
import { RowIndex, u16, u32, u8, type Column } from './row-index.js';
import type { Settler } from './settle.js';
import type { Sink } from './sink.js';
import { Spool } from './spool.js';
import { bulkKeepsJson, makeItem, payloadOf, unusableRow, type Item, type StreamContext } from './stream.js';
import { findField } from '../mapping/fields.js';
import { grouped } from '../numbers.js';

/** Bulk sink settings. */
export interface BulkLoaderOptions {
  /** Where rows Bulk did not settle go (unprocessed, locked, no result). */
  rest: RestLoader;
  client: BulkClient;
  /** Raw CSV per job: Salesforce's advice is ≤ 100 MB under its 150 MB limit (bulk2-ingest.md §1.2). */
  maxJobBytes: number;
  maxJobRows: number;
  /** A job with rows is closed after this long, so that states of a slow source still get echoed. */
  maxJobAgeMs: number;
  /** Polls start at the first delay and double up to the second. */
  pollMinMs: number;
  pollMaxMs: number;
  keepRecords: boolean;
  sleep: (ms: number) => Promise<void>;
  now?: () => number;
  signal?: AbortSignal;
  /** A directory for the spool files (default: the system's temporary directory). */
  tmpDir?: string;
}

/** Row states once the results are read. */
const Row = { None: 0, Created: 1, Updated: 2, Deleted: 3, Gone: 4, Rejected: 5, Resend: 6 } as const;

/** Where a row's state came from, so that a result set read twice (a retried download) counts once. */
const From = { Success: 1, Failure: 2, Unprocessed: 3 } as const;
type FromValue = (typeof From)[keyof typeof From];

/** One ingest job of one stream, from its first row to its last result. */
class Job {
  readonly hold = new Hold();
  readonly openedAt: number;
  rows = 0;
  readonly columns = new Map<string, number>();
  readonly header: string[] = [];
  readonly csv: Spool;
  /** The rows' JSON, only where their CSV cannot give it back (bulkKeepsJson). */
  readonly json: Spool | undefined;
  readonly records: Spool | undefined;
  // Per row, in typed arrays (30–50 bytes a row with the index and the arrays' spare room): a job of
  // 200,000 rows holds ~10 MB, whatever the rows' size. Offsets fit 32 bits: a spool stays far below 4 GiB.
  readonly epoch = u32();
  readonly rowNo = u32();
  /** Where each row starts in the CSV and JSON spools; a row ends where the next starts. */
  readonly csvAt = u32();
  readonly jsonAt = u32();
  /** Cells the row brought: fewer than the header's when a later row added a column. */
  readonly cellCount = u16();
  readonly state = u8();
  readonly from = u8();
  /** Where each row's original records are in the records spool (with a rejected-records file only). */
  readonly recAt = u32();
  /** Rows a parent value groups (lock contention: bulk2-ingest.md §1.5), by a hash of the value. */
  parent: Column<Uint32Array> | undefined;
  readonly index = new RowIndex();
  /** Epochs of earlier rows merged into a row (batcher.ts), for the rare rows that have them. */
  readonly more = new Map<number, number[]>();
  readonly errors = new Map<number, SalesforceRecordError>();
  /** What bars the ledger before this job (set when the job starts). */
  waits: Hold[] = [];
  closed = false;
  info: BulkJobInfo | undefined;
  /** For an insert job: the header columns its index of row signatures was built over. */
  insertIndexFor: number[] | undefined;
  /** The body to upload, when it is not the CSV spool as it is (uploadFile). */
  upload: Spool | undefined;

  constructor(
    readonly stream: StreamContext,
    readonly operation: BulkOperation,
    readonly tmpDir: string | undefined,
    keepRecords: boolean,
    now: number,
  ) {
    this.openedAt = now;
    this.csv = new Spool(tmpDir);
    this.json = bulkKeepsJson(stream) ? new Spool(tmpDir) : undefined;
    this.records = keepRecords ? new Spool(tmpDir) : undefined;
  }

  columnOf(name: string): number {
    let index = this.columns.get(name);
    if (index === undefined) {
      index = this.header.length;
      this.header.push(name);
      this.columns.set(name, index);
    }
    return index;
  }

  /** Bytes of a row in a spool (it ends where the next row starts). */
  span(spool: Spool, at: Column<Uint32Array>, row: number): [number, number] {
    const start = at.get(row);
    const end = row + 1 < this.rows ? at.get(row + 1) : spool.size;
    return [start, end - start];
  }

  /** Frees the spool files (they have no name: closing them frees their space). */
  dispose(): void {
    for (const spool of [this.csv, this.json, this.records, this.upload]) {
      try {
        spool?.close();
      } catch {
        // already closed
      }
    }
  }
}

/** Per stream: the job filling now, and the jobs closed and not ended. */
interface StreamJobs {
  open: Job | undefined;
  running: number;
  waiters: Array<() => void>;
}

/** The sink. */
export class BulkLoader implements Sink {
  private readonly perStream = new Map<StreamContext, StreamJobs>();
  private readonly running = new Set<Promise<void>>();
  private readonly now: () => number;
  private ticker: NodeJS.Timeout | undefined;
  private limitsChecked: Promise<boolean> | undefined;
  private readonly life: JobLife;
  /** Bulk can no longer be used in this run (its batch allocation would run out): the router sends to REST. */
  unavailable: string | undefined;
  failure: unknown;

  constructor(
    private readonly settler: Settler,
    private readonly logger: Logger,
    private readonly options: BulkLoaderOptions,
  ) {
    this.now = options.now ?? Date.now;
    this.life = {
      client: options.client,
      logger,
      pollMinMs: options.pollMinMs,
      pollMaxMs: options.pollMaxMs,
      sleep: options.sleep,
      now: this.now,
      stopped: () => this.stopped(),
      signal: options.signal,
    };
  }

  /** Adds a batch's rows to the stream's open job, starting jobs as they fill. */
  submit(stream: StreamContext, batch: Item[]): void {
    if (this.failure !== undefined) return;
    const jobs = this.jobsOf(stream);
    for (const item of batch) {
      // The payload object when the stream handed it over (no parse), else its JSON bytes.
      const payload = payloadOf(item);
      let job = jobs.open ?? this.start(stream, jobs);
      // A repeated key in one job would fail both rows: the later row starts the next job.
      const key = joinKeyOf(stream, item);
      if (key !== undefined && job.index.has(key)) {
        this.close(jobs);
        job = this.start(stream, jobs);
      }
      try {
        this.add(job, item, payload, key);
      } catch (error) {
        if (error instanceof NotExpressible) {
          // `#N/A` as text would clear the field through Bulk: this row goes through REST, after
          // the job (the ledger is barred until the job has ended).
          this.options.rest.submit(stream, [item]);
        } else if (error instanceof RangeError) {
          // A value no cell can hold (nested too deeply to serialise): that row only is refused.
          this.settler.reject(stream, item, unusableRow(error));
        } else {
          throw error;
        }
        continue;
      }
      item.payload = undefined;
      if (
        job.rows >= this.options.maxJobRows ||
        job.csv.size + job.rows * job.header.length >= this.options.maxJobBytes
      ) {
        this.close(jobs);
      }
    }
  }

  /**
   * Resolves when the stream may hand over more rows. A stream's jobs run one after another (each
   * waits for the one before: keys.ts), so reading further ahead than the job filling now while one
   * runs would only hold more memory: once the filling job is closed too, the reading waits.
   */
  async capacity(stream: StreamContext): Promise<void> {
    const jobs = this.jobsOf(stream);
    while (jobs.running >= 2) await new Promise<void>((resolve) => jobs.waiters.push(resolve));
  }

  /** Closes every job still filling, and resolves when every job has ended. */
  async drain(): Promise<void> {
    if (this.options.signal?.aborted !== true) for (const jobs of this.perStream.values()) this.close(jobs);
    else for (const jobs of this.perStream.values()) this.discardOpen(jobs);
    while (this.running.size > 0) await Promise.all([...this.running]);
    if (this.ticker !== undefined) clearInterval(this.ticker);
    this.ticker = undefined;
  }

  private jobsOf(stream: StreamContext): StreamJobs {
    let jobs = this.perStream.get(stream);
    if (jobs === undefined) {
      jobs = { open: undefined, running: 0, waiters: [] };
      this.perStream.set(stream, jobs);
    }
    return jobs;
  }

  /** A new job: it bars the stream's ledger from now on (every later write of its keys waits for it). */
  private start(stream: StreamContext, jobs: StreamJobs): Job {
    const job = new Job(
      stream,
      bulkOperation(stream),
      this.options.tmpDir,
      this.options.keepRecords,
      this.now(),
    );
    job.waits = stream.ledger.bar(job.hold);
    jobs.open = job;
    this.ticker ??= setInterval(() => this.closeOld(), 1_000);
    this.ticker.unref();
    return job;
  }

  private add(job: Job, item: Item, payload: Record<string, unknown>, key: string | undefined): void {
    if (item.id !== undefined) payload = { Id: item.id, ...payload };
    const stream = job.stream;
    // A delete sends the Id only (bulk2-ingest.md §1.1).
    const cells =
      job.operation === 'delete'
        ? placeId(job, item.id ?? item.rawKey ?? '')
        : payloadCells(payload, (name) => job.columnOf(name));
    const row = job.rows;
    job.csvAt.set(row, job.csv.append(csvLine(cells)));
    job.cellCount.set(row, cells.length);
    // The record's JSON bytes as they are in the arena (copied once, when the spool writes): a stream
    // whose jobs keep JSON always gives its rows bytes (stream.ts accept).
    if (job.json !== undefined) {
      checkBytes(item);
      job.jsonAt.set(row, job.json.append(item.chunk.subarray(item.start, item.end)));
    }
    releaseBytes(item); // the spool copied them, or the CSV says it all
    if (job.records !== undefined) {
      job.recAt.set(row, job.records.append(JSON.stringify(item.records ?? null)));
    }
    job.epoch.set(row, item.epoch);
    // Rows are named by their key in logs; an insert has none, so its row number is kept.
    if (key === undefined) job.rowNo.set(row, item.row);
    if (item.more !== undefined) job.more.set(row, item.more);
    const parent = stream.parent === undefined ? undefined : parentValue(payload, stream.parent);
    if (parent !== undefined) (job.parent ??= u32()).set(row, hashA(parent));
    // Inserts have no key: their index is built from the echoed columns when the results come.
    if (key !== undefined) job.index.add(key, row);
    job.rows += 1;
  }

  /** Closes the stream's filling job (if it has rows) and sets it going. */
  private close(jobs: StreamJobs): void {
    const job = jobs.open;
    if (job === undefined) return;
    jobs.open = undefined;
    if (job.rows === 0) {
      this.end(job);
      return;
    }
    job.closed = true;
    jobs.running += 1;
    const run = this.run(job).finally(() => {
      jobs.running -= 1;
      const waiters = jobs.waiters;
      jobs.waiters = [];
      for (const w of waiters) w();
    });
    this.running.add(run);
    void run.finally(() => this.running.delete(run));
  }

  /** On a stop: a job that never left this machine is dropped (its rows stay unacknowledged). */
  private discardOpen(jobs: StreamJobs): void {
    const job = jobs.open;
    jobs.open = undefined;
    if (job !== undefined) this.end(job);
  }

  private closeOld(): void {
    const now = this.now();
    for (const jobs of this.perStream.values()) {
      if (
        jobs.open !== undefined &&
        jobs.open.rows > 0 &&
        now - jobs.open.openedAt >= this.options.maxJobAgeMs
      ) {
        this.close(jobs);
      }
    }
  }

  private end(job: Job): void {
    job.dispose();
    job.hold.finish();
    job.stream.ledger.unbar(job.hold);
  }

  private stopped(): boolean {
    return this.failure !== undefined || this.options.signal?.aborted === true;
  }

  /** A closed job, from the wait for earlier writes to the last row's outcome. */
  private async run(job: Job): Promise<void> {
    try {
      job.csv.flush();
      job.json?.flush();
      job.records?.flush();
      await waitForAll(job.waits);
      if (this.stopped()) return;
      if (!(await this.allowed(job))) {
        await this.resend(job, allRows(job), 'Bulk API 2.0 unavailable');
        return;
      }
      const upload = this.uploadFile(job);
      const info = await submitJob(this.life, jobRequest(job), upload, job.stream.tally, job.stream.label);
      if (info === undefined) return; // stopped before the job was closed: nothing was applied
      const done = await awaitJob(
        this.life,
        info.id,
        job.stream.tally,
        (now) =>
          `${job.stream.label}: Bulk job ${now.id} (${job.stream.object} ${job.operation}, ${grouped(job.rows)} rows) is ${now.state}: ${grouped(now.numberRecordsProcessed ?? 0)} processed, ${grouped(now.numberRecordsFailed ?? 0)} failed so far.`,
      );
      if (done === undefined) return; // stopped while Salesforce works: left to finish, unacknowledged
      job.info = done;
      await this.readResults(job, done);
      this.systematicFailure(job, done);
      await this.settle(job);
    } catch (error) {
      this.failure ??= error;
    } finally {
      this.end(job);
    }
  }

  /**
   * Before the first job of the run: the batches and requests the org has left (reference §5.3).
   * Results are not recorded past the daily batch allocation, so Bulk is not used when this job
   * could take it past.
   */
  private async allowed(job: Job): Promise<boolean> {
    if (this.unavailable !== undefined) return false;
    this.limitsChecked ??= this.options.client.limits().then(
      (limits) => {
        const needed = Math.ceil(job.rows / 10_000) + 1;
        if (limits.batchesRemaining !== undefined && limits.batchesRemaining < needed) {
          this.unavailable = `the org has ${limits.batchesRemaining} Bulk API batches left today (DailyBulkApiBatches), and results past the allocation are not recorded`;
          this.logger.warn(
            `Bulk API 2.0 is not used in this sync: ${this.unavailable}. Rows go through the REST API.`,
          );
          return false;
        }
        return true;
      },
      () => true, // /limits needs "View Setup and Configuration": without it, Bulk is tried as asked.
    );
    return this.limitsChecked;
  }

  /**
   * The CSV to upload: the header, then every row with empty cells for the columns it did not bring.
   * When every row has every column and the order stays, the spool is the body as it is, after the
   * header line: nothing is copied.
   */
  private uploadFile(job: Job): UploadFile {
    const width = job.header.length;
    const header = Buffer.from(csvLine(job.header), 'utf8');
    let full = true;
    for (let row = 0; row < job.rows && full; row += 1) full = job.cellCount.get(row) === width;
    if (full && job.parent === undefined) {
      return { fd: job.csv.fd, size: header.length + job.csv.size, prefix: header };
    }
    const out = new Spool(job.tmpDir);
    job.upload = out;
    out.append(header);
    for (const row of uploadOrder(job)) {
      const [at, length] = job.span(job.csv, job.csvAt, row);
      const bytes = job.csv.read(at, length);
      const missing = width - job.cellCount.get(row);
      // Before the line's LF: one comma per column the row did not bring (an empty cell: unchanged).
      out.append(
        missing > 0 ? Buffer.concat([bytes.subarray(0, -1), Buffer.from(`${','.repeat(missing)}\n`)]) : bytes,
      );
    }
    out.flush();
    return { fd: out.fd, size: out.size };
  }

  /** Reads the three result sets into the rows' states, joined by key. */
  private async readResults(job: Job, info: BulkJobInfo): Promise<void> {
    const { client } = this.options;
    const counter = job.stream.tally;
    const read = async (
      kind: 'successfulResults' | 'failedResults' | 'unprocessedrecords',
      from: FromValue,
    ) => {
      // A download retried midway starts over: forget what this set said so far.
      for (let row = 0; row < job.rows; row += 1) if (job.from.get(row) === from) job.from.set(row, 0);
      let columns: ResultColumns | undefined;
      await client.results(
        info.id,
        kind,
        (cells, header) => {
          columns ??= resultColumns(job, header);
          this.onResult(job, cells, columns, from);
        },
        counter,
      );
    };
    if (job.operation === 'insert') job.insertIndexFor = undefined;
    await read('successfulResults', From.Success);
    await read('failedResults', From.Failure);
    await read('unprocessedrecords', From.Unprocessed);
  }

  private onResult(job: Job, cells: string[], columns: ResultColumns, from: FromValue): void {
    const row = this.rowOf(job, cells, columns);
    if (row === undefined) return;
    job.from.set(row, from);
    if (from === From.Unprocessed) {
      job.state.set(row, Row.Resend);
      return;
    }
    if (from === From.Success) {
      const created = columns.created >= 0 && cells[columns.created] === 'true';
      job.state.set(
        row,
        job.operation === 'delete'
          ? Row.Deleted
          : created || job.operation === 'insert'
            ? Row.Created
            : Row.Updated,
      );
      return;
    }
    const error = parseBulkError(columns.error >= 0 ? (cells[columns.error] ?? '') : '');
    if (error.statusCode === 'UNABLE_TO_LOCK_ROW') {
      // Re-sent through REST, with its own lock retries (PRODUCT.md section 7a).
      job.state.set(row, Row.Resend);
      return;
    }
    if (job.operation === 'delete' && ALREADY_GONE.has(error.statusCode)) {
      job.state.set(row, Row.Gone);
      return;
    }
    job.state.set(row, Row.Rejected);
    job.errors.set(row, notFoundForUpdate(job, error));
  }

  /** The input row a result row answers, by its key (or, for an insert, its values). */
  private rowOf(job: Job, cells: string[], columns: ResultColumns): number | undefined {
    const stream = job.stream;
    let key: string;
    if (job.operation === 'insert') {
      // Our rows' signatures over the columns the results echo (Salesforce echoes only columns that
      // are fields), built once from the spool.
      const echoed = columns.echo.map(([index]) => index);
      if (job.insertIndexFor === undefined) {
        for (let row = 0; row < job.rows; row += 1) {
          const line = job.csv.read(...job.span(job.csv, job.csvAt, row)).toString('utf8');
          const ours = csvCells(line);
          job.index.add(insertSignature(echoed.map((i) => ours?.[i] ?? '')), row);
        }
        job.insertIndexFor = echoed;
      }
      key = insertSignature(columns.echo.map(([, at]) => cells[at] ?? ''));
    } else if (job.operation === 'upsert') {
      const value = columns.key >= 0 ? cells[columns.key] : undefined;
      if (value === undefined) return undefined;
      key = normalizeKey(value, stream.keyField!);
    } else {
      const value = columns.key >= 0 ? cells[columns.key] : cells[columns.sfId];
      if (value === undefined || value === '') return undefined;
      key = canonicalId(value);
    }
    // The first row of that key that no result of this set has answered yet (identical inserts).
    let fallback: number | undefined;
    for (let row = job.index.first(key); row >= 0; row = job.index.nextOf(row)) {
      if (job.from.get(row) === 0) return row;
      fallback ??= row;
    }
    return job.operation === 'insert' ? undefined : fallback;
  }

  /**
   * A job that failed as a whole before processing anything, for a reason in its input (a header
   * Salesforce refused, a line ending): it would fail every job alike, so the run stops with a
   * config_error and its rows stay unacknowledged for the next sync (nothing lost).
   */
  private systematicFailure(job: Job, info: BulkJobInfo): void {
    if (info.state !== 'Failed' || (info.numberRecordsProcessed ?? 0) > 0) return;
    const message = info.errorMessage ?? '';
    if (!/InvalidBatch|ClientInputError|InvalidJob|Field name not found|LineEnding/i.test(message)) return;
    throw new ConfigError(
      `Salesforce refused Bulk API 2.0 job ${info.id} for ${job.stream.object} as a whole (${message}); no row of it was applied and none is acknowledged. Set advanced.write_api to rest to write this stream through the REST API, and report the message.`,
    );
  }

  /** Ends every row: committed, rejected, or sent again through REST. */
  private async settle(job: Job): Promise<void> {
    const stream = job.stream;
    const committed: number[] = [];
    const changes = { created: 0, updated: 0, deleted: 0 };
    const resend: number[] = [];
    for (let row = 0; row < job.rows; row += 1) {
      const state = job.state.get(row);
      if (state === Row.Created || state === Row.Updated || state === Row.Deleted) {
        if (job.more.has(row)) {
          this.settler.commit(
            stream,
            this.itemOf(job, row),
            state === Row.Created ? 'created' : state === Row.Updated ? 'updated' : 'deleted',
          );
          continue;
        }
        committed.push(row);
        if (state === Row.Created) changes.created += 1;
        else if (state === Row.Updated) changes.updated += 1;
        else changes.deleted += 1;
      } else if (state === Row.Gone) this.settler.commit(stream, this.itemOf(job, row), 'unchanged');
      else if (state === Row.Rejected)
        this.settler.reject(stream, this.itemOf(job, row), job.errors.get(row)!);
      else if (state === Row.Resend) resend.push(row);
      else if (job.operation === 'insert') {
        // No result says what happened to this insert: sending it again could create it twice.
        this.settler.reject(stream, this.itemOf(job, row), {
          statusCode: 'OUTCOME_UNKNOWN',
          message: `Bulk job ${job.info?.id ?? ''} reported no result for this row; it was not sent again, to avoid a duplicate. Check Salesforce before sending it again.`,
          fields: [],
        });
      } else resend.push(row); // upserts, updates and deletes are safe to send again
    }
    this.settler.commitEpochs(stream, committed.length, (i) => job.epoch.get(committed[i]!), changes);
    if (resend.length > 0) await this.resend(job, resend, 'not settled by the Bulk job');
  }

  /** Sends rows again through REST and waits for them (the job's bar holds until they end). */
  private async resend(job: Job, rows: number[], why: string): Promise<void> {
    if (rows.length === 0 || this.stopped()) return;
    this.logger.info(`${job.stream.label}: ${grouped(rows.length)} row(s) ${why} go through the REST API.`);
    const sends: Array<Promise<void>> = [];
    for (let i = 0; i < rows.length; i += 1_000) {
      const batch = rows.slice(i, i + 1_000).map((row) => this.itemOf(job, row));
      sends.push(this.options.rest.resend(job.stream, batch));
    }
    await Promise.all(sends);
  }

  /** An item for one row, rebuilt from the spools (for REST, logs and the rejected-records file). */
  private itemOf(job: Job, row: number): Item {
    const stream = job.stream;
    let json: string;
    let payload: Record<string, unknown> | undefined;
    if (job.json !== undefined) {
      json = job.json.read(...job.span(job.json, job.jsonAt, row)).toString('utf8');
    } else {
      const cells = csvCells(job.csv.read(...job.span(job.csv, job.csvAt, row)).toString('utf8'));
      payload = rowPayload(job.header, cells, (name) => findField(stream.describe, name)?.type);
      json = JSON.stringify({ ...payload, attributes: { type: stream.object } });
    }
    let rawKey: string | undefined;
    if (stream.keyField !== undefined) {
      payload ??= JSON.parse(json) as Record<string, unknown>;
      const value = payload[stream.keyField.name];
      if (typeof value === 'string' || typeof value === 'number') rawKey = String(value);
    }
    const records =
      job.records === undefined
        ? undefined
        : ((JSON.parse(job.records.read(...job.span(job.records, job.recAt, row)).toString('utf8')) as Array<
            Record<string, unknown>
          > | null) ?? undefined);
    return makeItem(
      job.epoch.get(row),
      job.rowNo.get(row),
      standalone(json),
      rawKey === undefined ? undefined : normalizeKey(rawKey, stream.keyField!),
      rawKey,
      job.more.get(row),
      records,
    );
  }
}

/** What Create Job is asked for a job's rows. */
function jobRequest(job: Job): BulkJobRequest {
  return {
    object: job.stream.object,
    operation: job.operation,
    ...(job.operation === 'upsert' ? { externalIdFieldName: job.stream.keyField!.name } : {}),
    ...(job.stream.assignmentRuleId !== undefined ? { assignmentRuleId: job.stream.assignmentRuleId } : {}),
    lineEnding: 'LF',
    columnDelimiter: 'COMMA',
  };
}

/** The Bulk operation of a stream's REST operation (PRODUCT.md section 7a: mirror's rows are upserts). */
function bulkOperation(stream: StreamContext): BulkOperation {
  switch (stream.operation) {
    case 'insert':
      return 'insert';
    case 'update':
      return 'update';
    case 'remove':
      return 'delete';
    default:
      return 'upsert';
  }
}

/** The key a result row is joined on: the External ID for upserts, the record Id for updates and deletes. */
function joinKeyOf(stream: StreamContext, item: Item): string | undefined {
  switch (stream.operation) {
    case 'insert':
      return undefined;
    case 'update':
    case 'remove':
      return canonicalId(item.id ?? item.rawKey ?? '');
    default:
      return item.key;
  }
}

/** The cells of a delete row: its Id. */
function placeId(job: Job, id: string): string[] {
  const cells: string[] = [];
  cells[job.columnOf('Id')] = id;
  for (let i = 0; i < cells.length; i += 1) cells[i] ??= '';
  return cells;
}

/**
 * An inserted row as its values compare once Salesforce has echoed them: numbers as numbers (a
 * result may say `1.0E7` for `10000000`), booleans in lower case, date-times as instants, `#N/A` and
 * empty alike. Identical rows share a signature and are matched by multiplicity.
 */
function insertSignature(cells: readonly string[]): string {
  let out = '';
  for (const cell of cells) {
    let v = cell === BULK_NULL ? '' : cell;
    if (v !== '' && /^[+-]?(\d+\.?\d*|\.\d+)(E[+-]?\d+)?$/i.test(v)) v = plainDecimal(Number(v));
    else if (/^(true|false)$/i.test(v)) v = v.toLowerCase();
    else if (/^\d{4}-\d\d-\d\dT/.test(v)) {
      const t = Date.parse(v);
      if (Number.isFinite(t)) v = String(t);
    }
    out += `${v}\u0000`;
  }
  return out;
}

/** Where the columns the join needs are in a result set's header. */
interface ResultColumns {
  sfId: number;
  created: number;
  error: number;
  /** The key column (External ID for upsert, Id otherwise). */
  key: number;
  /** Our header index → the result column echoing it. */
  echo: Array<[number, number]>;
}

function resultColumns(job: Job, header: string[]): ResultColumns {
  const at = (name: string): number => header.findIndex((h) => h.toLowerCase() === name.toLowerCase());
  const keyName = job.operation === 'upsert' ? job.stream.keyField!.name : 'Id';
  const echo: Array<[number, number]> = [];
  job.header.forEach((name, index) => {
    const found = at(name);
    if (found >= 0) echo.push([index, found]);
  });
  return { sfId: at('sf__Id'), created: at('sf__Created'), error: at('sf__Error'), key: at(keyName), echo };
}

/** Rows in upload order: grouped by parent when the stream has one (lock contention), else as they came. */
function uploadOrder(job: Job): Iterable<number> {
  const rows = new Uint32Array(job.rows);
  for (let i = 0; i < rows.length; i += 1) rows[i] = i;
  if (job.parent === undefined) return rows;
  // Stable: rows of one parent keep their input order (and a key appears once per job anyway).
  const parent = job.parent;
  return Array.from(rows).sort((a, b) => parent.get(a) - parent.get(b) || a - b);
}

/** The value of the stream's parent lookup in a payload (its Id, or its External ID in a relationship). */
function parentValue(
  payload: Record<string, unknown>,
  parent: { field: string; relationship: string },
): string | undefined {
  const direct = payload[parent.field];
  if (typeof direct === 'string') return direct;
  const related = payload[parent.relationship];
  if (related !== null && typeof related === 'object') return JSON.stringify(related);
  return undefined;
}

/** All rows of a job. */
function allRows(job: Job): number[] {
  return Array.from({ length: job.rows }, (_, i) => i);
}

/**
 * An update whose Id names no record says NOT_FOUND on every path (PRODUCT.md section 5), with
 * Salesforce's words kept.
 */
function notFoundForUpdate(job: Job, error: SalesforceRecordError): SalesforceRecordError {
  if (
    job.operation === 'update' &&
    error.statusCode === 'INVALID_CROSS_REFERENCE_KEY' &&
    (error.fields.length === 0 || (error.fields.length === 1 && error.fields[0] === 'Id'))
  ) {
    return {
      statusCode: 'NOT_FOUND',
      message: `No ${job.stream.object} record has this Id; update changes existing records only. (Salesforce: ${error.message})`,
      fields: ['Id'],
    };
  }
  return error;
}
