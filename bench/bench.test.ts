/**
 * The benchmark leaves nothing behind when it is interrupted or fails: not its temporary folder (the
 * connector configs in it hold credentials, 0600), not its emulator. Runs the compiled benchmark
 * (build/bench/bench.js, from `npm run build`) with TMPDIR at a folder of the test's own, so that
 * what is left there is exactly what the benchmark left.
 */
import { describe, expect, it } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../integration_tests/helpers/cli.js';
import { tempDir } from '../integration_tests/helpers/temp.js';

const BENCH = join(ROOT, 'build', 'bench', 'bench.js');
/** The smallest run: it is stopped long before the end. */
const SMALL = ['--rows', '1000', '--only', 'cpu', '--cpu-pairs', '1'];

interface BenchRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
}

/** Runs the benchmark with TMPDIR at `tmp`; `onLine` sees each stdout line as it comes. */
function bench(
  tmp: string,
  env: Record<string, string>,
  onLine?: (line: string, child: ChildProcess) => void,
): Promise<BenchRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BENCH, ...SMALL], {
      env: { ...process.env, NODE_OPTIONS: '', TMPDIR: tmp, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let pending = '';
    let stderr = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      pending += chunk;
      let nl = pending.indexOf('\n');
      while (nl !== -1) {
        onLine?.(pending.slice(0, nl), child);
        pending = pending.slice(nl + 1);
        nl = pending.indexOf('\n');
      }
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stderr }));
  });
}

describe('the benchmark', () => {
  it('is built (npm run build)', () => {
    expect(existsSync(BENCH)).toBe(true);
  });

  it('interrupted (SIGINT) mid-run: stops its emulator and removes its folder and the configs in it', async () => {
    const tmp = tempDir();
    let emulatorUrl: string | undefined;
    let configModes: number[] = [];
    const run = await bench(tmp, {}, (line, child) => {
      const started = /^Emulator at (\S+)/.exec(line);
      if (started !== null) emulatorUrl = started[1];
      // The first measured run has ended: its config is on disk, and the next run is starting.
      if (line.startsWith('  connector, state only #1:') && configModes.length === 0) {
        const [folder] = readdirSync(tmp);
        const configs = readdirSync(join(tmp, folder!)).filter((name) => name.startsWith('config-'));
        configModes = configs.map((name) => statSync(join(tmp, folder!, name)).mode & 0o777);
        child.kill('SIGINT');
      }
    });
    expect(configModes).toEqual([0o600]);
    expect(run.stderr).toContain('bench: SIGINT, stopping');
    expect(run.code).toBe(130);
    expect(readdirSync(tmp)).toEqual([]);
    // The emulator was SIGKILLed on the way out: nothing answers at its address any more.
    expect(emulatorUrl).toBeDefined();
    await expect(fetch(`${emulatorUrl!}/__emulator/stats`)).rejects.toThrow();
  }, 120_000);

  it('failing (its emulator cannot start): removes its folder', async () => {
    const tmp = tempDir();
    const run = await bench(tmp, { SALESFORCE_FIXTURES_DIR: join(tmp, 'no-such-fixtures') });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('the emulator exited on start-up');
    expect(readdirSync(tmp)).toEqual([]);
  }, 120_000);
});
