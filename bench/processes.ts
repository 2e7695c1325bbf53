/**
 * The benchmark's child processes: the Salesforce emulator, started once in its own process, and the
 * measured runs (connector or floor), each fed the input file through a pipe and measured by the
 * rusage hook. Every child started here is tracked so that an error or a signal never leaves one
 * running.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createReadStream, existsSync, readFileSync, rmSync } from 'node:fs';
import { createInterface } from 'node:readline';
import type { EmulatorSettings, EmulatorStats } from '../integration_tests/emulator/types.js';
import type { Sample } from './timeline.js';

/** The part of `process.resourceUsage()` the benchmark reports (CPU in µs, maxRSS in KB). */
export interface Rusage {
  userCPUTime: number;
  systemCPUTime: number;
  maxRSS: number;
}

/** What one measured child did. */
export interface MeasuredProcess {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  /** From spawn to the 'close' of the child's pipes, in ms: includes Node's own start-up. */
  wallMs: number;
  /** From the rusage hook; undefined when the child died before its 'exit' handlers ran. */
  rusage: Rusage | undefined;
  stdoutLines: string[];
  /** The last few KB of stderr, for error messages. */
  stderrTail: string;
  /** CPU the benchmark process itself spent while the child ran (it only pipes the file). */
  benchCpuMs: number;
}

/** How to run one measured child. */
export interface MeasureOptions {
  /** Node arguments after the hook: the script and its arguments. */
  args: string[];
  /** Absolute path of the compiled rusage hook. */
  hookPath: string;
  /** The file piped to the child's stdin. */
  inputPath: string;
  /** Where the hook writes the child's resource usage (removed first). */
  rusagePath: string;
  timeoutMs: number;
  /**
   * Keeps a stdout line (the connector prints few: states and logs); default keeps every line.
   * `elapsedMs` is the time since the child was started, when the line was read.
   */
  keepLine?: (line: string, elapsedMs: number) => boolean;
}

const STDERR_TAIL = 8_192;
const KILL_GRACE_MS = 10_000;
const children = new Set<ChildProcess>();

function track(child: ChildProcess): void {
  children.add(child);
  child.once('exit', () => children.delete(child));
}

/** SIGKILLs every child still running; for the benchmark's own 'exit' and signal handlers. */
export function killChildren(): void {
  for (const child of children) child.kill('SIGKILL');
}

/** SIGTERM, then SIGKILL when the child has not exited after the grace period. */
function terminate(child: ChildProcess, graceMs = KILL_GRACE_MS): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

function cpuMs(usage: NodeJS.CpuUsage): number {
  return (usage.user + usage.system) / 1000;
}

/**
 * Runs `node --import <hook> ...args` with the input file piped to its stdin (a pipe, as the platform
 * gives a destination, not a file redirect) and resolves when it has exited and its pipes are closed.
 */
export function measure(options: MeasureOptions): Promise<MeasuredProcess> {
  rmSync(options.rusagePath, { force: true });
  return new Promise((resolve, reject) => {
    const benchCpu = process.cpuUsage();
    const started = performance.now();
    const child = spawn(process.execPath, ['--import', options.hookPath, ...options.args], {
      // NODE_OPTIONS from the caller's shell (e.g. --inspect) would change what is measured.
      env: { ...process.env, NODE_OPTIONS: '', BENCH_RUSAGE_FILE: options.rusagePath },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    track(child);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      void terminate(child);
    }, options.timeoutMs);

    const input = createReadStream(options.inputPath);
    // A child that exits before reading everything closes the pipe: EPIPE is its failure, not ours.
    child.stdin.on('error', () => input.destroy());
    input.on('error', (error) => {
      child.kill('SIGKILL');
      reject(error);
    });
    input.pipe(child.stdin);

    const stdoutLines: string[] = [];
    const keep = options.keepLine ?? (() => true);
    createInterface({ input: child.stdout, crlfDelay: Infinity }).on('line', (line) => {
      if (keep(line, performance.now() - started)) stdoutLines.push(line);
    });
    let stderrTail = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      stderrTail = (stderrTail + chunk).slice(-STDERR_TAIL);
    });

    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('close', (exitCode, signal) => {
      clearTimeout(timer);
      const wallMs = performance.now() - started;
      let rusage: Rusage | undefined;
      if (existsSync(options.rusagePath))
        rusage = JSON.parse(readFileSync(options.rusagePath, 'utf8')) as Rusage;
      resolve({
        exitCode,
        signal,
        timedOut,
        wallMs,
        rusage,
        stdoutLines,
        stderrTail,
        benchCpuMs: cpuMs(process.cpuUsage(benchCpu)),
      });
    });
  });
}

/** How to start the emulator process. */
export interface EmulatorProcessOptions {
  cliPath: string;
  latencyMs: number;
  heapMb: number;
  startTimeoutMs?: number;
}

/** The Salesforce emulator in its own process, driven through its admin endpoint. */
export class EmulatorProcess {
  private stderrTail = '';

