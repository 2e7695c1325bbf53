/**
 * What keeps a test run from leaving things behind, checked by running jest itself on small
 * fixtures (fixtures/*.fixture.ts) in a temporary folder of its own: the shared setup
 * (jest.setup.ts), the global setup and teardown, and the helpers' temporary files.
 */
import { describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { ROOT, tempFiles } from './cli.js';
import { tempDir } from './temp.js';

const JEST = join(ROOT, 'node_modules', 'jest', 'bin', 'jest.js');

interface JestRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  output: string;
}

/**
 * Runs jest on one fixture with TMPDIR at `tmp` (its cache there too, so everything it writes is
 * in `tmp`); `onOutput` sees its output as it comes and may signal it.
 */
function jestOn(
  fixture: string,
  tmp: string,
  onOutput?: (output: string, signal: (s: NodeJS.Signals) => void) => void,
): Promise<JestRun> {
  return new Promise((resolve, reject) => {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      TMPDIR: tmp,
      NODE_OPTIONS: '--experimental-vm-modules',
    };
    // This run's own bookkeeping, so the inner run sets up its own.
    delete env.JEST_WORKER_ID;
    delete env.SFSC_TEST_RUN_DIR;
    delete env.SFSC_TEST_SAVED_TMPDIR;
    const child = spawn(
      process.execPath,
      [
        JEST,
        '--config',
        join(ROOT, 'jest.config.js'),
        '--roots',
        join(ROOT, 'integration_tests', 'helpers', 'fixtures'),
        '--testMatch',
        `**/${fixture}`,
        '--cacheDirectory',
        join(tmp, 'jest-cache'),
        '--runInBand',
        '--ci',
      ],
      { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    const take = (chunk: Buffer): void => {
      output += chunk.toString();
      onOutput?.(output, (s) => child.kill(s));
    };
    child.stdout.on('data', take);
    child.stderr.on('data', take);
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, output }));
  });
}

/** The entries of `dir` but the inner run's jest cache. */
const entriesBut = (dir: string): string[] => readdirSync(dir).filter((name) => name !== 'jest-cache');

describe('temporary files of a test', () => {
  let first: string | undefined;

  it('are 0600 files in a 0700 folder inside the run’s own temporary folder', () => {
    const files = tempFiles({ 'config.json': { credentials: { refresh_token: 'secret' } } });
    first = files.dir;
    expect(statSync(files.dir).mode & 0o777).toBe(0o700);
    expect(statSync(files['config.json']!).mode & 0o777).toBe(0o600);
    expect(basename(files.dir)).toMatch(/^sfsc-/);
    // The global setup pointed TMPDIR at a folder of this run's own.
    expect(tmpdir()).toBe(process.env.SFSC_TEST_RUN_DIR);
    expect(basename(dirname(files.dir))).toMatch(/^sfsc-run-/);
  });

  it('are gone once the test that made them has ended', () => {
    expect(first).toBeDefined();
    expect(existsSync(first!)).toBe(false);
  });
});

describe('a jest run', () => {
  it('fails each test that leaves a nock scope unused or a CLI running, and fails the run for a file left behind, removing everything', async () => {
    const tmp = tempDir();
    const run = await jestOn('leaky.fixture.ts', tmp);
    expect(run.code).toBe(1);
    expect(run.output).toContain('failing on purpose');
    expect(run.output).toMatch(
      /nock scopes set up but never used:\s+GET https:\/\/login\.example\.com:443\/never-asked/,
    );
    expect(run.output).toContain('1 CLI process(es) still running when the test ended (killed)');
    expect(run.output).toMatch(/Tests:\s+3 failed, 1 passed, 4 total/);
    // Only the file made without the helpers is reported: the failed test's folder went with it.
    expect(run.output).toMatch(
      /The tests left 1 temporary entry behind in \S+ \(removed now\): stray-file\.json\./,
    );
    expect(entriesBut(tmp)).toEqual([]);
  }, 120_000);

  it('interrupted (SIGINT) while a test waits, removes its temporary folder and the config in it', async () => {
    const tmp = tempDir();
    let configDir: string | undefined;
    const run = await jestOn('interrupted.fixture.ts', tmp, (output, signal) => {
      const ready = /fixture ready: (\S+)/.exec(output);
      if (ready !== null && configDir === undefined) {
        configDir = ready[1]!;
        expect(existsSync(join(configDir, 'config.json'))).toBe(true);
        signal('SIGINT');
      }
    });
    expect(configDir).toBeDefined();
    expect(run.signal ?? run.code).toBe('SIGINT');
    expect(existsSync(configDir!)).toBe(false);
    expect(entriesBut(tmp)).toEqual([]);
  }, 120_000);
});
