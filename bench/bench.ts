/**
 * `npm run bench [-- options]`: measures the write path against PRODUCT.md section 11, in one run, as
 * ratios against baselines measured in the same run (the machines are shared and noisy, so absolute
 * figures from different runs do not compare).
 *
 *   --rows N             rows per run (default 100,000); N ≥ 1,000,000 means --scale at N, with the
 *                        comparisons at 100,000
 *   --latency-ms N       emulator latency per request (default 150)
 *   --parallel N         parallel_requests of both connector runs (default 4)
 *   --scale              also runs the default settings at 1,000,000 rows (peak RSS, CPU per row)
 *   --skip-baseline      skips the 25-per-call run (quick iterations; latest.json is left alone)
 *   --cpu-runs N         default-settings runs at the main size, alternating with floor runs; the
 *                        CPU ratio compares the medians (default 3)
 *   --emulator-heap-mb N the emulator's --max-old-space-size (default 4096, so 1 M stored records fit)
 *   --timeout-s N        kills a measured child after N s (default: from rows, latency and parallelism)
 *
 * See bench/README.md for what each figure means and how CPU and RSS are measured.
 */
import { spawnSync } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { NODE_FLAGS } from '../integration_tests/helpers/cli.js';
import { catalog, configuredStream, record, streamState } from '../integration_tests/helpers/messages.js';
import { contactRow, CONTACT_COLUMNS } from '../integration_tests/helpers/rows.js';
import { EmulatorProcess, killChildren, measure, type MeasuredProcess } from './processes.js';
import {
  EMULATOR_BUSY_SHARE,
  headlineText,
  headlines,
  median,
  runTable,
  targets,
  type ConnectorSettings,
  type RunResult,
  type StartupCost,
} from './report.js';

/** This file runs from build/bench/; the repository root is two levels up. */
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const PATHS = {
  connector: join(ROOT, 'dist', 'main.js'),
  emulator: join(ROOT, 'build', 'integration_tests', 'emulator', 'cli.js'),
  floor: join(ROOT, 'build', 'bench', 'floor.js'),
  hook: join(ROOT, 'build', 'bench', 'rusage-hook.js'),
  results: join(ROOT, 'bench', 'results'),
};

const STREAM = 'contacts';
const STATE_EVERY = 5_000;
const SCALE_ROWS = 1_000_000;
const SMALL_ROWS = 100_000;
const STARTUP_REPEATS = 3;
/** Default-settings runs at the main size: one run's CPU has varied by a fifth on this shared machine. */
const CPU_RUNS = 3;
const DEFAULT_RECORDS_PER_REQUEST = 1_020;
const BASELINE_RECORDS_PER_REQUEST = 25;

interface Options {
  rows: number;
  cpuRuns: number;
  latencyMs: number;
  parallel: number;
  scale: boolean;
  scaleRows: number;
  skipBaseline: boolean;
  emulatorHeapMb: number;
  timeoutS?: number;
}

const say = (text = ''): void => void process.stdout.write(`${text}\n`);
const n = (value: number): string => value.toLocaleString('en-US');

function fail(message: string): never {
  process.stderr.write(`bench: ${message}\n`);
  process.exit(2);
}

