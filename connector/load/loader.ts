/**
 * Batch → per-record outcomes. One job per batch: it sends the batch as one Composite call of up
 * to five sObject Collections (insert, upsert, update, delete), reads every record's result, retries
 * the records Salesforce could not lock, and ends each record committed or rejected.
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
  sendCollections,
  MAX_COLLECTIONS_PER_COMPOSITE,
  MAX_RECORDS_PER_COLLECTION,
  type CollectionRequest,
} from '../salesforce/composite.js';
import { SalesforceApiError, UnknownOutcomeError } from '../salesforce/errors.js';
import type { SalesforceHttp } from '../salesforce/http.js';
import { lookupIds } from '../salesforce/query.js';
import type { SalesforceRecordError, SaveResult } from '../salesforce/types.js';
import type { BatchItem } from './batcher.js';
import type { Checkpoints, RecordTicket } from './checkpoints.js';
import type { Change, Outcomes, StreamTally } from './outcomes.js';

/** The key field of a stream, with the rules for comparing its values. */
export interface KeyField {
  name: string;
  /** Describe type (numeric keys are compared as numbers). */
  type: string;
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
  /** `{"attributes":{"type":"<Object>"}` (no closing brace) — the start of each serialised record. */
  recordPrefix: string;
}

/** One record (or several merged rows for one key) on its way to Salesforce. */
export interface Item extends BatchItem {
  tickets: RecordTicket[];
  payload: Record<string, unknown>;
  /** JSON of payload (no attributes). */
  json: string;
  /** Normalised key (for ordering, merging and look-ups). */
  key?: string;
  /** The key as it arrived (for logs and for the request). */
  rawKey?: string;
  /** The record Id found by a key look-up (update and remove by external ID). */
  id?: string;
  /** How logs name the row: its key, or `row N`. */
  rowLabel: string;
  /** Original records, kept only when rejected rows are written to a file. */
  records?: Array<Record<string, unknown>>;
}

/** Loader settings. */
export interface LoaderOptions {
  /** Jobs in flight at once (bounded memory: jobs × records per request). */
  maxJobs: number;
  /** Headers on every collection subrequest (assignment rules, duplicate rules). */
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

/** Normalises a key value the way Salesforce compares it. */
export function normalizeKey(value: string, field: KeyField): string {
  if (field.isId) return value.length === 15 ? value : value.slice(0, 15) + value.slice(15).toUpperCase();
  if (
    field.type === 'double' ||
    field.type === 'int' ||
    field.type === 'long' ||
    field.type === 'currency' ||
    field.type === 'percent'
  ) {
    const n = Number(value);
    return Number.isFinite(n) ? String(n) : value;
  }
  return field.caseInsensitive ? value.toLowerCase() : value;
}

/** Sends batches and ends their records. */
export class Loader {
  private readonly jobs = new Set<Promise<void>>();
  private readonly keyLocks = new Map<string, Promise<void>>();
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

  /** Jobs in flight. */
  get inFlight(): number {
    return this.jobs.size;
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
    const lockKeys: string[] = [];
    for (const item of batch) {
      if (item.key === undefined) continue;
      const lockKey = `${stream.key}\u0000${item.key}`;
      const earlier = this.keyLocks.get(lockKey);
      if (earlier !== undefined) waits.add(earlier);
      this.keyLocks.set(lockKey, done);
      lockKeys.push(lockKey);
    }
    const job = (async () => {
      try {
        if (waits.size > 0) await Promise.all(waits);
        if (this.failure === undefined) await this.run(stream, batch);
      } catch (error) {
        this.failure ??= error;
      } finally {
        for (const k of lockKeys) if (this.keyLocks.get(k) === done) this.keyLocks.delete(k);
        release();
      }
    })();
    this.jobs.add(job);
    void job.finally(() => {
      this.jobs.delete(job);
      const waiters = this.capacityWaiters;
      this.capacityWaiters = [];
      for (const w of waiters) w();
    });
  }

  /** Resolves when every job has finished. */
  async drain(): Promise<void> {
    while (this.jobs.size > 0) await Promise.all([...this.jobs]);
  }

