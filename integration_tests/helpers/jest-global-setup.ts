/**
 * Jest globalSetup: this run gets a temporary folder of its own, and every temporary path in the
 * run goes there — TMPDIR is set before jest starts its workers, so os.tmpdir() in each test, and in
 * each CLI, emulator or benchmark process a test starts, names it. The global teardown then knows
 * exactly what this run left behind, even while another run on the machine makes folders of its own.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// Jest loads this file on its own, without the tests' module mapping, so it imports nothing local:
// the teardown reads the same two names, and temp.ts makes its folders with the same prefix.
/** The environment variable that names the run's folder (for the teardown and for tests). */
const RUN_DIR_ENV = 'SFSC_TEST_RUN_DIR';
/** Where TMPDIR was before the run, restored by the teardown ('' when it was not set). */
const SAVED_TMPDIR_ENV = 'SFSC_TEST_SAVED_TMPDIR';

/** Creates the run's folder (0700) and points TMPDIR at it. */
export default function globalSetup(): void {
  const dir = mkdtempSync(join(tmpdir(), 'sfsc-run-'));
  process.env[SAVED_TMPDIR_ENV] = process.env.TMPDIR ?? '';
  process.env[RUN_DIR_ENV] = dir;
  process.env.TMPDIR = dir;
  // An interrupted run (Ctrl-C, a CI cancel) gets no teardown: remove the folder, then let the
  // signal do what it would have done (the workers get it too and die with their files gone).
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
  const onSignal = (signal: NodeJS.Signals): void => {
    for (const s of signals) process.removeListener(s, onSignal);
    rmSync(dir, { recursive: true, force: true });
    process.kill(process.pid, signal);
  };
  for (const s of signals) process.on(s, onSignal);
}