function parseOptions(argv: string[]): Options {
  const options: Options = {
    rows: SMALL_ROWS,
    latencyMs: 150,
    parallel: 4,
    scale: false,
    scaleRows: SCALE_ROWS,
    cpuRuns: CPU_RUNS,
    skipBaseline: false,
    emulatorHeapMb: 4_096,
  };
  const integer = (flag: string, value: string | undefined, min: number): number => {
    const v = Number(value);
    if (value === undefined || !Number.isInteger(v) || v < min) fail(`${flag} needs an integer ≥ ${min}`);
    return v;
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    switch (arg) {
      case '--rows':
        options.rows = integer(arg, argv[++i], 1);
        break;
      case '--latency-ms':
        options.latencyMs = integer(arg, argv[++i], 0);
        break;
      case '--parallel':
        options.parallel = integer(arg, argv[++i], 1);
        break;
      case '--scale':
        options.scale = true;
        break;
      case '--skip-baseline':
        options.skipBaseline = true;
        break;
      case '--cpu-runs':
        options.cpuRuns = integer(arg, argv[++i], 1);
        break;
      case '--emulator-heap-mb':
        options.emulatorHeapMb = integer(arg, argv[++i], 256);
        break;
      case '--timeout-s':
        options.timeoutS = integer(arg, argv[++i], 1);
        break;
      default:
        fail(`unknown option ${arg} (see bench/README.md)`);
    }
  }
  // A million-row request is a scale run: the 25-per-call baseline at that size would take an hour,
  // so the side-by-side comparisons stay at 100,000 rows and the default settings also run at N.
  if (options.rows >= SCALE_ROWS) {
    options.scale = true;
    options.scaleRows = options.rows;
    options.rows = SMALL_ROWS;
  }
  if (options.scale && options.scaleRows <= options.rows) options.scaleRows = options.rows * 10;
  return options;
}

/** Writes N generated Contact upserts with a STREAM state every 5,000 rows (and one after the last row). */
function writeInput(path: string, rows: number): void {
  const fd = openSync(path, 'w');
  try {
    let chunk = '';
    let states = 0;
    const state = (upTo: number): string =>
      streamState(STREAM, { synced_up_to: upTo }, ++states, STATE_EVERY);
    for (let i = 0; i < rows; i++) {
      chunk += record(STREAM, contactRow(i));
      if ((i + 1) % STATE_EVERY === 0 || i === rows - 1) chunk += state(i + 1);
      if (chunk.length > 1 << 20) {
        writeSync(fd, chunk);
        chunk = '';
      }
    }
    if (rows === 0) chunk += state(0);
    writeSync(fd, chunk);
  } finally {
    closeSync(fd);
  }
}

const expectedStates = (rows: number): number => (rows === 0 ? 1 : Math.ceil(rows / STATE_EVERY));

function gitCommit(): string | undefined {
  const out = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' });
  return out.status === 0 ? out.stdout.trim() : undefined;
}

/** The fields every run shares, from the measured process. */
function baseResult(name: string, kind: RunResult['kind'], rows: number, m: MeasuredProcess): RunResult {
  const result: RunResult = {
    name,
    kind,
    rows,
    exitCode: m.exitCode,
    signal: m.signal,
    timedOut: m.timedOut,
    wallMs: m.wallMs,
    rowsPerSec: rows / (m.wallMs / 1000),
    benchCpuMs: m.benchCpuMs,
    problems: [],
  };
  if (m.rusage !== undefined) {
    result.cpuUserMs = m.rusage.userCPUTime / 1000;
    result.cpuSystemMs = m.rusage.systemCPUTime / 1000;
    result.cpuMs = result.cpuUserMs + result.cpuSystemMs;
    result.peakRssMb = m.rusage.maxRSS / 1024;
  } else {
    result.problems.push('no resource usage (the process died before its exit handlers ran)');
  }
  if (m.timedOut) result.problems.push('timed out and was killed');
  if (m.exitCode !== 0) {
    const tail = m.stderrTail.trim().split('\n').slice(-5).join(' | ');
    result.problems.push(`exit ${m.signal ?? m.exitCode}${tail ? `; stderr: ${tail}` : ''}`);
  }
  return result;
}

/** Everything one benchmark needs while it runs. */
class Bench {
  private readonly configs = new Map<string, string>();
  private readonly catalogPath: string;
  private runIndex = 0;

  constructor(
    private readonly options: Options,
    private readonly emulator: EmulatorProcess,
    private readonly dir: string,
  ) {
    this.catalogPath = join(dir, 'catalog.json');
    writeFileSync(this.catalogPath, JSON.stringify(catalog(configuredStream(STREAM, CONTACT_COLUMNS))));
  }

