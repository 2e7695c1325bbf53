/**
 * What the benchmark reports: per-run figures, the headline ratios, and PASS/FAIL against the targets
 * of PRODUCT.md section 11. Pure functions over the measured runs, so the text printed, the JSON
 * written and the chart drawn can never disagree.
 */
import type { BulkStats } from '../integration_tests/emulator/types.js';
import {
  callsAt,
  firstReached,
  levelSteps,
  maxLevel,
  meanLevel,
  rowsPerSecBetween,
  rowsPerSecUntil,
  type LevelChange,
  type Sample,
} from './timeline.js';

/** The connector settings of a connector run (written into its config's `advanced`). */
export interface ConnectorSettings {
  recordsPerRequest: number;
  /** `parallel_requests`: a fixed number, or `auto`. */
  parallel: number | 'auto';
  /** `max_parallel_requests`: auto's ceiling (runs with `auto` only). */
  maxParallel?: number;
  /** `write_api`. */
  writeApi: 'rest' | 'bulk';
}

/** The emulator's latency model during a run (README of the emulator, "Latency model"). */
export interface LatencyModel {
  baseMs: number;
  perRecordMs: number;
  /** Lock-contention mode, when on. */
  contention?: { perWriter: number; max: number; seed: number };
}

/** Which part of the benchmark a run belongs to. */
export type Scenario = 'startup' | 'cpu' | 'flat' | 'realistic' | 'contention' | 'bulk-scale' | 'scale';

/** The emulator's view of one run (its counters are reset before each run). */
export interface EmulatorFigures {
  /** Requests counted against the daily allocation (OAuth, versions and identity are free). */
  apiUsed: number;
  /** Every request, free ones included. */
  apiRequests: number;
  byKind: Record<string, number>;
  /** CPU (user + system) of the emulator process during the run. */
  cpuMs: number;
  /** Records of the object stored after the run. */
  stored: number;
  /** UNABLE_TO_LOCK_ROW record errors the emulator gave. */
  lockErrors: number;
  /** The longest request, arrival to answer, in ms. */
  longestRequestMs: number;
  bulk: BulkStats;
}

/** The figures of one measured process. */
export interface RunResult {
  name: string;
  kind: 'connector' | 'floor' | 'seed-form';
  scenario: Scenario;
  rows: number;
  settings?: ConnectorSettings;
  /** The seed form's calls in flight and subrequests per call. */
  seedForm?: { parallel: number; perCall: number; calls?: number; ok?: number; failed?: number };
  latency?: LatencyModel;
  exitCode: number | null;
  signal: string | null;
  timedOut: boolean;
  wallMs: number;
  cpuUserMs?: number;
  cpuSystemMs?: number;
  /** User + system CPU of the measured process, from its own resourceUsage(). */
  cpuMs?: number;
  peakRssMb?: number;
  rowsPerSec: number;
  emulator?: EmulatorFigures;
  /** API requests (quota) per 1,000 rows, from the emulator. */
  apiPer1000Rows?: number;
  /** The connector's own "API requests: …" summary line. */
  connectorApiLine?: string;
  /** The connector's other summary lines ("Summary: …", per stream, quota). */
  connectorSummary?: string[];
  /** The connector's `Parallel requests (auto): …` summary line. */
  autoLine?: string;
  /** Changes of the parallelism level the connector logged, timed as read. */
  levels?: LevelChange[];
  statesEchoed?: number;
  statesExpected?: number;
  /** Σ destinationStats of the echoed states: rows the connector committed and rejected. */
  committed?: number;
  rejected?: number;
  /** The emulator's counters every half second (runs under a latency model). */
  samples?: Sample[];
  /** CPU of the benchmark process while the child ran (should be small: it only pipes the file). */
  benchCpuMs: number;
  /** Why this run's figures should not be trusted (non-zero exit, rows missing, …); empty when fine. */
  problems: string[];
  /** Findings that are not problems of the run (rows rejected after lock retries under contention). */
  findings?: string[];
}

/** Fixed start-up CPU: the median of a few runs on an input with no rows. */
export interface StartupCost {
  connectorCpuMs?: number;
  connectorRunsMs: number[];
  floorCpuMs?: number;
  floorRunsMs: number[];
}

/** The median, smallest and largest of some values. */
export interface Spread {
  median: number;
  min: number;
  max: number;
  values: number[];
}

/** Peak RSS 1,000,000 rows against 100,000 rows. */
export interface PeakRss {
  smallRows: number;
  smallMb?: number;
  largeRows: number;
  largeMb?: number;
  growth?: number;
}

/** Interleaved pairs of CPU runs and the ratio of each pair. */
export interface CpuPairs {
  rows: number;
  /** Each usable pair: CPU in ms of both sides and their ratio. */
  pairs: Array<{ a: string; b: string; aMs: number; bMs: number; ratio: number; marginal?: number }>;
  ratio?: Spread;
  marginal?: Spread;
  aUsPerRow?: number;
  bUsPerRow?: number;
}

/** A run under a latency model, as the throughput headlines show it. */
export interface ThroughputRow {
  run: string;
  scenario: Scenario;
  rows: number;
  rowsPerSec: number;
  apiUsed?: number;
  apiPer1000Rows?: number;
  /** Calls in flight: the fixed level, or auto's levels averaged over the wall time, and its highest. */
  level?: number;
  maxLevel?: number;
  /** One call's latency under the model, for the call size assumed (full calls). */
  callMs?: number;
  recordsPerCall?: number;
  /** level × records per call ÷ call latency. */
  ceilingRowsPerSec?: number;
  /** rows/s ÷ ceiling. */
  share?: number;
  lockErrors?: number;
  rejected?: number;
  /** rows − rows stored at the end. */
  notStored?: number;
  longestRequestMs?: number;
  bulkJobs?: number;
  peakRssMb?: number;
  wallMs: number;
}

