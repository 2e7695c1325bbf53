/**
 * The Composite sink: one job per batch. A job sends its batch as one Composite call (five sObject
 * Collections of up to 200 records plus up to 20 single-record subrequests), reads every record's
 * result, retries the records Salesforce could not lock, and ends each record committed or rejected.
 *
 * Ordering: a job waits for the earlier holds on its keys (keys.ts), across every stream writing
 * the object on the same field, so two rows for one record are applied in arrival order even with
 * calls in parallel. When a call's answer was lost, Salesforce may still apply it later: its keys
 * stay held until it surely has ended, and later rows of those records wait (they are split off
 * into a job of their own, so rows of other records go on).
 *
 * Inserts near the API limit: once a limit answer was seen, or the requests left under the budget
 * are fewer than the calls that may be in flight, insert calls go one at a time, and none is sent
 * after the run has failed — so a stop leaves no inserted rows after unfinished ones (which no state
 * could cover, and the next sync would insert again).
 *
 * Failures that are not about one record (API limit exhausted, credentials revoked, Salesforce down
 * past the retries) stop the run: the job's records stay unfinished, so no state after them is echoed
 * and the next sync sends them again.
 */
import type { Logger } from '../logger.js';
import {
  MAX_COLLECTION_RECORDS_PER_COMPOSITE,
  MAX_RECORDS_PER_COLLECTION,
  MAX_SINGLES_PER_COMPOSITE,
  sendComposite,
  type CollectionRequest,
  type RecordBytes,
  type SingleRequest,
} from '../salesforce/composite.js';
import { SalesforceApiError, UnknownOutcomeError } from '../salesforce/errors.js';
import type { SalesforceHttp } from '../salesforce/http.js';
import { lookupIds } from '../salesforce/query.js';
import type { SalesforceRecordError, SaveResult } from '../salesforce/types.js';
import { checkBytes, releaseBytes, standalone, textOf } from './arena.js';
import { Hold, holdUntil, normalizeKey, type KeyField } from './keys.js';
import type { Outcomes } from './outcomes.js';
import type { Pace } from './pace.js';
import type { Settler } from './settle.js';
import { NotSent, type Sink } from './sink.js';
import {
  makeItem,
  rowLabel,
  rowsOf,
  singleSafe,
  unusableRow,
  withBytes,
  type Item,
  type StreamContext,
} from './stream.js';

/** Loader settings. */
export interface RestLoaderOptions {
  /**
   * The calls in flight (fixed or adaptive, pace.ts); the client's limiter holds the same number.
   * Jobs are bounded at one beyond it: one batch ready when a call ends keeps Salesforce busy, more
   * would only hold more records in memory.
   */
  pace: Pace;
  /** Headers on every subrequest (assignment rules, duplicate rules). */
  headers: Record<string, string>;
  /** Attempts for records Salesforce could not lock. */
  lockAttempts: number;
  lockDelayMs: number;
  dryRun: boolean;
  /** How long after a call whose answer was lost later rows of its records wait (Salesforce may still apply it). */
  lostAnswerWaitMs: number;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
  /** Aborted when the run stops: nothing more is sent, and waits end. */
  signal?: AbortSignal;
}

const defaultSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** The rejection for an insert whose answer never came. */
export const OUTCOME_UNKNOWN = 'OUTCOME_UNKNOWN';

/**
 * Records another transaction held locked (UNABLE_TO_LOCK_ROW) are tried this many times in all, after
 * pauses that start at `delayMs` and double up to `maxDelayMs` (1, 2, 4, 8, 16, 30, 30 s: about a
 * minute and a half): for every write, and for mirror's deletions. A lock lasts as long as the
 * transaction that holds it, and another integration's batch can hold one for a minute; with 5 tries
 * over 15 s, a 100,000-row run under the benchmark's lock contention gave up 7 rows (rejected
 * UNABLE_TO_LOCK_ROW) that a later try would have written.
 */
export const LOCK_RETRY = { attempts: 8, delayMs: 1_000, maxDelayMs: 30_000 } as const;

