import { describe, expect, it } from '@jest/globals';
import { chartData, chartSpec, renderSvg } from './chart.js';
import type { RunResult } from './report.js';
import type { Sample } from './timeline.js';

const samples = (perSecond: number, lockErrorsPerSecond: number): Sample[] =>
  Array.from({ length: 41 }, (_, i) => ({
    t: i * 500,
    stored: Math.floor((i * perSecond) / 2),
    lockErrors: Math.floor((i * lockErrorsPerSecond) / 2),
    apiUsed: i,
    composite: i,
    inFlight: 4,
  }));

function run(name: string, parallel: number | 'auto', extra: Partial<RunResult> = {}): RunResult {
  return {
    name,
    kind: 'connector',
    scenario: 'contention',
    rows: 20_000,
    settings: { recordsPerRequest: 1_020, parallel, writeApi: 'rest' },
    latency: { baseMs: 150, perRecordMs: 3 },
    exitCode: 0,
    signal: null,
    timedOut: false,
    wallMs: 20_000,
    rowsPerSec: 1_000,
    benchCpuMs: 0,
    problems: [],
    samples: samples(1_000, 20),
    ...extra,
  };
}

const runs = [
  run('fixed 4 (lock)', 4),
  run('auto (lock)', 'auto', {
    settings: { recordsPerRequest: 1_020, parallel: 'auto', maxParallel: 10, writeApi: 'rest' },
    levels: [
      { t: 4_000, from: 2, to: 4 },
      { t: 9_000, from: 4, to: 3, reason: 'cut: lock errors' },
    ],
  }),
];

describe('the chart', () => {
  it('holds each run’s level to its end, and rates from its samples', () => {
    const data = chartData(runs);
    const autoLevels = data.filter((p) => p.run.startsWith('auto') && p.measure === 'level');
    expect(autoLevels.map((p) => [p.t, p.value])).toEqual([
      [0, 2],
      [4, 4],
      [9, 3],
      [20, 3],
    ]);
    const rows = data.filter((p) => p.run.startsWith('fixed 4') && p.measure === 'rows/s');
    // A steady 1,000 rows and 20 lock errors a second, to the last sample.
    expect(rows.at(-1)?.value).toBeCloseTo(1_000, -1);
    expect(data.filter((p) => p.measure === 'lock errors/s').at(-1)?.value).toBeCloseTo(20, 0);
  });

  it('renders to an SVG naming every run, with a line per run and measure', async () => {
    const svg = await renderSvg(chartSpec(runs, 'auto beside fixed levels', ['a subtitle']));
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('auto beside fixed levels');
    expect(svg).toContain('fixed 4 (lock) (1020×4 rest)');
    expect(svg).toContain('auto (lock) (1020×auto≤10 rest)');
    expect(svg).toContain('UNABLE_TO_LOCK_ROW per s');
    // 2 runs × (level, in flight, rows/s, lock errors/s).
    expect(svg.match(/<path[^>]*aria-roledescription="line mark"/g)?.length ?? 0).toBeGreaterThanOrEqual(8);
  });
});