/** auto without lock contention. */
export interface AutoClimb {
  maxParallel: number;
  /** ms after start when auto's level first reached max_parallel_requests; undefined if never. */
  reachedMs?: number;
  /** Composite calls sent by then (from the emulator's samples). */
  reachedAtCall?: number;
  /** Rows/s of auto ÷ rows/s of the fixed level, whole runs. */
  ratioToFixed?: number;
  /** Rows/s of auto from the moment it reached its maximum to the end. */
  rowsPerSecAtMax?: number;
}

/** The share of a run's rows stored by which its steady rows/s is read ({@link rowsPerSecUntil}). */
const STEADY_SHARE = 0.95;

/** The runs under lock contention. */
export interface ContentionHeadline {
  best?: { run: string; rowsPerSec: number };
  autoShareOfBest?: number;
  /**
   * The same comparison on rows/s until 95 % of each run's rows were stored: the whole run's figure
   * ends with the retry pauses of the last locked rows, as long at every level.
   */
  steadyBest?: { run: string; rowsPerSec: number };
  autoSteadyRowsPerSec?: number;
  autoSteadyShareOfBest?: number;
  autoLockErrors?: number;
  referenceRun?: string;
  referenceLockErrors?: number;
  autoNotStored?: number;
  autoRejected?: number;
}

/** The Bulk path against the REST path. */
export interface BulkHeadline {
  /** Bulk jobs the emulator saw in the Bulk runs: 0 means the connector wrote through REST. */
  jobs: number;
  cpu?: CpuPairs;
  large?: {
    rows: number;
    apiUsed?: number;
    apiPerMillion?: number;
    batches?: number;
    jobs?: number;
    polls?: number;
    uploads?: number;
    resultGets?: number;
    wallMs: number;
    peakRssMb?: number;
  };
  /** Wall time of Bulk and REST runs of the same rows at the same latency. */
  sameLatency?: Array<{ run: string; wallMs: number }>;
  peakRss?: PeakRss;
}

/** Every headline. */
export interface Headlines {
  cpu?: CpuPairs;
  flat?: { seedRowsPerSec?: number; fixedRowsPerSec?: number; ratio?: number; fixedLevel: number };
  realistic: ThroughputRow[];
  /** fixed ÷ seed form under the realistic model, measured and the model's own ceiling ratio. */
  realisticRatio?: { measured?: number; ceiling?: number };
  autoClimb?: AutoClimb;
  contention: ThroughputRow[];
  contentionHeadline?: ContentionHeadline;
  /** The longest call of the auto runs (ms). */
  autoLongestMs?: number;
  restApiPerMillion?: { value: number; fromRows: number };
  restPeakRss?: PeakRss;
  bulk?: BulkHeadline;
  emulatorBusy: Array<{ run: string; shareOfWall: number }>;
}

/** One target. */
export interface TargetVerdict {
  measure: string;
  target: string;
  measured: string;
  verdict: 'PASS' | 'FAIL' | 'NOT MEASURED';
}

/** Peak RSS may grow by this fraction between the small and the large run and still count as flat. */
export const FLAT_RSS_TOLERANCE = 0.25;
/** Above this share of one core the emulator, not the connector, may be what limits throughput. */
export const EMULATOR_BUSY_SHARE = 0.7;
/** PRODUCT.md section 11. */
export const TARGETS = {
  cpuRatio: 2.5,
  cpuPairs: 5,
  restApiPerMillion: 1_000,
  bulkApiPerMillion: 100,
  seedFormRatio: 10,
  fixedShareOfCeiling: 0.9,
  autoClimbCalls: 50,
  autoRatioToFixed: 2.2,
  autoShareOfBest: 0.8,
  longCallMs: 20_000,
  maxRssMb: 200,
} as const;

const ratio = (a: number | undefined, b: number | undefined): number | undefined =>
  a === undefined || b === undefined || b === 0 ? undefined : a / b;

/** The run, when it finished without problems. */
export const usable = (run: RunResult | undefined): RunResult | undefined =>
  run !== undefined && run.problems.length === 0 ? run : undefined;

/** The median of some values; undefined for none. */
export function median(values: readonly number[]): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Median, min and max; undefined for none. */
export function spread(values: readonly number[]): Spread | undefined {
  const m = median(values);
  if (m === undefined) return undefined;
  return { median: m, min: Math.min(...values), max: Math.max(...values), values: [...values] };
}

/** The latency of one call writing `records` records under the model. */
export const callMs = (model: LatencyModel, records: number): number =>
  model.baseMs + model.perRecordMs * records;

/** parallel × records per call ÷ the latency of one such call: what the org allows at that level. */
export function ceilingRowsPerSec(level: number, recordsPerCall: number, model: LatencyModel): number {
  const ms = callMs(model, recordsPerCall);
  return ms <= 0 ? Infinity : (level * recordsPerCall * 1000) / ms;
}

/**
 * Pairs run i of `as` with run i of `bs` (they ran back to back) and takes the ratio of their CPU; a
 * pair with a run that had problems is left out. The ratio is the median of the pairs' ratios, so one
 * burst of another tenant's load skews one pair, not the result. `startup` gives the marginal ratio
 * ((CPU − CPU of 0 rows) of each side) when both start-up costs are known.
 */