/** The pause after try `attempt` (from 1) of locked records. */
export function lockPause(attempt: number, delayMs: number = LOCK_RETRY.delayMs): number {
  return Math.min(LOCK_RETRY.maxDelayMs, delayMs * 2 ** (attempt - 1));
}

/**
 * A delete's answers for a record that is not there: in the recycle bin (ENTITY_IS_DELETED), or no
 * such record — INVALID_CROSS_REFERENCE_KEY from a collection delete of a well-formed Id, NOT_FOUND
 * from a single-record DELETE (reference §3.2, §3.3). A malformed Id is still an error.
 */
export const ALREADY_GONE: ReadonlySet<string> = new Set([
  'ENTITY_IS_DELETED',
  'INVALID_CROSS_REFERENCE_KEY',
  'NOT_FOUND',
]);

type WriteKind = 'create' | 'update' | 'upsert' | 'delete';

/** What one job learnt while it ran. */
interface JobState {
  /** When the latest attempt whose answer was lost was sent (Salesforce may still apply it). */
  doubtSince: number | undefined;
  /** The job's claim on its keys (a lock retry takes over the keys of the rows it re-sends). */
  hold: Hold;
  /** This job's attempt at rows Salesforce could not lock (1 for a first send). */
  attempt: number;
}

/** Sends batches as Composite calls and ends their records. */
export class RestLoader implements Sink {
  private readonly jobs = new Set<Promise<void>>();
  /** Jobs of rows that wait for an earlier hold; they do not count against the job bound. */
  private readonly deferred = new Set<Promise<void>>();
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly now: () => number;
  private capacityWaiters: Array<() => void> = [];
  /** Resolves when every insert call sent so far has ended (inserts go one at a time near the limit). */
  private insertTail: Promise<void> = Promise.resolve();
  private toldDoubt = false;
  /** The first failure that stops the run. */
  failure: unknown;

  constructor(
    private readonly http: SalesforceHttp,
    private readonly settler: Settler,
    private readonly logger: Logger,
    private readonly options: RestLoaderOptions,
  ) {
    this.sleep = options.sleep ?? defaultSleep;
    this.now = options.now ?? Date.now;
  }

  private get outcomes(): Outcomes {
    return this.settler.outcomes;
  }

  /** Whether another job may start now. */
  get hasRoom(): boolean {
    return this.jobs.size <= this.options.pace.level;
  }

  /** Resolves when another job may start (backpressure towards stdin). */
  async capacity(): Promise<void> {
    while (!this.hasRoom) {
      await new Promise<void>((resolve) => this.capacityWaiters.push(resolve));
    }
  }

  /** Calls `listener` whenever a job ends (the router moves waiting batches then). */
  onJobEnd(listener: () => void): void {
    this.jobEndListeners.push(listener);
  }

  private readonly jobEndListeners: Array<() => void> = [];

  /** Starts a job for a batch; does not wait for it. */
  submit(stream: StreamContext, batch: Item[]): void {
    if (this.failure !== undefined) return;
    if (stream.keepPayload === true) batch = this.serialised(stream, batch);
    const hold = new Hold();
    const barrier = stream.ledger.enter(hold);
    let waits = this.claim(stream, batch, hold);
    if (barrier !== undefined) (waits ??= new Map()).set(barrier, [...(waits.get(barrier) ?? []), ...batch]);
    // A method, not a closure made per batch: V8 optimises a closure's code anew for each instance,
    // and this one loops over every record (bench/: ~0.7 µs per row of recompilation).
    const job = this.job(stream, batch, waits, hold);
    this.track(job, this.jobs);
  }

  /**
   * Sends rows a Bulk job hands back (unprocessed, locked, without a result) at once: they claim no
   * key and wait for nothing, since the Bulk job that bars their ledger waits for them (keys.ts).
   * Resolves when their job has ended.
   */
  resend(stream: StreamContext, batch: Item[]): Promise<void> {
    if (this.failure !== undefined) return Promise.resolve();
    const hold = new Hold();
    stream.ledger.enter(hold);
    const job = this.job(stream, batch, undefined, hold);
    this.track(job, this.deferred);
    return job;
  }

