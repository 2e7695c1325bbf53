/**
 * Run the Salesforce emulator as a process:
 *
 *   node build/integration_tests/emulator/cli.js [--port N] [--latency-ms N] [--daily-limit N]
 *        [--max-concurrent N] [--fixtures DIR] [--json]
 *
 * Prints the URL and the default credentials on stdout (one JSON line with --json:
 * {url, clientId, clientSecret, refreshToken, username}) and runs until SIGTERM or SIGINT.
 * For more than about 5 million stored records give node a bigger heap (--max-old-space-size).
 */
import { FixturesError } from './fixtures.js';
import { startEmulator } from './index.js';
import type { EmulatorOptions } from './types.js';

function usage(message: string): never {
  process.stderr.write(
    `${message}\nusage: cli.js [--port N] [--latency-ms N] [--daily-limit N] [--max-concurrent N] [--fixtures DIR] [--json]\n`,
  );
  process.exit(2);
}

function parseArgs(argv: string[]): { options: EmulatorOptions; json: boolean } {
  const options: EmulatorOptions = {};
  let json = false;
  const number = (flag: string, value: string | undefined): number => {
    const n = Number(value);
    if (value === undefined || !Number.isInteger(n) || n < 0) usage(`${flag} needs a non-negative integer`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    switch (arg) {
      case '--json':
        json = true;
        break;
      case '--port':
        options.port = number(arg, argv[++i]);
        break;
      case '--latency-ms':
        options.latencyMs = number(arg, argv[++i]);
        break;
      case '--daily-limit':
        options.dailyApiLimit = number(arg, argv[++i]);
        break;
      case '--max-concurrent':
        options.maxConcurrent = number(arg, argv[++i]);
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
  return { options, json };
}

async function main(): Promise<void> {
  const { options, json } = parseArgs(process.argv.slice(2));
  const emulator = await startEmulator(options);
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
        '',
      ].join('\n'),
    );
  }
  const stop = (): void => {
    void emulator.close().then(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main().catch((e: unknown) => {
  // Missing fixtures are a set-up mistake, said in one line; anything else is a bug, with its stack.
  const text =
    e instanceof FixturesError ? e.message : e instanceof Error ? (e.stack ?? e.message) : String(e);
  process.stderr.write(`${text}\n`);
  process.exit(1);
});
