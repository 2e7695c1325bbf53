/**
 * Matching keys: how a key field compares values (as Salesforce compares them), and the ledger that
 * keeps the writes of one record in arrival order.
 *
 * The ledger is per object and key field, shared by every stream and both sinks that write the
 * object on that field: two rows for one record are applied in the order they arrived on stdin,
 * whichever stream carried them and however many calls are in flight (PRODUCT.md section 7).
 *
 * A write whose answer was lost (a timeout, a dropped connection) may still be applied by
 * Salesforce after the connector has moved on: it keeps going after its client has left, for up to
 * 10 minutes (reference §5.3). Re-sending it is harmless (the same values), but a newer row of the
 * same record sent meanwhile could be overwritten when the old call lands last. So the keys of such
 * a call are handed to a hold that ends only when the call surely has: later rows of those records
 * wait for it; rows of other records go on.
 */
import { canonicalId } from '../salesforce/ids.js';
import { plainDecimal } from '../salesforce/query.js';
import type { DescribeField, DescribeSObject } from '../salesforce/types.js';
import { findField } from '../mapping/fields.js';

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

const NUMERIC_TYPES = new Set(['double', 'int', 'long', 'currency', 'percent']);

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

/** How a stream's key field compares values (reference §3.3: custom fields match case-insensitively only when unique and case-insensitive). */
export function keyFieldOf(describe: DescribeSObject, name: string | undefined): KeyField | undefined {
  if (name === undefined) return undefined;
  if (name.toLowerCase() === 'id') return { name: 'Id', type: 'id', caseInsensitive: false, isId: true };
  const field: DescribeField | undefined = findField(describe, name);
  if (field === undefined) return undefined;
  const caseInsensitive =
    field.custom === true ? field.unique && field.caseSensitive !== true : field.caseSensitive !== true;
  return { name: field.name, type: field.type, scale: field.scale, caseInsensitive, isId: false };
}

/**
 * A claim on some keys: a job that writes them, a job that waits for its turn, or the time a call
 * whose answer was lost may still land. Later rows of those keys wait for `done`.
 */
export class Hold {
  readonly done: Promise<void>;
  /** Set once `done` has resolved. */
  finished = false;
  /**
   * Keys this hold passed on before it ended: the later rows of such a key wait for the hold it was
   * passed to (a deferred write, or the time a lost call may still land), not just for this one.
   */
  handoff: Map<string, Hold> | undefined;
  private resolveDone!: () => void;

  constructor() {
    this.done = new Promise<void>((resolve) => (this.resolveDone = resolve));
  }

  /** Ends the hold: waiters go on (following any handoff). */
  finish(): void {
    this.finished = true;
    this.resolveDone();
  }

  /** Passes one key on to `next`. */
  passOn(key: string, next: Hold): void {
    (this.handoff ??= new Map()).set(key, next);
  }

  /** The unfinished holds this one passed keys on to (a Bulk job waits for those too). */
  successors(): Hold[] {
    if (this.handoff === undefined) return [];
    const out = new Set<Hold>();
    for (const next of this.handoff.values()) if (!next.finished) out.add(next);
    return [...out];
  }

  /**
   * The hold a row of `key` that waited for this one must now wait for: the last unfinished hold
   * down the chain of handoffs, or undefined when the key is free.
   */
  successorFor(key: string): Hold | undefined {
    let next: Hold | undefined = this.handoff?.get(key);
    if (next === undefined) return this.finished ? undefined : this;
    for (;;) {
      const after: Hold | undefined = next.handoff?.get(key);
      if (after === undefined) return next.finished ? undefined : next;
      next = after;
    }
  }
}

/**
 * The holds on the keys of one object and key field. A Bulk job, which carries up to a million rows,
 * claims no key one by one: it bars the whole ledger instead — it waits for every job live when it
 * starts, and every job that starts after it waits for it (coarser than per key, and so no less
 * ordered).
 */
export class KeyLedger {
  private readonly holds = new Map<string, Hold>();
  /** Holds of jobs (and their waits) that have started and not ended. */
  private readonly live = new Set<Hold>();
  /** The Bulk job in progress, which every job starting now waits for. */
  private barrier: Hold | undefined;

  /** A job starts: returns the Bulk job it must wait for first, if any. */
  enter(hold: Hold): Hold | undefined {
    this.live.add(hold);
    return this.barrier;
  }

  /** A job (or a wait) has ended. */
  leave(hold: Hold): void {
    this.live.delete(hold);
  }

  /** A Bulk job bars the ledger; returns what it must wait for: every job live now, and the previous bar. */
  bar(hold: Hold): Hold[] {
    const before = [...this.live];
    if (this.barrier !== undefined && !this.live.has(this.barrier)) before.push(this.barrier);
    this.barrier = hold;
    this.live.add(hold);
    return before;
  }

  /** The Bulk job has ended. */
  unbar(hold: Hold): void {
    if (this.barrier === hold) this.barrier = undefined;
    this.live.delete(hold);
  }

  /**
   * Claims `key` for `hold` and returns the hold it must wait for (the previous claim), if any.
   * One Map read and one write per row.
   */
  claim(key: string, hold: Hold): Hold | undefined {
    const previous = this.holds.get(key);
    this.holds.set(key, hold);
    return previous;
  }

  /**
   * Gives up `hold`'s claim on `key` once it has ended: the key is free, or, when the hold passed it
   * on, claimed by the hold it was passed to (so that a later claim waits for that one directly).
   */
  release(key: string, hold: Hold): void {
    if (this.holds.get(key) !== hold) return;
    const next = hold.handoff?.get(key);
    if (next === undefined || next.finished) this.holds.delete(key);
    else this.holds.set(key, next);
  }

  /** Keys claimed now (for tests and the summary). */
  get size(): number {
    return this.holds.size;
  }
}

/** Waits until every hold in `holds` has ended, and every hold they passed keys on to. */
export async function waitForAll(holds: readonly Hold[]): Promise<void> {
  let pending = holds.filter((h) => !h.finished || h.handoff !== undefined);
  const seen = new Set<Hold>();
  while (pending.length > 0) {
    await Promise.all(pending.map((h) => h.done));
    for (const h of pending) seen.add(h);
    pending = pending.flatMap((h) => h.successors()).filter((h) => !seen.has(h));
  }
}

/** A hold that ends at a time: the moment a call whose answer was lost has surely ended. */
export function holdUntil(
  until: number,
  sleep: (ms: number) => Promise<void>,
  now: () => number = Date.now,
): Hold {
  const hold = new Hold();
  const wait = Math.max(0, until - now());
  // A stop ends the wait early (the sleep rejects): the rows waiting behind it then stay unsent.
  void sleep(wait).then(
    () => hold.finish(),
    () => hold.finish(),
  );
  return hold;
}