  /**
   * The batch with JSON bytes for every row: a row made for a Bulk job has only its payload (stream.ts
   * withBytes). A row whose payload cannot be serialised is rejected here.
   */
  private serialised(stream: StreamContext, batch: Item[]): Item[] {
    const out: Item[] = [];
    for (const item of batch) {
      const error = withBytes(item, stream.object);
      if (error === undefined) out.push(item);
      else this.settler.reject(stream, item, unusableRow(error));
    }
    return out;
  }

  /** Resolves when every job, deferred ones included, has finished. */
  async drain(): Promise<void> {
    while (this.jobs.size > 0 || this.deferred.size > 0) {
      if (this.jobs.size === 0 && this.lostAnswerWaits > 0 && !this.toldDrainWait) {
        this.toldDrainWait = true;
        this.logger.info(
          'Waiting for Salesforce to surely have finished calls whose answers were lost before writing the newer rows of the same records (so that an older value cannot land last).',
        );
      }
      await Promise.all([...this.jobs, ...this.deferred]);
    }
  }

  private toldDrainWait = false;
  /** Holds that wait out a lost answer now (holdAfterLostAnswer). */
  private lostAnswerWaits = 0;

  private track(job: Promise<void>, set: Set<Promise<void>>): void {
    set.add(job);
    void job.finally(() => {
      set.delete(job);
      const waiters = this.capacityWaiters;
      this.capacityWaiters = [];
      for (const w of waiters) w();
      for (const listener of this.jobEndListeners) listener();
    });
  }

  /** Claims the batch's keys for `hold`; returns the earlier holds to wait for, with their rows. */
  private claim(stream: StreamContext, batch: Item[], hold: Hold): Map<Hold, Item[]> | undefined {
    let waits: Map<Hold, Item[]> | undefined;
    const ledger = stream.ledger;
    for (const item of batch) {
      if (item.key === undefined) continue;
      const previous = ledger.claim(item.key, hold);
      if (previous === undefined) continue;
      waits ??= new Map();
      const rows = waits.get(previous);
      if (rows === undefined) waits.set(previous, [item]);
      else rows.push(item);
    }
    return waits;
  }

  private async job(
    stream: StreamContext,
    batch: Item[],
    waits: Map<Hold, Item[]> | undefined,
    hold: Hold,
  ): Promise<void> {
    let ready = batch;
    const state: JobState = { doubtSince: undefined, hold, attempt: 1 };
    try {
      if (waits !== undefined) {
        const holds = [...waits.keys()];
        await Promise.all(holds.map((h) => h.done));
        ready = this.splitOffHeld(stream, batch, waits, hold);
      }
      if (this.failure === undefined && this.options.signal?.aborted !== true && ready.length > 0) {
        await this.run(stream, ready, state);
      }
    } catch (error) {
      if (!(error instanceof NotSent)) this.failure ??= error;
    } finally {
      if (state.doubtSince !== undefined) this.holdAfterLostAnswer(stream, ready, hold, state.doubtSince);
      hold.finish();
      const ledger = stream.ledger;
      for (const item of batch) if (item.key !== undefined) ledger.release(item.key, hold);
      ledger.leave(hold);
    }
  }