export function cpuPairs(
  as: readonly RunResult[],
  bs: readonly RunResult[],
  startup?: { a?: number | undefined; b?: number | undefined },
): CpuPairs {
  const rows = as[0]?.rows ?? bs[0]?.rows ?? 0;
  const pairs: CpuPairs['pairs'] = [];
  for (let i = 0; i < Math.min(as.length, bs.length); i++) {
    const a = usable(as[i]);
    const b = usable(bs[i]);
    if (a?.cpuMs === undefined || b?.cpuMs === undefined || b.cpuMs === 0) continue;
    const pair: CpuPairs['pairs'][number] = {
      a: a.name,
      b: b.name,
      aMs: a.cpuMs,
      bMs: b.cpuMs,
      ratio: a.cpuMs / b.cpuMs,
    };
    if (startup?.a !== undefined && startup.b !== undefined && b.cpuMs > startup.b)
      pair.marginal = (a.cpuMs - startup.a) / (b.cpuMs - startup.b);
    pairs.push(pair);
  }
  const out: CpuPairs = { rows, pairs };
  const r = spread(pairs.map((p) => p.ratio));
  if (r !== undefined) out.ratio = r;
  const m = spread(pairs.flatMap((p) => (p.marginal === undefined ? [] : [p.marginal])));
  if (m !== undefined) out.marginal = m;
  const aMs = median(pairs.map((p) => p.aMs));
  const bMs = median(pairs.map((p) => p.bMs));
  if (aMs !== undefined && rows > 0) out.aUsPerRow = (aMs * 1000) / rows;
  if (bMs !== undefined && rows > 0) out.bUsPerRow = (bMs * 1000) / rows;
  return out;
}

/** The level of a run over time: fixed, or auto's steps (starting at 2, or the max if lower). */
export function stepsOf(run: RunResult): ReturnType<typeof levelSteps> | undefined {
  const s = run.settings;
  if (run.kind === 'seed-form' && run.seedForm !== undefined) return levelSteps(run.seedForm.parallel, []);
  if (s === undefined || s.writeApi === 'bulk') return undefined;
  if (s.parallel !== 'auto') return levelSteps(s.parallel, []);
  return levelSteps(Math.min(2, s.maxParallel ?? 10), run.levels ?? []);
}

/** A run under a latency model, with its level, ceiling and share of it. */
export function throughputRow(run: RunResult): ThroughputRow {
  const row: ThroughputRow = {
    run: run.name,
    scenario: run.scenario,
    rows: run.rows,
    rowsPerSec: run.rowsPerSec,
    wallMs: run.wallMs,
  };
  const set = <K extends keyof ThroughputRow>(key: K, value: ThroughputRow[K] | undefined): void => {
    if (value !== undefined) row[key] = value;
  };
  const e = run.emulator;
  set('apiUsed', e?.apiUsed);
  set('apiPer1000Rows', run.apiPer1000Rows);
  set('lockErrors', e?.lockErrors);
  set('longestRequestMs', e?.longestRequestMs);
  set('bulkJobs', e?.bulk.jobsCreated);
  set('rejected', run.rejected);
  set('peakRssMb', run.peakRssMb);
  if (e !== undefined) row.notStored = run.rows - e.stored;
  const steps = stepsOf(run);
  if (steps !== undefined && run.latency !== undefined) {
    // The call size assumed: full calls (1,020 records: 5 collections of 200 + 20 single-record
    // subrequests; the seed form's 25 single-record subrequests). The last call of a run is smaller.
    const records =
      run.kind === 'seed-form' ? (run.seedForm?.perCall ?? 25) : run.settings!.recordsPerRequest;
    const level = meanLevel(steps, run.wallMs);
    row.level = level;
    row.maxLevel = maxLevel(steps);
    row.recordsPerCall = records;
    row.callMs = callMs(run.latency, records);
    row.ceilingRowsPerSec = ceilingRowsPerSec(level, records, run.latency);
    row.share = run.rowsPerSec / row.ceilingRowsPerSec;
  }
  return row;
}

/** The runs the headlines compare, by role. */
export interface NamedRuns {
  startup: StartupCost;
  cpuRest: RunResult[];
  cpuFloor: RunResult[];
  cpuBulk: RunResult[];
  flatSeed?: RunResult;
  flatFixed?: RunResult;
  /** Realistic latency, no contention: the seed form, the fixed level, auto, Bulk. */
  seed?: RunResult;
  fixed?: RunResult;
  auto?: RunResult;
  bulk?: RunResult;
  /** Lock contention: the fixed levels compared with auto, the level auto's lock errors are held to, auto. */
  contentionFixed: RunResult[];
  contentionReference?: RunResult;
  contentionAuto?: RunResult;
  bulkLarge?: RunResult;
  scaleRest?: RunResult;
  all: RunResult[];
}

function peakRss(small: readonly RunResult[], large: RunResult | undefined): PeakRss | undefined {
  if (large === undefined) return undefined;
  // The lowest small-run peak: the growth then shows the most the large run could have grown.
  const peaks = small.flatMap((r) => (usable(r)?.peakRssMb === undefined ? [] : [r.peakRssMb!]));
  const out: PeakRss = { smallRows: small[0]?.rows ?? 0, largeRows: large.rows };
  if (peaks.length > 0) out.smallMb = Math.min(...peaks);
  const l = usable(large)?.peakRssMb;
  if (l !== undefined) out.largeMb = l;
  if (out.smallMb !== undefined && l !== undefined) out.growth = l / out.smallMb - 1;
  return out;
}

