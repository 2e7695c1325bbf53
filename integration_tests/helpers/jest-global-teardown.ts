/**
 * Jest globalTeardown: fails the run when its tests left anything in the run's temporary folder
 * (see jest-global-setup.ts) — a config file with credentials, a rejected-records file, a folder
 * made without the helpers — naming each entry; then removes the folder either way, so a failed
 * check leaves nothing behind either.
 */
import { readdirSync, rmSync } from 'node:fs';

// The names jest-global-setup.ts sets (jest loads each of these files alone, without local imports).
const RUN_DIR_ENV = 'SFSC_TEST_RUN_DIR';
const SAVED_TMPDIR_ENV = 'SFSC_TEST_SAVED_TMPDIR';

/** The entries left in `dir`; [] when it is empty or gone. */
function leftovers(dir: string): string[] {
  try {
    return readdirSync(dir).sort();
  } catch {
    return [];
  }
}

/** Checks and removes the run's folder; throws (failing the run) when tests left something in it. */
export default function globalTeardown(): void {
  const dir = process.env[RUN_DIR_ENV];
  if (dir === undefined) return;
  const left = leftovers(dir);
  rmSync(dir, { recursive: true, force: true });
  const saved = process.env[SAVED_TMPDIR_ENV];
  if (saved === undefined || saved === '') delete process.env.TMPDIR;
  else process.env.TMPDIR = saved;
  if (left.length > 0) {
    throw new Error(
      `The tests left ${left.length} temporary entr${left.length === 1 ? 'y' : 'ies'} behind in ${dir} (removed now): ${left.join(', ')}. ` +
        'Make temporary folders with tempDir()/tempFiles() from integration_tests/helpers, which remove them when the test ends.',
    );
  }
}
