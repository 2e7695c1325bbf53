/**
 * Batch → per-record outcomes. One job per batch: it sends the batch as one Composite call (five
 * sObject Collections of up to 200 records plus up to 20 single-record subrequests), reads every
 * record's result, retries the records Salesforce could not lock, and ends each record committed
 * or rejected.
 *
 * Ordering: a job waits for earlier jobs of the same stream that touch one of its keys, so two rows
 * for one record are applied in arrival order even with parallel requests.
 *
 * Failures that are not about one record (API limit exhausted, credentials revoked, Salesforce down
 * past the retries) stop the run: the job's records stay unfinished, so no state after them is echoed
 * and the next sync sends them again.
 */
import type { SyncMode } from '../config.js';
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
import { canonicalId } from '../salesforce/ids.js';
import { lookupIds, plainDecimal } from '../salesforce/query.js';
import type { SalesforceRecordError, SaveResult } from '../salesforce/types.js';
import { standalone, textOf } from './arena.js';
import type { BatchItem } from './batcher.js';
import type { Checkpoints } from './checkpoints.js';
import type { Change, Outcomes, StreamTally } from './outcomes.js';

/** The key field of a stream, with the rules for comparing its values. */
export interface KeyField {
  name: string;
  /** Describe type (numeric keys are compared as numbers). */
  type: string;
  /** Describe scale of a numeric key: Salesforce keeps the value rounded to it. */
  scale?: number | undefined;
  /** Salesforce compares this field's values without regard to case. */
  caseInsensitive: boolean;
  /** The key is the record Id itself. */
  isId: boolean;
}

/** What the loader knows about a stream. */
export interface StreamContext {
  key: string;
  label: string;
  namespace?: string;
  object: string;
  operation: SyncMode;
  keyField?: KeyField;
  tally: StreamTally;
  /** Jobs in flight by key, so a later row for a key waits for the earlier one. */
  locks: Map<string, Promise<void>>;
}

/**
 * One row (or several rows for one key, merged) on its way to Salesforce. Kept small: thousands
 * are in flight at once, so the record itself is bytes in an arena chunk (arena.ts), not a string.
 * Every field is set when an item is made (undefined when unused), so all items share one shape
 * and the code that handles them for every row stays optimised.
 */
export interface Item extends BatchItem, RecordBytes {
  /** Checkpoint epoch of the row. */
  epoch: number;
  /** Epochs of earlier rows merged into this one. */
  more: number[] | undefined;
  /** Normalised key (ordering, merging, look-ups). */
  key: string | undefined;
  /** The key as it arrived (logs, requests). */
  rawKey: string | undefined;
  /** Row number within the stream, for logs of rows without a key. */
  row: number;
  /** The record Id found by a key look-up (update and remove by external ID). */
  id: string | undefined;
  /** Original records, kept only when rejected rows are written to a file. */
  records: Array<Record<string, unknown>> | undefined;
}

/** Loader settings. */
export interface LoaderOptions {
  /** Jobs in flight at once (bounded memory: jobs × records per request). */
  maxJobs: number;
  /** Headers on every subrequest (assignment rules, duplicate rules). */
  headers: Record<string, string>;
  /** Attempts for records Salesforce could not lock. */
  lockAttempts: number;
  lockDelayMs: number;
  dryRun: boolean;
  sleep?: (ms: number) => Promise<void>;
}

const defaultSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** The rejection for an insert whose answer never came. */
export const OUTCOME_UNKNOWN = 'OUTCOME_UNKNOWN';

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

const NUMERIC_TYPES = new Set(['double', 'int', 'long', 'currency', 'percent']);
/** Key values that travel safely in a URL path (no dots: Salesforce reads `.inc` as a file extension, reference §3.3). */
const URL_SAFE_KEY = /^[A-Za-z0-9_-]{1,255}$/;

/** Normalises a key value the way Salesforce compares it. */
export function normalizeKey(value: string, field: KeyField): string {
  // 15 and 18 characters, and an 18-character Id that lost its case, all name one record (ids.ts).
  if (field.isId) return canonicalId(value);
  if (NUMERIC_TYPES.has(field.type)) {
    const n = Number(value);
    return Number.isFinite(n) ? plainDecimal(n, field.scale) : value;
  }
  return field.caseInsensitive ? value.toLowerCase() : value;
}

/**
 * Whether an item may travel as a single-record subrequest: always for inserts and for writes by
 * Id; for upserts only when its key is safe in a URL path.
 */
export function singleSafe(operation: SyncMode, item: Item): boolean {
  switch (operation) {
    case 'insert':
    case 'update':
    case 'remove':
      return true;
    default:
      return item.rawKey !== undefined && URL_SAFE_KEY.test(item.rawKey);
  }
}

/** How logs name a row. */
export function rowLabel(item: Item): string {
  if (item.rawKey === undefined) return `row ${item.row}`;
  return item.rawKey === '' ? `row ${item.row} (empty key)` : item.rawKey;
}

/** The number of input rows an item stands for. */
function rows(item: Item): number {
  return item.more === undefined ? 1 : item.more.length + 1;
}