  /**
   * The rows whose earlier hold passed their key on (a lost answer's wait, rows deferred before
   * them) go to a job of their own that waits for that; the rest are returned to go now.
   */
  private splitOffHeld(stream: StreamContext, batch: Item[], waits: Map<Hold, Item[]>, hold: Hold): Item[] {
    let later: Map<Hold, Item[]> | undefined;
    let held: Set<Item> | undefined;
    for (const [previous, items] of waits) {
      for (const item of items) {
        const next = previous.successorFor(item.key!);
        if (next === undefined) continue;
        later ??= new Map();
        const list = later.get(next);
        if (list === undefined) later.set(next, [item]);
        else list.push(item);
        (held ??= new Set()).add(item);
      }
    }
    if (later === undefined || held === undefined) return batch;
    const deferredHold = new Hold();
    stream.ledger.enter(deferredHold);
    const deferredBatch: Item[] = [];
    const deferredWaits = new Map<Hold, Item[]>();
    for (const [next, items] of later) {
      const copies = items.map(detach);
      deferredWaits.set(next, copies);
      for (const copy of copies) {
        deferredBatch.push(copy);
        hold.passOn(copy.key!, deferredHold);
      }
    }
    this.track(this.job(stream, deferredBatch, deferredWaits, deferredHold), this.deferred);
    return batch.filter((item) => !held.has(item));
  }

  /**
   * A call of this job lost its answer after it was sent: Salesforce may still apply it until its
   * own limit on a call has passed. The job's keys are passed on to a hold that ends then, so later
   * rows of those records wait and cannot be overwritten by the old call landing last.
   */
  private holdAfterLostAnswer(stream: StreamContext, items: Item[], hold: Hold, sentAt: number): void {
    const until = sentAt + this.options.lostAnswerWaitMs;
    const timer = holdUntil(until, this.sleep, this.now);
    stream.ledger.enter(timer);
    this.lostAnswerWaits += 1;
    void timer.done.then(() => {
      stream.ledger.leave(timer);
      this.lostAnswerWaits -= 1;
    });
    for (const item of items) if (item.key !== undefined) hold.passOn(item.key, timer);
    if (!this.toldDoubt) {
      this.toldDoubt = true;
      this.logger.warn(
        `${stream.label}: a call's answer was lost (it was sent again); Salesforce may still be applying the lost one, so newer rows of its records wait until ${new Date(until).toISOString()} (lost_answer_wait_seconds) before they are written. Rows of other records go on.`,
      );
    }
  }

  private async run(stream: StreamContext, batch: Item[], state: JobState): Promise<void> {
    if (this.options.dryRun) return this.dryRun(stream, batch);
    switch (stream.operation) {
      case 'insert':
        return this.write(stream, batch, 'create', state);
      case 'upsert':
      case 'mirror':
        return this.write(stream, batch, 'upsert', state);
      case 'update':
        if (stream.keyField?.isId) return this.write(stream, batch, 'update', state);
        return this.write(stream, await this.resolveIds(stream, batch, 'update'), 'update', state);
      case 'add': {
        // add creates only new keys; the upsert it sends for them is safe to repeat.
        const matches = await this.lookup(stream, batch);
        const missing: Item[] = [];
        for (const item of batch) {
          if (matches.has(item.key!)) this.settler.commit(stream, item, 'unchanged');
          else missing.push(item);
        }
        return this.write(stream, missing, 'upsert', state);
      }
      case 'remove': {
        const found = stream.keyField?.isId ? batch : await this.resolveIds(stream, batch, 'remove');
        return this.write(stream, found, 'delete', state);
      }
    }
  }

  /**
   * Looks up the Ids of the batch's keys. Rows without a match end here: rejected NOT_FOUND for
   * update (PRODUCT.md section 5), committed for remove (already gone); rows matching several
   * records are rejected DUPLICATE_EXTERNAL_ID. The rows that matched come back with `id` set.
   */
  private async resolveIds(
    stream: StreamContext,
    batch: Item[],
    purpose: 'update' | 'remove',
  ): Promise<Item[]> {
    const field = stream.keyField!;
    const matches = await this.lookup(stream, batch);
    const found: Item[] = [];
    for (const item of batch) {
      const ids = matches.get(item.key!);
      if (ids === undefined) {
        if (purpose === 'remove') this.settler.commit(stream, item, 'unchanged');
        else this.settler.reject(stream, item, notFound(stream, item));
      } else if (ids.length === 1) {
        item.id = ids[0]!;
        found.push(item);
      } else {
        this.settler.reject(stream, item, duplicateMatch(field, ids));
      }
    }
    return found;
  }

