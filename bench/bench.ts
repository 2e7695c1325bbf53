/**
 * `npm run bench [-- options]`: measures the write path against PRODUCT.md section 11, in one run, as
 * ratios against baselines measured in the same run (the machines are shared and noisy, so absolute
 * figures from different runs do not compare). See bench/README.md for what runs, what each figure
 * means and how CPU and RSS are measured; `--help` lists the options.
 */
import { spawnSync } from 'node:child_process';
import {
  closeSync,
  copyFileSync,
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
import { chartSpec, renderSvg } from './chart.js';
import { EmulatorProcess, killChildren, measure, Sampler, type MeasuredProcess } from './processes.js';
import {
  callMs,
  cpuTable,
  headlineText,
  headlines,
  latencyText,
  median,
  targets,
  throughputTable,
  type ConnectorSettings,
  type LatencyModel,
  type NamedRuns,
  type RunResult,
  type Scenario,
} from './report.js';
import { AUTO_SUMMARY_PREFIX, LEVEL_PREFIX, parseLevelChange, type LevelChange } from './timeline.js';

/** This file runs from build/bench/; the repository root is two levels up. */
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const PATHS = {
  connector: join(ROOT, 'dist', 'main.js'),
  emulator: join(ROOT, 'build', 'integration_tests', 'emulator', 'cli.js'),
  floor: join(ROOT, 'build', 'bench', 'floor.js'),
  reader: join(ROOT, 'build', 'connector', 'protocol', 'reader.js'),
  seedForm: join(ROOT, 'build', 'bench', 'seed-form.js'),
  hook: join(ROOT, 'build', 'bench', 'rusage-hook.js'),
  results: join(ROOT, 'bench', 'results'),
};

const STREAM = 'contacts';
const OBJECT = 'Contact';
const STATE_EVERY = 5_000;
const LARGE_ROWS = 1_000_000;
const STARTUP_REPEATS = 3;
const RECORDS_PER_REQUEST = 1_020;
const SEED_PER_CALL = 25;
const SAMPLE_EVERY_MS = 500;
/** The parts of a run, in the order they run; `--only` picks some. */
const PARTS = ['cpu', 'flat', 'realistic', 'contention', 'bulk'] as const;
type Part = (typeof PARTS)[number];

const USAGE = `usage: node build/bench/bench.js [options]   (npm run bench -- [options])
  --rows N                     rows of the CPU pairs and of the realistic-latency runs (100,000)
  --seed-rows N                rows of the seed-form runs (10,000)
  --contention-rows N          rows of each lock-contention run (40,000)
  --bulk-rows N                rows of the large Bulk run (1,000,000)
  --cpu-pairs N                interleaved (connector, floor) pairs at latency 0 (5; the target needs ≥ 5)
  --latency-ms N               the model's base latency per call (150)
  --latency-per-record-ms N    the model's latency per record written (3)
  --parallel N                 the fixed level set beside auto and the seed form (4)
  --max-parallel N             max_parallel_requests of auto, and the fixed level auto's lock errors are held to (10)
  --contention-levels L        fixed levels run under lock contention, comma-separated (2,4,8,16)
  --lock-contention-per-writer P, --lock-contention-max P, --lock-contention-seed N
                               the emulator's lock-contention mode (0.02, 0.5, 1: the emulator's defaults)
  --only PARTS                 some of cpu,flat,realistic,contention,bulk (all); latest.* is then left alone
  --scale                      adds the REST path at 1,000,000 rows, latency 0 (peak RSS, CPU per row)
  --emulator-heap-mb N         the emulator's --max-old-space-size (4096)
  --timeout-s N                kills a measured child after N s (default: from rows and the latency model)
`;

interface Options {
  rows: number;
  seedRows: number;
  contentionRows: number;
  bulkRows: number;
  cpuPairs: number;
  latencyMs: number;
  latencyPerRecordMs: number;
  parallel: number;
  maxParallel: number;
  contentionLevels: number[];
  lockPerWriter: number;
  lockMax: number;
  lockSeed: number;
  parts: Part[];
  scale: boolean;
  emulatorHeapMb: number;
  timeoutS?: number;
}

const report: string[] = [];
const say = (text = ''): void => {
  report.push(text);
  process.stdout.write(`${text}\n`);
};
const n = (value: number): string => value.toLocaleString('en-US');

function fail(message: string): never {
  process.stderr.write(`bench: ${message}\n${USAGE}`);
  process.exit(2);
}

function defaultOptions(): Options {
  return {
    rows: 100_000,
    seedRows: 10_000,
    contentionRows: 40_000,
    bulkRows: LARGE_ROWS,
    cpuPairs: 5,
    latencyMs: 150,
    latencyPerRecordMs: 3,
    parallel: 4,
    maxParallel: 10,
    contentionLevels: [2, 4, 8, 16],
    lockPerWriter: 0.02,
    lockMax: 0.5,
    lockSeed: 1,
    parts: [...PARTS],
    scale: false,
    emulatorHeapMb: 4_096,
  };
}

/**
 * Whether these options measure what a plain `npm run bench` measures: only such runs replace
 * bench/results/latest.* (--scale adds runs, and the heap and timeout change nothing measured).
 */
function isDefaultRun(options: Options): boolean {
  const strip = ({ scale: _s, emulatorHeapMb: _h, timeoutS: _t, ...rest }: Options): object => rest;
  return JSON.stringify(strip(options)) === JSON.stringify(strip(defaultOptions()));
}

function parseOptions(argv: string[]): Options {
  const options = defaultOptions();
  const number = (
    flag: string,
    value: string | undefined,
    min: number,
    max = Infinity,
    int = true,
  ): number => {
    const v = Number(value);
    if (
      value === undefined ||
      value.trim() === '' ||
      !Number.isFinite(v) ||
      v < min ||
      v > max ||
      (int && !Number.isInteger(v))
    )
      fail(
        `${flag} needs ${int ? 'a whole number' : 'a number'} from ${min}${max === Infinity ? '' : ` to ${max}`}`,
      );
    return v;
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const next = (): string | undefined => argv[++i];
    switch (arg) {
      case '--help':
        process.stdout.write(USAGE);
        process.exit(0);
        break;
      case '--rows':
        options.rows = number(arg, next(), 1);
        break;
      case '--seed-rows':
        options.seedRows = number(arg, next(), 1);
        break;
      case '--contention-rows':
        options.contentionRows = number(arg, next(), 1);
        break;
      case '--bulk-rows':
        options.bulkRows = number(arg, next(), 1);
        break;
      case '--cpu-pairs':
        options.cpuPairs = number(arg, next(), 1);
        break;
      case '--latency-ms':
        options.latencyMs = number(arg, next(), 0);
        break;
      case '--latency-per-record-ms':
        options.latencyPerRecordMs = number(arg, next(), 0, Infinity, false);
        break;
      case '--parallel':
        options.parallel = number(arg, next(), 1, 25);
        break;
      case '--max-parallel':
        options.maxParallel = number(arg, next(), 1, 25);
        break;
      case '--contention-levels': {
        const list = (next() ?? '').split(',').map((v) => number(arg, v, 1, 25));
        options.contentionLevels = [...new Set(list)];
        break;
      }
      case '--lock-contention-per-writer':
        options.lockPerWriter = number(arg, next(), 0, 1, false);
        break;
      case '--lock-contention-max':
        options.lockMax = number(arg, next(), 0, 1, false);
        break;
      case '--lock-contention-seed':
        options.lockSeed = number(arg, next(), 0);
        break;
      case '--only': {
        const parts = (next() ?? '').split(',').filter((p) => p !== '');
        const unknown = parts.filter((p) => !(PARTS as readonly string[]).includes(p));
        if (parts.length === 0 || unknown.length > 0) fail(`--only takes some of ${PARTS.join(',')}`);
        options.parts = PARTS.filter((p) => parts.includes(p));
        break;
      }
      case '--scale':
        options.scale = true;
        break;
      case '--emulator-heap-mb':
        options.emulatorHeapMb = number(arg, next(), 256);
        break;
      case '--timeout-s':
        options.timeoutS = number(arg, next(), 1);
        break;
      default:
        fail(`unknown option ${arg}`);
    }
  }
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
function baseResult(
  name: string,
  kind: RunResult['kind'],
  scenario: Scenario,
  rows: number,
  m: MeasuredProcess,
): RunResult {
  const result: RunResult = {
    name,
    kind,
    scenario,
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

/** A connector run's LOG/TRACE/STATE lines, as kept while it ran. */
interface ConnectorMessage {
  type: string;
  log?: { message: string };
  trace?: { type: string; error?: { message: string } };
  state?: { destinationStats?: { recordCount?: number; rejectedRecordCount?: number } };
}

/** Everything one benchmark needs while it runs. */
class Bench {
  private readonly configs = new Map<string, string>();
  private readonly catalogPath: string;
  private runIndex = 0;
  /** The latency model the emulator has now (set by `model()`). */
  private latency: LatencyModel = { baseMs: 0, perRecordMs: 0 };

  constructor(
    private readonly options: Options,
    private readonly emulator: EmulatorProcess,
    private readonly dir: string,
  ) {
    this.catalogPath = join(dir, 'catalog.json');
    writeFileSync(this.catalogPath, JSON.stringify(catalog(configuredStream(STREAM, CONTACT_COLUMNS))));
  }

  /** Sets the emulator's latency model (and lock contention) for the runs that follow. */
  async model(latency: LatencyModel): Promise<void> {
    const c = latency.contention;
    await this.emulator.configure({
      latencyMs: latency.baseMs,
      latencyPerRecordMs: latency.perRecordMs,
      lockContention: c !== undefined,
      ...(c === undefined
        ? {}
        : { lockContentionPerWriter: c.perWriter, lockContentionMax: c.max, lockContentionSeed: c.seed }),
    });
    this.latency = latency;
  }

  /** A fresh store, zeroed counters, and under contention the same random draws for every run. */
  private async fresh(): Promise<void> {
    await this.emulator.reset();
    const c = this.latency.contention;
    if (c !== undefined) await this.emulator.configure({ lockContentionSeed: c.seed });
  }

  private configFor(settings: ConnectorSettings): string {
    const key = `${settings.recordsPerRequest}x${settings.parallel}-${settings.maxParallel ?? ''}-${settings.writeApi}`;
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
          salesforce_object: OBJECT,
          external_id_field: 'External_ID__c',
          advanced: {
            records_per_request: settings.recordsPerRequest,
            parallel_requests: settings.parallel,
            ...(settings.maxParallel === undefined ? {} : { max_parallel_requests: settings.maxParallel }),
            write_api: settings.writeApi,
          },
        }),
        { mode: 0o600 },
      );
      this.configs.set(key, path);
    }
    return path;
  }

  /**
   * Generous enough for a slow shared machine (three times what the model predicts at the lowest level
   * the run can be at, six under contention), short enough that a hung child does not stall CI.
   */
  private timeoutMs(rows: number, recordsPerCall: number, level: number, bulk = false): number {
    if (this.options.timeoutS !== undefined) return this.options.timeoutS * 1000;
    if (bulk) return 180_000 + rows * 0.5;
    const predicted = (Math.ceil(rows / recordsPerCall) / level) * callMs(this.latency, recordsPerCall);
    return 120_000 + rows * 0.5 + predicted * (this.latency.contention ? 6 : 3);
  }

  private rusagePath(): string {
    return join(this.dir, `rusage-${++this.runIndex}.json`);
  }

  /** Emulator figures after a run. */
  private async emulatorFigures(): Promise<NonNullable<RunResult['emulator']>> {
    const stats = await this.emulator.stats();
    return {
      apiUsed: stats.apiUsed,
      apiRequests: stats.apiRequests,
      byKind: stats.byKind,
      cpuMs: (stats.cpuUserMicros + stats.cpuSystemMicros) / 1000,
      stored: await this.emulator.count(OBJECT),
      lockErrors: stats.lockErrors,
      longestRequestMs: stats.longestRequestMs,
      bulk: stats.bulk,
    };
  }

  /** One connector write against a freshly reset emulator; sampled over time when `sample` is set. */
  async connector(
    name: string,
    scenario: Scenario,
    rows: number,
    inputPath: string,
    settings: ConnectorSettings,
    sample: boolean,
  ): Promise<RunResult> {
    await this.fresh();
    let states = 0;
    let kept = 0;
    const levelLines: Array<{ line: string; t: number }> = [];
    const sampler = sample ? new Sampler(this.emulator, OBJECT, SAMPLE_EVERY_MS) : undefined;
    sampler?.start();
    const level = settings.parallel === 'auto' ? Math.min(2, settings.maxParallel ?? 10) : settings.parallel;
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
      timeoutMs: this.timeoutMs(rows, settings.recordsPerRequest, level, settings.writeApi === 'bulk'),
      // Cheap substring tests only while the child runs; lines are parsed after it has exited.
      keepLine: (line, elapsedMs) => {
        if (line.includes('"type":"STATE"')) {
          states += 1;
          return true;
        }
        if (line.includes(LEVEL_PREFIX)) {
          levelLines.push({ line, t: elapsedMs });
          return false;
        }
        // Bounded, in case a run rejects rows and logs each one.
        const keep = kept < 5_000 && (line.includes('"type":"LOG"') || line.includes('"type":"TRACE"'));
        if (keep) kept += 1;
        return keep;
      },
    });
    const samples = await sampler?.stop();
    const result = baseResult(name, 'connector', scenario, rows, m);
    result.settings = settings;
    result.latency = this.latency;
    result.emulator = await this.emulatorFigures();
    if (samples !== undefined) result.samples = samples;
    if (rows > 0) result.apiPer1000Rows = (result.emulator.apiUsed * 1000) / rows;
    result.statesEchoed = states;
    result.statesExpected = expectedStates(rows);
    const summary: string[] = [];
    let committed = 0;
    let rejected = 0;
    for (const line of m.stdoutLines) {
      const message = JSON.parse(line) as ConnectorMessage;
      const stats = message.state?.destinationStats;
      if (message.type === 'STATE' && stats !== undefined) {
        committed += stats.recordCount ?? 0;
        rejected += stats.rejectedRecordCount ?? 0;
      }
      const text = message.log?.message;
      if (text !== undefined && /^(Summary|API requests:|Daily API quota|Skipped| {2})/.test(text)) {
        if (text.startsWith('API requests:')) result.connectorApiLine = text;
        else summary.push(text);
      }
      if (text?.startsWith(AUTO_SUMMARY_PREFIX) === true) result.autoLine = text;
      if (message.trace?.type === 'ERROR' || message.trace?.error !== undefined) {
        result.problems.push(`TRACE error: ${message.trace.error?.message ?? line}`);
      }
    }
    const levels: LevelChange[] = [];
    for (const { line, t } of levelLines) {
      const text = (JSON.parse(line) as ConnectorMessage).log?.message ?? '';
      if (text.startsWith(AUTO_SUMMARY_PREFIX)) result.autoLine = text;
      const change = parseLevelChange(text);
      if (change !== undefined) levels.push({ t, ...change });
    }
    if (levels.length > 0 || settings.parallel === 'auto') result.levels = levels;
    result.connectorSummary = summary;
    result.committed = committed;
    result.rejected = rejected;
    const stored = result.emulator.stored;
    if (states !== result.statesExpected)
      result.problems.push(`${n(states)} states echoed, ${n(result.statesExpected)} expected`);
    if (committed + rejected !== rows && states === result.statesExpected)
      result.problems.push(`${n(rows - committed - rejected)} rows neither committed nor rejected`);
    if (stored !== committed && states === result.statesExpected)
      result.problems.push(`${n(stored)} Contacts stored, ${n(committed)} committed`);
    if (rejected > 0) {
      // Under lock contention a row may run out of lock retries: a finding about the connector, not a
      // failure of the run. Anywhere else every generated row is valid and must be written.
      const text = `${n(rejected)} rows rejected`;
      if (scenario === 'contention') (result.findings ??= []).push(text);
      else result.problems.push(text);
    }
    return result;
  }

  /** The seed's form (seed-form.ts) at `parallel` calls in flight, against a freshly reset emulator. */
  async seedForm(
    name: string,
    scenario: Scenario,
    rows: number,
    inputPath: string,
    parallel: number,
  ): Promise<RunResult> {
    await this.fresh();
    const sampler = new Sampler(this.emulator, OBJECT, SAMPLE_EVERY_MS);
    sampler.start();
    const config = this.configFor({ recordsPerRequest: RECORDS_PER_REQUEST, parallel, writeApi: 'rest' });
    const m = await measure({
      args: [
        ...NODE_FLAGS,
        PATHS.seedForm,
        '--config',
        config,
        '--parallel',
        String(parallel),
        '--per-call',
        String(SEED_PER_CALL),
      ],
      hookPath: pathToFileURL(PATHS.hook).href,
      inputPath,
      rusagePath: this.rusagePath(),
      timeoutMs: this.timeoutMs(rows, SEED_PER_CALL, parallel),
    });
    const samples = await sampler.stop();
    const result = baseResult(name, 'seed-form', scenario, rows, m);
    result.seedForm = { parallel, perCall: SEED_PER_CALL };
    result.latency = this.latency;
    result.emulator = await this.emulatorFigures();
    result.samples = samples;
    result.apiPer1000Rows = (result.emulator.apiUsed * 1000) / rows;
    const last = m.stdoutLines.at(-1);
    if (last !== undefined) {
      const out = JSON.parse(last) as {
        calls: number;
        ok: number;
        failed: number;
        errors: Record<string, number>;
      };
      Object.assign(result.seedForm, { calls: out.calls, ok: out.ok, failed: out.failed });
      if (out.failed > 0)
        result.problems.push(`${n(out.failed)} subrequests failed: ${JSON.stringify(out.errors)}`);
    }
    if (result.emulator.stored !== rows)
      result.problems.push(`${n(result.emulator.stored)} Contacts stored, ${n(rows)} expected`);
    return result;
  }

  /** The parse-and-serialize floor on the same input, with the connector's Node flags. */
  async floor(name: string, scenario: Scenario, rows: number, inputPath: string): Promise<RunResult> {
    const m = await measure({
      args: [...NODE_FLAGS, PATHS.floor],
      hookPath: pathToFileURL(PATHS.hook).href,
      inputPath,
      rusagePath: this.rusagePath(),
      timeoutMs: this.options.timeoutS !== undefined ? this.options.timeoutS * 1000 : 60_000 + rows * 0.1,
    });
    const result = baseResult(name, 'floor', scenario, rows, m);
    const last = m.stdoutLines.at(-1);
    const seen = last === undefined ? undefined : (JSON.parse(last) as { records: number }).records;
    if (seen !== rows) result.problems.push(`the floor saw ${seen ?? 'no'} records, ${n(rows)} expected`);
    return result;
  }
}

