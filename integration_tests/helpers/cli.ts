/**
 * Runs the built connector (dist/main.js) as a child process, the way a platform does: arguments,
 * config and catalog files, AirbyteMessages on stdin, every stdout line parsed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDir, writePrivateFile } from './temp.js';

/** The repository root: the nearest directory above this file with a package.json (works from build/ too). */
export const ROOT = ((): string => {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('cannot find the repository root');
    dir = up;
  }
  return dir;
})();

/** Absolute path of the built entry point. */
export const MAIN = join(ROOT, 'dist', 'main.js');

/** What a run printed. */
export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Every stdout line parsed as JSON (a line that is not JSON fails the parse, on purpose). */
  messages: Array<Record<string, any>>;
}

/** Options of a run. */
export interface RunOptions {
  /** Text written to stdin (then closed); omit for commands that read none. */
  stdin?: string | AsyncIterable<string> | Iterable<string>;
  env?: Record<string, string>;
  /** Called with each stdout line as it arrives. */
  onLine?: (message: Record<string, any>, child: ReturnType<typeof spawn>) => void;
  /** Called once the child is spawned (e.g. to watch its memory). */
  onStart?: (child: ReturnType<typeof spawn>) => void;
  /** Node options before dist/main.js, after {@link NODE_FLAGS} (e.g. `--import` of a hook). */
  nodeArgs?: string[];
  timeoutMs?: number;
}

/**
 * Writes JSON files (0600) to a fresh temporary directory (0700) and returns their paths. The
 * directory is removed when the test ends, passed or failed (integration_tests/helpers/temp.ts).
 */
export function tempFiles(files: Record<string, unknown>): Record<string, string> & { dir: string } {
  const dir = tempDir();
  const out: Record<string, string> = { dir };
  for (const [name, content] of Object.entries(files)) {
    const path = join(dir, name);
    writePrivateFile(path, typeof content === 'string' ? content : JSON.stringify(content));
    out[name] = path;
  }
  return out as Record<string, string> & { dir: string };
}

/** CLI processes started by {@link runCli} that have not exited yet. */
const running = new Set<ChildProcess>();

/**
 * SIGKILLs every CLI process a test started and left running (a test that timed out or threw before
 * its run ended); returns how many. The shared jest setup calls it after each test.
 */
export function killRunningClis(): number {
  const left = running.size;
  for (const child of running) child.kill('SIGKILL');
  running.clear();
  return left;
}

/**
 * The V8 flags the image starts the connector with (the Dockerfile's ENTRYPOINT; metadata.test.ts
 * keeps the two equal). Tests and the benchmark start it the same way.
 *
 * `--max-semi-space-size=8` caps the young generation at 8 MB per semi-space. Node 24's V8 grows it
 * much further on a machine with plenty of memory, and the connector's short-lived garbage then kept
 * ~90 MB more resident: 264 MB peak at 1,000,000 rows against 200 MB allowed (bench/, Node 24.22).
 * With the cap: 156 MB at 300,000 rows on Node 24 for the same CPU; on Node 20 −15 MB, +2 % CPU.
 *
 * `--heap-growing-percent=10` lets the old generation grow by 10 % between full collections instead
 * of V8's own factor (up to 4×). The connector's live set is small and steady (rows wait as bytes and
 * typed arrays); what grew with the row count was garbage awaiting a full collection. Bulk at
 * 1,000,000 rows: peak 165 → 122 MB on Node 20, the same CPU (3 runs each); REST at 100,000 rows
 * 125 → 109 MB, the same CPU (4 alternating pairs). Unlike a heap limit, it cannot run the connector
 * out of memory: a heap that needs to grow still does, a collection at a time.
 */
export const NODE_FLAGS: readonly string[] = ['--max-semi-space-size=8', '--heap-growing-percent=10'];

/** Runs `node <NODE_FLAGS> dist/main.js ...args` and resolves when it exits. */
export function runCli(args: string[], options: RunOptions = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...NODE_FLAGS, ...(options.nodeArgs ?? []), MAIN, ...args], {
      env: { ...process.env, NODE_OPTIONS: '', ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    running.add(child);
    child.once('exit', () => running.delete(child));
    options.onStart?.(child);
    let stdout = '';
    let stderr = '';
    let pending = '';
    const messages: Array<Record<string, any>> = [];
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000);
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      stdout += chunk;
      pending += chunk;
      let nl = pending.indexOf('\n');
      while (nl !== -1) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        if (line.trim() !== '') {
          const message = JSON.parse(line) as Record<string, any>;
          messages.push(message);
          options.onLine?.(message, child);
        }
        nl = pending.indexOf('\n');
      }
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (pending.trim() !== '') messages.push(JSON.parse(pending) as Record<string, any>);
      resolve({ code, signal, stdout, stderr, messages });
    });
    child.stdin.on('error', () => undefined);
    const input = options.stdin;
    if (input === undefined) {
      child.stdin.end();
    } else if (typeof input === 'string') {
      child.stdin.end(input);
    } else {
      void (async () => {
        for await (const chunk of input as AsyncIterable<string>) {
          if (!child.stdin.write(chunk)) await new Promise((r) => child.stdin.once('drain', r));
        }
        child.stdin.end();
      })().catch(() => child.stdin.destroy());
    }
  });
}

/** Messages of one type. */
export function ofType(result: CliResult, type: string): Array<Record<string, any>> {
  return result.messages.filter((m) => m.type === type);
}

/** The text of every LOG message, one per line. */
export function logText(result: CliResult): string {
  return ofType(result, 'LOG')
    .map((m) => `${m.log.level} ${m.log.message}`)
    .join('\n');
}
