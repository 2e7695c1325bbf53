/**
 * What the benchmark reports: per-run figures, the headline ratios, and PASS/FAIL against the targets
 * of PRODUCT.md section 11. Pure functions over the measured runs, so the table printed and the JSON
 * written can never disagree.
 */

/** The connector settings of a connector run. */
export interface ConnectorSettings {
  recordsPerRequest: number;
  parallelRequests: number;
}

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
}

/** The figures of one measured process. */
export interface RunResult {
  name: string;
  kind: 'connector' | 'floor';
  rows: number;
  settings?: ConnectorSettings;
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
  statesEchoed?: number;
  statesExpected?: number;
  /** CPU of the benchmark process while the child ran (should be small: it only pipes the file). */
  benchCpuMs: number;
  /** Why this run's figures should not be trusted (non-zero exit, rows missing, …); empty when fine. */
  problems: string[];
}

/** Fixed start-up CPU: the median of a few runs on an input with no rows. */
export interface StartupCost {
  connectorCpuMs?: number;
  connectorRunsMs: number[];
  floorCpuMs?: number;
  floorRunsMs: number[];
}

/** CPU per row, in µs: total/N and (CPU(N) − CPU(0))/N. */
export interface CpuPerRow {
  rows: number;
  /** Connector runs whose median CPU is the connector's. */
  connectorRuns: number;
  /** Floor runs whose median CPU is the floor's. */
  floorRuns: number;
  /** Each usable run's CPU in ms, so the report shows how far the machine's noise spreads them. */
  connectorRunsMs: number[];
  floorRunsMs: number[];
  connectorTotalUs?: number;
  connectorMarginalUs?: number;
  floorTotalUs?: number;
  floorMarginalUs?: number;
  ratioTotal?: number;
  ratioMarginal?: number;
}

/** The headline ratios. */
export interface Headlines {
  apiPer1000Rows: { default?: number; per25?: number; ratio?: number };
  rowsPerSec: { default?: number; per25?: number; ratio?: number };
  cpuPerRow: CpuPerRow[];
  peakRss?: { smallRows: number; smallMb?: number; largeRows: number; largeMb?: number; growth?: number };
  emulator: Array<{
    run: string;
    emulatorCpuMs: number;
    connectorCpuMs?: number;
    ratio?: number;
    shareOfWall: number;
  }>;
}

/** One target of PRODUCT.md section 11. */
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
const MAX_RSS_MB_AT_1M = 200;

const ratio = (a: number | undefined, b: number | undefined): number | undefined =>
  a === undefined || b === undefined || b === 0 ? undefined : a / b;

const usable = (run: RunResult | undefined): RunResult | undefined =>
  run !== undefined && run.problems.length === 0 ? run : undefined;

/** The median of some values; undefined for none. */
export function median(values: number[]): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** The CPU in ms of each run that finished without problems. */
const cpuOf = (runs: RunResult[]): number[] =>
  runs.flatMap((r) => (usable(r)?.cpuMs !== undefined ? [r.cpuMs!] : []));

/**
 * CPU per row for the connector runs and the floor runs of one size, each side by its median: on a
 * shared machine one floor run alone has varied by half, and one connector run by a fifth, so both
 * run several times, alternating, and neither side's single luckiest or unluckiest run decides.
 */
