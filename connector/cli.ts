/**
 * argv → one typed command. No I/O: main.ts runs the command.
 * The Airbyte platform calls `spec`, `check --config F`, `discover --config F` and
 * `write --config F --catalog F` (airbyte-protocol-notes §3.1); `login` is for people.
 */
import { ConfigError } from './errors.js';

/** A parsed command line. */
export type Command =
  | { name: 'spec' }
  | { name: 'check'; config: string }
  | { name: 'discover'; config: string }
  | { name: 'write'; config: string; catalog: string }
  | {
      name: 'login';
      clientId?: string;
      clientSecret?: string;
      loginUrl?: string;
      sandbox: boolean;
      port: number;
      scope: string;
      timeoutSeconds: number;
    }
  | { name: 'help' };

const USAGE = `usage:
  spec
  check --config <config.json>
  discover --config <config.json>
  write --config <config.json> --catalog <configured_catalog.json>   (AirbyteMessages on stdin)
  login --client-id <consumer key> [--client-secret <secret>] [--login-url <url> | --sandbox]
        [--port 1717] [--scope "api refresh_token"] [--timeout-seconds 300]`;

/** The usage text printed by `help`. */
export function usage(): string {
  return USAGE;
}

const FLAGS: Record<string, ReadonlySet<string>> = {
  spec: new Set(),
  check: new Set(['config']),
  discover: new Set(['config']),
  write: new Set(['config', 'catalog']),
  login: new Set(['client-id', 'client-secret', 'login-url', 'sandbox', 'port', 'scope', 'timeout-seconds']),
  help: new Set(),
};
const BOOLEAN_FLAGS = new Set(['sandbox']);

/** Parses argv (without `node` and the script). Throws ConfigError for anything it does not understand. */
export function parseArgs(argv: readonly string[]): Command {
  const [name, ...rest] = argv;
  if (name === undefined) throw new ConfigError(`No command given.\n${USAGE}`);
  const normalized = name === '--help' || name === '-h' ? 'help' : name;
  const allowed = FLAGS[normalized];
  if (allowed === undefined) throw new ConfigError(`Unknown command "${name}".\n${USAGE}`);
  const flags = new Map<string, string | true>();
  for (let i = 0; i < rest.length; i += 1) {
    const arg = rest[i]!;
    if (!arg.startsWith('--'))
      throw new ConfigError(`Unexpected argument "${arg}" for ${normalized}.\n${USAGE}`);
    const [key, inline] = arg.slice(2).split(/=(.*)/s, 2) as [string, string | undefined];
    if (!allowed.has(key)) throw new ConfigError(`Unknown option --${key} for ${normalized}.\n${USAGE}`);
    if (BOOLEAN_FLAGS.has(key)) {
      flags.set(key, true);
      continue;
    }
    const value = inline ?? rest[i + 1];
    if (value === undefined || (inline === undefined && value.startsWith('--'))) {
      throw new ConfigError(`Option --${key} needs a value.\n${USAGE}`);
    }
    if (inline === undefined) i += 1;
    flags.set(key, value);
  }
  const need = (key: string): string => {
    const value = flags.get(key);
    if (typeof value !== 'string') throw new ConfigError(`${normalized} needs --${key} <file>.\n${USAGE}`);
    return value;
  };
  switch (normalized) {
    case 'spec':
      return { name: 'spec' };
    case 'help':
      return { name: 'help' };
    case 'check':
      return { name: 'check', config: need('config') };
    case 'discover':
      return { name: 'discover', config: need('config') };
    case 'write':
      return { name: 'write', config: need('config'), catalog: need('catalog') };
    default: {
      const port = Number(flags.get('port') ?? 1717);
      if (!Number.isInteger(port) || port < 1 || port > 65535)
        throw new ConfigError('--port must be a TCP port (1–65535).');
      const timeoutSeconds = Number(flags.get('timeout-seconds') ?? 300);
      if (!(timeoutSeconds > 0)) throw new ConfigError('--timeout-seconds must be a positive number.');
      const command: Command = {
        name: 'login',
        sandbox: flags.get('sandbox') === true,
        port,
        scope: typeof flags.get('scope') === 'string' ? (flags.get('scope') as string) : 'api refresh_token',
        timeoutSeconds,
      };
      const clientId = flags.get('client-id');
      if (typeof clientId === 'string') command.clientId = clientId;
      const clientSecret = flags.get('client-secret');
      if (typeof clientSecret === 'string') command.clientSecret = clientSecret;
      const loginUrl = flags.get('login-url');
      if (typeof loginUrl === 'string') command.loginUrl = loginUrl;
      return command;
    }
  }
}
