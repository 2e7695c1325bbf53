import { describe, expect, it } from '@jest/globals';
import { cpuPerRow, headlines, median, type RunResult, type StartupCost } from './report.js';

function run(
  name: string,
  kind: RunResult['kind'],
  cpuMs: number,
  extra: Partial<RunResult> = {},
): RunResult {
  return {
    name,
    kind,
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

const startup: StartupCost = {
  connectorCpuMs: 300,
  connectorRunsMs: [300],
  floorCpuMs: 100,
  floorRunsMs: [100],
};

describe('median', () => {
  it('takes the middle value, or the mean of the two middle values', () => {
    expect(median([])).toBeUndefined();
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });
});

describe('cpuPerRow', () => {
  it('compares the median connector run with the median floor run, not one run with a median', () => {
    const c = cpuPerRow(
      [
        run('default', 'connector', 2600),
        run('default #2', 'connector', 2000),
        run('default #3', 'connector', 2100),
      ],
      [run('floor #1', 'floor', 900), run('floor #2', 'floor', 1000), run('floor #3', 'floor', 700)],
      startup,
    );
    expect(c.connectorRunsMs).toEqual([2600, 2000, 2100]);
    expect(c.connectorTotalUs).toBeCloseTo(21);
    expect(c.floorTotalUs).toBeCloseTo(9);
    expect(c.ratioTotal).toBeCloseTo(2100 / 900);
    expect(c.ratioMarginal).toBeCloseTo((2100 - 300) / (900 - 100));
    expect([c.connectorRuns, c.floorRuns]).toEqual([3, 3]);
  });

  it('leaves out runs that had problems, on both sides', () => {
    const c = cpuPerRow(
      [run('default', 'connector', 500, { problems: ['exit code 1'] }), run('default #2', 'connector', 2000)],
      [run('floor #1', 'floor', 100, { problems: ['saw 5 records'] }), run('floor #2', 'floor', 1000)],
      startup,
    );
    expect(c.connectorRunsMs).toEqual([2000]);
    expect(c.floorRunsMs).toEqual([1000]);
    expect(c.ratioTotal).toBeCloseTo(2);
  });
});

describe('headlines', () => {
  it('takes throughput from the median default run and flatness from its lowest peak RSS', () => {
    const defaults = [
      run('default', 'connector', 2000, { rowsPerSec: 15_000, peakRssMb: 140, apiPer1000Rows: 1 }),
      run('default #2', 'connector', 2000, { rowsPerSec: 17_000, peakRssMb: 130, apiPer1000Rows: 1 }),
      run('default #3', 'connector', 2000, { rowsPerSec: 16_000, peakRssMb: 135, apiPer1000Rows: 1 }),
    ];
    const per25 = run('25-per-call', 'connector', 11_000, { rowsPerSec: 640, apiPer1000Rows: 40 });
    const scale = run('default @1,000,000', 'connector', 15_000, { rows: 1_000_000, peakRssMb: 156 });
    const h = headlines(
      {
        defaultRuns: defaults,
        per25Run: per25,
        floorRuns: [run('floor #1', 'floor', 900)],
        scaleRun: scale,
        scaleFloorRuns: [run('floor @1,000,000 #1', 'floor', 7000, { rows: 1_000_000 })],
      },
      [...defaults, per25, scale],
      startup,
    );
    expect(h.rowsPerSec).toEqual({ default: 16_000, per25: 640, ratio: 25 });
    expect(h.apiPer1000Rows).toEqual({ default: 1, per25: 40, ratio: 40 });
    expect(h.peakRss).toMatchObject({ smallMb: 130, largeMb: 156 });
    expect(h.peakRss?.growth).toBeCloseTo(0.2);
    expect(h.cpuPerRow.map((c) => c.rows)).toEqual([100_000, 1_000_000]);
  });
});
