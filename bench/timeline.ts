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

/** Rows/s and lock errors/s at a sample time, smoothed. */
export interface Rate {
  t: number;
  rowsPerSec: number;
  lockErrorsPerSec: number;
  inFlight: number;
}

/**
 * Rows stored and lock errors per second at each sample time: every increase between two samples is
 * spread over time by a Gaussian kernel of width `sigmaMs` (a kernel density of the rows' arrival).
 * Rows land a whole call at a time, and calls sent together land together every call latency: a
 * plain sliding window then counts one or two such bursts and draws a saw. A kernel as wide as one
 * call's latency removes that ripple and keeps changes that last a few calls.
 */
export function rates(samples: readonly Sample[], sigmaMs: number): Rate[] {
  const sigma = Math.max(1, sigmaMs);
  const norm = 1000 / (sigma * Math.sqrt(2 * Math.PI));
  const steps: Array<{ t: number; rows: number; locks: number }> = [];
  for (let i = 1; i < samples.length; i++) {
    const a = samples[i - 1]!;
    const b = samples[i]!;
    const rows = b.stored - a.stored;
    const locks = b.lockErrors - a.lockErrors;
    // An increase is known to have happened between the two samples: placed at their middle.
    if (rows !== 0 || locks !== 0) steps.push({ t: (a.t + b.t) / 2, rows, locks });
  }
  const first = samples[0]?.t ?? 0;
  const last = samples.at(-1)?.t ?? 0;
  return samples.map((s) => {
    let rows = 0;
    let locks = 0;
    for (const step of steps) {
      const z = (s.t - step.t) / sigma;
      if (z > 4 || z < -4) continue;
      const w = Math.exp(-0.5 * z * z) * norm;
      rows += step.rows * w;
      locks += step.locks * w;
    }
    // Near the ends part of the kernel falls outside the samples, where nothing was observed: the
    // rate is taken over the part inside (boundary renormalisation), or the last seconds would halve.
    const inside = gaussianCdf((last - s.t) / sigma) - gaussianCdf((first - s.t) / sigma);
    const k = inside > 0 ? 1 / inside : 1;
    return { t: s.t, rowsPerSec: rows * k, lockErrorsPerSec: locks * k, inFlight: s.inFlight };
  });
}

/** The standard normal distribution function (Abramowitz and Stegun 7.1.26, error below 1.5e-7). */
function gaussianCdf(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const poly =
    t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  const erf = 1 - poly * Math.exp(-x * x);
  return z >= 0 ? (1 + erf) / 2 : (1 - erf) / 2;
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

/**
 * Rows/s until `share` of a run's `rows` were stored: `share × rows` over the time the samples put
 * that moment at (linear between the two samples around it). Under lock contention the last rows of a
 * run wait out their retries' pauses (1, 2, 4, 8, 16 s), as long at every level, so the whole run's
 * rows/s says more about those pauses than about how fast a level stores rows; this leaves that tail
 * out. Undefined when the samples never reach that share.
 */
export function rowsPerSecUntil(samples: readonly Sample[], rows: number, share: number): number | undefined {
  const target = rows * share;
  for (let i = 0; i < samples.length; i++) {
    const b = samples[i]!;
    if (b.stored < target) continue;
    const a = samples[i - 1];
    const t =
      a === undefined || b.stored === a.stored
        ? b.t
        : a.t + ((target - a.stored) / (b.stored - a.stored)) * (b.t - a.t);
    return t > 0 ? (target * 1000) / t : undefined;
  }
  return undefined;
}