  /** Normalised key → Ids of the records holding it. */
  private async lookup(stream: StreamContext, batch: Item[]): Promise<Map<string, string[]>> {
    const field = stream.keyField!;
    const found = await lookupIds(
      this.http,
      stream.object,
      field,
      batch.map((i) => i.rawKey!),
      stream.tally,
    );
    const out = new Map<string, string[]>();
    for (const m of found) {
      const k = normalizeKey(m.value, field);
      const list = out.get(k);
      if (list === undefined) out.set(k, [m.Id]);
      else if (!list.includes(m.Id)) list.push(m.Id);
    }
    return out;
  }

  /** What a dry run reports: the same look-ups as the real run, and no write. */
  private async dryRun(stream: StreamContext, batch: Item[]): Promise<void> {
    const would = (items: Item[], what: string): void => {
      for (const item of items) {
        this.outcomes.wouldChange(stream.tally, what, rowLabel(item), rowsOf(item));
        this.settler.commit(stream, item, 'dry_run');
      }
    };
    const op = stream.operation;
    if (op === 'insert') return would(batch, 'create');
    if (stream.keyField?.isId) return would(batch, op === 'remove' ? 'delete' : 'update');
    const matches = await this.lookup(stream, batch);
    // A key that matches several records is refused by the real run (and by Salesforce's upsert).
    const single: Item[] = [];
    for (const item of batch) {
      const ids = matches.get(item.key!);
      if (ids !== undefined && ids.length > 1)
        this.settler.reject(stream, item, duplicateMatch(stream.keyField!, ids));
      else single.push(item);
    }
    const existing = single.filter((i) => matches.has(i.key!));
    const missing = single.filter((i) => !matches.has(i.key!));
    switch (op) {
      case 'upsert':
      case 'mirror':
        would(existing, 'update');
        would(missing, 'create');
        return;
      case 'add':
        would(existing, 'leave unchanged');
        would(missing, 'create');
        return;
      case 'update':
        would(existing, 'update');
        for (const item of missing) this.settler.reject(stream, item, notFound(stream, item));
        return;
      case 'remove':
        would(existing, 'delete');
        would(missing, 'skip (already absent)');
        return;
    }
  }

  /**
   * Sends items in as few Composite calls as fit. Rows Salesforce could not lock are retried later,
   * after a growing pause, by a job of their own that takes over their keys: a job that waited out
   * the pause would keep a slot idle that other rows could use (bench/: with contention, calls in
   * flight fell far below the level).
   */
  private async write(stream: StreamContext, items: Item[], kind: WriteKind, state: JobState): Promise<void> {
    const locked: Item[] = [];
    let rest = items;
    while (rest.length > 0) {
      // Fill the single-record slots with items that may travel alone, the collections with the rest.
      const singles: Item[] = [];
      const collected: Item[] = [];
      const left: Item[] = [];
      for (const item of rest) {
        if (
          singles.length < MAX_SINGLES_PER_COMPOSITE &&
          rest.length > MAX_COLLECTION_RECORDS_PER_COMPOSITE &&
          singleSafe(stream.operation, item)
        ) {
          singles.push(item);
        } else if (collected.length < MAX_COLLECTION_RECORDS_PER_COMPOSITE) collected.push(item);
        else left.push(item);
      }
      await this.sendOnce(stream, collected, singles, kind, locked, state);
      rest = left;
    }
    if (locked.length === 0) return;
    if (state.attempt >= this.options.lockAttempts) {
      for (const item of locked) this.settler.reject(stream, item, lockError(item));
      return;
    }
    this.logger.info(
      `${stream.label}: ${locked.length} record(s) were locked by another transaction (UNABLE_TO_LOCK_ROW); retrying (attempt ${state.attempt + 1} of ${this.options.lockAttempts}).`,
    );
    this.retryLater(stream, locked, kind, state);
  }