/** Computes every headline. */
export function headlines(runs: NamedRuns): Headlines {
  const h: Headlines = { realistic: [], contention: [], emulatorBusy: [] };
  const st = runs.startup;
  if (runs.cpuRest.length > 0)
    h.cpu = cpuPairs(runs.cpuRest, runs.cpuFloor, { a: st.connectorCpuMs, b: st.floorCpuMs });

  if (runs.flatSeed !== undefined || runs.flatFixed !== undefined) {
    const seed = usable(runs.flatSeed)?.rowsPerSec;
    const fixed = usable(runs.flatFixed)?.rowsPerSec;
    const flat: NonNullable<Headlines['flat']> = {
      fixedLevel:
        runs.flatFixed?.settings?.parallel === 'auto' ? 0 : (runs.flatFixed?.settings?.parallel ?? 0),
    };
    if (seed !== undefined) flat.seedRowsPerSec = seed;
    if (fixed !== undefined) flat.fixedRowsPerSec = fixed;
    const r = ratio(fixed, seed);
    if (r !== undefined) flat.ratio = r;
    h.flat = flat;
  }

  for (const run of [runs.seed, runs.fixed, runs.auto, runs.bulk]) {
    if (run !== undefined) h.realistic.push(throughputRow(run));
  }
  const seedRow = h.realistic.find((r) => r.run === runs.seed?.name);
  const fixedRow = h.realistic.find((r) => r.run === runs.fixed?.name);
  if (seedRow !== undefined && fixedRow !== undefined) {
    const rr: NonNullable<Headlines['realisticRatio']> = {};
    if (usable(runs.seed) && usable(runs.fixed)) rr.measured = fixedRow.rowsPerSec / seedRow.rowsPerSec;
    const c = ratio(fixedRow.ceilingRowsPerSec, seedRow.ceilingRowsPerSec);
    if (c !== undefined) rr.ceiling = c;
    h.realisticRatio = rr;
  }

  const auto = usable(runs.auto);
  if (auto !== undefined) {
    const steps = stepsOf(auto)!;
    const max = auto.settings?.maxParallel ?? 10;
    const climb: AutoClimb = { maxParallel: max };
    const reached = firstReached(steps, max);
    if (reached !== undefined) {
      climb.reachedMs = reached;
      const calls = callsAt(auto.samples ?? [], reached);
      if (calls !== undefined) climb.reachedAtCall = calls;
      const atMax = rowsPerSecBetween(auto.samples ?? [], reached, auto.wallMs);
      if (atMax !== undefined) climb.rowsPerSecAtMax = atMax;
    }
    const r = ratio(auto.rowsPerSec, usable(runs.fixed)?.rowsPerSec);
    if (r !== undefined) climb.ratioToFixed = r;
    h.autoClimb = climb;
  }

  for (const run of [...runs.contentionFixed, runs.contentionReference, runs.contentionAuto]) {
    if (run !== undefined) h.contention.push(throughputRow(run));
  }
  if (runs.contentionAuto !== undefined) {
    const c: ContentionHeadline = {};
    const fixed = runs.contentionFixed.flatMap((r) => (usable(r) ? [r] : []));
    const best = fixed.reduce<RunResult | undefined>(
      (b, r) => (b === undefined || r.rowsPerSec > b.rowsPerSec ? r : b),
      undefined,
    );
    const a = usable(runs.contentionAuto);
    if (best !== undefined) c.best = { run: best.name, rowsPerSec: best.rowsPerSec };
    const share = ratio(a?.rowsPerSec, best?.rowsPerSec);
    if (share !== undefined) c.autoShareOfBest = share;
    if (a?.emulator !== undefined) {
      c.autoLockErrors = a.emulator.lockErrors;
      c.autoNotStored = a.rows - a.emulator.stored;
    }
    if (a?.rejected !== undefined) c.autoRejected = a.rejected;
    const ref = usable(runs.contentionReference);
    if (ref?.emulator !== undefined) {
      c.referenceRun = ref.name;
      c.referenceLockErrors = ref.emulator.lockErrors;
    }
    const steady = (r: RunResult | undefined): number | undefined =>
      r === undefined ? undefined : rowsPerSecUntil(r.samples ?? [], r.rows, STEADY_SHARE);
    for (const r of fixed) {
      const v = steady(r);
      if (v !== undefined && (c.steadyBest === undefined || v > c.steadyBest.rowsPerSec))
        c.steadyBest = { run: r.name, rowsPerSec: v };
    }
    const autoSteady = steady(a);
    if (autoSteady !== undefined) c.autoSteadyRowsPerSec = autoSteady;
    const steadyShare = ratio(autoSteady, c.steadyBest?.rowsPerSec);
    if (steadyShare !== undefined) c.autoSteadyShareOfBest = steadyShare;
    h.contentionHeadline = c;
  }
  const autoRuns = [runs.auto, runs.contentionAuto].flatMap((r) =>
    usable(r)?.emulator === undefined ? [] : [r!.emulator!.longestRequestMs],
  );
  if (autoRuns.length > 0) h.autoLongestMs = Math.max(...autoRuns);

  const restLarge = usable(runs.scaleRest);
  const restRef = usable(runs.fixed) ?? usable(runs.auto);
  if (restLarge?.emulator !== undefined) {
    h.restApiPerMillion = {
      value: (restLarge.emulator.apiUsed * 1_000_000) / restLarge.rows,
      fromRows: restLarge.rows,
    };
  } else if (restRef?.emulator !== undefined) {
    h.restApiPerMillion = {
      value: (restRef.emulator.apiUsed * 1_000_000) / restRef.rows,
      fromRows: restRef.rows,
    };
  }
  const restRss = peakRss(runs.cpuRest, runs.scaleRest);
  if (restRss !== undefined) h.restPeakRss = restRss;

  const bulkRuns = [...runs.cpuBulk, runs.bulk, runs.bulkLarge].flatMap((r) => (r ? [r] : []));
  if (bulkRuns.length > 0) {
    const b: BulkHeadline = {
      jobs: bulkRuns.reduce((n, r) => n + (r.emulator?.bulk.jobsCreated ?? 0), 0),
    };
    if (runs.cpuBulk.length > 0) b.cpu = cpuPairs(runs.cpuBulk, runs.cpuRest);
    const large = runs.bulkLarge;
    if (large !== undefined) {
      const e = usable(large)?.emulator;
      const l: NonNullable<BulkHeadline['large']> = { rows: large.rows, wallMs: large.wallMs };
      if (e !== undefined) {
        l.apiUsed = e.apiUsed;
        l.apiPerMillion = (e.apiUsed * 1_000_000) / large.rows;
        l.batches = e.bulk.batchesProcessed;
        l.jobs = e.bulk.jobsCreated;
        l.polls = e.bulk.polls;
        l.uploads = e.bulk.uploads;
        l.resultGets = e.bulk.resultGets;
      }
      if (large.peakRssMb !== undefined) l.peakRssMb = large.peakRssMb;
      b.large = l;
      const rss = peakRss(runs.bulk ? [runs.bulk] : runs.cpuBulk, large);
      if (rss !== undefined) b.peakRss = rss;
    }
    b.sameLatency = [runs.bulk, runs.fixed, runs.auto].flatMap((r) =>
      usable(r) ? [{ run: r!.name, wallMs: r!.wallMs }] : [],
    );
    h.bulk = b;
  }

  // Only where throughput is judged: at latency 0 (CPU, scale) the emulator is busy by design, and
  // what is measured there is the connector's own CPU, not its pace.
  for (const run of runs.all) {
    if (run.kind === 'floor' || run.rows === 0 || run.emulator === undefined) continue;
    if (run.scenario === 'cpu' || run.scenario === 'scale' || run.scenario === 'startup') continue;
    h.emulatorBusy.push({ run: run.name, shareOfWall: run.emulator.cpuMs / run.wallMs });
  }
  return h;
}

