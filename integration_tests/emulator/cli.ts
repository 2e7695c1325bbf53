/**
 * Run the Salesforce emulator as a process:
 *
 *   node build/integration_tests/emulator/cli.js [options]   (see USAGE below, or --help)
 *
 * Prints the URL and the default credentials on stdout (one JSON line with --json:
 * {url, clientId, clientSecret, refreshToken, username}) and runs until SIGTERM, SIGINT or SIGHUP, or
 * until its parent process goes away (`npm run emulator` killed, a test runner gone): it never
 * outlives whoever started it. For more than about 5 million stored records give node a bigger heap
 * (--max-old-space-size).
 */
import { FixturesError } from './fixtures.js';
import { SettingError, startEmulator } from './index.js';
import type { EmulatorOptions, EmulatorSettings } from './types.js';

const USAGE = `usage: cli.js [--port N] [--fixtures DIR] [--json] [--daily-limit N] [--max-concurrent N]
              [--latency-ms MS] [--latency-per-record-ms MS] [--latency-jitter-ms MS --jitter-seed N]
              [--long-running-threshold-ms MS] [--max-long-running N] [--server-call-limit-ms MS]
              [--lock-contention] [--lock-contention-per-writer P] [--lock-contention-max P]
              [--lock-contention-seed N]
`;

/**
 * How often the parent is checked for (ms). Linux offers node no event for a parent's death short of a
 * pipe the parent must create; one getppid() a second costs nothing measurable.
 */
const PARENT_CHECK_MS = 1000;

function usage(message: string): never {
  process.stderr.write(`${message}\n${USAGE}`);
  process.exit(2);
}

/** Flags that set one setting, and how their value is read. */
const SETTING_FLAGS: Record<
  string,
  { key: keyof EmulatorSettings; value: 'integer' | 'number' | 'fraction' }
> = {
  '--latency-ms': { key: 'latencyMs', value: 'number' },
  '--latency-per-record-ms': { key: 'latencyPerRecordMs', value: 'number' },
  '--latency-jitter-ms': { key: 'latencyJitterMs', value: 'integer' },
  '--jitter-seed': { key: 'jitterSeed', value: 'integer' },
  '--long-running-threshold-ms': { key: 'longRunningThresholdMs', value: 'number' },
  '--max-long-running': { key: 'maxLongRunning', value: 'integer' },
  '--server-call-limit-ms': { key: 'serverCallLimitMs', value: 'integer' },
  '--lock-contention-per-writer': { key: 'lockContentionPerWriter', value: 'fraction' },
  '--lock-contention-max': { key: 'lockContentionMax', value: 'fraction' },
  '--lock-contention-seed': { key: 'lockContentionSeed', value: 'integer' },
  '--daily-limit': { key: 'dailyApiLimit', value: 'integer' },
  '--max-concurrent': { key: 'maxConcurrent', value: 'integer' },
};

function parseArgs(argv: string[]): { options: EmulatorOptions; json: boolean } {
  const settings: Record<string, unknown> = {};
  const options: EmulatorOptions = {};
  let json = false;
  const read = (flag: string, value: string | undefined, kind: 'integer' | 'number' | 'fraction'): number => {
    const n = Number(value);
    const ok =
      value !== undefined &&
      value.trim() !== '' &&
      Number.isFinite(n) &&
      n >= 0 &&
      (kind !== 'integer' || Number.isInteger(n)) &&
      (kind !== 'fraction' || n <= 1);
    if (!ok)
      usage(
        `${flag} needs ${kind === 'integer' ? 'a non-negative integer' : kind === 'fraction' ? 'a number from 0 to 1' : 'a non-negative number'}`,
      );
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const setting = SETTING_FLAGS[arg];
    if (setting !== undefined) {
      settings[setting.key] = read(arg, argv[++i], setting.value);
      continue;
    }
    switch (arg) {
      case '--help':
        process.stdout.write(USAGE);
        return process.exit(0);
      case '--json':
        json = true;
        break;
      case '--lock-contention':
        settings.lockContention = true;
        break;
      case '--port':
        options.port = read(arg, argv[++i], 'integer');
        break;
      case '--fixtures': {
        const dir = argv[++i];
        if (dir === undefined) usage('--fixtures needs a directory');
        options.fixturesDir = dir;
        break;
      }
      default:
        usage(`unknown argument: ${arg}`);
    }
  }
  options.settings = settings;
  return { options, json };
}

/**
 * End the process (exit code 0) on SIGTERM, SIGINT or SIGHUP, and when the parent process goes away —
 * npm does not pass every signal on to a script, and a SIGKILLed parent passes none.
 */
function stopWith(close: () => Promise<void>): void {
  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    clearInterval(watch);
    void close().then(() => process.exit(0));
  };
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.once(signal, stop);
  // An orphan is re-parented (to init or a subreaper), so a changed ppid means the parent has gone.
  const parent = process.ppid;
  const watch = setInterval(() => {
    if (process.ppid !== parent) stop();
  }, PARENT_CHECK_MS);
}

async function main(): Promise<void> {
  const { options, json } = parseArgs(process.argv.slice(2));
  const emulator = await startEmulator(options);
  stopWith(() => emulator.close());
  const { clientId, clientSecret, refreshToken, username } = emulator.credentials;
  if (json) {
    process.stdout.write(
      `${JSON.stringify({ url: emulator.url, clientId, clientSecret, refreshToken, username })}\n`,
    );
  } else {
    process.stdout.write(
      [
        `Salesforce emulator listening on ${emulator.url}`,
        `  login host / instance URL: ${emulator.url}`,
        `  client_id:     ${clientId}`,
        `  client_secret: ${clientSecret}`,
        `  refresh_token: ${refreshToken}`,
        `  username:      ${username}`,
        `  admin:         ${emulator.url}/__emulator/stats`,
        `  stop:          Ctrl-C, or kill ${process.pid} (SIGTERM/SIGINT/SIGHUP); it also ends with its parent`,
        '',
      ].join('\n'),
    );
  }
}

main().catch((e: unknown) => {
  if (e instanceof SettingError) usage(e.message);
  // Missing fixtures are a set-up mistake, said in one line; anything else is a bug, with its stack.
  const text =
    e instanceof FixturesError ? e.message : e instanceof Error ? (e.stack ?? e.message) : String(e);
  process.stderr.write(`${text}\n`);
  process.exit(1);
});