  /** Re-sends locked rows after a pause, holding their keys meanwhile (later rows of them wait). */
  private retryLater(stream: StreamContext, locked: Item[], kind: WriteKind, from: JobState): void {
    const hold = new Hold();
    const ledger = stream.ledger;
    ledger.enter(hold);
    for (const item of locked) if (item.key !== undefined) from.hold.passOn(item.key, hold);
    const state: JobState = { doubtSince: undefined, hold, attempt: from.attempt + 1 };
    const retry = (async (): Promise<void> => {
      try {
        await this.sleep(lockPause(from.attempt, this.options.lockDelayMs));
        if (this.failure === undefined && this.options.signal?.aborted !== true) {
          await this.write(stream, locked, kind, state);
        }
      } catch (error) {
        // A stop ends the pause: the rows stay unacknowledged for the next sync.
        if (!(error instanceof NotSent) && this.options.signal?.aborted !== true) this.failure ??= error;
      } finally {
        if (state.doubtSince !== undefined) this.holdAfterLostAnswer(stream, locked, hold, state.doubtSince);
        hold.finish();
        for (const item of locked) if (item.key !== undefined) ledger.release(item.key, hold);
        ledger.leave(hold);
      }
    })();
    this.track(retry, this.deferred);
  }

  private async sendOnce(
    stream: StreamContext,
    collected: Item[],
    singles: Item[],
    kind: WriteKind,
    locked: Item[],
    state: JobState,
  ): Promise<void> {
    const chunks: Item[][] = [];
    for (let i = 0; i < collected.length; i += MAX_RECORDS_PER_COLLECTION) {
      chunks.push(collected.slice(i, i + MAX_RECORDS_PER_COLLECTION));
    }
    const requests: CollectionRequest[] = [];
    for (const chunk of chunks) requests.push(collectionRequest(stream, chunk, kind));
    const singleRequests: SingleRequest[] = [];
    for (const item of singles) singleRequests.push(singleRequest(stream, item, kind));
    let answer;
    let latencyMs = 0;
    const pace = this.options.pace;
    try {
      const send = (): ReturnType<typeof sendComposite> =>
        sendComposite(this.http, requests, singleRequests, {
          headers: this.options.headers,
          idempotent: kind !== 'create',
          counter: stream.tally,
          onDoubt: (sentAt) => {
            state.doubtSince = Math.max(state.doubtSince ?? 0, sentAt);
          },
          onTiming: (ms) => (latencyMs = ms),
          onPushback: (what) => pace.pushback(what),
          // Checked in the limiter's slot, just before the call leaves: after a failure (an API
          // limit, the budget) no further insert goes out, whatever was already queued.
          ...(kind === 'create' ? { beforeSend: () => this.mayInsert() } : {}),
        });
      answer = kind === 'create' ? await this.insertInTurn(send) : await send();
    } catch (error) {
      const all = [...collected, ...singles];
      if (error instanceof UnknownOutcomeError) {
        // Re-sending an insert whose answer was lost could create every row twice (PRODUCT.md section 7).
        const unknown: SalesforceRecordError = {
          statusCode: OUTCOME_UNKNOWN,
          message: `Salesforce may or may not have created this record: ${error.reason}. It was not re-sent, to avoid a duplicate. Check Salesforce before sending it again, or use upsert with an External ID so that re-sending is safe.`,
          fields: [],
        };
        for (const item of all) this.settler.reject(stream, item, unknown);
        return;
      }
      if (error instanceof SalesforceApiError && error.status === 400) {
        // The whole call was refused for its content: every record in it carries the error.
        const refused = {
          statusCode: error.errorCode,
          message: error.salesforceMessage,
          fields: error.fields,
        };
        for (const item of all) this.settler.reject(stream, item, refused);
        return;
      }
      throw error;
    }
    const lockedBefore = locked.length;
    for (let c = 0; c < answer.collections.length; c += 1) {
      const outcome = answer.collections[c]!;
      const chunk = chunks[c]!;
      if (outcome.ok) this.settleAll(stream, chunk, outcome.results, kind, locked);
      else if (outcome.error.statusCode === 'UNABLE_TO_LOCK_ROW') locked.push(...chunk);
      else for (const item of chunk) this.settler.reject(stream, item, outcome.error);
    }
    this.settleAll(stream, singles, answer.singles, kind, locked);
    pace.report({
      latencyMs,
      records: collected.length + singles.length,
      locked: locked.length - lockedBefore,
    });
  }