const fmt = (value: number | undefined, digits = 0): string =>
  value === undefined || !Number.isFinite(value)
    ? 'n/a'
    : value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const times = (value: number | undefined, digits = 2): string =>
  value === undefined ? 'n/a' : `${fmt(value, digits)}×`;
const pct = (value: number | undefined, digits = 0): string =>
  value === undefined ? 'n/a' : `${fmt(value * 100, digits)} %`;
const spreadText = (s: Spread | undefined): string =>
  s === undefined ? 'n/a' : `${times(s.median)} (min ${times(s.min)}, max ${times(s.max)})`;

type Verdict = TargetVerdict['verdict'];
const judge = (measured: number | undefined, ok: (v: number) => boolean): Verdict =>
  measured === undefined ? 'NOT MEASURED' : ok(measured) ? 'PASS' : 'FAIL';

/** PASS/FAIL against PRODUCT.md section 11 and the issues' targets. */
export function targets(h: Headlines): TargetVerdict[] {
  const out: TargetVerdict[] = [];
  const add = (measure: string, target: string, measured: string, verdict: Verdict): void =>
    void out.push({ measure, target, measured, verdict });

  const api = h.restApiPerMillion;
  add(
    'API requests per 1,000,000 rows, REST path',
    `≤ ${fmt(TARGETS.restApiPerMillion)}`,
    api === undefined
      ? 'n/a'
      : `${fmt(api.value)}${api.fromRows === 1_000_000 ? '' : ` (from ${fmt(api.fromRows)} rows)`}`,
    judge(api?.value, (v) => v <= TARGETS.restApiPerMillion),
  );
  const bl = h.bulk?.large;
  const noBulk = h.bulk !== undefined && h.bulk.jobs === 0;
  add(
    'API requests per 1,000,000 rows, Bulk path, polls included',
    `≤ ${fmt(TARGETS.bulkApiPerMillion)}`,
    noBulk
      ? 'n/a: 0 Bulk jobs (the connector wrote through REST)'
      : bl?.apiPerMillion === undefined
        ? 'n/a'
        : `${fmt(bl.apiPerMillion)} (${fmt(bl.jobs)} jobs, ${fmt(bl.polls)} polls, ${fmt(bl.batches)} batches)`,
    noBulk ? 'NOT MEASURED' : judge(bl?.apiPerMillion, (v) => v <= TARGETS.bulkApiPerMillion),
  );
  add(
    `rows/s ÷ seed form, fixed ${h.flat?.fixedLevel ?? '?'} each, flat latency`,
    `≥ ${TARGETS.seedFormRatio}×`,
    times(h.flat?.ratio, 1),
    judge(h.flat?.ratio, (v) => v >= TARGETS.seedFormRatio),
  );
  const rr = h.realisticRatio;
  add(
    'rows/s ÷ seed form, same level, realistic latency model',
    `≥ ${TARGETS.seedFormRatio}×`,
    `${times(rr?.measured, 1)} (the model's ceiling: ${times(rr?.ceiling, 2)})`,
    judge(rr?.measured, (v) => v >= TARGETS.seedFormRatio),
  );
  const fixed = h.realistic.find(
    (r) => r.scenario === 'realistic' && r.maxLevel !== undefined && r.run.startsWith('fixed'),
  );
  add(
    `${fixed?.run ?? 'fixed level'}: rows/s ÷ its ceiling`,
    `≥ ${pct(TARGETS.fixedShareOfCeiling)}`,
    fixed?.share === undefined ? 'n/a' : `${pct(fixed.share, 1)} of ${fmt(fixed.ceilingRowsPerSec)} rows/s`,
    judge(fixed?.share, (v) => v >= TARGETS.fixedShareOfCeiling),
  );
  const climb = h.autoClimb;
  add(
    `auto reaches max_parallel_requests (${climb?.maxParallel ?? 10}) within its first calls`,
    `≤ ${TARGETS.autoClimbCalls} calls`,
    climb === undefined
      ? 'n/a'
      : climb.reachedMs === undefined
        ? 'never reached'
        : `at call ${fmt(climb.reachedAtCall)} (${fmt(climb.reachedMs / 1000, 1)} s)`,
    climb === undefined
      ? 'NOT MEASURED'
      : climb.reachedMs === undefined
        ? 'FAIL'
        : judge(climb.reachedAtCall, (v) => v <= TARGETS.autoClimbCalls),
  );
  add(
    'auto rows/s ÷ fixed rows/s, no contention',
    `≥ ${TARGETS.autoRatioToFixed}×`,
    times(climb?.ratioToFixed),
    judge(climb?.ratioToFixed, (v) => v >= TARGETS.autoRatioToFixed),
  );
  const c = h.contentionHeadline;
  add(
    'auto rows/s ÷ best fixed level, lock contention',
    `≥ ${pct(TARGETS.autoShareOfBest)}`,
    c?.best === undefined ? 'n/a' : `${pct(c.autoShareOfBest, 1)} of ${c.best.run}`,
    judge(c?.autoShareOfBest, (v) => v >= TARGETS.autoShareOfBest),
  );
  add(
    `the same, rows/s until ${pct(STEADY_SHARE)} of the rows were stored (no retry tail)`,
    `≥ ${pct(TARGETS.autoShareOfBest)}`,
    c?.steadyBest === undefined ? 'n/a' : `${pct(c.autoSteadyShareOfBest, 1)} of ${c.steadyBest.run}`,
    judge(c?.autoSteadyShareOfBest, (v) => v >= TARGETS.autoShareOfBest),
  );
  add(
    `auto lock errors < ${c?.referenceRun ?? 'fixed max_parallel_requests'}'s, lock contention`,
    'fewer',
    c === undefined ? 'n/a' : `${fmt(c.autoLockErrors)} vs ${fmt(c.referenceLockErrors)}`,
    c?.autoLockErrors === undefined || c.referenceLockErrors === undefined
      ? 'NOT MEASURED'
      : c.autoLockErrors < c.referenceLockErrors
        ? 'PASS'
        : 'FAIL',
  );
  add(
    'auto under lock contention: every row stored',
    '0 not stored',
    c?.autoNotStored === undefined
      ? 'n/a'
      : `${fmt(c.autoNotStored)} not stored${c.autoRejected ? ` (${fmt(c.autoRejected)} rejected)` : ''}`,
    judge(c?.autoNotStored, (v) => v === 0),
  );
  add(
    'longest call of auto',
    `< ${fmt(TARGETS.longCallMs / 1000)} s`,
    h.autoLongestMs === undefined ? 'n/a' : `${fmt(h.autoLongestMs / 1000, 2)} s`,
    judge(h.autoLongestMs, (v) => v < TARGETS.longCallMs),
  );

  const cpu = h.cpu;
  const enough = (cpu?.pairs.length ?? 0) >= TARGETS.cpuPairs;
  const cpuVerdict = (s: Spread | undefined): Verdict =>
    enough ? judge(s?.median, (v) => v <= TARGETS.cpuRatio) : 'NOT MEASURED';
  add(
    `CPU per row, connector ÷ floor, total (${fmt(cpu?.rows)} rows, median of ${cpu?.pairs.length ?? 0} pairs)`,
    `≤ ${TARGETS.cpuRatio}×`,
    spreadText(cpu?.ratio),
    cpuVerdict(cpu?.ratio),
  );
  add(
    `CPU per row, connector ÷ floor, marginal (${fmt(cpu?.rows)} rows)`,
    `≤ ${TARGETS.cpuRatio}×`,
    spreadText(cpu?.marginal),
    cpuVerdict(cpu?.marginal),
  );
  const bc = h.bulk?.cpu;
  add(
    'CPU per row, Bulk path ÷ REST path',
    '≤ 1×',
    noBulk ? 'n/a: 0 Bulk jobs (the connector wrote through REST)' : spreadText(bc?.ratio),
    noBulk ? 'NOT MEASURED' : judge(bc?.ratio?.median, (v) => v <= 1),
  );
  const rssRows = (label: string, p: PeakRss | undefined, missing: string, skip = false): void => {
    add(
      `peak RSS flat from ${fmt(p?.smallRows ?? 100_000)} to ${fmt(p?.largeRows ?? 1_000_000)} rows, ${label}`,
      `growth ≤ ${FLAT_RSS_TOLERANCE * 100} %`,
      skip
        ? missing
        : p?.growth === undefined
          ? missing
          : `${fmt(p.smallMb)} → ${fmt(p.largeMb)} MB (${p.growth >= 0 ? '+' : ''}${fmt(p.growth * 100, 1)} %)`,
      skip ? 'NOT MEASURED' : judge(p?.growth, (v) => v <= FLAT_RSS_TOLERANCE),
    );
    add(
      `peak RSS at ${fmt(p?.largeRows ?? 1_000_000)} rows, ${label}`,
      `≤ ${TARGETS.maxRssMb} MB`,
      skip ? missing : p?.largeMb === undefined ? missing : `${fmt(p.largeMb)} MB`,
      skip || (p !== undefined && p.largeRows < 1_000_000)
        ? 'NOT MEASURED'
        : judge(p?.largeMb, (v) => v <= TARGETS.maxRssMb),
    );
  };
  rssRows('REST path', h.restPeakRss, 'n/a (run with --scale)');
  rssRows('Bulk path', h.bulk?.peakRss, noBulk ? 'n/a: 0 Bulk jobs' : 'n/a', noBulk);
  return out;
}

