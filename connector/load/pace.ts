/**
 * How many calls are in flight (PRODUCT.md sections 3 and 11): a fixed number, or `auto`, which
 * finds the org's pace by itself. What bounds a real sync is Salesforce — its latency per record,
 * the calls it takes at once, the locks other writers hold — so `auto` starts low and raises the
 * number of calls in flight while Salesforce keeps answering at the same pace per record and
 * without lock errors, and cuts it, multiplicatively, when the org pushes back:
 * - UNABLE_TO_LOCK_ROW on more than a small share of rows (other calls hold the records' locks);
 * - 403 ConcurrentPerOrgLongTxn (the org's limit of 25 requests running 20 s or more, shared with
 *   every integration: reference §5.3) or 503 (Salesforce unavailable);
 * - a call whose latency nears 20 s, which no call of ours should reach: the records per call shrink
 *   too, when one call alone would take that long.
 * and when the latency per record climbs far above its best (the org is saturated). Each change is
 * told in the log with its reason.
 */

/** What a finished write call tells the pace. */
export interface CallReport {
  /** The call's own time, from send to answer (not its wait for a slot). */
  latencyMs: number;
  records: number;
  /** Records Salesforce could not lock (UNABLE_TO_LOCK_ROW). */
  locked: number;
}

/** Settings of the pace. */
export interface PaceOptions {
  /** A fixed number of calls in flight, or auto. */
  mode: number | 'auto';
  /** The most calls auto may have in flight (max_parallel_requests). */
  max: number;
  /** Records per call as configured (records_per_request): auto never raises it, only lowers it. */
  recordsPerCall: number;
  /** Told each change: the number of calls in flight before and after, records per call, and why. */
  onChange?: (from: number, to: number, recordsPerCall: number, reason: string) => void;
}

/** A call this long is near the 20 s at which Salesforce counts it as long-running (reference §5.3). */
const NEAR_LONG_MS = 15_000;
/** What auto aims a call at when it must shrink calls: well under 20 s. */
const TARGET_CALL_MS = 8_000;
/**
 * Above this share of rows locked out, auto cuts. Locked rows are retried (rest-loader.ts), so a
 * share of them costs calls and time but loses nothing; past a quarter, more calls in flight mostly
 * lock each other out.
 */
const LOCK_CUT_SHARE = 0.25;
/** Up to this share, auto may still raise. */
const LOCK_RAISE_SHARE = 0.12;
/** Latency per record may drift this much above the best seen and still count as steady. */
const STEADY = 1.5;
/** Latency per record this far above its best: the org is saturated, auto cuts. */
const SLOW = 2.5;
/**
 * The climb before Salesforce first pushes back: each round trip at a steady pace multiplies the
 * level by this. A round trip is a whole call (seconds), and the levels span 1 to 25, not the orders
 * of magnitude TCP's doubling is made for: from 2, the default maximum of 10 takes one round trip and
 * the highest allowed, 25, two. A sync of 100 calls at 10 is 10 round trips, so each round trip spent
 * climbing costs ~8 % of its speed; an overshoot costs one cut (×0.75).
 */
const SLOW_START_FACTOR = 5;
/** After a cut, auto does not probe higher for this many decisions. */
const FREEZE_DECISIONS = 8;

/** The pace of one run. */
export class Pace {
  private current: number;
  private perCall: number;
  private lowest: number;
  private highest: number;
  private lastReason = 'the starting level';
  // The decision window: the calls finished since the last decision.
  private calls = 0;
  private records = 0;
  private locked = 0;
  private perRecord: number[] = [];
  /** Best latency per record seen (the org's own pace when unloaded). */
  private baseline = Infinity;
  /** Calls to let finish before the next decision after a cut (calls already in flight saw the old level). */
  private cooldown = 0;
  private frozen = 0;
  /**
   * Multiplying until Salesforce first pushes back or stops keeping pace (as TCP's slow start), one
   * more at a time after that: a sync of 100 calls would spend most of them climbing otherwise.
   */
  private starting = true;

  constructor(private readonly options: PaceOptions) {
    this.current = options.mode === 'auto' ? Math.min(2, options.max) : options.mode;
    this.perCall = options.recordsPerCall;
    this.lowest = this.current;
    this.highest = this.current;
  }

  /** Calls allowed in flight now. */
  get level(): number {
    return this.current;
  }

  /** Records per call now. */
  get recordsPerCall(): number {
    return this.perCall;
  }

  /** Whether the pace adapts. */
  get auto(): boolean {
    return this.options.mode === 'auto';
  }

