/**
 * One configured stream on the write path: its Salesforce target and mapping plan, and what turns
 * its rows into batches — the byte arena its records wait in, the batcher, its keys. `accept()`
 * takes one RECORD's data and returns the batch it completed, if any; a row Salesforce would refuse
 * is ended here as rejected, costing no API call.
 */
import type { SyncMode } from '../config.js';
import type { Logger } from '../logger.js';
import type { StreamPlan } from '../mapping/record.js';
import { mapRecord, type MapResult } from '../mapping/record.js';
import type { Target } from '../mapping/target.js';
import type { AirbyteStreamStatus, StreamDescriptor } from '../protocol/messages.js';
import type { DescribeSObject, SalesforceRecordError } from '../salesforce/types.js';
import {
  attributesKey,
  ByteArena,
  NO_BYTES,
  releaseBytes,
  standalone,
  textOf,
  type ArenaBytes,
} from './arena.js';
import type { Batcher } from './batcher.js';
import { type BatchItem } from './batcher.js';
import type { Checkpoints } from './checkpoints.js';
import { normalizeKey, type KeyField, type KeyLedger } from './keys.js';
import type { MirrorKeys } from './mirror-keys.js';
import type { Outcomes, StreamTally } from './outcomes.js';

/**
 * One row (or several rows for one key, merged) on its way to Salesforce. Kept small: thousands
 * are in flight at once, so the record itself is bytes in an arena chunk (arena.ts), not a string.
 * Every field is set when an item is made ({@link makeItem}, the one place), so all items share one
 * shape and the code that handles them for every row stays optimised.
 */
export interface Item extends BatchItem, ArenaBytes {
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
  /** The mapped payload itself, kept only for a stream on Bulk (which writes it as CSV, not JSON). */
  payload: Record<string, unknown> | undefined;
}

/** Builds an item: every field in one order, so every item has one shape. */
export function makeItem(
  epoch: number,
  row: number,
  bytes: ArenaBytes,
  key: string | undefined,
  rawKey: string | undefined,
  more: number[] | undefined,
  records: Array<Record<string, unknown>> | undefined,
  payload: Record<string, unknown> | undefined = undefined,
): Item {
  return {
    epoch,
    row,
    chunk: bytes.chunk,
    start: bytes.start,
    end: bytes.end,
    home: bytes.home,
    generation: bytes.generation,
    bytes: bytes.end - bytes.start,
    key,
    rawKey,
    more,
    id: undefined,
    records,
    payload,
  };
}

/** How logs name a row. */
export function rowLabel(item: Item): string {
  if (item.rawKey === undefined) return `row ${item.row}`;
  return item.rawKey === '' ? `row ${item.row} (empty key)` : item.rawKey;
}

/** The number of input rows an item stands for. */
export function rowsOf(item: Item): number {
  return item.more === undefined ? 1 : item.more.length + 1;
}

/** Key values that travel safely in a URL path (no dots: Salesforce reads `.inc` as a file extension, reference §3.3). */
const URL_SAFE_KEY = /^[A-Za-z0-9_-]{1,255}$/;

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

/** What the sinks need to know about a stream. */
export interface StreamContext {
  key: string;
  label: string;
  namespace?: string;
  object: string;
  operation: SyncMode;
  keyField?: KeyField;
  /** The object's Describe (field types, to read a Bulk row's CSV back: csv.ts rowPayload). */
  describe: DescribeSObject;
  tally: StreamTally;
  /** The holds on this stream's keys, shared by every stream writing the object on the same field. */
  ledger: KeyLedger;
  /**
   * The lookup whose parent a Bulk job groups rows by, so that one parent's children do not land in
   * different batches and lock each other out (bulk2-ingest.md §1.5): its field and relationship.
   */
  parent?: { field: string; relationship: string } | undefined;
  /** The AssignmentRule a Bulk job of this stream runs (Case and Lead, reference §4.1). */
  assignmentRuleId?: string | undefined;
  /** Set when the stream writes through Bulk: its items then carry their payload objects. */
  keepPayload?: boolean;
}

/** The parts of the run every stream reports to. */
export interface StreamServices {
  outcomes: Outcomes;
  checkpoints: Checkpoints;
  logger: Logger;
}

/** What a stream is made of (load/streams.ts prepares it). */
export interface StreamInit {
  key: string;
  label: string;
  descriptor: StreamDescriptor;
  target: Target;
  describe: DescribeSObject;
  plan: StreamPlan;
  keyField: KeyField | undefined;
  tally: StreamTally;
  ledger: KeyLedger;
  batcher: Batcher<Item>;
}

/** Warnings listing columns that first appear in records; later ones are counted at the end. */
const MAX_LATE_WARNINGS = 10;

