import { describe, expect, it } from '@jest/globals';
import { emptyBulkStats } from '../integration_tests/emulator/core.js';
import type { BulkStats } from '../integration_tests/emulator/types.js';
import type { Sample } from './timeline.js';
import {
  ceilingRowsPerSec,
  cpuPairs,
  headlines,
  median,
  spread,
  targets,
  throughputRow,
  type EmulatorFigures,
  type LatencyModel,
  type NamedRuns,
  type RunResult,
} from './report.js';

const REALISTIC: LatencyModel = { baseMs: 150, perRecordMs: 3 };
const CONTENDED: LatencyModel = { ...REALISTIC, contention: { perWriter: 0.02, max: 0.5, seed: 1 } };

const noBulk: BulkStats = emptyBulkStats();

function emulator(extra: Partial<EmulatorFigures> = {}): EmulatorFigures {
  return {
    apiUsed: 99,
    apiRequests: 101,
    byKind: {},
    cpuMs: 100,
    stored: 100_000,
    lockErrors: 0,
    longestRequestMs: 3_300,
    bulk: noBulk,
    ...extra,
  };
}

function run(
  name: string,
  kind: RunResult['kind'],
  cpuMs: number,
  extra: Partial<RunResult> = {},
): RunResult {
  return {
    name,
    kind,
    scenario: 'cpu',
    rows: 100_000,
    exitCode: 0,
    signal: null,
    timedOut: false,
    wallMs: 1000,
    cpuMs,
    rowsPerSec: 100_000,
    benchCpuMs: 0,
    problems: [],
    ...extra,
  };
}

const fixed = (level: number, extra: Partial<RunResult> = {}): RunResult =>
  run(`fixed ${level}`, 'connector', 5_000, {
    scenario: 'realistic',
    settings: { recordsPerRequest: 1_020, parallel: level, writeApi: 'rest' },
    latency: REALISTIC,
    emulator: emulator(),
    ...extra,
  });

const auto = (extra: Partial<RunResult> = {}): RunResult =>
  run('auto', 'connector', 5_000, {
    scenario: 'realistic',
    settings: { recordsPerRequest: 1_020, parallel: 'auto', maxParallel: 10, writeApi: 'rest' },
    latency: REALISTIC,
    emulator: emulator(),
    ...extra,
  });

/** A fixed level's run under lock contention. */
const fixedUnderLock = (level: number, extra: Partial<RunResult>): RunResult =>
  fixed(level, { name: `fixed ${level} (lock)`, scenario: 'contention', latency: CONTENDED, ...extra });

const named = (extra: Partial<NamedRuns>): NamedRuns => ({
  startup: { connectorRunsMs: [], floorRunsMs: [] },
  cpuRest: [],
  cpuFloor: [],
  cpuBulk: [],
  contentionFixed: [],
  all: [],
  ...extra,
});

describe('median and spread', () => {
  it('take the middle value (or the mean of the two middle values), the smallest and the largest', () => {
    expect(median([])).toBeUndefined();
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(spread([3, 9, 1])).toEqual({ median: 3, min: 1, max: 9, values: [3, 9, 1] });
  });
});

describe('cpuPairs', () => {
  it('takes the ratio of each pair that ran back to back, then their median, min and max', () => {
    const c = cpuPairs(
      [2600, 2000, 2100, 2400, 2300].map((ms, i) => run(`REST #${i + 1}`, 'connector', ms)),
      [1000, 1000, 700, 1200, 1000].map((ms, i) => run(`floor #${i + 1}`, 'floor', ms)),
      { a: 300, b: 100 },
    );
    expect(c.pairs.map((p) => p.ratio)).toEqual([2.6, 2, 3, 2, 2.3]);
    expect(c.ratio).toMatchObject({ median: 2.3, min: 2, max: 3 });
    // Not the ratio of the medians (2,300 ÷ 1,000): one slow floor run moves one pair only.
    expect(c.pairs[0]!.marginal).toBeCloseTo(2300 / 900);
    expect(c.aUsPerRow).toBeCloseTo(23);
    expect(c.bUsPerRow).toBeCloseTo(10);
  });

  it('leaves out a pair whose either run had a problem', () => {
    const c = cpuPairs(
      [run('REST #1', 'connector', 500, { problems: ['exit 1'] }), run('REST #2', 'connector', 2000)],
      [run('floor #1', 'floor', 1000), run('floor #2', 'floor', 1000)],
    );
    expect(c.pairs.map((p) => p.a)).toEqual(['REST #2']);
    expect(c.marginal).toBeUndefined();
  });
});