/** Sends batches and ends their records. */
export class Loader {
  private readonly jobs = new Set<Promise<void>>();
  private readonly sleep: (ms: number) => Promise<void>;
  private capacityWaiters: Array<() => void> = [];
  /** The first failure that stops the run. */
  failure: unknown;

  constructor(
    private readonly http: SalesforceHttp,
    private readonly checkpoints: Checkpoints,
    private readonly outcomes: Outcomes,
    private readonly logger: Logger,
    private readonly options: LoaderOptions,
  ) {
    this.sleep = options.sleep ?? defaultSleep;
  }

  /** Resolves when another job may start (backpressure towards stdin). */
  async capacity(): Promise<void> {
    while (this.jobs.size >= this.options.maxJobs) {
      await new Promise<void>((resolve) => this.capacityWaiters.push(resolve));
    }
  }

  /** Starts a job for a batch; does not wait for it. */
  submit(stream: StreamContext, batch: Item[]): void {
    if (this.failure !== undefined) return;
    const waits = new Set<Promise<void>>();
    let release!: () => void;
    const done = new Promise<void>((resolve) => (release = resolve));
    const locks = stream.locks;
    for (const item of batch) {
      if (item.key === undefined) continue;
      const earlier = locks.get(item.key);
      if (earlier !== undefined) waits.add(earlier);
      locks.set(item.key, done);
    }
    // A method, not a closure made per batch: V8 optimises a closure's code anew for each instance,
    // and this one loops over every record (bench/: ~0.7 µs per row of recompilation).
    const job = this.job(stream, batch, waits, done, release);
    this.jobs.add(job);
    void job.finally(() => {
      this.jobs.delete(job);
      const waiters = this.capacityWaiters;
      this.capacityWaiters = [];
      for (const w of waiters) w();
    });
  }

  private async job(
    stream: StreamContext,
    batch: Item[],
    waits: Set<Promise<void>>,
    done: Promise<void>,
    release: () => void,
  ): Promise<void> {
    const locks = stream.locks;
    try {
      if (waits.size > 0) await Promise.all(waits);
      if (this.failure === undefined) await this.run(stream, batch);
    } catch (error) {
      this.failure ??= error;
    } finally {
      for (const item of batch)
        if (item.key !== undefined && locks.get(item.key) === done) locks.delete(item.key);
      release();
    }
  }

  /** Resolves when every job has finished. */
  async drain(): Promise<void> {
    while (this.jobs.size > 0) await Promise.all([...this.jobs]);
  }

  /** Ends an item's rows as rejected with one error. */
  reject(stream: StreamContext, item: Item, error: SalesforceRecordError): void {
    this.outcomes.reject(
      stream.tally,
      { key: rowLabel(item), namespace: stream.namespace, record: item.records?.[0] },
      error,
      rows(item),
    );
    this.end(stream, item, 'rejected');
  }

  /** Ends an item's rows as committed. */
  commit(stream: StreamContext, item: Item, change: Change): void {
    // One record changed in Salesforce; the earlier rows folded into it are counted apart, so that
    // "created" says how many records were created.
    if (item.more === undefined || change === 'dry_run') {
      this.outcomes.commit(stream.tally, change, rows(item));
    } else {
      this.outcomes.commit(stream.tally, change, 1);
      this.outcomes.commit(stream.tally, 'merged', item.more.length);
    }
    this.end(stream, item, 'committed');
  }

  private end(stream: StreamContext, item: Item, outcome: 'committed' | 'rejected'): void {
    if (item.more !== undefined)
      for (const epoch of item.more) this.checkpoints.end(epoch, stream.key, outcome);
    this.checkpoints.end(item.epoch, stream.key, outcome);
  }