  private constructor(
    private readonly child: ChildProcess,
    /** Login host and instance URL. */
    readonly url: string,
    /** The default connected app and refresh token. */
    readonly credentials: { clientId: string; clientSecret: string; refreshToken: string },
  ) {
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      this.stderrTail = (this.stderrTail + chunk).slice(-STDERR_TAIL);
    });
  }

  /** Starts `node --max-old-space-size=… cli.js --port 0 --latency-ms … --json` and reads its first line. */
  static async start(options: EmulatorProcessOptions): Promise<EmulatorProcess> {
    const child = spawn(
      process.execPath,
      [
        // 1,000,000 stored Contacts take ~500 MB of heap (emulator README, "Figures").
        `--max-old-space-size=${options.heapMb}`,
        options.cliPath,
        '--port',
        '0',
        '--latency-ms',
        String(options.latencyMs),
        '--json',
      ],
      { env: { ...process.env, NODE_OPTIONS: '' }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    track(child);
    let stderr = '';
    child.stderr.setEncoding('utf8');
    const onStderr = (chunk: string): void => void (stderr += chunk);
    child.stderr.on('data', onStderr);
    const lines = createInterface({ input: child.stdout, crlfDelay: Infinity });
    try {
      const line = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error('the emulator printed nothing within the start-up timeout')),
          options.startTimeoutMs ?? 30_000,
        );
        lines.once('line', (l) => {
          clearTimeout(timer);
          resolve(l);
        });
        child.once('exit', (code, signal) => {
          clearTimeout(timer);
          reject(
            new Error(`the emulator exited on start-up (${signal ?? `code ${code}`}): ${stderr.trim()}`),
          );
        });
        child.once('error', reject);
      });
      const started = JSON.parse(line) as {
        url: string;
        clientId: string;
        clientSecret: string;
        refreshToken: string;
      };
      child.stderr.off('data', onStderr);
      // Keep draining stdout so a chatty emulator never blocks on a full pipe.
      child.stdout.resume();
      const { url, clientId, clientSecret, refreshToken } = started;
      const emulator = new EmulatorProcess(child, url, { clientId, clientSecret, refreshToken });
      emulator.stderrTail = stderr;
      return emulator;
    } catch (error) {
      await terminate(child, 2_000);
      throw error;
    }
  }

  /** Clears stored records and zeroes the request counters and the CPU baseline. */
  async reset(): Promise<void> {
    await this.admin('POST', 'reset');
    await this.admin('POST', 'reset-stats');
  }

  /** Counters since the last reset. */
  async stats(): Promise<EmulatorStats> {
    return (await this.admin('GET', 'stats')) as EmulatorStats;
  }

  /** Changes settings (latency model, lock contention) for the runs that follow. */
  async configure(settings: Partial<EmulatorSettings>): Promise<void> {
    await this.admin('POST', 'configure', settings);
  }

  /** Live records of an object. */
  async count(objectName: string): Promise<number> {
    return ((await this.admin('GET', `count/${objectName}`)) as { count: number }).count;
  }

  /** SIGTERM (the emulator closes its server and exits 0), SIGKILL after a grace period. */
  async stop(): Promise<void> {
    await terminate(this.child, 5_000);
  }

  private async admin(method: 'GET' | 'POST', path: string, body?: unknown): Promise<unknown> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) {
      throw new Error(
        `the emulator is no longer running (${this.child.signalCode ?? `exit code ${this.child.exitCode}`}): ${this.stderrTail.trim()}`,
      );
    }
    const response = await fetch(`${this.url}/__emulator/${path}`, {
      method,
      signal: AbortSignal.timeout(60_000),
      ...(body === undefined
        ? {}
        : { body: JSON.stringify(body), headers: { 'Content-Type': 'application/json' } }),
    });
    if (!response.ok) throw new Error(`emulator ${method} /__emulator/${path}: HTTP ${response.status}`);
    return response.status === 204 ? undefined : response.json();
  }
}

/**
 * Polls the emulator's counters every `everyMs` while a measured process runs (one stats and one
 * count request: a few hundred µs of the emulator's CPU each time). A poll still waiting when the next
 * is due is not doubled.
 */
export class Sampler {
  readonly samples: Sample[] = [];
  private timer: NodeJS.Timeout | undefined;
  private pending: Promise<void> | undefined;
  private origin = 0;

  constructor(
    private readonly emulator: EmulatorProcess,
    private readonly objectName: string,
    private readonly everyMs = 500,
  ) {}

  /** Starts polling; sample times count from now (taken just before the process is spawned). */
  start(): void {
    this.origin = performance.now();
    this.poll();
    this.timer = setInterval(() => this.poll(), this.everyMs);
  }

  /** Stops polling, takes a last sample, and returns every sample in time order. */
  async stop(): Promise<Sample[]> {
    clearInterval(this.timer);
    await this.pending;
    this.pending = this.take();
    await this.pending;
    return this.samples;
  }

  private poll(): void {
    if (this.pending !== undefined) return;
    this.pending = this.take().finally(() => (this.pending = undefined));
  }

  private async take(): Promise<void> {
    try {
      const t = performance.now() - this.origin;
      const [stats, stored] = await Promise.all([
        this.emulator.stats(),
        this.emulator.count(this.objectName),
      ]);
      this.samples.push({
        t,
        stored,
        lockErrors: stats.lockErrors,
        apiUsed: stats.apiUsed,
        composite: stats.byKind.composite ?? 0,
        inFlight: stats.inFlight,
      });
    } catch {
      // A poll that fails (the emulator busy past the timeout) leaves a gap in the chart, nothing more.
    }
  }
}