/** A configured stream, accepting its rows. */
export class LoadStream implements StreamContext {
  readonly key: string;
  readonly label: string;
  readonly namespace?: string;
  readonly descriptor: StreamDescriptor;
  readonly object: string;
  readonly operation: SyncMode;
  readonly keyField?: KeyField;
  readonly target: Target;
  readonly describe: DescribeSObject;
  readonly plan: StreamPlan;
  readonly tally: StreamTally;
  readonly ledger: KeyLedger;
  readonly batcher: Batcher<Item>;
  /** Rows received. */
  rows = 0;
  status: AirbyteStreamStatus | undefined;
  /** Keys seen, when a mirror deletes what did not arrive (shared by the streams of its object). */
  mirror: MirrorKeys | undefined;
  /** The lookup Bulk jobs group rows by (sinks.ts). */
  parent: { field: string; relationship: string } | undefined;
  /** The AssignmentRule a Bulk job of this stream runs (sinks.ts). */
  assignmentRuleId: string | undefined;
  /** The stream writes through Bulk: items carry their payload object, so it is not parsed back. */
  keepPayload = false;
  /** Its rows on Bulk keep their JSON too (bulkKeepsJson). */
  private readonly bulkKeepsJson: boolean;
  /** Where the stream's serialised records wait for their answers. */
  private readonly arena = new ByteArena();
  /** `"attributes":{"type":"<Object>"}}`, which every serialised record ends with. */
  private readonly lastKey: Buffer;
  private readonly keepRecords: boolean;
  /** Late-dropped columns already reported, and the warnings that reported them. */
  private lateWarned = 0;
  private lateWarnings = 0;

  constructor(
    init: StreamInit,
    private readonly services: StreamServices,
  ) {
    this.key = init.key;
    this.label = init.label;
    this.descriptor = init.descriptor;
    if (init.descriptor.namespace !== undefined) this.namespace = init.descriptor.namespace;
    this.object = init.target.object;
    this.operation = init.target.operation;
    if (init.keyField !== undefined) this.keyField = init.keyField;
    this.target = init.target;
    this.describe = init.describe;
    this.plan = init.plan;
    this.tally = init.tally;
    this.ledger = init.ledger;
    this.batcher = init.batcher;
    this.lastKey = attributesKey(init.target.object);
    this.keepRecords = services.outcomes.keepsRecords;
    this.bulkKeepsJson = bulkKeepsJson(this);
  }

  /**
   * One RECORD's data → an item in the open batch; returns the batch it completed, if any. Kept
   * synchronous and small, with the rare cases out of line: it runs for every row (bench/).
   */
  accept(data: unknown): Item[] | undefined {
    const epoch = this.services.checkpoints.arrive();
    const row = ++this.rows;
    if (data === null || typeof data !== 'object' || Array.isArray(data)) {
      this.rejectRow(row, epoch, undefined, NO_DATA);
      return undefined;
    }
    const record = data as Record<string, unknown>;
    // A row bound for a Bulk job is written as CSV from its payload: JSON only if it needs some.
    const csvOnly = this.keepPayload && !this.bulkKeepsJson;
    let mapped: MapResult;
    let json: string;
    try {
      mapped = mapRecord(this.plan, record);
      // The payload may be `data` itself (mapRecord): it is serialised, never changed.
      json = mapped.ok && !csvOnly ? JSON.stringify(mapped.payload) : '';
    } catch (error) {
      // No single row may stop the sync, whatever its shape (a value nested thousands deep makes
      // JSON.stringify throw RangeError): it is refused, and the rest go on.
      this.rejectRow(row, epoch, record, unusableRow(error));
      return undefined;
    }
    if (this.plan.lateDropped.length > this.lateWarned) this.warnLateColumns();
    if (!mapped.ok) {
      this.rejectRow(row, epoch, record, mapped.error);
      return undefined;
    }
    let bytes: ArenaBytes = NO_BYTES;
    if (!csvOnly) {
      this.arena.append(json, this.lastKey);
      bytes = this.arena;
    }
    let key: string | undefined;
    const rawKey = this.keyField === undefined ? undefined : mapped.key;
    if (rawKey !== undefined) {
      key = normalizeKey(rawKey, this.keyField!);
      this.mirror?.add(key);
    }
    return this.batcher.add(
      makeItem(
        epoch,
        row,
        bytes,
        key,
        rawKey,
        undefined,
        this.keepRecords ? [record] : undefined,
        this.keepPayload ? mapped.payload : undefined,
      ),
    );
  }

  /** A row of this stream that cannot be used as it came (not UTF-8, unreadable): rejected with `error`. */
  reject(error: SalesforceRecordError): void {
    this.rejectRow(++this.rows, this.services.checkpoints.arrive(), undefined, error);
  }

  /** The open batch, if any (a due batch, a completed stream, the end of input). */
  take(): Item[] | undefined {
    return this.batcher.take();
  }

  /** Tells the columns first seen in records that were not written, once more at the end. */
  finish(): void {
    if (this.plan.lateDropped.length > this.lateWarned) this.warnLateColumns(true);
  }

