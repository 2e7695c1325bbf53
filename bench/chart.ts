/**
 * The benchmark's chart (bench/results/*.svg): for the runs of one scenario, side by side over time,
 * the calls in flight (the level the connector chose, from its log, and what the emulator saw), rows/s
 * and lock errors/s. Written as a Vega-Lite spec and rendered to SVG by Vega in Node (no browser, no
 * canvas: text is measured by Vega's own estimate).
 */
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { callMs, settingsText, stepsOf, type RunResult } from './report.js';
import { rates } from './timeline.js';

/** The narrowest smoothing of the rates drawn (the seed form's calls take a fraction of it). */
export const MIN_SMOOTHING_MS = 1_000;

/** The width of the kernel that smooths a run's rates: one full call's latency under its model. */
export function smoothingMs(run: RunResult): number {
  const records =
    run.kind === 'seed-form' ? (run.seedForm?.perCall ?? 25) : (run.settings?.recordsPerRequest ?? 0);
  return Math.max(MIN_SMOOTHING_MS, run.latency === undefined ? 0 : callMs(run.latency, records));
}

/** One point of the chart's data (long form: one row per run, time and measure). */
export interface ChartPoint {
  run: string;
  /** seconds since the run's process was started */
  t: number;
  measure: 'level' | 'in flight' | 'rows/s' | 'lock errors/s';
  value: number;
}

/** The chart's data for some runs: level steps (to the end of each run) and the sampled rates. */
export function chartData(runs: readonly RunResult[]): ChartPoint[] {
  const points: ChartPoint[] = [];
  for (const run of runs) {
    const name = `${run.name} (${settingsText(run)})`;
    const steps = stepsOf(run);
    if (steps !== undefined) {
      for (const s of steps) points.push({ run: name, t: s.t / 1000, measure: 'level', value: s.level });
      // The last level holds until the process ends.
      points.push({ run: name, t: run.wallMs / 1000, measure: 'level', value: steps.at(-1)!.level });
    }
    for (const r of rates(run.samples ?? [], smoothingMs(run))) {
      const t = r.t / 1000;
      points.push({ run: name, t, measure: 'in flight', value: r.inFlight });
      points.push({ run: name, t, measure: 'rows/s', value: Math.round(r.rowsPerSec) });
      points.push({
        run: name,
        t,
        measure: 'lock errors/s',
        value: Math.round(r.lockErrorsPerSec * 10) / 10,
      });
    }
  }
  return points;
}

/** The Vega-Lite spec: three panels sharing the time axis and the colour of each run. */
export function chartSpec(runs: readonly RunResult[], title: string, subtitle: string[]): TopLevelSpec {
  const values = chartData(runs);
  const names = [...new Set(values.map((p) => p.run))];
  const end = Math.max(1, ...values.map((p) => p.t));
  const x = {
    field: 't',
    type: 'quantitative' as const,
    title: 'seconds since the process started',
    scale: { domain: [0, Math.ceil(end)] },
  };
  const color = {
    field: 'run',
    type: 'nominal' as const,
    title: null,
    scale: { domain: names },
    legend: { orient: 'top' as const, columns: 3, labelLimit: 320 },
  };
  const panel = (measure: ChartPoint['measure'], yTitle: string) => {
    // A panel of zeros (no lock errors without contention) keeps an axis from 0 to 1, not a lone "0".
    const top = Math.max(0, ...values.filter((p) => p.measure === measure).map((p) => p.value));
    return {
      width: 760,
      height: 150,
      transform: [{ filter: { field: 'measure', equal: measure } }],
      mark: { type: 'line' as const, strokeWidth: 1.5, interpolate: 'linear' as const },
      encoding: {
        x,
        y: {
          field: 'value',
          type: 'quantitative' as const,
          title: yTitle,
          axis: { format: ',~r' },
          ...(top === 0 ? { scale: { domain: [0, 1] } } : {}),
        },
        color,
      },
    };
  };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: title, subtitle, anchor: 'start' },
    data: { values },
    background: 'white',
    vconcat: [
      {
        width: 760,
        height: 150,
        layer: [
          {
            transform: [{ filter: { field: 'measure', equal: 'in flight' } }],
            mark: { type: 'line', strokeWidth: 1, strokeDash: [3, 3], opacity: 0.7 },
            encoding: { x, y: { field: 'value', type: 'quantitative', title: 'calls in flight' }, color },
          },
          {
            transform: [{ filter: { field: 'measure', equal: 'level' } }],
            mark: { type: 'line', strokeWidth: 2.5, interpolate: 'step-after' },
            encoding: { x, y: { field: 'value', type: 'quantitative' }, color },
          },
        ],
      },
      panel('rows/s', 'rows stored per s'),
      panel('lock errors/s', 'UNABLE_TO_LOCK_ROW per s'),
    ],
    resolve: { scale: { color: 'shared' }, legend: { color: 'shared' } },
    config: { font: 'DejaVu Sans, Arial, sans-serif', legend: { labelFontSize: 11 } },
  };
}

/** Renders a Vega-Lite spec to SVG text. */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
