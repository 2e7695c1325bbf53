/**
 * The emulator as a process (cli.ts): its flags set the settings, and it never outlives whoever
 * started it — it ends on SIGTERM, SIGINT and SIGHUP, and when its parent process is killed.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { build } from 'esbuild';
import { resolveFixturesDir } from './fixtures.js';
import { send } from './test-support.js';

let scratch: string;
let cli: string;
/** Processes started by a test, killed after it if still there. */
const started: ChildProcess[] = [];
/** Emulator pids known to a test (grandchildren), killed after it if still alive. */
const emulatorPids: number[] = [];

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'sf-emulator-cli-'));
  // The CLI as one ES module (jest runs the .ts sources; nothing is built).
  cli = join(scratch, 'cli.mjs');
  await build({
    entryPoints: [join(dirname(fileURLToPath(import.meta.url)), 'cli.ts')],
    outfile: cli,
    bundle: true,
    platform: 'node',
    format: 'esm',
    logLevel: 'silent',
  });
});

afterEach(() => {
  for (const child of started.splice(0))
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  for (const pid of emulatorPids.splice(0)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

afterAll(() => {
  rmSync(scratch, { recursive: true, force: true });
});

/**
 * The environment of a child: the fixtures of this repository (the bundle lives outside it), and not
 * jest's NODE_OPTIONS (VM modules).
 */
function childEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, SALESFORCE_FIXTURES_DIR: resolveFixturesDir() };
  delete env.NODE_OPTIONS;
  return env;
}

/** The first line a stream prints; rejects when it ends without one. */
function firstLine(stream: NodeJS.ReadableStream): Promise<string> {
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: stream });
    lines.once('line', (line) => {
      lines.removeAllListeners('close');
      lines.close();
      resolve(line);
    });
    lines.once('close', () => reject(new Error('the process printed no line')));
  });
}

/** Start the CLI with `--json` and `args`; resolves with the child and the URL it printed. */
async function startCli(args: string[] = []): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [cli, '--json', ...args], {
    env: childEnv(),
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  started.push(child);
  const { url } = JSON.parse(await firstLine(child.stdout)) as { url: string };
  return { child, url };
}

/** Whether anything still answers at `url`. */
async function answers(url: string): Promise<boolean> {
  try {
    await send(`${url}/__emulator/stats`);
    return true;
  } catch {
    return false;
  }
}

describe('flags', () => {
  it('set the latency model, the long-running limit, the call limit and lock contention', async () => {
    const { child, url } = await startCli([
      '--latency-ms',
      '150',
      '--latency-per-record-ms',
      '2.5',
      '--long-running-threshold-ms',
      '5000',
      '--max-long-running',
      '5',
      '--server-call-limit-ms',
      '60000',
      '--lock-contention',
      '--lock-contention-per-writer',
      '0.05',
      '--lock-contention-max',
      '0.8',
      '--lock-contention-seed',
      '7',
      '--max-concurrent',
      '40',
      '--daily-limit',
      '15000',
    ]);
    const settings = (await send(`${url}/__emulator/settings`)).body;
    expect(settings).toMatchObject({
      latencyMs: 150,
      latencyPerRecordMs: 2.5,
      longRunningThresholdMs: 5000,
      maxLongRunning: 5,
      serverCallLimitMs: 60000,
      lockContention: true,
      lockContentionPerWriter: 0.05,
      lockContentionMax: 0.8,
      lockContentionSeed: 7,
      maxConcurrent: 40,
      dailyApiLimit: 15000,
    });
    child.kill('SIGTERM');
    await once(child, 'exit');
  });

  it('refuse a value out of range with one line, the usage and exit code 2', async () => {
    const cases: Array<[string[], string]> = [
      [['--lock-contention-max', '1.5'], '--lock-contention-max needs a number from 0 to 1'],
      [['--max-long-running', 'x'], '--max-long-running needs a non-negative integer'],
      [
        ['--server-call-limit-ms', '1e12'],
        'Emulator setting serverCallLimitMs must be a non-negative integer up to 2147483647',
      ],
    ];
    for (const [args, message] of cases) {
      const child = spawn(process.execPath, [cli, ...args], {
        env: childEnv(),
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      started.push(child);
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const [code] = (await once(child, 'exit')) as [number | null];
      expect(code).toBe(2);
      expect(stderr).toMatch(new RegExp(`^${message}\nusage: cli.js `));
    }
  });
});

describe('stopping', () => {
  it.each(['SIGTERM', 'SIGINT', 'SIGHUP'] as const)('ends with exit code 0 on %s', async (signal) => {
    const { child, url } = await startCli();
    expect(await answers(url)).toBe(true);
    child.kill(signal);
    const [code, killedBy] = (await once(child, 'exit')) as [number | null, string | null];
    expect({ code, killedBy }).toEqual({ code: 0, killedBy: null });
    expect(await answers(url)).toBe(false);
  });

  it('ends when its parent is killed (SIGKILL), as under a killed `npm run emulator`', async () => {
    // The parent: a node process that starts the CLI with its own stdio (our pipes) and prints its pid.
    const parentScript = `
      const { spawn } = require('node:child_process');
      const emulator = spawn(process.execPath, [${JSON.stringify(cli)}, '--json'], { stdio: 'inherit' });
      process.stderr.write('emulator pid ' + emulator.pid + '\\n');
      setInterval(() => {}, 60_000);
    `;
    const parent = spawn(process.execPath, ['-e', parentScript], {
      env: childEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    started.push(parent);
    const pidLine = await firstLine(parent.stderr);
    const emulatorPid = Number(/^emulator pid (\d+)$/.exec(pidLine)?.[1]);
    emulatorPids.push(emulatorPid);
    const { url } = JSON.parse(await firstLine(parent.stdout)) as { url: string };
    expect(await answers(url)).toBe(true);

    // Our stdout pipe closes when its last writer ends: with the parent dead, that is the emulator.
    const stdoutClosed = once(parent.stdout, 'close');
    parent.stdout.resume();
    parent.stderr.resume();
    parent.kill('SIGKILL');
    await once(parent, 'exit');
    let safety: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([
      stdoutClosed.then(() => 'emulator ended'),
      new Promise<string>((resolve) => {
        safety = setTimeout(() => resolve('emulator still running after 30 s'), 30_000);
      }),
    ]);
    clearTimeout(safety);
    expect(outcome).toBe('emulator ended');
    expect(await answers(url)).toBe(false);
  });
});