  /** Ends a row that never reaches Salesforce as rejected. */
  private rejectRow(
    row: number,
    epoch: number,
    data: Record<string, unknown> | undefined,
    error: SalesforceRecordError,
  ): void {
    const rowKey = data === undefined ? undefined : this.keyOf(data);
    // A row Salesforce would refuse still names an entity the source has: mirror must not delete it.
    if (this.mirror !== undefined && this.keyField !== undefined && rowKey !== undefined) {
      this.mirror.add(normalizeKey(rowKey, this.keyField));
    }
    this.services.outcomes.reject(
      this.tally,
      {
        key: rowKey === undefined ? `row ${row}` : rowKey === '' ? `row ${row} (empty key)` : rowKey,
        namespace: this.namespace,
        record: this.keepRecords ? data : undefined,
        local: true,
      },
      error,
    );
    this.services.checkpoints.end(epoch, this.key, 'rejected');
  }

  /** The row's key for a log line when mapping failed before producing one. */
  private keyOf(data: Record<string, unknown>): string | undefined {
    const field = this.plan.matchingField;
    if (field === undefined) return undefined;
    for (const [column, value] of Object.entries(data)) {
      const mappings = this.target.fieldMappings;
      const mapped = Object.hasOwn(mappings, column) ? mappings[column]! : column;
      if (
        mapped.toLowerCase() === field.toLowerCase() &&
        (typeof value === 'string' || typeof value === 'number')
      ) {
        return String(value);
      }
    }
    return undefined;
  }

  private warnLateColumns(final = false): void {
    const { logger } = this.services;
    const fresh = this.plan.lateDropped.slice(this.lateWarned);
    // A source that brings a new column on every row must not bring a warning on every row.
    if (this.lateWarnings >= MAX_LATE_WARNINGS) {
      if (!final) return;
      this.lateWarned = this.plan.lateDropped.length;
      logger.warn(
        `Stream "${this.label}" → ${this.object}: ${fresh.length} more column(s) not in the stream's schema were not written.`,
      );
      return;
    }
    this.lateWarned = this.plan.lateDropped.length;
    this.lateWarnings += 1;
    logger.warn(
      `Stream "${this.label}" → ${this.object}: column(s) not in the stream's schema will not be written: ${fresh
        .map((d) => `${d.column} (${d.note})`)
        .join(
          '; ',
        )}.${this.lateWarnings === MAX_LATE_WARNINGS ? ' Further such columns are counted at the end, not listed.' : ''}`,
    );
  }
}

/** Two rows for one key in one batch become one: the later row's fields over the earlier's. */
export function mergeItems(earlier: Item, later: Item): Item {
  const payload = { ...payloadOf(earlier), ...payloadOf(later) };
  const csvOnly = earlier.chunk === NO_BYTES.chunk || later.chunk === NO_BYTES.chunk;
  releaseBytes(earlier);
  releaseBytes(later);
  if (csvOnly) delete payload.attributes;
  return makeItem(
    later.epoch,
    later.row,
    csvOnly ? NO_BYTES : standalone(JSON.stringify(payload)),
    later.key,
    later.rawKey,
    [...(earlier.more ?? []), earlier.epoch, ...(later.more ?? [])],
    earlier.records === undefined && later.records === undefined
      ? undefined
      : [...(earlier.records ?? []), ...(later.records ?? [])],
    csvOnly ? payload : undefined,
  );
}

/** An item's fields: its payload object when it carries one, else its JSON bytes read back. */
export function payloadOf(item: Item): Record<string, unknown> {
  return item.payload ?? (JSON.parse(textOf(item)) as Record<string, unknown>);
}

/**
 * Gives an item JSON bytes when it has none (a row made for a Bulk job that goes through REST after
 * all). Returns the error when its payload cannot be serialised: the caller rejects the row.
 */
export function withBytes(item: Item, object: string): unknown {
  if (item.chunk !== NO_BYTES.chunk) return undefined;
  let json: string;
  try {
    json = JSON.stringify({ ...item.payload!, attributes: { type: object } });
  } catch (error) {
    return error ?? new Error('unknown');
  }
  const bytes = standalone(json);
  item.chunk = bytes.chunk;
  item.start = bytes.start;
  item.end = bytes.end;
  item.home = bytes.home;
  item.generation = bytes.generation;
  (item as { bytes: number }).bytes = bytes.end - bytes.start;
  return undefined;
}

/**
 * Whether a Bulk job keeps its rows' JSON as well as their CSV, for a row it hands back to REST: a
 * delete's CSV holds only the record Id, and an update by a key holds the Id a look-up found, not
 * the key. Other rows are rebuilt from their CSV cells (csv.ts rowPayload).
 */
export function bulkKeepsJson(stream: Pick<StreamContext, 'operation' | 'keyField'>): boolean {
  return stream.operation === 'remove' || (stream.operation === 'update' && stream.keyField?.isId !== true);
}

const NO_DATA: SalesforceRecordError = {
  statusCode: 'INVALID_RECORD',
  message: 'the RECORD message has no "data" object',
  fields: [],
};

/** The rejection of a row whose values the connector could not turn into a Salesforce record. */
export function unusableRow(error: unknown): SalesforceRecordError {
  const what = error instanceof RangeError ? 'a value nested too deeply' : 'a value it cannot serialise';
  return {
    statusCode: 'INVALID_RECORD',
    message: `the row holds ${what} (${error instanceof Error ? error.message : String(error)}); no Salesforce field takes such a value`,
    fields: [],
  };
}
