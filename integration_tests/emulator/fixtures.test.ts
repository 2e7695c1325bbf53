/**
 * Start-up without the Describe fixtures: the emulator, in-process and as a process (cli.ts), fails at
 * once with one line that names the directory it looked in and how to point it at another.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { build } from 'esbuild';
import { FixturesError, resolveFixturesDir } from './fixtures.js';
import { startEmulator } from './index.js';

const HINT =
  'set SALESFORCE_FIXTURES_DIR (or pass --fixtures / options.fixturesDir) to a folder of describe-*.json files';

let scratch: string;
let missing: string;

beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), 'sf-fixtures-'));
  missing = join(scratch, 'no-such-dir');
});

afterAll(() => {
  rmSync(scratch, { recursive: true, force: true });
});

/** Run `fn` with SALESFORCE_FIXTURES_DIR set to `value`, then restore it. */
async function withFixturesEnv(value: string, fn: () => Promise<void>): Promise<void> {
  const before = process.env.SALESFORCE_FIXTURES_DIR;
  process.env.SALESFORCE_FIXTURES_DIR = value;
  try {
    await fn();
  } finally {
    if (before === undefined) delete process.env.SALESFORCE_FIXTURES_DIR;
    else process.env.SALESFORCE_FIXTURES_DIR = before;
  }
}

describe('startEmulator', () => {
  it('rejects a missing fixtures directory with a FixturesError naming it', async () => {
    const failure = startEmulator({ fixturesDir: missing });
    await expect(failure).rejects.toThrow(FixturesError);
    await expect(failure).rejects.toThrow(
      `Salesforce Describe fixtures not found: no directory ${missing}; ${HINT}`,
    );
  });

  it('looks in SALESFORCE_FIXTURES_DIR when no directory is given', async () => {
    await withFixturesEnv(missing, async () => {
      await expect(startEmulator()).rejects.toThrow(`no directory ${missing};`);
    });
  });

  it('names the file a fixtures directory lacks', async () => {
    const partial = join(scratch, 'partial');
    mkdirSync(partial);
    const source = resolveFixturesDir();
    for (const file of readdirSync(source))
      if (file !== 'describe-Case.json') copyFileSync(join(source, file), join(partial, file));
    await expect(startEmulator({ fixturesDir: partial })).rejects.toThrow(
      `Salesforce Describe fixtures: ${partial} has no describe-Case.json; ${HINT}`,
    );
  });
});

describe('cli.js', () => {
  let cli: string;

  beforeAll(async () => {
    // The CLI as one ES module outside the repository (jest runs the .ts sources; nothing is built).
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

  /** Run the CLI without SALESFORCE_FIXTURES_DIR unless given. */
  function run(args: string[], fixturesEnv?: string): ReturnType<typeof spawnSync> {
    const env: NodeJS.ProcessEnv = { ...process.env };
    delete env.SALESFORCE_FIXTURES_DIR;
    delete env.NODE_OPTIONS;
    if (fixturesEnv !== undefined) env.SALESFORCE_FIXTURES_DIR = fixturesEnv;
    return spawnSync(process.execPath, [cli, ...args], { env, encoding: 'utf8', timeout: 20_000 });
  }

  it('exits 1 with one line, no stack, for a missing --fixtures directory or SALESFORCE_FIXTURES_DIR', () => {
    for (const result of [run(['--fixtures', missing]), run([], missing)]) {
      expect(result.status).toBe(1);
      expect(result.stdout).toBe('');
      expect(result.stderr).toBe(
        `Salesforce Describe fixtures not found: no directory ${missing}; ${HINT}\n`,
      );
    }
  });

  it('says so in one line when it runs outside the project and no directory is given', () => {
    const result = run([]);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(
      /^Salesforce Describe fixtures: no default directory \(package\.json named destination-salesforce-service-cloud not found above .+\); set SALESFORCE_FIXTURES_DIR .+ describe-\*\.json files\n$/,
    );
  });
});
