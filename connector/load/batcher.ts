/**
 * A batch under construction, with explicit triggers and no I/O (STYLE.md principle 5, Meltano's
 * Sink.is_full, Airbyte's FlushStrategy): full by count or by bytes, or due by age.
 *
 * Rows sharing a matching key inside one batch are merged into one: Salesforce rejects every row of
 * a request that repeats an external ID (DUPLICATE_VALUE, reference §3.3), and applying the later
 * row's fields over the earlier one's is what sending them one after the other would do.
 */

import { hashA } from './mirror-keys.js';

/** What the batcher needs to know about an item. */
export interface BatchItem {
  /** Serialised size, counted against maxBytes. */
  readonly bytes: number;
  /** The matching key, for items that have one. */
  readonly key?: string | undefined;
}

/** Limits of one batch. */
export interface BatcherOptions<T extends BatchItem> {
  maxRecords: number;
  maxBytes: number;
  /** An open batch older than this is due even if not full. */
  maxAgeMs: number;
  /**
   * A second count limit for items of one kind: a batch is also full when this many items match
   * (the loader sends at most 1,000 records in collections, so items that cannot go in a
   * single-record subrequest are limited to that).
   */
  limitOf?: { max: number; counts: (item: T) => boolean };
  /** Folds a later item into the earlier one with the same key; returns the merged item. */
  merge?: (earlier: T, later: T) => T;
  now?: () => number;
}

/**
 * Where each key is in the open batch: open addressing over typed arrays, every slot stamped with the
 * batch it belongs to, so a new batch starts empty without clearing anything. A Map cleared per batch
 * regrows its table from a few entries to a thousand each time, and those tables, kept across a
 * collection while the batch fills, were a quarter of what the young generation promoted (bench/).
 */
class KeyPositions {
  private readonly at: Int32Array;
  private readonly stamps: Uint32Array;
  private readonly mask: number;
  private stamp = 1;

  constructor(maxItems: number) {
    let size = 16;
    while (size < maxItems * 2) size *= 2;
    this.at = new Int32Array(size);
    this.stamps = new Uint32Array(size);
    this.mask = size - 1;
  }

  /** The position of `key` in `items` (the open batch), or -1. */
  find(key: string, items: ReadonlyArray<BatchItem>): number {
    for (let i = hashA(key) & this.mask; this.stamps[i] === this.stamp; i = (i + 1) & this.mask) {
      const at = this.at[i]!;
      if (items[at]!.key === key) return at;
    }
    return -1;
  }

  /** Records that `key` is at `position` (a key not in the batch yet). */
  put(key: string, position: number): void {
    let i = hashA(key) & this.mask;
    while (this.stamps[i] === this.stamp) i = (i + 1) & this.mask;
    this.stamps[i] = this.stamp;
    this.at[i] = position;
  }

  /** Forgets every key (a new batch). */
  clear(): void {
    this.stamp += 1;
    if (this.stamp === 0xffffffff) {
      this.stamps.fill(0);
      this.stamp = 1;
    }
  }
}

/** Collects items into batches. */
export class Batcher<T extends BatchItem> {
  private items: T[] = [];
  private bytes = 0;
  private limited = 0;
  private openedAt = 0;
  private readonly byKey: KeyPositions;
  private readonly now: () => number;

  /** Most items per batch; the pace may lower it while the run goes (calls near 20 s, pace.ts). */
  maxRecords: number;

  constructor(private readonly options: BatcherOptions<T>) {
    this.now = options.now ?? Date.now;
    this.maxRecords = options.maxRecords;
    // maxRecords only ever goes down (pace.ts), so the index never holds more keys than this.
    this.byKey = new KeyPositions(options.maxRecords);
  }

  /** Items in the open batch. */
  get size(): number {
    return this.items.length;
  }

  /**
   * Adds an item. Returns the batch it completed, if any: either the open batch when this item
   * would overflow it by bytes (the item then starts the next batch), or the batch this item filled.
   */
  add(item: T): T[] | undefined {
    if (item.key !== undefined && this.options.merge !== undefined) {
      const at = this.byKey.find(item.key, this.items);
      if (at >= 0) {
        const earlier = this.items[at]!;
        const merged = this.options.merge(earlier, item);
        this.items[at] = merged;
        this.bytes += merged.bytes - earlier.bytes;
        return this.bytes >= this.options.maxBytes ? this.take() : undefined;
      }
    }
    let completed: T[] | undefined;
    if (this.items.length > 0 && this.bytes + item.bytes > this.options.maxBytes) completed = this.take();
    if (this.items.length === 0) this.openedAt = this.now();
    if (item.key !== undefined && this.options.merge !== undefined)
      this.byKey.put(item.key, this.items.length);
    this.items.push(item);
    this.bytes += item.bytes;
    const limit = this.options.limitOf;
    if (limit !== undefined && limit.counts(item)) this.limited += 1;
    const full = this.items.length >= this.maxRecords || (limit !== undefined && this.limited >= limit.max);
    if (completed === undefined && full) completed = this.take();
    return completed;
  }

  /** True when the open batch has waited longer than maxAgeMs. */
  due(now = this.now()): boolean {
    return this.items.length > 0 && now - this.openedAt >= this.options.maxAgeMs;
  }

  /**
   * Takes the open batch (undefined when empty): a copy, and the open batch's array is kept for the
   * next one. A new empty array holds small integers until its first item, so every batch changed
   * the array's kind once, and with it the code V8 had optimised for the per-row path (bench/).
   */
  take(): T[] | undefined {
    if (this.items.length === 0) return undefined;
    const batch = this.items.slice();
    this.items.length = 0;
    this.bytes = 0;
    this.limited = 0;
    this.byKey.clear();
    return batch;
  }
}