export function cpuPerRow(connectors: RunResult[], floors: RunResult[], startup: StartupCost): CpuPerRow {
  const rows = connectors[0]?.rows ?? floors[0]?.rows ?? 0;
  const per = (cpu: number | undefined, base = 0): number | undefined =>
    cpu === undefined || rows === 0 ? undefined : ((cpu - base) * 1000) / rows;
  const connectorRunsMs = cpuOf(connectors);
  const floorRunsMs = cpuOf(floors);
  const connectorCpu = median(connectorRunsMs);
  const floorCpu = median(floorRunsMs);
  const connectorTotalUs = per(connectorCpu);
  const floorTotalUs = per(floorCpu);
  const connectorMarginalUs =
    startup.connectorCpuMs === undefined ? undefined : per(connectorCpu, startup.connectorCpuMs);
  const floorMarginalUs = startup.floorCpuMs === undefined ? undefined : per(floorCpu, startup.floorCpuMs);
  const out: CpuPerRow = {
    rows,
    connectorRuns: connectorRunsMs.length,
    floorRuns: floorRunsMs.length,
    connectorRunsMs,
    floorRunsMs,
  };
  const set = <K extends keyof CpuPerRow>(key: K, value: CpuPerRow[K] | undefined): void => {
    if (value !== undefined) out[key] = value;
  };
  set('connectorTotalUs', connectorTotalUs);
  set('connectorMarginalUs', connectorMarginalUs);
  set('floorTotalUs', floorTotalUs);
  set('floorMarginalUs', floorMarginalUs);
  set('ratioTotal', ratio(connectorTotalUs, floorTotalUs));
  set('ratioMarginal', ratio(connectorMarginalUs, floorMarginalUs));
  return out;
}

/** The runs the headlines compare, found by name. */
export interface NamedRuns {
  /** The default settings at the main size, run several times for the CPU ratio; API use is the first's. */
  defaultRuns: RunResult[];
  per25Run?: RunResult;
  floorRuns: RunResult[];
  scaleRun?: RunResult;
  scaleFloorRuns: RunResult[];
}

/** Computes the headline ratios. */
export function headlines(runs: NamedRuns, all: RunResult[], startup: StartupCost): Headlines {
  const d = usable(runs.defaultRuns[0]);
  const b = usable(runs.per25Run);
  const defaults = runs.defaultRuns.flatMap((r) => (usable(r) === undefined ? [] : [r]));
  const out: Headlines = {
    apiPer1000Rows: {},
    rowsPerSec: {},
    cpuPerRow: [cpuPerRow(runs.defaultRuns, runs.floorRuns, startup)],
    emulator: [],
  };
  const assign = <T extends object>(target: T, values: { [K in keyof T]?: T[K] | undefined }): void => {
    for (const [k, v] of Object.entries(values))
      if (v !== undefined) (target as Record<string, unknown>)[k] = v;
  };
  assign(out.apiPer1000Rows, {
    default: d?.apiPer1000Rows,
    per25: b?.apiPer1000Rows,
    ratio: ratio(b?.apiPer1000Rows, d?.apiPer1000Rows),
  });
  // Throughput by the median default run; the 25-per-call run takes minutes and runs once.
  const rowsPerSec = median(defaults.map((r) => r.rowsPerSec));
  assign(out.rowsPerSec, {
    default: rowsPerSec,
    per25: b?.rowsPerSec,
    ratio: ratio(rowsPerSec, b?.rowsPerSec),
  });
  if (runs.scaleRun !== undefined) {
    out.cpuPerRow.push(cpuPerRow([runs.scaleRun], runs.scaleFloorRuns, startup));
    const s = usable(runs.scaleRun);
    const peak: NonNullable<Headlines['peakRss']> = {
      smallRows: runs.defaultRuns[0]?.rows ?? 0,
      largeRows: runs.scaleRun.rows,
    };
    // The lowest small-run peak: the growth then shows the most the large run could have grown.
    const peaks = defaults.flatMap((r) => (r.peakRssMb === undefined ? [] : [r.peakRssMb]));
    const smallMb = peaks.length === 0 ? undefined : Math.min(...peaks);
    assign(peak, {
      smallMb,
      largeMb: s?.peakRssMb,
      growth: smallMb !== undefined && s?.peakRssMb !== undefined ? s.peakRssMb / smallMb - 1 : undefined,
    });
    out.peakRss = peak;
  }
  for (const run of all) {
    if (run.kind !== 'connector' || run.rows === 0 || run.emulator === undefined) continue;
    const row: Headlines['emulator'][number] = {
      run: run.name,
      emulatorCpuMs: run.emulator.cpuMs,
      shareOfWall: run.emulator.cpuMs / run.wallMs,
    };
    assign(row, { connectorCpuMs: run.cpuMs, ratio: ratio(run.emulator.cpuMs, run.cpuMs) });
    out.emulator.push(row);
  }
  return out;
}