  private async run(stream: StreamContext, batch: Item[]): Promise<void> {
    if (this.options.dryRun) return this.dryRun(stream, batch);
    switch (stream.operation) {
      case 'insert':
        return this.write(stream, batch, 'create');
      case 'upsert':
      case 'mirror':
        return this.write(stream, batch, 'upsert');
      case 'update':
        if (stream.keyField?.isId) return this.write(stream, batch, 'update');
        return this.write(stream, await this.resolveIds(stream, batch, 'update'), 'update');
      case 'add': {
        // add creates only new keys; the upsert it sends for them is safe to repeat.
        const matches = await this.lookup(stream, batch);
        const missing: Item[] = [];
        for (const item of batch) {
          if (matches.has(item.key!)) this.commit(stream, item, 'unchanged');
          else missing.push(item);
        }
        return this.write(stream, missing, 'upsert');
      }
      case 'remove': {
        const found = stream.keyField?.isId ? batch : await this.resolveIds(stream, batch, 'remove');
        return this.write(stream, found, 'delete');
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
        if (purpose === 'remove') this.commit(stream, item, 'unchanged');
        else this.reject(stream, item, notFound(stream, item));
      } else if (ids.length === 1) {
        item.id = ids[0]!;
        found.push(item);
      } else {
        this.reject(stream, item, duplicateMatch(field, ids));
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
        this.outcomes.wouldChange(stream.tally, what, rowLabel(item), rows(item));
        this.commit(stream, item, 'dry_run');
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
        this.reject(stream, item, duplicateMatch(stream.keyField!, ids));
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
        for (const item of missing) this.reject(stream, item, notFound(stream, item));
        return;
      case 'remove':
        would(existing, 'delete');
        would(missing, 'skip (already absent)');
        return;
    }
  }

  /** Sends items in as few Composite calls as fit, retrying locked rows. */
  private async write(stream: StreamContext, items: Item[], kind: WriteKind): Promise<void> {
    let pending = items;
    for (let attempt = 1; pending.length > 0; attempt += 1) {
      const locked: Item[] = [];
      let rest = pending;
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
        await this.sendOnce(stream, collected, singles, kind, locked);
        rest = left;
      }
      if (locked.length === 0) return;
      if (attempt >= this.options.lockAttempts) {
        for (const item of locked) this.reject(stream, item, lockError(item));
        return;
      }
      this.logger.info(
        `${stream.label}: ${locked.length} record(s) were locked by another transaction (UNABLE_TO_LOCK_ROW); retrying (attempt ${attempt + 1} of ${this.options.lockAttempts}).`,
      );
      await this.sleep(this.options.lockDelayMs * 2 ** (attempt - 1));
      pending = locked;
    }
  }

  private async sendOnce(
    stream: StreamContext,
    collected: Item[],
    singles: Item[],
    kind: WriteKind,
    locked: Item[],
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
    try {
      answer = await sendComposite(this.http, requests, singleRequests, {
        headers: this.options.headers,
        idempotent: kind !== 'create',
        counter: stream.tally,
      });
    } catch (error) {
      const all = [...collected, ...singles];
      if (error instanceof UnknownOutcomeError) {
        // Re-sending an insert whose answer was lost could create every row twice (PRODUCT.md section 7).
        const unknown: SalesforceRecordError = {
          statusCode: OUTCOME_UNKNOWN,
          message: `Salesforce may or may not have created this record: ${error.reason}. It was not re-sent, to avoid a duplicate. Check Salesforce before sending it again, or use upsert with an External ID so that re-sending is safe.`,
          fields: [],
        };
        for (const item of all) this.reject(stream, item, unknown);
        return;
      }
      if (error instanceof SalesforceApiError && error.status === 400) {
        // The whole call was refused for its content: every record in it carries the error.
        const refused = {
          statusCode: error.errorCode,
          message: error.salesforceMessage,
          fields: error.fields,
        };
        for (const item of all) this.reject(stream, item, refused);
        return;
      }
      throw error;
    }
    for (let c = 0; c < answer.collections.length; c += 1) {
      const outcome = answer.collections[c]!;
      const chunk = chunks[c]!;
      if (outcome.ok) this.settleAll(stream, chunk, outcome.results, kind, locked);
      else if (outcome.error.statusCode === 'UNABLE_TO_LOCK_ROW') locked.push(...chunk);
      else for (const item of chunk) this.reject(stream, item, outcome.error);
    }
    this.settleAll(stream, singles, answer.singles, kind, locked);
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
    let epoch = -1;
    let run = 0;
    let saved = 0;
    let created = 0;
    for (let i = 0; i < items.length; i += 1) {
      const item = items[i]!;
      const result = results[i]!;
      if (!result.success || item.more !== undefined) {
        this.settle(stream, item, result, kind, locked);
        continue;
      }
      if (item.epoch !== epoch) {
        if (run > 0) this.checkpoints.end(epoch, stream.key, 'committed', run);
        epoch = item.epoch;
        run = 0;
      }
      run += 1;
      saved += 1;
      if (kind === 'create' || (kind === 'upsert' && result.created === true)) created += 1;
    }
    if (run > 0) this.checkpoints.end(epoch, stream.key, 'committed', run);
    if (saved === 0) return;
    if (kind === 'delete') this.outcomes.commit(stream.tally, 'deleted', saved);
    else {
      if (created > 0) this.outcomes.commit(stream.tally, 'created', created);
      if (saved > created) this.outcomes.commit(stream.tally, 'updated', saved - created);
    }
  }

  private settle(
    stream: StreamContext,
    item: Item,
    result: SaveResult,
    kind: WriteKind,
    locked: Item[],
  ): void {
    if (result.success) {
      this.commit(
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
      this.commit(stream, item, 'unchanged');
      return;
    }
    if (kind === 'update' && stream.keyField?.isId === true && noSuchRecord(error)) {
      // One code for one situation (PRODUCT.md section 5): update by external ID says NOT_FOUND for
      // a key that matches nothing, so update by Id does too, keeping Salesforce's own words.
      this.reject(stream, item, {
        ...notFound(stream, item),
        message: `${notFound(stream, item).message} (Salesforce: ${error.message})`,
      });
      return;
    }
    this.reject(stream, item, error);
  }
}

type WriteKind = 'create' | 'update' | 'upsert' | 'delete';

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