describe('ceilings', () => {
  it('a full 1,020-record call at 150 ms + 3 ms per record takes 3,210 ms: 4 in flight allow 1,271 rows/s', () => {
    expect(ceilingRowsPerSec(4, 1_020, REALISTIC)).toBeCloseTo((4 * 1_020) / 3.21);
    // The seed form: 25 single-record subrequests, 150 + 75 ms.
    expect(ceilingRowsPerSec(4, 25, REALISTIC)).toBeCloseTo(100 / 0.225);
  });

  it('auto’s ceiling is at the level it held on average, from its logged changes', () => {
    // 2 for the first 10 s, then 10 for 30 s: mean 8.
    const row = throughputRow(
      auto({ wallMs: 40_000, rowsPerSec: 2_000, levels: [{ t: 10_000, from: 2, to: 10 }] }),
    );
    expect(row.level).toBeCloseTo(8);
    expect(row.maxLevel).toBe(10);
    expect(row.ceilingRowsPerSec).toBeCloseTo((8 * 1_020) / 3.21);
    expect(row.share).toBeCloseTo(2_000 / ((8 * 1_020) / 3.21));
  });
});

describe('headlines and targets', () => {
  it('auto climbing: the call at which it reached its maximum, from the emulator’s samples', () => {
    const samples = [0, 5_000, 10_000, 15_000].map((t, i) => ({
      t,
      stored: i * 5_000,
      lockErrors: 0,
      apiUsed: i * 10,
      composite: i * 10,
      inFlight: 4,
    }));
    const h = headlines(
      named({
        fixed: fixed(4, { rowsPerSec: 1_200 }),
        auto: auto({ rowsPerSec: 2_880, wallMs: 15_000, samples, levels: [{ t: 7_500, from: 6, to: 10 }] }),
      }),
    );
    expect(h.autoClimb).toMatchObject({ maxParallel: 10, reachedMs: 7_500, reachedAtCall: 15 });
    expect(h.autoClimb?.ratioToFixed).toBeCloseTo(2.4);
    const verdicts = targets(h);
    expect(verdicts.find((v) => v.measure.startsWith('auto reaches'))?.verdict).toBe('PASS');
    expect(verdicts.find((v) => v.measure.startsWith('auto rows/s ÷ fixed'))?.verdict).toBe('PASS');
  });

  it('lock contention: auto against the best fixed level, its lock errors against fixed 10, rows not stored', () => {
    const contended = (level: number, rowsPerSec: number, lockErrors: number): RunResult =>
      fixedUnderLock(level, { rowsPerSec, emulator: emulator({ lockErrors }) });
    const h = headlines(
      named({
        contentionFixed: [
          contended(2, 400, 10),
          contended(4, 550, 60),
          contended(8, 620, 160),
          contended(16, 800, 430),
        ],
        contentionReference: contended(10, 610, 220),
        contentionAuto: auto({
          name: 'auto (lock)',
          scenario: 'contention',
          latency: CONTENDED,
          rowsPerSec: 600,
          emulator: emulator({ lockErrors: 150, stored: 99_990, longestRequestMs: 21_000 }),
          rejected: 10,
        }),
      }),
    );
    expect(h.contentionHeadline).toMatchObject({
      best: { run: 'fixed 16 (lock)', rowsPerSec: 800 },
      autoLockErrors: 150,
      referenceRun: 'fixed 10 (lock)',
      referenceLockErrors: 220,
      autoNotStored: 10,
      autoRejected: 10,
    });
    expect(h.contentionHeadline?.autoShareOfBest).toBeCloseTo(0.75);
    const verdict = (start: string): string | undefined =>
      targets(h).find((v) => v.measure.startsWith(start))?.verdict;
    expect(verdict('auto rows/s ÷ best fixed')).toBe('FAIL');
    expect(verdict('auto lock errors')).toBe('PASS');
    expect(verdict('auto under lock contention')).toBe('FAIL');
    expect(verdict('longest call of auto')).toBe('FAIL');
  });

  it('lock contention up to 95 % stored: the retry tail left out, the levels ranked by how fast they store', () => {
    const rows = 40_000;
    // Stores at `steady` rows/s until 95 % of the rows, then the tail until `wallMs`.
    const sample = (t: number, stored: number): Sample => ({
      t,
      stored,
      lockErrors: 0,
      apiUsed: 0,
      composite: 0,
      inFlight: 0,
    });
    const samplesOf = (steady: number, wallMs: number): Sample[] => {
      const t95 = ((0.95 * rows) / steady) * 1000;
      return [sample(0, 0), sample(t95 / 2, 0.475 * rows), sample(t95, 0.95 * rows), sample(wallMs, rows)];
    };
    const contended = (level: number, steady: number, wallMs: number): RunResult =>
      fixedUnderLock(level, {
        rows,
        wallMs,
        rowsPerSec: (rows * 1000) / wallMs,
        samples: samplesOf(steady, wallMs),
        emulator: emulator({ lockErrors: level * 100, stored: rows }),
      });
    const h = headlines(
      named({
        // Fixed 16 stores fastest but its last locked row waited longest: worst over the whole run.
        contentionFixed: [contended(8, 1_900, 30_000), contended(16, 3_000, 40_000)],
        contentionReference: contended(10, 2_300, 32_000),
        contentionAuto: auto({
          name: 'auto (lock)',
          scenario: 'contention',
          latency: CONTENDED,
          rows,
          wallMs: 31_000,
          rowsPerSec: (rows * 1000) / 31_000,
          samples: samplesOf(2_000, 31_000),
          emulator: emulator({ lockErrors: 700, stored: rows }),
        }),
      }),
    );
    const c = h.contentionHeadline!;
    expect(c.best?.run).toBe('fixed 8 (lock)');
    expect(c.autoShareOfBest).toBeCloseTo(30 / 31);
    expect(c.steadyBest?.run).toBe('fixed 16 (lock)');
    expect(c.steadyBest?.rowsPerSec).toBeCloseTo(3_000);
    expect(c.autoSteadyRowsPerSec).toBeCloseTo(2_000);
    expect(c.autoSteadyShareOfBest).toBeCloseTo(2 / 3);
    const verdict = (start: string): string | undefined =>
      targets(h).find((v) => v.measure.startsWith(start))?.verdict;
    expect(verdict('auto rows/s ÷ best fixed')).toBe('PASS');
    expect(verdict('the same, rows/s until 95 %')).toBe('FAIL');
  });

  it('judges no CPU ratio from fewer than 5 pairs, and no Bulk target when the Bulk runs made no Bulk job', () => {
    const h = headlines(
      named({
        cpuRest: [run('REST #1', 'connector', 2000)],
        cpuFloor: [run('floor #1', 'floor', 1000)],
        cpuBulk: [run('Bulk #1', 'connector', 2000, { emulator: emulator() })],
      }),
    );
    const verdicts = targets(h);
    expect(verdicts.find((v) => v.measure.startsWith('CPU per row, connector ÷ floor, total'))).toMatchObject(
      {
        measured: '2.00× (min 2.00×, max 2.00×)',
        verdict: 'NOT MEASURED',
      },
    );
    expect(verdicts.find((v) => v.measure.startsWith('CPU per row, Bulk'))).toMatchObject({
      verdict: 'NOT MEASURED',
    });
    expect(
      verdicts.find((v) => v.measure.startsWith('API requests per 1,000,000 rows, Bulk'))?.measured,
    ).toContain('0 Bulk jobs');
  });

  it('API requests per 1,000,000 rows of the REST path come from the 1,000,000-row run when there is one', () => {
    const small = fixed(4, { emulator: emulator({ apiUsed: 99 }) });
    expect(headlines(named({ fixed: small })).restApiPerMillion).toEqual({ value: 990, fromRows: 100_000 });
    const large = run('REST @1,000,000', 'connector', 16_000, {
      scenario: 'scale',
      rows: 1_000_000,
      emulator: emulator({ apiUsed: 982, stored: 1_000_000 }),
    });
    expect(headlines(named({ fixed: small, scaleRest: large })).restApiPerMillion).toEqual({
      value: 982,
      fromRows: 1_000_000,
    });
  });
});