  private configFor(settings: ConnectorSettings): string {
    const key = `${settings.recordsPerRequest}x${settings.parallelRequests}`;
    let path = this.configs.get(key);
    if (path === undefined) {
      path = join(this.dir, `config-${key}.json`);
      const { clientId, clientSecret, refreshToken } = this.emulator.credentials;
      // It holds credentials: readable by its owner only (the folder is 0700 too).
      writeFileSync(
        path,
        JSON.stringify({
          credentials: {
            auth_type: 'oauth2_refresh_token',
            client_id: clientId,
            client_secret: clientSecret,
            refresh_token: refreshToken,
          },
          login_url: this.emulator.url,
          salesforce_object: 'Contact',
          external_id_field: 'External_ID__c',
          advanced: {
            records_per_request: settings.recordsPerRequest,
            parallel_requests: settings.parallelRequests,
          },
        }),
        { mode: 0o600 },
      );
      this.configs.set(key, path);
    }
    return path;
  }

  /** Generous enough for a slow shared machine, short enough that a hung child does not stall CI. */
  private timeoutMs(rows: number, settings?: ConnectorSettings): number {
    if (this.options.timeoutS !== undefined) return this.options.timeoutS * 1000;
    if (settings === undefined) return 60_000 + rows * 0.1;
    const rounds = Math.ceil(rows / settings.recordsPerRequest / settings.parallelRequests);
    return 120_000 + 10 * rounds * this.options.latencyMs + rows * 0.5;
  }

  private rusagePath(): string {
    return join(this.dir, `rusage-${++this.runIndex}.json`);
  }

  /** One connector write against a freshly reset emulator. */
  async connector(
    name: string,
    rows: number,
    inputPath: string,
    settings: ConnectorSettings,
  ): Promise<RunResult> {
    await this.emulator.reset();
    let states = 0;
    let kept = 0;
    const m = await measure({
      args: [
        ...NODE_FLAGS,
        PATHS.connector,
        'write',
        '--config',
        this.configFor(settings),
        '--catalog',
        this.catalogPath,
      ],
      hookPath: pathToFileURL(PATHS.hook).href,
      inputPath,
      rusagePath: this.rusagePath(),
      timeoutMs: this.timeoutMs(rows, settings),
      // Cheap substring tests only while the child runs; lines are parsed after it has exited.
      keepLine: (line) => {
        if (line.includes('"type":"STATE"')) {
          states += 1;
          return false;
        }
        // Bounded, in case a run rejects rows and logs each one.
        const keep = kept < 5_000 && (line.includes('"type":"LOG"') || line.includes('"type":"TRACE"'));
        if (keep) kept += 1;
        return keep;
      },
    });
    const stats = await this.emulator.stats();
    const stored = await this.emulator.count('Contact');
    const result = baseResult(name, 'connector', rows, m);
    result.settings = settings;
    result.emulator = {
      apiUsed: stats.apiUsed,
      apiRequests: stats.apiRequests,
      byKind: stats.byKind,
      cpuMs: (stats.cpuUserMicros + stats.cpuSystemMicros) / 1000,
      stored,
    };
    if (rows > 0) result.apiPer1000Rows = (stats.apiUsed * 1000) / rows;
    result.statesEchoed = states;
    result.statesExpected = expectedStates(rows);
    const summary: string[] = [];
    for (const line of m.stdoutLines) {
      const message = JSON.parse(line) as {
        type: string;
        log?: { message: string };
        trace?: { type: string; error?: { message: string } };
      };
      const text = message.log?.message;
      if (text !== undefined && /^(Summary|API requests:|Daily API quota|Skipped| {2})/.test(text)) {
        if (text.startsWith('API requests:')) result.connectorApiLine = text;
        else summary.push(text);
      }
      if (message.trace?.type === 'ERROR' || message.trace?.error !== undefined) {
        result.problems.push(`TRACE error: ${message.trace.error?.message ?? line}`);
      }
    }
    result.connectorSummary = summary;
    if (stored !== rows) result.problems.push(`${n(stored)} Contacts stored, ${n(rows)} expected`);
    if (states !== result.statesExpected) {
      result.problems.push(`${n(states)} states echoed, ${n(result.statesExpected)} expected`);
    }
    return result;
  }