function progress(run: RunResult): void {
  const cpu = run.cpuMs === undefined ? 'n/a' : `${(run.cpuMs / 1000).toFixed(2)} s`;
  const rss = run.peakRssMb === undefined ? 'n/a' : `${run.peakRssMb.toFixed(0)} MB`;
  const rate = run.rows > 0 && run.kind !== 'floor' ? `, ${n(Math.round(run.rowsPerSec))} rows/s` : '';
  const api = run.emulator ? `, ${n(run.emulator.apiUsed)} API requests` : '';
  const locks = run.emulator?.lockErrors ? `, ${n(run.emulator.lockErrors)} lock errors` : '';
  const found = run.findings?.length ? ` — ${run.findings.join('; ')}` : '';
  const problem = run.problems.length > 0 ? ` — PROBLEM: ${run.problems.join('; ')}` : '';
  say(
    `  ${run.name}: ${n(run.rows)} rows, ${(run.wallMs / 1000).toFixed(2)} s wall${rate}${api}${locks}, CPU ${cpu}, peak RSS ${rss}, exit ${run.signal ?? run.exitCode}${found}${problem}`,
  );
}

async function main(): Promise<number> {
  const options = parseOptions(process.argv.slice(2));
  const missing = Object.entries(PATHS)
    .filter(([key, path]) => key !== 'results' && !existsSync(path))
    .map(([, path]) => path);
  if (missing.length > 0)
    fail(`missing ${missing.join(', ')}: run npm run build (npm run bench does it first)`);
  const has = (part: Part): boolean => options.parts.includes(part);

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
  const realistic: LatencyModel = { baseMs: options.latencyMs, perRecordMs: options.latencyPerRecordMs };
  const contended: LatencyModel = {
    ...realistic,
    contention: { perWriter: options.lockPerWriter, max: options.lockMax, seed: options.lockSeed },
  };
  say(
    `Benchmark at ${environment.commit ?? 'an unknown commit'}: parts ${options.parts.join(', ')}${options.scale ? ', scale' : ''}; latency model ${options.latencyMs} ms + ${options.latencyPerRecordMs} ms per record; ${environment.cpus} × ${environment.cpuModel}, Node ${environment.node}, load ${environment.loadAvgBefore.map((v) => v.toFixed(2)).join(' ')}`,
  );

  // Generated before the runs that use them, never while a child runs.
  const inputs = new Map<number, string>();
  const input = (rows: number): string => {
    let path = inputs.get(rows);
    if (path === undefined) {
      path = join(dir, `input-${rows}.jsonl`);
      writeInput(path, rows);
      inputs.set(rows, path);
      say(
        `Input: ${n(rows)} rows (${(statSync(path).size / 1048576).toFixed(1)} MB), a STREAM state every ${n(STATE_EVERY)} rows`,
      );
    }
    return path;
  };
  const empty = join(dir, 'empty.jsonl');
  writeFileSync(empty, '');
  const zero = join(dir, 'zero.jsonl');
  writeInput(zero, 0);
  input(options.rows);

  const emulator = await EmulatorProcess.start({
    cliPath: PATHS.emulator,
    latencyMs: 0,
    heapMb: options.emulatorHeapMb,
  });
  say(`Emulator at ${emulator.url} (its own process, --max-old-space-size=${options.emulatorHeapMb})`);
  const notes: string[] = [];
  const all: RunResult[] = [];
  const startupRuns: RunResult[] = [];
  const named: NamedRuns = {
    startup: { connectorRunsMs: [], floorRunsMs: [] },
    cpuRest: [],
    cpuFloor: [],
    cpuBulk: [],
    contentionFixed: [],
    all,
  };
  try {
    const bench = new Bench(options, emulator, dir);
    const rest = (parallel: number | 'auto'): ConnectorSettings => ({
      recordsPerRequest: RECORDS_PER_REQUEST,
      parallel,
      ...(parallel === 'auto' ? { maxParallel: options.maxParallel } : {}),
      writeApi: 'rest',
    });
    const defaults = rest('auto');
    const bulk: ConnectorSettings = { ...defaults, writeApi: 'bulk' };
    const keep = (run: RunResult, list: RunResult[] = all): RunResult => {
      list.push(run);
      progress(run);
      return run;
    };
    let bulkPath: boolean | undefined;
    const checkBulk = (run: RunResult): void => {
      if (bulkPath !== undefined) return;
      bulkPath = (run.emulator?.bulk.jobsCreated ?? 0) > 0;
      if (!bulkPath) {
        notes.push(
          `"${run.name}" (write_api bulk) created 0 Bulk jobs: the connector wrote through REST. The other Bulk runs were skipped; no Bulk target is judged.`,
        );
        say(`  (0 Bulk jobs: the connector has no Bulk path yet; the other Bulk runs are skipped)`);
      }
    };

    if (has('cpu')) {
      await bench.model({ baseMs: 0, perRecordMs: 0 });
      say('Start-up cost (0 rows, latency 0):');
      // Interleaved, so a burst of load from another tenant hits both kinds of run alike.
      for (let i = 1; i <= STARTUP_REPEATS; i++) {
        keep(
          await bench.connector(`connector, state only #${i}`, 'startup', 0, zero, defaults, false),
          startupRuns,
        );
        keep(await bench.floor(`floor, empty input #${i}`, 'startup', 0, empty), startupRuns);
      }
      say(`CPU pairs at ${n(options.rows)} rows, latency 0 (REST, floor${has('bulk') ? ', Bulk' : ''}):`);
      for (let i = 1; i <= options.cpuPairs; i++) {
        named.cpuRest.push(
          keep(
            await bench.connector(`REST #${i}`, 'cpu', options.rows, input(options.rows), defaults, false),
          ),
        );
        named.cpuFloor.push(keep(await bench.floor(`floor #${i}`, 'cpu', options.rows, input(options.rows))));
        if (has('bulk') && bulkPath !== false) {
          const run = keep(
            await bench.connector(`Bulk #${i}`, 'cpu', options.rows, input(options.rows), bulk, false),
          );
          named.cpuBulk.push(run);
          checkBulk(run);
        }
      }
    }
    const startup = named.startup;
    startup.connectorRunsMs = startupRuns
      .filter((r) => r.kind === 'connector' && r.problems.length === 0)
      .map((r) => r.cpuMs!);
    startup.floorRunsMs = startupRuns
      .filter((r) => r.kind === 'floor' && r.problems.length === 0)
      .map((r) => r.cpuMs!);
    const cs = median(startup.connectorRunsMs);
    const fs = median(startup.floorRunsMs);
    if (cs !== undefined) startup.connectorCpuMs = cs;
    if (fs !== undefined) startup.floorCpuMs = fs;

    if (has('flat')) {
      const flat: LatencyModel = { baseMs: options.latencyMs, perRecordMs: 0 };
      await bench.model(flat);
      say(`Flat latency (${latencyText(flat)} ms per call), fixed ${options.parallel} each:`);
      named.flatSeed = keep(
        await bench.seedForm(
          'seed form, flat',
          'flat',
          options.seedRows,
          input(options.seedRows),
          options.parallel,
        ),
      );
      named.flatFixed = keep(
        await bench.connector(
          `fixed ${options.parallel}, flat`,
          'flat',
          options.rows,
          input(options.rows),
          rest(options.parallel),
          true,
        ),
      );
    }

    if (has('realistic') || (has('bulk') && bulkPath !== false)) {
      await bench.model(realistic);
      say(`Realistic latency model (${latencyText(realistic)} ms), no contention:`);
      if (has('realistic')) {
        named.seed = keep(
          await bench.seedForm(
            'seed form',
            'realistic',
            options.seedRows,
            input(options.seedRows),
            options.parallel,
          ),
        );
        named.fixed = keep(
          await bench.connector(
            `fixed ${options.parallel}`,
            'realistic',
            options.rows,
            input(options.rows),
            rest(options.parallel),
            true,
          ),
        );
        named.auto = keep(
          await bench.connector('auto', 'realistic', options.rows, input(options.rows), defaults, true),
        );
      }
      if (has('bulk') && bulkPath !== false) {
        named.bulk = keep(
          await bench.connector('Bulk', 'realistic', options.rows, input(options.rows), bulk, true),
        );
        checkBulk(named.bulk);
      }
    }

    if (has('contention')) {
      await bench.model(contended);
      const c = contended.contention!;
      say(
        `Lock contention (${latencyText(contended)}: k ${c.perWriter}, max ${c.max}, seed ${c.seed}), ${n(options.contentionRows)} rows each:`,
      );
      const rows = options.contentionRows;
      for (const level of options.contentionLevels) {
        const run = keep(
          await bench.connector(`fixed ${level} (lock)`, 'contention', rows, input(rows), rest(level), true),
        );
        if (level === options.maxParallel) named.contentionReference = run;
        else named.contentionFixed.push(run);
      }
      if (named.contentionReference === undefined)
        named.contentionReference = keep(
          await bench.connector(
            `fixed ${options.maxParallel} (lock)`,
            'contention',
            rows,
            input(rows),
            rest(options.maxParallel),
            true,
          ),
        );
      named.contentionAuto = keep(
        await bench.connector('auto (lock)', 'contention', rows, input(rows), defaults, true),
      );
      // The reference level is a fixed level too: when it is among the levels asked for, it competes for best.
      if (options.contentionLevels.includes(options.maxParallel))
        named.contentionFixed.push(named.contentionReference);
    }

    if (has('bulk') && bulkPath === true) {
      await bench.model(realistic);
      say(`Bulk at ${n(options.bulkRows)} rows, ${latencyText(realistic)} ms:`);
      named.bulkLarge = keep(
        await bench.connector(
          `Bulk @${n(options.bulkRows)}`,
          'bulk-scale',
          options.bulkRows,
          input(options.bulkRows),
          bulk,
          true,
        ),
      );
    }

    if (options.scale) {
      await bench.model({ baseMs: 0, perRecordMs: 0 });
      say(`Scale: the REST path at ${n(LARGE_ROWS)} rows, latency 0:`);
      const large = input(LARGE_ROWS);
      keep(await bench.floor(`floor @${n(LARGE_ROWS)} #1`, 'scale', LARGE_ROWS, large));
      named.scaleRest = keep(
        await bench.connector(`REST @${n(LARGE_ROWS)}`, 'scale', LARGE_ROWS, large, defaults, false),
      );
      keep(await bench.floor(`floor @${n(LARGE_ROWS)} #2`, 'scale', LARGE_ROWS, large));
    }

    const h = headlines(named);
    const verdicts = targets(h);
    const warnings: string[] = [];
    for (const run of [...startupRuns, ...all]) {
      if (run.problems.length > 0) warnings.push(`"${run.name}": ${run.problems.join('; ')}`);
    }
    const runsFailed = warnings.length > 0;
    const busiestBench = Math.max(...all.map((r) => r.benchCpuMs / r.wallMs));
    notes.push(
      `The benchmark process used at most ${(busiestBench * 100).toFixed(1)} % of one core while a measured child ran (piping the input, sampling the emulator).`,
    );

    const cpuRuns = [...startupRuns, ...all.filter((r) => r.scenario === 'cpu' || r.scenario === 'scale')];
    const latencyRuns = all.filter(
      (r) => r.latency !== undefined && r.scenario !== 'cpu' && r.scenario !== 'scale',
    );
    say();
    if (cpuRuns.length > 0) {
      say('Runs at latency 0 (CPU and memory):');
      say(cpuTable(cpuRuns));
      say();
    }
    if (latencyRuns.length > 0) {
      say(
        "Runs under a latency model (level: calls in flight, auto averaged over the wall time; ceiling: level × records per call ÷ one full call's latency):",
      );
      say(throughputTable(latencyRuns));
      say();
    }
    const connectorRuns = all.filter((r) => r.kind === 'connector' && r.scenario !== 'cpu');
    if (connectorRuns.length > 0) {
      say('Connector summary lines and emulator request kinds:');
      for (const run of connectorRuns) {
        say(`  ${run.name}: ${run.connectorApiLine ?? '(no "API requests:" line)'}`);
        const kinds = Object.entries(run.emulator?.byKind ?? {})
          .map(([kind, count]) => `${kind} ${n(count)}`)
          .join(', ');
        say(
          `    emulator: ${n(run.emulator?.apiUsed ?? 0)} used of ${n(run.emulator?.apiRequests ?? 0)} requests (${kinds})`,
        );
        if (run.autoLine !== undefined) say(`    ${run.autoLine}`);
        if (run.settings?.parallel === 'auto')
          say(
            `    level changes logged: ${run.levels?.length ?? 0}${run.levels?.length ? ` (${run.levels.map((l) => `${l.from}→${l.to} at ${(l.t / 1000).toFixed(1)} s`).join(', ')})` : ''}`,
          );
        for (const line of run.connectorSummary?.slice(0, 2) ?? []) say(`    ${line.trim()}`);
      }
      say();
    }
    say(headlineText(h, verdicts, startup));
    say();
    for (const note of notes) say(`Note: ${note}`);
    for (const warning of warnings) say(`WARNING: ${warning}`);

    const stamp = startedAt.toISOString().replace(/[:.]/g, '-');
    mkdirSync(PATHS.results, { recursive: true });
    const written: string[] = [];
    const charts: Array<[string, RunResult[], string, LatencyModel]> = [
      [
        'realistic',
        [named.seed, named.fixed, named.auto, named.bulk].flatMap((r) => (r ? [r] : [])),
        'no lock contention',
        realistic,
      ],
      [
        'contention',
        [
          ...named.contentionFixed.filter((r) => r !== named.contentionReference),
          named.contentionReference,
          named.contentionAuto,
        ].flatMap((r) => (r ? [r] : [])),
        'lock contention',
        contended,
      ],
    ];
    for (const [label, runs, what, model] of charts) {
      if (runs.length === 0) continue;
      const c = model.contention;
      const svg = await renderSvg(
        chartSpec(runs, `parallel_requests auto beside fixed levels — ${what}`, [
          `emulator latency ${model.baseMs} ms + ${model.perRecordMs} ms per record${c ? `, lock contention k ${c.perWriter}, max ${c.max}` : ''}; commit ${environment.commit ?? 'unknown'}, ${startedAt.toISOString().slice(0, 10)}`,
          'top: solid, the level the connector chose (from its log); dashed, calls in flight at the emulator',
          "rates: increases of the emulator's counters (sampled every 0.5 s), smoothed by a Gaussian one full call's latency wide",
        ]),
      );
      const file = join(PATHS.results, `${stamp}-${label}.svg`);
      writeFileSync(file, svg);
      written.push(file);
    }

    const finishedAt = new Date();
    const json = {
      startedAt: startedAt.toISOString(),
      finishedAt: finishedAt.toISOString(),
      environment: { ...environment, loadAvgAfter: loadavg() },
      options,
      startup,
      startupRuns,
      runs: all,
      headlines: h,
      targets: verdicts,
      notes,
      warnings,
    };
    const jsonFile = join(PATHS.results, `${stamp}.json`);
    writeFileSync(jsonFile, `${JSON.stringify(json, null, 1)}\n`);
    const textFile = join(PATHS.results, `${stamp}.txt`);
    say(`Results: ${jsonFile}, ${textFile}${written.length > 0 ? `, ${written.join(', ')}` : ''}`);
    writeFileSync(textFile, `${report.join('\n')}\n`);
    // latest.* are the committed reference the README quotes: only complete default runs replace them.
    if (isDefaultRun(options) && !runsFailed) {
      copyFileSync(jsonFile, join(PATHS.results, 'latest.json'));
      copyFileSync(textFile, join(PATHS.results, 'latest.txt'));
      for (const file of written)
        copyFileSync(
          file,
          join(PATHS.results, `latest-${file.endsWith('-contention.svg') ? 'contention' : 'realistic'}.svg`),
        );
      say(`         and latest.json, latest.txt, latest-*.svg in ${PATHS.results}`);
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