  /** Ends items as rejected with one error. */
  rejectItems(stream: StreamContext, items: Item[], error: SalesforceRecordError): void {
    for (const item of items) {
      this.outcomes.reject(
        stream.tally,
        { key: item.rowLabel, namespace: stream.namespace, record: item.records?.[0] },
        error,
        item.tickets.length,
      );
      for (const t of item.tickets) this.checkpoints.end(t, 'rejected');
    }
  }

  /** Ends items as committed. */
  commitItems(stream: StreamContext, items: Item[], change: Change): void {
    for (const item of items) {
      this.outcomes.commit(stream.tally, change, item.tickets.length);
      for (const t of item.tickets) this.checkpoints.end(t, 'committed');
    }
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
        const { missing } = await this.partitionByExistence(stream, batch);
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
   * records are rejected DUPLICATE_EXTERNAL_ID. The rows that matched come back with `Id` set.
   */
  async resolveIds(stream: StreamContext, batch: Item[], purpose: 'update' | 'remove'): Promise<Item[]> {
    const field = stream.keyField!;
    const matches = await this.lookup(stream, batch);
    const found: Item[] = [];
    const missing: Item[] = [];
    for (const item of batch) {
      const ids = matches.get(item.key!) ?? [];
      if (ids.length === 1) {
        item.id = ids[0]!;
        found.push(item);
      } else if (ids.length === 0) {
        missing.push(item);
      } else {
        this.rejectItems(stream, [item], {
          statusCode: 'DUPLICATE_EXTERNAL_ID',
          message: `more than one record found for external id field: [${ids.join(', ')}]`,
          fields: [field.name],
        });
      }
    }
    if (purpose === 'remove') this.commitItems(stream, missing, 'unchanged');
    else {
      for (const item of missing) this.rejectItems(stream, [item], notFound(stream, item));
    }
    return found;
  }

  /** Splits a batch into rows whose key exists in Salesforce (committed unchanged: add leaves them alone) and the rest. */
  async partitionByExistence(
    stream: StreamContext,
    batch: Item[],
  ): Promise<{ existing: Item[]; missing: Item[] }> {
    const matches = await this.lookup(stream, batch);
    const existing: Item[] = [];
    const missing: Item[] = [];
    for (const item of batch) (matches.has(item.key!) ? existing : missing).push(item);
    this.commitItems(stream, existing, 'unchanged');
    return { existing, missing };
  }

  /** Normalised key → Ids of the records holding it. */
  private async lookup(stream: StreamContext, batch: Item[]): Promise<Map<string, string[]>> {
    const field = stream.keyField!;
    const found = await lookupIds(
      this.http,
      stream.object,
      field.name,
      field.type,
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
      for (const item of items)
        this.outcomes.wouldChange(stream.tally, what, item.rowLabel, item.tickets.length);
      this.commitItems(stream, items, 'dry_run');
    };
    const op = stream.operation;
    if (op === 'insert') return would(batch, 'create');
    if (stream.keyField?.isId) return would(batch, op === 'remove' ? 'delete' : 'update');
    const matches = await this.lookup(stream, batch);
    const existing = batch.filter((i) => matches.has(i.key!));
    const missing = batch.filter((i) => !matches.has(i.key!));
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
        for (const item of missing) this.rejectItems(stream, [item], notFound(stream, item));
        return;
      case 'remove':
        would(existing, 'delete');
        would(missing, 'skip (already absent)');
        return;
    }
  }