const fmt = (value: number | undefined, digits = 0): string =>
  value === undefined
    ? 'n/a'
    : value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const times = (value: number | undefined, digits = 2): string =>
  value === undefined ? 'n/a' : `${fmt(value, digits)}×`;
const seconds = (ms: number[]): string => ms.map((v) => fmt(v / 1000, 2)).join(', ');

/** PASS/FAIL against PRODUCT.md section 11. */
export function targets(h: Headlines): TargetVerdict[] {
  const verdict = (measured: number | undefined, ok: (v: number) => boolean): TargetVerdict['verdict'] =>
    measured === undefined ? 'NOT MEASURED' : ok(measured) ? 'PASS' : 'FAIL';
  const out: TargetVerdict[] = [
    {
      measure: 'API requests per 1,000 rows, default settings',
      target: '≤ 1',
      measured: fmt(h.apiPer1000Rows.default, 2),
      verdict: verdict(h.apiPer1000Rows.default, (v) => v <= 1),
    },
    {
      measure: 'rows/s, default ÷ 25-per-call (same parallelism)',
      target: '≥ 10×',
      measured: times(h.rowsPerSec.ratio, 1),
      verdict: verdict(h.rowsPerSec.ratio, (v) => v >= 10),
    },
  ];
  for (const c of h.cpuPerRow) {
    out.push(
      {
        measure: `CPU per row, connector ÷ floor, total (${fmt(c.rows)} rows)`,
        target: '≤ 2×',
        measured: times(c.ratioTotal),
        verdict: verdict(c.ratioTotal, (v) => v <= 2),
      },
      {
        measure: `CPU per row, connector ÷ floor, marginal (${fmt(c.rows)} rows)`,
        target: '≤ 2×',
        measured: times(c.ratioMarginal),
        verdict: verdict(c.ratioMarginal, (v) => v <= 2),
      },
    );
  }
  const rss = h.peakRss;
  out.push(
    {
      measure: `peak RSS flat from ${fmt(rss?.smallRows ?? 100_000)} to ${fmt(rss?.largeRows ?? 1_000_000)} rows`,
      target: `growth ≤ ${FLAT_RSS_TOLERANCE * 100} %`,
      measured:
        rss?.growth === undefined
          ? 'n/a (run with --scale)'
          : `${fmt(rss.smallMb)} → ${fmt(rss.largeMb)} MB (${rss.growth >= 0 ? '+' : ''}${fmt(rss.growth * 100, 1)} %)`,
      verdict: verdict(rss?.growth, (v) => v <= FLAT_RSS_TOLERANCE),
    },
    {
      measure: `peak RSS at ${fmt(rss?.largeRows ?? 1_000_000)} rows`,
      target: `≤ ${MAX_RSS_MB_AT_1M} MB`,
      measured: rss?.largeMb === undefined ? 'n/a (run with --scale)' : `${fmt(rss.largeMb)} MB`,
      verdict:
        rss !== undefined && rss.largeRows < 1_000_000
          ? 'NOT MEASURED'
          : verdict(rss?.largeMb, (v) => v <= MAX_RSS_MB_AT_1M),
    },
  );
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

/** The per-run table. */
export function runTable(runs: RunResult[]): string {
  const header = [
    'run',
    'rows',
    'settings',
    'exit',
    'wall s',
    'rows/s',
    'CPU s',
    'µs/row',
    'peak RSS MB',
    'API used',
    'per 1k rows',
    'emulator CPU s',
    'emu % wall',
  ];
  const rows = runs.map((r) => [
    r.name,
    fmt(r.rows),
    r.settings ? `${r.settings.recordsPerRequest}×${r.settings.parallelRequests}` : '-',
    r.timedOut ? 'timeout' : r.signal !== null ? r.signal : String(r.exitCode),
    fmt(r.wallMs / 1000, 2),
    r.rows === 0 ? '-' : fmt(r.rowsPerSec),
    r.cpuMs === undefined
      ? 'n/a'
      : `${fmt(r.cpuMs / 1000, 2)} (${fmt((r.cpuUserMs ?? 0) / 1000, 2)}+${fmt((r.cpuSystemMs ?? 0) / 1000, 2)})`,
    r.rows === 0 || r.cpuMs === undefined ? '-' : fmt((r.cpuMs * 1000) / r.rows, 1),
    fmt(r.peakRssMb, 0),
    r.emulator ? fmt(r.emulator.apiUsed) : '-',
    r.apiPer1000Rows === undefined ? '-' : fmt(r.apiPer1000Rows, 2),
    r.emulator ? fmt(r.emulator.cpuMs / 1000, 2) : '-',
    r.emulator ? `${fmt((100 * r.emulator.cpuMs) / r.wallMs, 0)} %` : '-',
  ]);
  return table(header, rows, (i) => i !== 0 && i !== 2);
}

/** Headlines and verdicts as text. */
export function headlineText(h: Headlines, verdicts: TargetVerdict[], startup: StartupCost): string {
  const lines: string[] = [];
  const a = h.apiPer1000Rows;
  lines.push(
    `API requests per 1,000 rows: default ${fmt(a.default, 2)}, 25-per-call ${fmt(a.per25, 2)} (${times(a.ratio, 1)} fewer)`,
  );
  const t = h.rowsPerSec;
  lines.push(
    `Throughput: default ${fmt(t.default)} rows/s, 25-per-call ${fmt(t.per25)} rows/s (default ÷ 25-per-call ${times(t.ratio, 1)})`,
  );
  lines.push(
    `Start-up CPU (0 rows, median of ${startup.connectorRunsMs.length}): connector ${fmt(startup.connectorCpuMs)} ms [${startup.connectorRunsMs.map((v) => fmt(v)).join(', ')}], floor ${fmt(startup.floorCpuMs)} ms [${startup.floorRunsMs.map((v) => fmt(v)).join(', ')}]`,
  );
  for (const c of h.cpuPerRow) {
    lines.push(
      `CPU per row at ${fmt(c.rows)} rows: connector (median of ${c.connectorRuns}: ${seconds(c.connectorRunsMs)} s) ${fmt(c.connectorTotalUs, 1)} µs total / ${fmt(c.connectorMarginalUs, 1)} µs marginal; floor (median of ${c.floorRuns}: ${seconds(c.floorRunsMs)} s) ${fmt(c.floorTotalUs, 1)} / ${fmt(c.floorMarginalUs, 1)} µs; connector ÷ floor ${times(c.ratioTotal)} total, ${times(c.ratioMarginal)} marginal`,
    );
  }
  if (h.peakRss !== undefined) {
    const p = h.peakRss;
    lines.push(
      `Peak RSS of the connector: ${fmt(p.smallMb)} MB at ${fmt(p.smallRows)} rows, ${fmt(p.largeMb)} MB at ${fmt(p.largeRows)} rows (${p.growth === undefined ? 'n/a' : `${p.growth >= 0 ? '+' : ''}${fmt(p.growth * 100, 1)} %`})`,
    );
  } else {
    lines.push('Peak RSS at 1,000,000 rows: not measured (add --scale)');
  }
  for (const e of h.emulator) {
    lines.push(
      `Emulator CPU during "${e.run}": ${fmt(e.emulatorCpuMs / 1000, 2)} s = ${times(e.ratio)} the connector's CPU, ${fmt(e.shareOfWall * 100, 0)} % of one core over the wall time${e.shareOfWall > EMULATOR_BUSY_SHARE ? ' — WARNING: above 70 %, the emulator may be the bottleneck' : ''}`,
    );
  }
  lines.push('');
  lines.push(
    table(
      ['target (PRODUCT.md §11)', 'wanted', 'measured', 'verdict'],
      verdicts.map((v) => [v.measure, v.target, v.measured, v.verdict]),
      () => false,
    ),
  );
  return lines.join('\n');
}
