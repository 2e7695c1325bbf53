/**
 * How a row ends, for both sinks (Composite and Bulk): committed or rejected, counted in the
 * outcomes (summary, rejected-records file) and in the checkpoints (state release,
 * destinationStats) in one place, so the two paths cannot count differently.
 */
import type { SalesforceRecordError } from '../salesforce/types.js';
import { releaseBytes } from './arena.js';
import type { Checkpoints } from './checkpoints.js';
import type { Change, Outcomes } from './outcomes.js';
import { rowLabel, rowsOf, type Item, type StreamContext } from './stream.js';

/** Ends rows. */
export class Settler {
  constructor(
    readonly outcomes: Outcomes,
    readonly checkpoints: Checkpoints,
  ) {}

  /** Ends an item's rows as rejected with one error (Salesforce's, or the connector's own). */
  reject(stream: StreamContext, item: Item, error: SalesforceRecordError): void {
    this.outcomes.reject(
      stream.tally,
      { key: rowLabel(item), namespace: stream.namespace, record: item.records?.[0] },
      error,
      rowsOf(item),
    );
    this.end(stream, item, 'rejected');
  }

  /** Ends an item's rows as committed. */
  commit(stream: StreamContext, item: Item, change: Change): void {
    // One record changed in Salesforce; the earlier rows folded into it are counted apart, so that
    // "created" says how many records were created.
    if (item.more === undefined || change === 'dry_run') {
      this.outcomes.commit(stream.tally, change, rowsOf(item));
    } else {
      this.outcomes.commit(stream.tally, change, 1);
      this.outcomes.commit(stream.tally, 'merged', item.more.length);
    }
    this.end(stream, item, 'committed');
  }

  /**
   * Ends many single-row items as committed in one go: the common case of a call where every record
   * saved, counted per checkpoint epoch instead of row by row (this runs for every row written).
   * `changes` says how many were created and how many updated or deleted.
   */
  commitRun(
    stream: StreamContext,
    items: readonly Item[],
    changes: { created: number; updated: number; deleted: number },
  ): void {
    for (let i = 0; i < items.length; i += 1) releaseBytes(items[i]!);
    this.commitEpochs(stream, items.length, (i) => items[i]!.epoch, changes);
  }

  /**
   * The same for `count` single-row results known by their epochs only (a Bulk job keeps no item
   * per row): runs of equal epochs end together.
   */
  commitEpochs(
    stream: StreamContext,
    count: number,
    epochAt: (i: number) => number,
    changes: { created: number; updated: number; deleted: number },
  ): void {
    let epoch = -1;
    let run = 0;
    for (let i = 0; i < count; i += 1) {
      const e = epochAt(i);
      if (e !== epoch) {
        if (run > 0) this.checkpoints.end(epoch, stream.key, 'committed', run);
        epoch = e;
        run = 0;
      }
      run += 1;
    }
    if (run > 0) this.checkpoints.end(epoch, stream.key, 'committed', run);
    if (changes.created > 0) this.outcomes.commit(stream.tally, 'created', changes.created);
    if (changes.updated > 0) this.outcomes.commit(stream.tally, 'updated', changes.updated);
    if (changes.deleted > 0) this.outcomes.commit(stream.tally, 'deleted', changes.deleted);
  }

  private end(stream: StreamContext, item: Item, outcome: 'committed' | 'rejected'): void {
    releaseBytes(item);
    if (item.more !== undefined)
      for (const epoch of item.more) this.checkpoints.end(epoch, stream.key, outcome);
    this.checkpoints.end(item.epoch, stream.key, outcome);
  }
}
