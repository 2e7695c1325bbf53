/**
 * Temporary folders of the tests (and the demo): every folder is registered when it is made, so the
 * one who made it cannot forget to remove it. Under jest the shared setup (jest.setup.ts) removes a
 * test's folders when that test ends, passed or failed, and a file's at its end; outside jest (the
 * demo) they go when the process exits. Files written here hold credentials, so they are 0600 in a
 * 0700 folder. No jest import: the demo and the benchmark load this module too.
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The prefix of every folder made here (the issue that asked for cleanup named /tmp/sfsc-*). */
export const TEMP_PREFIX = 'sfsc-';

interface Made {
  dir: string;
  /** Order of creation, so that a test removes only what it made (see {@link tempMark}). */
  seq: number;
}

const made: Made[] = [];
let seq = 0;
let exitHook = false;

/** A fresh folder (mode 0700) under os.tmpdir(), removed for you (see the module comment). */
export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), TEMP_PREFIX));
  // mkdtemp asks for 0700 already; said again so a future change of call cannot loosen it.
  chmodSync(dir, 0o700);
  made.push({ dir, seq: ++seq });
  // Jest sets JEST_WORKER_ID in every process that runs tests; there the shared setup cleans, and
  // one 'exit' listener per test file would pile up in a long-lived worker.
  if (!exitHook && process.env.JEST_WORKER_ID === undefined) {
    exitHook = true;
    process.once('exit', () => removeTempDirs());
  }
  return dir;
}

/** Writes a new file readable by its owner only (0600): it may hold a secret. */
export function writePrivateFile(path: string, text: string): void {
  // 'wx': a file that exists already would keep its own mode, so refuse it instead.
  writeFileSync(path, text, { mode: 0o600, flag: 'wx' });
}

/** A mark to pass to {@link removeTempDirs}: folders made after it are removed, earlier ones kept. */
export function tempMark(): number {
  return seq;
}

/** Removes the folders made after `mark` (default: all); returns how many. */
export function removeTempDirs(mark = 0): number {
  let removed = 0;
  for (let i = made.length - 1; i >= 0; i -= 1) {
    const entry = made[i]!;
    if (entry.seq <= mark) continue;
    rmSync(entry.dir, { recursive: true, force: true });
    made.splice(i, 1);
    removed += 1;
  }
  return removed;
}