  /** Throws NotSent once the run has failed: no insert leaves after that (see the header). */
  private mayInsert(): void {
    if (this.failure !== undefined || this.options.signal?.aborted === true) throw new NotSent();
  }

  /**
   * Runs an insert call; near the API limit (http.limitPressure), only after every insert call sent
   * before it has ended, so that at most one is in flight when the limit stops the run.
   */
  private async insertInTurn<T>(send: () => Promise<T>): Promise<T> {
    const previous = this.insertTail;
    let end!: () => void;
    const mine = new Promise<void>((resolve) => (end = resolve));
    this.insertTail = previous.then(() => mine);
    try {
      if (this.http.limitPressure) await previous;
      this.mayInsert();
      return await send();
    } finally {
      end();
    }
  }

  /**
   * Settles a chunk. The common case — every record saved — is counted in one go per checkpoint
   * epoch instead of record by record (this runs for every row written).
   */
  private settleAll(
    stream: StreamContext,
    items: Item[],
    results: SaveResult[],
    kind: WriteKind,
    locked: Item[],
  ): void {
    let plain: Item[] | undefined = items;
    let created = 0;
    for (let i = 0; i < items.length; i += 1) {
      const item = items[i]!;
      const result = results[i]!;
      if (!result.success || item.more !== undefined) {
        // Not the common case: this chunk is settled row by row.
        plain = undefined;
        break;
      }
      if (kind === 'create' || (kind === 'upsert' && result.created === true)) created += 1;
    }
    if (plain !== undefined) {
      const saved = plain.length;
      if (saved === 0) return;
      this.settler.commitRun(stream, plain, {
        created: kind === 'delete' ? 0 : created,
        updated: kind === 'delete' ? 0 : saved - created,
        deleted: kind === 'delete' ? saved : 0,
      });
      return;
    }
    for (let i = 0; i < items.length; i += 1) this.settle(stream, items[i]!, results[i]!, kind, locked);
  }

  private settle(
    stream: StreamContext,
    item: Item,
    result: SaveResult,
    kind: WriteKind,
    locked: Item[],
  ): void {
    if (result.success) {
      this.settler.commit(
        stream,
        item,
        kind === 'delete'
          ? 'deleted'
          : kind === 'create'
            ? 'created'
            : kind === 'update'
              ? 'updated'
              : result.created
                ? 'created'
                : 'updated',
      );
      return;
    }
    const error = result.errors[0] ?? {
      statusCode: 'UNKNOWN_ERROR',
      message: 'Salesforce reported a failure without an error',
      fields: [],
    };
    if (error.statusCode === 'UNABLE_TO_LOCK_ROW') {
      locked.push(item);
      return;
    }
    if (kind === 'delete' && ALREADY_GONE.has(error.statusCode)) {
      // Already gone: remove's promise holds (PRODUCT.md section 5).
      this.settler.commit(stream, item, 'unchanged');
      return;
    }
    if (kind === 'update' && stream.keyField?.isId === true && noSuchRecord(error)) {
      // One code for one situation (PRODUCT.md section 5): update by external ID says NOT_FOUND for
      // a key that matches nothing, so update by Id does too, keeping Salesforce's own words.
      const missing = notFound(stream, item);
      this.settler.reject(stream, item, {
        ...missing,
        message: `${missing.message} (Salesforce: ${error.message})`,
      });
      return;
    }
    this.settler.reject(stream, item, error);
  }
}

/** An item with its own copy of the record's bytes, so that a row kept waiting frees its arena chunk. */
function detach(item: Item): Item {
  const copy = makeItem(
    item.epoch,
    item.row,
    standalone(textOf(item)),
    item.key,
    item.rawKey,
    item.more,
    item.records,
  );
  releaseBytes(item);
  copy.id = item.id;
  return copy;
}