function table(header: string[], rows: string[][], rightAligned: (col: number) => boolean): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => (rightAligned(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

/** `1020×4 rest`, `1020×auto≤10 rest`, `1020 bulk`, `25 single×4`. */
export function settingsText(run: RunResult): string {
  if (run.kind === 'seed-form' && run.seedForm !== undefined)
    return `${run.seedForm.perCall} single×${run.seedForm.parallel}`;
  const s = run.settings;
  if (s === undefined) return '-';
  const level = s.parallel === 'auto' ? `auto≤${s.maxParallel ?? 10}` : String(s.parallel);
  return `${s.recordsPerRequest}×${level} ${s.writeApi}`;
}

/** `0`, `150`, `150+3/rec`, `150+3/rec lock`. */
export function latencyText(model: LatencyModel | undefined): string {
  if (model === undefined) return '-';
  const base = model.perRecordMs > 0 ? `${model.baseMs}+${model.perRecordMs}/rec` : `${model.baseMs}`;
  return model.contention ? `${base} lock` : base;
}

const cpuText = (r: RunResult): string =>
  r.cpuMs === undefined
    ? 'n/a'
    : `${fmt(r.cpuMs / 1000, 2)} (${fmt((r.cpuUserMs ?? 0) / 1000, 2)}+${fmt((r.cpuSystemMs ?? 0) / 1000, 2)})`;
const exitText = (r: RunResult): string =>
  r.timedOut ? 'timeout' : r.signal !== null ? r.signal : String(r.exitCode);

/** The CPU runs (no latency): start-up, the interleaved pairs, the scale runs. */
export function cpuTable(runs: readonly RunResult[]): string {
  const header = [
    'run',
    'rows',
    'settings',
    'exit',
    'wall s',
    'CPU s (user+sys)',
    'µs/row',
    'peak RSS MB',
    'API used',
    'Bulk jobs',
    'emulator CPU s',
  ];
  const rows = runs.map((r) => [
    r.name,
    fmt(r.rows),
    settingsText(r),
    exitText(r),
    fmt(r.wallMs / 1000, 2),
    cpuText(r),
    r.rows === 0 || r.cpuMs === undefined ? '-' : fmt((r.cpuMs * 1000) / r.rows, 1),
    fmt(r.peakRssMb, 0),
    r.emulator ? fmt(r.emulator.apiUsed) : '-',
    r.emulator ? fmt(r.emulator.bulk.jobsCreated) : '-',
    r.emulator ? fmt(r.emulator.cpuMs / 1000, 2) : '-',
  ]);
  return table(header, rows, (i) => i !== 0 && i !== 2);
}

/** The runs under a latency model: rows/s, level, ceiling, share, API requests, locks, longest call. */
export function throughputTable(runs: readonly RunResult[]): string {
  const header = [
    'run',
    'latency ms',
    'settings',
    'rows',
    'exit',
    'wall s',
    'rows/s',
    'level',
    'ceiling rows/s',
    'share',
    'API used',
    'per 1k rows',
    'lock errors',
    'not stored',
    'longest call s',
    'CPU s',
    'peak RSS MB',
    'emu % wall',
  ];
  const rows = runs.map((run) => {
    const t = throughputRow(run);
    const level =
      t.level === undefined
        ? '-'
        : t.maxLevel !== undefined && Math.abs(t.maxLevel - t.level) > 0.05
          ? `${fmt(t.level, 1)} (≤${t.maxLevel})`
          : fmt(t.level, 0);
    return [
      run.name,
      latencyText(run.latency),
      settingsText(run),
      fmt(run.rows),
      exitText(run),
      fmt(run.wallMs / 1000, 1),
      fmt(run.rowsPerSec),
      level,
      fmt(t.ceilingRowsPerSec),
      pct(t.share, 1),
      fmt(t.apiUsed),
      fmt(t.apiPer1000Rows, 2),
      fmt(t.lockErrors),
      fmt(t.notStored),
      t.longestRequestMs === undefined ? 'n/a' : fmt(t.longestRequestMs / 1000, 2),
      run.cpuMs === undefined ? 'n/a' : fmt(run.cpuMs / 1000, 2),
      fmt(run.peakRssMb),
      run.emulator ? pct(run.emulator.cpuMs / run.wallMs) : '-',
    ];
  });
  return table(header, rows, (i) => i !== 0 && i !== 1 && i !== 2);
}

/** Headlines and verdicts as text. */
export function headlineText(h: Headlines, verdicts: TargetVerdict[], startup: StartupCost): string {
  const lines: string[] = [];
  lines.push(
    `Start-up CPU (0 rows, median of ${startup.connectorRunsMs.length}): connector ${fmt(startup.connectorCpuMs)} ms [${startup.connectorRunsMs.map((v) => fmt(v)).join(', ')}], floor ${fmt(startup.floorCpuMs)} ms [${startup.floorRunsMs.map((v) => fmt(v)).join(', ')}]`,
  );
  if (h.cpu !== undefined) {
    const c = h.cpu;
    lines.push(
      `CPU per row at ${fmt(c.rows)} rows, latency 0, ${c.pairs.length} interleaved (connector, floor) pairs: connector ${fmt(c.aUsPerRow, 1)} µs, floor ${fmt(c.bUsPerRow, 1)} µs (medians); connector ÷ floor per pair ${c.pairs.map((p) => fmt(p.ratio, 2)).join(', ')} → ${spreadText(c.ratio)}; marginal ${spreadText(c.marginal)}`,
    );
  }
  if (h.flat !== undefined) {
    const f = h.flat;
    lines.push(
      `Flat latency (base only): fixed ${f.fixedLevel} ${fmt(f.fixedRowsPerSec)} rows/s, seed form ${fmt(f.seedRowsPerSec)} rows/s: ${times(f.ratio, 1)}`,
    );
  }
  for (const t of [...h.realistic, ...h.contention]) {
    if (t.ceilingRowsPerSec === undefined) continue;
    lines.push(
      `${t.run}: ${fmt(t.rowsPerSec)} rows/s at level ${fmt(t.level, 1)}; ceiling ${fmt(t.level, 1)} × ${fmt(t.recordsPerCall)} ÷ ${fmt(t.callMs)} ms = ${fmt(t.ceilingRowsPerSec)} rows/s; share ${pct(t.share, 1)}`,
    );
  }
  if (h.realisticRatio !== undefined) {
    lines.push(
      `Realistic model, fixed ÷ seed form at the same level: ${times(h.realisticRatio.measured, 2)} measured, ${times(h.realisticRatio.ceiling, 2)} the model's ceiling (per-record latency dominates a full call)`,
    );
  }
  if (h.autoClimb !== undefined) {
    const a = h.autoClimb;
    lines.push(
      `auto, no contention: ${a.reachedMs === undefined ? `never reached ${a.maxParallel}` : `reached ${a.maxParallel} at ${fmt(a.reachedMs / 1000, 1)} s, after ~${fmt(a.reachedAtCall)} calls; ${fmt(a.rowsPerSecAtMax)} rows/s from then on`}; whole run ÷ fixed: ${times(a.ratioToFixed)}`,
    );
  }
  if (h.contentionHeadline !== undefined) {
    const c = h.contentionHeadline;
    lines.push(
      `Lock contention: best fixed ${c.best?.run ?? 'n/a'} ${fmt(c.best?.rowsPerSec)} rows/s; auto ${pct(c.autoShareOfBest, 1)} of it; lock errors auto ${fmt(c.autoLockErrors)}, ${c.referenceRun ?? 'reference'} ${fmt(c.referenceLockErrors)}; auto rows not stored ${fmt(c.autoNotStored)}`,
    );
    lines.push(
      `Lock contention until ${pct(STEADY_SHARE)} of the rows were stored (the retry pauses of the last locked rows left out): best fixed ${c.steadyBest?.run ?? 'n/a'} ${fmt(c.steadyBest?.rowsPerSec)} rows/s; auto ${fmt(c.autoSteadyRowsPerSec)} rows/s, ${pct(c.autoSteadyShareOfBest, 1)} of it`,
    );
  }
  if (h.autoLongestMs !== undefined) lines.push(`Longest call of auto: ${fmt(h.autoLongestMs / 1000, 2)} s`);
  if (h.bulk !== undefined) {
    const b = h.bulk;
    if (b.jobs === 0) {
      lines.push(
        'Bulk runs (write_api bulk): 0 Bulk jobs — the connector wrote through REST, so no Bulk figure is a Bulk figure.',
      );
    }
    if (b.cpu !== undefined)
      lines.push(
        `CPU per row, Bulk ÷ REST (${b.cpu.pairs.length} pairs): ${spreadText(b.cpu.ratio)}; Bulk ${fmt(b.cpu.aUsPerRow, 1)} µs, REST ${fmt(b.cpu.bUsPerRow, 1)} µs`,
      );
    if (b.large !== undefined) {
      const l = b.large;
      lines.push(
        `Bulk at ${fmt(l.rows)} rows: ${fmt(l.apiUsed)} API requests (${fmt(l.jobs)} jobs, ${fmt(l.uploads)} uploads, ${fmt(l.polls)} polls, ${fmt(l.resultGets)} result GETs), ${fmt(l.batches)} Bulk batches, ${fmt(l.wallMs / 1000, 1)} s wall, peak RSS ${fmt(l.peakRssMb)} MB`,
      );
    }
    if (b.sameLatency !== undefined && b.sameLatency.length > 0)
      lines.push(
        `Wall time at the same latency: ${b.sameLatency.map((s) => `${s.run} ${fmt(s.wallMs / 1000, 1)} s`).join(', ')}`,
      );
  }
  if (h.restPeakRss !== undefined) {
    const p = h.restPeakRss;
    lines.push(
      `Peak RSS, REST path: ${fmt(p.smallMb)} MB at ${fmt(p.smallRows)} rows, ${fmt(p.largeMb)} MB at ${fmt(p.largeRows)} rows`,
    );
  }
  for (const e of h.emulatorBusy) {
    if (e.shareOfWall > EMULATOR_BUSY_SHARE)
      lines.push(
        `WARNING: the emulator used ${pct(e.shareOfWall)} of one core during "${e.run}": it may be the bottleneck, not the connector.`,
      );
  }
  lines.push('');
  lines.push(
    table(
      ['target', 'wanted', 'measured', 'verdict'],
      verdicts.map((v) => [v.measure, v.target, v.measured, v.verdict]),
      () => false,
    ),
  );
  return lines.join('\n');
}