  /** The parse-and-serialize floor on the same input. */
  async floor(name: string, rows: number, inputPath: string): Promise<RunResult> {
    const m = await measure({
      args: [PATHS.floor],
      hookPath: pathToFileURL(PATHS.hook).href,
      inputPath,
      rusagePath: this.rusagePath(),
      timeoutMs: this.timeoutMs(rows),
    });
    const result = baseResult(name, 'floor', rows, m);
    const last = m.stdoutLines.at(-1);
    const seen = last === undefined ? undefined : (JSON.parse(last) as { records: number }).records;
    if (seen !== rows) result.problems.push(`the floor saw ${seen ?? 'no'} records, ${n(rows)} expected`);
    return result;
  }
}

function progress(run: RunResult): void {
  const cpu = run.cpuMs === undefined ? 'n/a' : `${(run.cpuMs / 1000).toFixed(2)} s`;
  const rss = run.peakRssMb === undefined ? 'n/a' : `${run.peakRssMb.toFixed(0)} MB`;
  say(
    `  ${run.name}: ${n(run.rows)} rows, ${(run.wallMs / 1000).toFixed(2)} s wall, CPU ${cpu}, peak RSS ${rss}, exit ${run.signal ?? run.exitCode}${run.problems.length > 0 ? ` — PROBLEM: ${run.problems.join('; ')}` : ''}`,
  );
}

