/**
 * Ordered state release (STYLE.md principle 4, Airbyte's CheckpointManager): a STATE leaves only
 * when every record that came before it on stdin has ended — committed or rejected — and states
 * leave in the order they arrived. The received object is echoed whole (the platform's `id`,
 * `sourceStats` and any unknown key kept) with `destinationStats` for its span: per stream for a
 * STREAM state, all streams for GLOBAL and LEGACY (PRODUCT.md section 7, airbyte-protocol-notes §1.4).
 *
 * Records are grouped in epochs: the records between two consecutive states. A state closes its
 * epoch and can be released once that epoch and every earlier one has no unfinished record.
 * No I/O: released states go to the `release` callback. A record is known by its epoch number only
 * (no object per record: this is on the hot path); callers end each record exactly once.
 */
import { streamKey, type AirbyteStateMessage } from '../protocol/messages.js';

/** Committed and rejected counts. */
export interface Counts {
  committed: number;
  rejected: number;
}

interface Epoch {
  unfinished: number;
  /** Per stream key, the counts of this epoch's records that have ended. */
  counts: Map<string, Counts>;
  /** The state that closed this epoch (undefined for the open one). */
  state?: AirbyteStateMessage;
  /** The line the state arrived on, echoed as received (protocol/state-echo.ts). */
  raw?: string | undefined;
}

/** Tracks unfinished records per epoch and releases states in order. */
export class Checkpoints {
  private readonly epochs = new Map<number, Epoch>();
  private open = 0;
  private current: Epoch = { unfinished: 0, counts: new Map() };
  /** The oldest epoch whose state has not been released. */
  private head = 0;
  /** Counts of released epochs not yet reported by a state of their stream. */
  private readonly carried = new Map<string, Counts>();

  constructor(private readonly release: (state: AirbyteStateMessage, raw: string | undefined) => void) {
    this.epochs.set(0, this.current);
  }

  /** Registers a record that just arrived on stdin; returns its epoch, with which it is ended. */
  arrive(): number {
    this.current.unfinished += 1;
    return this.open;
  }

  /** Ends `count` records of one epoch and stream (each record exactly once); may release states. */
  end(epochNumber: number, stream: string, outcome: 'committed' | 'rejected', count = 1): void {
    const epoch = this.epochs.get(epochNumber)!;
    epoch.unfinished -= count;
    let counts = epoch.counts.get(stream);
    if (counts === undefined) {
      counts = { committed: 0, rejected: 0 };
      epoch.counts.set(stream, counts);
    }
    counts[outcome] += count;
    if (epoch.unfinished === 0 && epochNumber === this.head) this.drain();
  }

  /**
   * A STATE arrived: it closes the open epoch and is released when that epoch's records have ended.
   * `raw` is the line it came on, handed back on release so that it can be echoed byte for byte.
   */
  state(state: AirbyteStateMessage, raw?: string): void {
    this.current.state = state;
    this.current.raw = raw;
    this.open += 1;
    this.current = { unfinished: 0, counts: new Map() };
    this.epochs.set(this.open, this.current);
    this.drain();
  }

  /** Records arrived but not ended. */
  get pending(): number {
    let n = 0;
    for (const epoch of this.epochs.values()) n += epoch.unfinished;
    return n;
  }

  /**
   * Records of a stream that ended committed but that no echoed state of that stream covers yet: the
   * platform resumes from the last state it got, so the next sync sends them again.
   */
  committedUncovered(stream: string): number {
    let n = this.carried.get(stream)?.committed ?? 0;
    for (const epoch of this.epochs.values()) n += epoch.counts.get(stream)?.committed ?? 0;
    return n;
  }

  /** States received but not released. */
  get waitingStates(): number {
    return this.open - this.head;
  }

  private drain(): void {
    while (this.head < this.open) {
      const epoch = this.epochs.get(this.head)!;
      if (epoch.unfinished > 0) return;
      for (const [stream, counts] of epoch.counts) {
        const carried = this.carried.get(stream);
        if (carried === undefined) this.carried.set(stream, { ...counts });
        else {
          carried.committed += counts.committed;
          carried.rejected += counts.rejected;
        }
      }
      const state = epoch.state!;
      this.epochs.delete(this.head);
      this.head += 1;
      state.destinationStats = { ...(state.destinationStats ?? {}), ...this.statsFor(state) };
      this.release(state, epoch.raw);
    }
  }

  /** The counts a state reports, taken out of the carried totals. */
  private statsFor(state: AirbyteStateMessage): { recordCount: number; rejectedRecordCount: number } {
    const total: Counts = { committed: 0, rejected: 0 };
    if (state.type === 'STREAM' && state.stream?.stream_descriptor !== undefined) {
      const key = streamKey(state.stream.stream_descriptor);
      const counts = this.carried.get(key);
      if (counts !== undefined) {
        total.committed = counts.committed;
        total.rejected = counts.rejected;
        this.carried.delete(key);
      }
    } else {
      for (const counts of this.carried.values()) {
        total.committed += counts.committed;
        total.rejected += counts.rejected;
      }
      this.carried.clear();
    }
    return { recordCount: total.committed, rejectedRecordCount: total.rejected };
  }
}