/** Salesforce's answer for a key that more than one record holds (reference §3.3). */
function duplicateMatch(field: KeyField, ids: readonly string[]): SalesforceRecordError {
  return {
    statusCode: 'DUPLICATE_EXTERNAL_ID',
    message: `more than one record found for external id field: [${ids.join(', ')}]`,
    fields: [field.name],
  };
}

/** The collection subrequest for a chunk of up to 200 items. */
function collectionRequest(stream: StreamContext, chunk: Item[], kind: WriteKind): CollectionRequest {
  const records: RecordBytes[] = [];
  switch (kind) {
    case 'delete': {
      const ids: string[] = [];
      for (const item of chunk) ids.push(recordId(item));
      return { kind, ids };
    }
    case 'upsert':
      for (const item of chunk) records.push(withId(item));
      return { kind, object: stream.object, externalIdField: stream.keyField!.name, records };
    default:
      for (const item of chunk) records.push(withId(item));
      return { kind, records };
  }
}

/** The record Id of an item written by Id: found by a look-up, or the row's own key. */
function recordId(item: Item): string {
  return item.id ?? item.rawKey!;
}

/** The collection record of an item, with the Id a look-up found put in front. */
function withId(item: Item): RecordBytes {
  checkBytes(item);
  return item.id === undefined
    ? item
    : standalone(`{"Id":${JSON.stringify(item.id)},${textOf(item).slice(1)}`);
}

/** The fields of an item as a JSON object without `attributes`, for single-record calls. */
function fieldsOf(item: Item): Record<string, unknown> {
  const fields = JSON.parse(textOf(item)) as Record<string, unknown>;
  delete fields.attributes;
  return fields;
}

function singleRequest(stream: StreamContext, item: Item, kind: WriteKind): SingleRequest {
  const object = stream.object;
  switch (kind) {
    case 'create':
      return { kind, object, body: JSON.stringify(fieldsOf(item)) };
    case 'delete':
      return { kind, object, id: recordId(item) };
    case 'update': {
      const fields = fieldsOf(item);
      delete fields.Id;
      return { kind, object, id: recordId(item), body: JSON.stringify(fields) };
    }
    case 'upsert': {
      // The key travels in the URL; older API versions refuse it in the body too (reference §3.3).
      const fields = fieldsOf(item);
      const field = stream.keyField!.name;
      for (const k of Object.keys(fields)) if (k.toLowerCase() === field.toLowerCase()) delete fields[k];
      return { kind, object, externalIdField: field, value: item.rawKey!, body: JSON.stringify(fields) };
    }
  }
}

/**
 * Salesforce's answer to an update of an Id that names no record: INVALID_CROSS_REFERENCE_KEY from a
 * collection (about the record's own Id: no fields, or `Id`), NOT_FOUND from a single-record PATCH.
 * The same code about a lookup field (`fields: ['AccountId']`) is about that field, not the record.
 */
function noSuchRecord(error: SalesforceRecordError): boolean {
  if (error.statusCode === 'NOT_FOUND') return true;
  return (
    error.statusCode === 'INVALID_CROSS_REFERENCE_KEY' &&
    (error.fields.length === 0 || (error.fields.length === 1 && error.fields[0] === 'Id'))
  );
}

function notFound(stream: StreamContext, item: Item): SalesforceRecordError {
  const field = stream.keyField!.name;
  return {
    statusCode: 'NOT_FOUND',
    message: `No ${stream.object} record has ${field} = ${JSON.stringify(item.rawKey)}; update changes existing records only.`,
    fields: [field],
  };
}

function lockError(item: Item): SalesforceRecordError {
  return {
    statusCode: 'UNABLE_TO_LOCK_ROW',
    message: `unable to obtain exclusive access to this record (${rowLabel(item)}) after several attempts; another process keeps it locked`,
    fields: [],
  };
}
