/**
 * What happened during one run, over time: the parallelism level the connector chose (from its
 * `Parallel requests: <old> → <new> (<reason>).` LOG lines, timed as the benchmark read them) and the
 * emulator's counters sampled every half second (rows stored, lock errors, calls sent, calls in flight).
 * Pure functions, so that the report, the JSON and the chart all read the same figures.
 */

/** One sample of the emulator's counters, `t` ms after the measured process was started. */
export interface Sample {
  t: number;
  /** Records of the object stored (every run starts from none, so: rows committed so far). */
  stored: number;
  /** UNABLE_TO_LOCK_ROW record errors the emulator has given (stats().lockErrors). */
  lockErrors: number;
  /** Requests against the daily allocation. */
  apiUsed: number;
  /** Composite calls received (stats().byKind.composite). */
  composite: number;
  /** API calls in flight at the emulator now. */
  inFlight: number;
}

/** A change of the parallelism level, as the connector logged it. */
export interface LevelChange {
  /** ms after the process was started, when the benchmark read the line. */
  t: number;
  from: number;
  to: number;
  reason?: string;
}

/** The prefix of the connector's LOG message for a change of level (load/pace.ts). */
export const LEVEL_PREFIX = 'Parallel requests: ';
/** The prefix of the summary line of an `auto` run, with the range it used. */
export const AUTO_SUMMARY_PREFIX = 'Parallel requests (auto): ';

/**
 * `Parallel requests: 4 → 6 (raised: latency per record steady, no lock errors).` → {from 4, to 6,
 * reason}; undefined for any other message. `->` is read like `→`.
 */
export function parseLevelChange(message: string): Omit<LevelChange, 't'> | undefined {
  if (!message.startsWith(LEVEL_PREFIX)) return undefined;
  const m = /^(\d+)\s*(?:→|->)\s*(\d+)\s*(?:\((.*)\))?\.?\s*$/.exec(message.slice(LEVEL_PREFIX.length));
  if (m === null) return undefined;
  const change: Omit<LevelChange, 't'> = { from: Number(m[1]), to: Number(m[2]) };
  if (m[3] !== undefined) change.reason = m[3];
  return change;
}

/** A level held from `t` until the next step (or the end of the run). */
export interface LevelStep {
  t: number;
  level: number;
}

/** The level over time: `initial` from 0, then each logged change at its time. */
export function levelSteps(initial: number, changes: readonly LevelChange[]): LevelStep[] {
  const steps: LevelStep[] = [{ t: 0, level: initial }];
  for (const c of [...changes].sort((a, b) => a.t - b.t)) steps.push({ t: c.t, level: c.to });
  return steps;
}

/** The level averaged over time from 0 to `endMs` (each step weighted by how long it was held). */
export function meanLevel(steps: readonly LevelStep[], endMs: number): number {
  if (endMs <= 0 || steps.length === 0) return steps[0]?.level ?? 0;
  let sum = 0;
  for (let i = 0; i < steps.length; i++) {
    const from = Math.min(steps[i]!.t, endMs);
    const to = Math.min(steps[i + 1]?.t ?? endMs, endMs);
    sum += steps[i]!.level * Math.max(0, to - from);
  }
  return sum / endMs;
}

/** The highest level of the steps. */
export const maxLevel = (steps: readonly LevelStep[]): number =>
  steps.reduce((m, s) => Math.max(m, s.level), 0);

/** The first time the level was `level` or more; undefined if never. */
export function firstReached(steps: readonly LevelStep[], level: number): number | undefined {
  return steps.find((s) => s.level >= level)?.t;
}

/**
 * The Composite calls sent by time `t`, from the samples (linear between the two around it): the
 * emulator counts a call when it arrives. Undefined before the first sample or after the last.
 */
export function callsAt(samples: readonly Sample[], t: number): number | undefined {
  for (let i = 1; i < samples.length; i++) {
    const a = samples[i - 1]!;
    const b = samples[i]!;
    if (t >= a.t && t <= b.t) {
      const f = b.t === a.t ? 1 : (t - a.t) / (b.t - a.t);
      return a.composite + f * (b.composite - a.composite);
    }
  }
  return undefined;
}

/** Rows/s and lock errors/s at a sample, over the window ending there. */
export interface Rate {
  t: number;
  rowsPerSec: number;
  lockErrorsPerSec: number;
  inFlight: number;
}

/**
 * Rates over a sliding window of `windowMs` ending at each sample. Rows are stored a whole call at a
 * time (1,020 at once), so a window several calls wide shows a rate, not a staircase.
 */
export function rates(samples: readonly Sample[], windowMs: number): Rate[] {
  const out: Rate[] = [];
  let start = 0;
  for (let i = 1; i < samples.length; i++) {
    const now = samples[i]!;
    while (start < i - 1 && now.t - samples[start + 1]!.t >= windowMs) start += 1;
    const then = samples[start]!;
    const seconds = (now.t - then.t) / 1000;
    if (seconds <= 0) continue;
    out.push({
      t: now.t,
      rowsPerSec: (now.stored - then.stored) / seconds,
      lockErrorsPerSec: (now.lockErrors - then.lockErrors) / seconds,
      inFlight: now.inFlight,
    });
  }
  return out;
}

/** Rows/s between two times, from the samples nearest to them (undefined without two samples apart). */
export function rowsPerSecBetween(
  samples: readonly Sample[],
  fromMs: number,
  toMs: number,
): number | undefined {
  const a = samples.find((s) => s.t >= fromMs);
  const b = [...samples].reverse().find((s) => s.t <= toMs);
  if (a === undefined || b === undefined || b.t <= a.t) return undefined;
  return ((b.stored - a.stored) * 1000) / (b.t - a.t);
}