  /** A write call finished. */
  report(call: CallReport): void {
    if (!this.auto) return;
    if (call.latencyMs >= NEAR_LONG_MS) {
      // No call of ours should run 20 s: fewer at once, and smaller ones if one alone is this slow.
      const fewer =
        call.records > 10
          ? Math.max(10, Math.floor((call.records * TARGET_CALL_MS) / call.latencyMs))
          : this.perCall;
      const before = this.perCall;
      this.perCall = Math.min(this.perCall, fewer);
      this.cut(
        0.5,
        `a call of ${call.records} records took ${(call.latencyMs / 1000).toFixed(1)} s, near the 20 s at which Salesforce counts it against the org's 25 long-running requests`,
        this.perCall !== before,
      );
      return;
    }
    if (this.cooldown > 0) {
      this.cooldown -= 1;
      if (this.cooldown === 0) this.startWindow();
      return;
    }
    this.calls += 1;
    this.records += call.records;
    this.locked += call.locked;
    // Latency per record from full calls only: a call's fixed cost would make a small one (a retry
    // of a few locked rows) look many times slower per record than it is.
    if (call.records >= this.perCall / 2) this.perRecord.push(call.latencyMs / call.records);
    if (this.calls >= Math.max(2, Math.ceil(this.current / 2))) this.decide();
  }

  /** Salesforce pushed back on a call (ConcurrentPerOrgLongTxn, 503). */
  pushback(what: string): void {
    if (!this.auto || this.cooldown > 0) return;
    this.cut(0.5, what);
  }

  /** A line for the progress log and the summary. */
  describe(): string {
    return this.auto
      ? `Parallel requests (auto): ${this.current} now (ranged ${this.lowest}–${this.highest}); last change: ${this.lastReason}.`
      : `Parallel requests: ${this.current} (fixed).`;
  }

  private decide(): void {
    const lockShare = this.records === 0 ? 0 : this.locked / this.records;
    const sorted = [...this.perRecord].sort((a, b) => a - b);
    // No full call in the window: no evidence about the latency either way.
    const median = sorted[Math.floor(sorted.length / 2)] ?? this.baseline;
    this.baseline = Math.min(this.baseline, median);
    const percent = `${(lockShare * 100).toFixed(1)} %`;
    if (this.frozen > 0) this.frozen -= 1;
    if (lockShare > LOCK_CUT_SHARE) {
      this.cut(
        0.75,
        `${percent} of rows could not be locked (UNABLE_TO_LOCK_ROW): other calls hold their records`,
      );
      return;
    }
    if (sorted.length > 0 && median > SLOW * this.baseline) {
      // Each record takes much longer than it did with fewer calls in flight: the org is saturated.
      this.cut(0.75, `latency per record rose to ${(median / this.baseline).toFixed(1)}× its best`);
      return;
    }
    const steady = sorted.length > 0 && median <= STEADY * this.baseline;
    if (steady && lockShare <= LOCK_RAISE_SHARE && this.current < this.options.max && this.frozen === 0) {
      const next = this.starting ? this.current * SLOW_START_FACTOR : this.current + 1;
      this.set(
        Math.min(this.options.max, next),
        `latency per record steady, ${lockShare === 0 ? 'no lock errors' : `${percent} lock errors`}`,
      );
      return;
    }
    // Salesforce no longer keeps pace (or the maximum is reached): from now on, one step at a time.
    this.starting = false;
    this.startWindow();
  }

  /** Cuts the level; `smaller` says the records per call were cut too (worth telling even at 1). */
  private cut(factor: number, reason: string, smaller = false): void {
    this.starting = false;
    const level = Math.max(1, Math.floor(this.current * factor));
    // The calls already in flight were sent at the old level: let them finish before judging again.
    this.cooldown = this.current;
    this.frozen = FREEZE_DECISIONS;
    this.set(level, reason, smaller);
  }

  /** Sets the level; a change is told (a cut at level 1 that changed nothing is not: it is noise). */
  private set(level: number, reason: string, smaller = false): void {
    const from = this.current;
    this.current = level;
    this.lowest = Math.min(this.lowest, level);
    this.highest = Math.max(this.highest, level);
    this.startWindow();
    if (level === from && !smaller) return;
    this.lastReason = `${level > from ? 'raised' : level < from ? 'lowered' : 'kept'}: ${reason}`;
    this.options.onChange?.(from, level, this.perCall, this.lastReason);
  }

  private startWindow(): void {
    this.calls = 0;
    this.records = 0;
    this.locked = 0;
    this.perRecord = [];
  }
}