  /** Sends items in collection subrequests of up to 200, one Composite call per five, retrying locked rows. */
  private async write(
    stream: StreamContext,
    items: Item[],
    kind: 'create' | 'update' | 'upsert' | 'delete',
  ): Promise<void> {
    let pending = items;
    for (let attempt = 1; pending.length > 0; attempt += 1) {
      const locked: Item[] = [];
      const perCall = MAX_RECORDS_PER_COLLECTION * MAX_COLLECTIONS_PER_COMPOSITE;
      for (let start = 0; start < pending.length; start += perCall) {
        const slice = pending.slice(start, start + perCall);
        await this.sendOnce(stream, slice, kind, locked, attempt);
      }
      if (locked.length === 0) return;
      if (attempt >= this.options.lockAttempts) {
        for (const item of locked) this.rejectItems(stream, [item], lockError(item));
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
    items: Item[],
    kind: 'create' | 'update' | 'upsert' | 'delete',
    locked: Item[],
    attempt: number,
  ): Promise<void> {
    const chunks: Item[][] = [];
    for (let i = 0; i < items.length; i += MAX_RECORDS_PER_COLLECTION)
      chunks.push(items.slice(i, i + MAX_RECORDS_PER_COLLECTION));
    const requests: CollectionRequest[] = chunks.map((chunk) => {
      switch (kind) {
        case 'delete':
          return { kind, ids: chunk.map((i) => i.id ?? String(i.payload.Id)) };
        case 'upsert':
          return {
            kind,
            object: stream.object,
            externalIdField: stream.keyField!.name,
            records: chunk.map((i) => serialise(stream, i)),
          };
        default:
          return { kind, records: chunk.map((i) => serialise(stream, i)) };
      }
    });
    let outcomes;
    try {
      outcomes = await sendCollections(this.http, requests, {
        headers: this.options.headers,
        idempotent: kind !== 'create',
        counter: stream.tally,
      });
    } catch (error) {
      if (error instanceof UnknownOutcomeError) {
        // Re-sending an insert whose answer was lost could create every row twice (PRODUCT.md section 7).
        this.rejectItems(stream, items, {
          statusCode: OUTCOME_UNKNOWN,
          message: `Salesforce may or may not have created this record: ${error.reason}. It was not re-sent, to avoid a duplicate. Check Salesforce before sending it again, or use upsert with an External ID so that re-sending is safe.`,
          fields: [],
        });
        return;
      }
      if (error instanceof SalesforceApiError && error.status === 400) {
        // The whole call was refused for its content: every record in it carries the error.
        this.rejectItems(stream, items, {
          statusCode: error.errorCode,
          message: error.salesforceMessage,
          fields: error.fields,
        });
        return;
      }
      throw error;
    }
    outcomes.forEach((outcome, c) => {
      const chunk = chunks[c]!;
      if (!outcome.ok) {
        if (outcome.error.statusCode === 'UNABLE_TO_LOCK_ROW') locked.push(...chunk);
        else this.rejectItems(stream, chunk, outcome.error);
        return;
      }
      outcome.results.forEach((result, r) => this.settle(stream, chunk[r]!, result, kind, locked, attempt));
    });
  }

  private settle(
    stream: StreamContext,
    item: Item,
    result: SaveResult,
    kind: string,
    locked: Item[],
    attempt: number,
  ): void {
    if (result.success) {
      const change: Change =
        kind === 'delete'
          ? 'deleted'
          : kind === 'create'
            ? 'created'
            : kind === 'update'
              ? 'updated'
              : result.created
                ? 'created'
                : 'updated';
      this.commitItems(stream, [item], change);
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
    if (
      kind === 'delete' &&
      (error.statusCode === 'ENTITY_IS_DELETED' || error.statusCode === 'INVALID_CROSS_REFERENCE_KEY')
    ) {
      // Already gone: remove's promise holds (PRODUCT.md section 5).
      this.commitItems(stream, [item], 'unchanged');
      return;
    }
    void attempt;
    this.rejectItems(stream, [item], error);
  }
}

/** The serialised record of an item: `attributes`, the Id a look-up found, then the payload's fields. */
function serialise(stream: StreamContext, item: Item): string {
  let out = stream.recordPrefix;
  if (item.id !== undefined) out += `,"Id":${JSON.stringify(item.id)}`;
  if (item.json.length > 2) out += `,${item.json.slice(1, -1)}`;
  return `${out}}`;
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
    message: `unable to obtain exclusive access to this record (${item.rowLabel}) after several attempts; another process keeps it locked`,
    fields: [],
  };
}