async function main(): Promise<number> {
  const options = parseOptions(process.argv.slice(2));
  const missing = Object.entries(PATHS)
    .filter(([key, path]) => key !== 'results' && !existsSync(path))
    .map(([, path]) => path);
  if (missing.length > 0)
    fail(`missing ${missing.join(', ')}: run npm run build (npm run bench does it first)`);

  // mkdtemp makes the folder 0700: the configs in it hold credentials. Everything the benchmark
  // writes goes in it, and it is removed on every way out (bench.test.ts checks the failures).
  const dir = mkdtempSync(join(tmpdir(), 'sfsc-bench-'));
  // A signal or an uncaught error must not leave the emulator (or a measured child) running, nor
  // the folder behind: 'exit' runs on a normal end, process.exit() and an uncaught error.
  process.on('exit', () => {
    killChildren();
    rmSync(dir, { recursive: true, force: true });
  });
  // A closed terminal (SIGHUP) too, or it would end the process without the 'exit' handlers.
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      process.stderr.write(`bench: ${signal}, stopping\n`);
      process.exit(130);
    });
  }

  const startedAt = new Date();
  const environment = {
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    totalMemMb: Math.round(totalmem() / 1048576),
    loadAvgBefore: loadavg(),
    commit: gitCommit(),
  };
  say(
    `Benchmark: ${n(options.rows)} rows, ${options.latencyMs} ms emulator latency, ${options.parallel} parallel requests; ${environment.cpus} × ${environment.cpuModel}, Node ${environment.node}, load ${environment.loadAvgBefore.map((v) => v.toFixed(2)).join(' ')}`,
  );

  // Generated before any child runs, so this CPU-heavy step never overlaps a measurement.
  const inputs = {
    rows: join(dir, 'input.jsonl'),
    zero: join(dir, 'zero.jsonl'),
    empty: join(dir, 'empty.jsonl'),
  };
  writeInput(inputs.rows, options.rows);
  writeInput(inputs.zero, 0);
  writeFileSync(inputs.empty, '');
  const scaleInput = join(dir, 'input-scale.jsonl');
  if (options.scale) writeInput(scaleInput, options.scaleRows);
  const mb = (path: string): string => `${(statSync(path).size / 1048576).toFixed(1)} MB`;
  say(
    `Input: ${n(options.rows)} rows (${mb(inputs.rows)})${options.scale ? `, ${n(options.scaleRows)} rows (${mb(scaleInput)})` : ''}; a STREAM state every ${n(STATE_EVERY)} rows`,
  );

  const emulator = await EmulatorProcess.start({
    cliPath: PATHS.emulator,
    latencyMs: options.latencyMs,
    heapMb: options.emulatorHeapMb,
  });
  say(`Emulator at ${emulator.url} (its own process, --max-old-space-size=${options.emulatorHeapMb})`);
  const notes: string[] = [];
  const runs: RunResult[] = [];
  const startupRuns: RunResult[] = [];
  try {
    const bench = new Bench(options, emulator, dir);
    const defaults: ConnectorSettings = {
      recordsPerRequest: DEFAULT_RECORDS_PER_REQUEST,
      parallelRequests: options.parallel,
    };
    const baseline: ConnectorSettings = {
      recordsPerRequest: BASELINE_RECORDS_PER_REQUEST,
      parallelRequests: options.parallel,
    };
    const record = (list: RunResult[], run: RunResult): RunResult => {
      list.push(run);
      progress(run);
      return run;
    };

    say('Start-up cost (0 rows):');
    // Interleaved, so a burst of load from another tenant hits both kinds of run alike.
    for (let i = 1; i <= STARTUP_REPEATS; i++) {
      record(startupRuns, await bench.connector(`connector, state only #${i}`, 0, inputs.zero, defaults));
      record(startupRuns, await bench.floor(`floor, empty input #${i}`, 0, inputs.empty));
    }
    say(`Runs at ${n(options.rows)} rows:`);
    // The floor takes about a second: it runs before and after each connector run. The default
    // settings run several times too, alternating with the floor, and each side's median is used, so
    // a passing burst of load on the machine does not decide the CPU ratio.
    const floorRuns: RunResult[] = [];
    const scaleFloorRuns: RunResult[] = [];
    const floor = async (rows: number, path: string): Promise<void> => {
      const label = rows === options.rows ? 'floor' : `floor @${n(rows)}`;
      const list = rows === options.rows ? floorRuns : scaleFloorRuns;
      list.push(record(runs, await bench.floor(`${label} #${list.length + 1}`, rows, path)));
    };
    await floor(options.rows, inputs.rows);
    const defaultRuns: RunResult[] = [];
    for (let i = 1; i <= options.cpuRuns; i++) {
      const name = i === 1 ? 'default' : `default #${i}`;
      defaultRuns.push(record(runs, await bench.connector(name, options.rows, inputs.rows, defaults)));
      await floor(options.rows, inputs.rows);
    }
    let per25Run: RunResult | undefined;
    if (options.skipBaseline) notes.push('25-per-call run skipped (--skip-baseline): no throughput ratio.');
    else {
      per25Run = record(runs, await bench.connector('25-per-call', options.rows, inputs.rows, baseline));
      await floor(options.rows, inputs.rows);
    }
    let scaleRun: RunResult | undefined;
    if (options.scale) {
      say(`Scale runs at ${n(options.scaleRows)} rows:`);
      await floor(options.scaleRows, scaleInput);
      scaleRun = record(
        runs,
        await bench.connector(`default @${n(options.scaleRows)}`, options.scaleRows, scaleInput, defaults),
      );
      await floor(options.scaleRows, scaleInput);
      // From the 25-per-call run just measured when there is one, else from latency alone.
      const minutes =
        per25Run !== undefined
          ? (per25Run.wallMs * (options.scaleRows / options.rows)) / 60_000
          : (options.scaleRows / BASELINE_RECORDS_PER_REQUEST / options.parallel) *
            (options.latencyMs / 60_000);
      notes.push(
        `25-per-call not run at ${n(options.scaleRows)} rows: it needs ${n(Math.ceil(options.scaleRows / BASELINE_RECORDS_PER_REQUEST))} requests, about ${Math.round(minutes)} minutes at ${options.latencyMs} ms; its cost per row is measured at ${n(options.rows)}.`,
      );
    }

    const connectorCpu = startupRuns.filter((r) => r.kind === 'connector' && r.problems.length === 0);
    const floorCpu = startupRuns.filter((r) => r.kind === 'floor' && r.problems.length === 0);
    const startup: StartupCost = {
      connectorRunsMs: connectorCpu.map((r) => r.cpuMs!),
      floorRunsMs: floorCpu.map((r) => r.cpuMs!),
    };
    const connectorStartup = median(startup.connectorRunsMs);
    const floorStartup = median(startup.floorRunsMs);
    if (connectorStartup !== undefined) startup.connectorCpuMs = connectorStartup;
    if (floorStartup !== undefined) startup.floorCpuMs = floorStartup;

    const named = {
      defaultRuns,
      floorRuns,
      scaleFloorRuns,
      ...(per25Run ? { per25Run } : {}),
      ...(scaleRun ? { scaleRun } : {}),
    };
    const h = headlines(named, runs, startup);
    const verdicts = targets(h);

    const warnings: string[] = [];
    for (const run of [...startupRuns, ...runs]) {
      if (run.problems.length > 0) warnings.push(`"${run.name}": ${run.problems.join('; ')}`);
    }
    const runsFailed = warnings.length > 0;
    for (const e of h.emulator) {
      if (e.shareOfWall > EMULATOR_BUSY_SHARE) {
        warnings.push(
          `the emulator used ${(e.shareOfWall * 100).toFixed(0)} % of one core during "${e.run}": it may be the bottleneck, not the connector.`,
        );
      }
    }
    const busiestBench = Math.max(...runs.map((r) => r.benchCpuMs / r.wallMs));
    notes.push(
      `The benchmark process used at most ${(busiestBench * 100).toFixed(1)} % of one core while a measured child ran (piping the input).`,
    );

    say();
    say(runTable(runs));
    say();
    say('Connector summary lines and emulator request kinds:');
    for (const run of runs.filter((r) => r.kind === 'connector')) {
      say(`  ${run.name}: ${run.connectorApiLine ?? '(no "API requests:" line)'}`);
      const kinds = Object.entries(run.emulator?.byKind ?? {})
        .map(([kind, count]) => `${kind} ${n(count)}`)
        .join(', ');
      say(
        `    emulator: ${n(run.emulator?.apiUsed ?? 0)} used of ${n(run.emulator?.apiRequests ?? 0)} requests (${kinds})`,
      );
      for (const line of run.connectorSummary?.slice(0, 2) ?? []) say(`    ${line.trim()}`);
    }
    say();
    say(headlineText(h, verdicts, startup));
    say();
    for (const note of notes) say(`Note: ${note}`);
    for (const warning of warnings) say(`WARNING: ${warning}`);

    const finishedAt = new Date();
    const json = {
      startedAt: startedAt.toISOString(),
      finishedAt: finishedAt.toISOString(),
      environment: { ...environment, loadAvgAfter: loadavg() },
      options,
      startup,
      startupRuns,
      runs,
      headlines: h,
      targets: verdicts,
      notes,
      warnings,
    };
    mkdirSync(PATHS.results, { recursive: true });
    const file = join(PATHS.results, `${startedAt.toISOString().replace(/[:.]/g, '-')}.json`);
    const text = `${JSON.stringify(json, null, 2)}\n`;
    writeFileSync(file, text);
    say(`Results: ${file}`);
    // latest.json is the committed reference the README quotes: only complete comparisons replace it.
    if (!options.skipBaseline && !runsFailed) {
      writeFileSync(join(PATHS.results, 'latest.json'), text);
      say(`          ${join(PATHS.results, 'latest.json')}`);
    }
    return runsFailed ? 1 : 0;
  } finally {
    await emulator.stop();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(
      `bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(1);
  },
);
