/**
 * argv → one typed command. No I/O: main.ts runs the command.
 * The Airbyte platform calls `spec`, `check --config F`, `discover --config F` and
 * `write --config F --catalog F` (airbyte-protocol-notes §3.1); `login` is for people.
 *
 * Options are parsed by node:util's parseArgs in strict mode; when it refuses a command line, the
 * same arguments are read again as tokens (not strict) to name the argument at fault in our words.
 */
import { parseArgs as parseOptions, type ParseArgsConfig } from 'node:util';
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

type Options = NonNullable<ParseArgsConfig['options']>;
const FILE = { type: 'string' } as const;
const TEXT = { type: 'string' } as const;

/** Each command's options. No short forms: the protocol has none, and `-c` beside `--config` would be a second spelling to document. */
const OPTIONS: Record<Command['name'], Options> = {
  spec: {},
  help: {},
  check: { config: FILE },
  discover: { config: FILE },
  write: { config: FILE, catalog: FILE },
  login: {
    'client-id': TEXT,
    'client-secret': TEXT,
    'login-url': TEXT,
    sandbox: { type: 'boolean' },
    port: TEXT,
    scope: TEXT,
    'timeout-seconds': TEXT,
  },
};

const isCommandName = (name: string): name is Command['name'] => Object.hasOwn(OPTIONS, name);

/** Parses argv (without `node` and the script). Throws ConfigError for anything it does not understand. */
export function parseArgs(argv: readonly string[]): Command {
  const [name, ...rest] = argv;
  if (name === undefined) throw new ConfigError(`No command given.\n${USAGE}`);
  const normalized = name === '--help' || name === '-h' ? 'help' : name;
  if (!isCommandName(normalized)) throw new ConfigError(`Unknown command "${name}".\n${USAGE}`);
  const options = OPTIONS[normalized];
  let values: ReturnType<typeof parseOptions>['values'];
  try {
    ({ values } = parseOptions({ args: [...rest], options, strict: true, allowPositionals: false }));
  } catch (error) {
    throw new ConfigError(`${refusal(normalized, rest, options, error)}\n${USAGE}`);
  }
  const text = (key: string): string | undefined => {
    const value = values[key];
    return typeof value === 'string' ? value : undefined;
  };
  const need = (key: string): string => {
    const value = text(key);
    if (value === undefined) throw new ConfigError(`${normalized} needs --${key} <file>.\n${USAGE}`);
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
    case 'login': {
      const port = Number(text('port') ?? 1717);
      if (!Number.isInteger(port) || port < 1 || port > 65535)
        throw new ConfigError('--port must be a TCP port (1–65535).');
      const timeoutSeconds = Number(text('timeout-seconds') ?? 300);
      if (!(timeoutSeconds > 0)) throw new ConfigError('--timeout-seconds must be a positive number.');
      const command: Command = {
        name: 'login',
        sandbox: values.sandbox === true,
        port,
        scope: text('scope') ?? 'api refresh_token',
        timeoutSeconds,
      };
      const clientId = text('client-id');
      if (clientId !== undefined) command.clientId = clientId;
      const clientSecret = text('client-secret');
      if (clientSecret !== undefined) command.clientSecret = clientSecret;
      const loginUrl = text('login-url');
      if (loginUrl !== undefined) command.loginUrl = loginUrl;
      return command;
    }
  }
}

/**
 * Why strict parsing refused `args`, naming the argument: parseArgs says it in its own words (and
 * suggests `--` tricks that mean nothing here), so the tokens of a lenient parse find the culprit.
 */
function refusal(command: string, args: readonly string[], options: Options, error: unknown): string {
  const { tokens } = parseOptions({ args: [...args], options, strict: false, tokens: true });
  for (const token of tokens) {
    if (token.kind === 'option-terminator') continue;
    if (token.kind === 'positional') return `Unexpected argument "${token.value}" for ${command}.`;
    const option = options[token.name];
    if (option === undefined) return `Unknown option ${token.rawName} for ${command}.`;
    if (option.type === 'boolean' && token.value !== undefined)
      return `Option ${token.rawName} takes no value.`;
    if (option.type !== 'string') continue;
    if (token.value === undefined) return `Option ${token.rawName} needs a value.`;
    // Strict parsing reads a separate value that starts with "-" as a forgotten value. The value is
    // not repeated: it may be the client secret.
    if (!token.inlineValue && token.value.startsWith('-')) {
      return token.value.startsWith('--')
        ? `Option ${token.rawName} needs a value.`
        : `Option ${token.rawName} needs a value; for one that starts with "-", write ${token.rawName}=<value>.`;
    }
  }
  return `Cannot read the options of ${command}: ${(error as Error).message}`;
}
