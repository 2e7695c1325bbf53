/**
 * Configuration: loaded once at the boundary, validated with ajv against spec/spec.json (every
 * violation named), then turned into a typed value the rest of the connector trusts.
 * PRODUCT.md section 3.
 */
import { readFileSync } from 'node:fs';
import { parse as parseJsonc, printParseErrorCode, type ParseError } from 'jsonc-parser';
import { ConfigError } from './errors.js';
import type { SalesforceCredentials } from './salesforce/auth.js';
import { isLoopback } from './salesforce/proxy.js';
import { nearestName } from './suggest.js';
import type { ConnectorSpecification } from './protocol/messages.js';
import * as validators from './generated/validators.js';
import { describeErrors, readPackageJson } from './validation.js';

/** The API version used when the config names none; the one constant for it (STYLE.md principle 13). */
export const DEFAULT_API_VERSION = 'v61.0';
/** Oldest version this connector promises to work with (PRODUCT.md section 3). */
export const OLDEST_API_VERSION = 59;

/** The operations of PRODUCT.md section 5. */
export type SyncMode = 'upsert' | 'insert' | 'update' | 'add' | 'remove' | 'mirror';
/** Which API writes (advanced.write_api, PRODUCT.md section 7a). */
export type WriteApi = 'auto' | 'rest' | 'bulk';

/** Null values clear fields, or are skipped. */
export type NullHandling = 'clear' | 'skip';

/** How the connector signs in (credentials oneOf): the Salesforce client's own type. */
export type Credentials = SalesforceCredentials;

/** Per-stream (or top-level) target settings. */
export interface TargetSettings {
  /** API name of the object (Custom Object already resolved to its __c name). */
  salesforceObject?: string;
  syncMode?: SyncMode;
  externalIdField?: string;
  /** source column → Salesforce field */
  fieldMappings?: Record<string, string>;
}

/** A `streams` entry. */
export interface StreamOverride extends TargetSettings {
  streamName: string;
  streamNamespace?: string;
}

/** The advanced settings, every one defaulted. */
export interface AdvancedSettings {
  recordsPerRequest: number;
  /** Calls in flight at once: a fixed number, or `auto` (adapted to what the org takes, load/pace.ts). */
  parallelRequests: number | 'auto';
  /** The most calls `auto` may have in flight. */
  maxParallelRequests: number;
  /** Which API writes: Composite (rest), Bulk API 2.0 (bulk), or chosen per stream (auto). */
  writeApi: WriteApi;
  /** With writeApi auto: the rows of a stream waiting that move it to Bulk API 2.0. */
  bulkThresholdRows: number;
  nullHandling: NullHandling;
  assignmentRule: string;
  duplicateRuleAllowSave: boolean;
  mirrorMaxDeletePercent: number;
  mirrorAllowEmptySource: boolean;
  dryRun: boolean;
  apiBudgetPercent: number;
  rateLimitMaxWaitSeconds: number;
  requestTimeoutSeconds: number;
  /**
   * How long after a call whose answer was lost the newer rows of its records wait: Salesforce may
   * still apply the lost call until its own limit on a call (10 minutes) has passed.
   */
  lostAnswerWaitSeconds: number;
  rejectedRecordsPath?: string;
}

/** The calls in flight a run starts with (auto starts low and climbs, load/pace.ts). */
export function startingParallelism(advanced: AdvancedSettings): number {
  return advanced.parallelRequests === 'auto'
    ? Math.min(2, advanced.maxParallelRequests)
    : advanced.parallelRequests;
}

/** The most calls in flight a run may reach. */
export function highestParallelism(advanced: AdvancedSettings): number {
  return advanced.parallelRequests === 'auto' ? advanced.maxParallelRequests : advanced.parallelRequests;
}

/** The validated, typed configuration. */
export interface Config {
  credentials: Credentials;
  /** Login host (no trailing slash): login_url, or the production/sandbox host. */
  loginUrl: string;
  isSandbox: boolean;
  instanceUrl?: string;
  /** e.g. `v61.0` */
  apiVersion: string;
  /** Top-level target settings (rule 2 of PRODUCT.md section 4). */
  defaults: TargetSettings;
  streams: StreamOverride[];
  advanced: AdvancedSettings;
  /** The config exactly as read (before defaults), for CONTROL messages that persist a rotated token. */
  raw: Record<string, unknown>;
}

let spec: ConnectorSpecification | undefined;

/**
 * The connector's specification, read from spec/spec.json on first use and kept: reading the config
 * takes it three times (secrets, validation, unknown keys). Treat the result as read-only.
 */
export function loadSpec(): ConnectorSpecification {
  spec ??= readPackageJson<ConnectorSpecification>('spec/spec.json');
  return spec;
}

/** Reads a JSON file named on the command line; a missing, unreadable or malformed file is a config error. */
export function readJsonFile(path: string, what: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unknown error';
    const uid = process.getuid?.();
    // Permission is the usual fault in a container: the image runs as user airbyte (uid 1000), and a
    // file mounted from the host keeps its owner and mode, so a 0600 file of another user is there
    // but unreadable.
    const denied = code === 'EACCES' || code === 'EPERM';
    const why = denied ? `${code}: permission denied${uid === undefined ? '' : ` to uid ${uid}`}` : code;
    const fix = denied
      ? 'The Docker image runs the connector as user airbyte (uid 1000), and a mounted file keeps its host owner and mode: make the file readable by uid 1000 (chown 1000 FILE keeps it private at mode 0600; chmod 644 FILE lets every local user read it), or run the container as the file\'s owner (docker run --user "$(id -u)" …).'
      : code === 'ENOENT'
        ? 'Check the path; in a container it is the path inside the container, under the directory mounted with -v.'
        : code === 'EISDIR'
          ? 'It is a directory: name the JSON file itself.'
          : 'Check the path and its permissions.';
    throw new ConfigError(`Cannot read the ${what} file ${path} (${why}). ${fix}`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    // V8's message quotes the text around the fault, which may be a secret (a token pasted without
    // quotes): say only where the fault is and what kind it is.
    const fault = jsonSyntaxFault(text, (error as Error).message);
    const where =
      fault === undefined ? '' : `: ${fault.reason} at line ${fault.line}, column ${fault.column}`;
    throw new ConfigError(`The ${what} file ${path} is not valid JSON${where}.`);
  }
}

/** Where JSON text first breaks the grammar, and a reason that quotes none of it. */
export interface JsonSyntaxFault {
  /** 1-based. */
  line: number;
  /** 1-based, in UTF-16 code units from the start of the line. */
  column: number;
  reason: string;
}

/** jsonc-parser's error codes (by name), in words that quote nothing of the text. */
const FAULT_REASONS: Readonly<Record<string, string>> = {
  UnexpectedEndOfString: 'unexpected control character (such as a line break) inside a string',
  InvalidCharacter: 'unexpected control character (such as a line break) inside a string',
  InvalidEscapeCharacter: 'invalid escape sequence in a string',
  InvalidUnicode: 'invalid escape sequence in a string',
  UnexpectedEndOfNumber: 'malformed number',
  InvalidNumberFormat: 'malformed number',
  InvalidCommentToken: 'a comment (JSON has none)',
  UnexpectedEndOfComment: 'a comment (JSON has none)',
};

/**
 * Where JSON text first breaks the grammar, and a reason that quotes none of it. jsonc-parser (with
 * comments and trailing commas refused, as JSON.parse refuses them) names the kind of fault; the
 * position is V8's when its message gives one (`v8Message`: only the number is read from it),
 * jsonc-parser's token otherwise. Undefined when neither finds the fault (text nested deeper than
 * jsonc-parser's recursive parser can follow).
 */
export function jsonSyntaxFault(text: string, v8Message = ''): JsonSyntaxFault | undefined {
  const errors: ParseError[] = [];
  try {
    parseJsonc(text, errors, { disallowComments: true, allowTrailingComma: false, allowEmptyContent: false });
  } catch {
    errors.length = 0;
  }
  const first = errors[0];
  const v8Position = /at position (\d+)/.exec(v8Message);
  const offset = v8Position !== null ? Number(v8Position[1]) : first?.offset;
  if (offset === undefined) return undefined;
  const before = text.slice(0, offset);
  const lineStart = before.lastIndexOf('\n') + 1;
  const atEnd = text.slice(offset).trim() === '';
  return {
    line: before.split('\n').length,
    column: offset - lineStart + 1,
    reason: atEnd
      ? 'unexpected end of file'
      : ((first && FAULT_REASONS[printParseErrorCode(first.error)]) ?? 'unexpected character'),
  };
}

/**
 * Parses and checks a Salesforce host URL: https, or http on loopback only (PRODUCT.md section 3).
 * Returns it without a trailing slash.
 */
export function checkHostUrl(value: string, field: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(`${field} "${value}" is not a URL. Use e.g. https://mycompany.my.salesforce.com.`);
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopback(url))) {
    throw new ConfigError(
      `${field} must use https (got ${url.protocol}//${url.host}); plain http is accepted only for a local emulator on 127.0.0.1.`,
    );
  }
  return `${url.protocol}//${url.host}`;
}

/** Validates a parsed config object and returns the typed config. Throws one ConfigError naming every problem. */
export function parseConfig(input: unknown): Config {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw new ConfigError('The config must be a JSON object.');
  }
  const raw = structuredClone(input) as Record<string, unknown>;
  const problems = validateAgainstSpec(raw);
  problems.push(...semanticProblems(raw));
  if (problems.length > 0) {
    const list = problems.map((p, i) => `(${i + 1}) ${p}`).join('; ');
    throw new ConfigError(
      `The config has ${problems.length} problem${problems.length === 1 ? '' : 's'}: ${list}.`,
    );
  }
  return toConfig(raw, structuredClone(input) as Record<string, unknown>);
}

/** Reads, validates and types the config file given with --config. */
export function loadConfig(path: string): Config {
  return parseConfig(readJsonFile(path, 'config'));
}

/**
 * One sentence per config key the spec does not know — at any depth, judged against the spec's
 * properties, the items of its arrays, and the oneOf variant its `const` discriminator selects
 * (credentials by auth_type) — with the nearest known key at the same level when one is close.
 * Keys are not errors (Airbyte may add its own, and the spec allows additional properties); the
 * commands log these as warnings, because a typo such as `dryRun` otherwise passes in silence.
 * Only key names and paths appear, never values: they may be secrets.
 */
export function unknownConfigKeys(raw: unknown, spec: ConnectorSpecification = loadSpec()): string[] {
  const out: string[] = [];
  walkKeys(raw, spec.connectionSpecification, '', out);
  return out;
}

type Schema = Record<string, unknown>;

const isRecord = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

function walkKeys(value: unknown, schema: Schema, path: string, out: string[]): void {
  if (Array.isArray(value)) {
    if (isRecord(schema.items)) {
      const items = schema.items;
      value.forEach((item, i) => walkKeys(item, items, `${path}[${i}]`, out));
    }
    return;
  }
  if (!isRecord(value)) return;
  const properties = knownProperties(value, schema);
  // A schema without properties (a free-form object) has no keys to judge.
  if (properties === undefined) return;
  for (const [key, child] of Object.entries(value)) {
    const where = path === '' ? key : `${path}.${key}`;
    const property = Object.hasOwn(properties, key) ? properties[key] : undefined;
    if (isRecord(property)) {
      walkKeys(child, property, where, out);
      continue;
    }
    const near = nearestName(key, Object.keys(properties));
    out.push(
      `The config key \`${where}\` is not a setting of this connector and is ignored${near === undefined ? '' : `; did you mean \`${near}\`?`}`,
    );
  }
}

/**
 * The properties an object may have: its own, or those of the oneOf variant whose `const`
 * discriminator matches (all variants' when none matches, so only keys no variant knows count).
 */
function knownProperties(value: Record<string, unknown>, schema: Schema): Schema | undefined {
  const variants = (Array.isArray(schema.oneOf) ? schema.oneOf : []).filter(isRecord);
  if (variants.length === 0) return isRecord(schema.properties) ? schema.properties : undefined;
  const propertiesOf = (variant: Schema): Schema => (isRecord(variant.properties) ? variant.properties : {});
  const selected = variants.find((variant) =>
    Object.entries(propertiesOf(variant)).some(
      ([key, property]) => isRecord(property) && 'const' in property && value[key] === property.const,
    ),
  );
  if (selected !== undefined) return propertiesOf(selected);
  return Object.assign({}, ...variants.map(propertiesOf)) as Schema;
}

/**
 * The config against the specification. ajv reports every branch of a oneOf, which buries the real
 * problem, so the credentials branch is chosen by its `auth_type` const first, and only that branch
 * is validated (validators.js has one validator per branch, and one for the rest of the config).
 */
function validateAgainstSpec(raw: Record<string, unknown>): string[] {
  const problems: string[] = [];
  const credentials = raw.credentials;
  if (isRecord(credentials)) {
    const authType = credentials.auth_type;
    const authTypes = Object.keys(validators.credentials);
    const validate =
      typeof authType === 'string' && Object.hasOwn(validators.credentials, authType)
        ? validators.credentials[authType]!
        : undefined;
    if (validate === undefined) {
      problems.push(
        authType === undefined
          ? `credentials.auth_type is required: one of ${authTypes.join(', ')}`
          : `credentials.auth_type must be one of ${authTypes.join(', ')} (got ${JSON.stringify(authType)})`,
      );
    } else if (!validate(credentials)) {
      for (const text of describeErrors(validate.errors, 'credentials')) problems.push(friendly(text));
    }
  }
  if (!validators.config(raw)) {
    for (const text of describeErrors(validators.config.errors)) problems.push(friendly(text));
  }
  return problems;
}

/** Rewrites the generic pattern messages for fields where a plainer sentence says what to do. */
function friendly(text: string): string {
  if (/custom_object_api_name must match pattern/.test(text)) {
    return `${text.split(' must match')[0]} must be a custom object API name ending in __c (add the __c suffix, e.g. Support_Ticket__c)`;
  }
  if (/api_version must match pattern/.test(text)) {
    return 'api_version must look like v61.0';
  }
  if (/(login_url|instance_url) must match pattern/.test(text)) {
    return `${text.split(' must match')[0]} must be a bare host URL such as https://mycompany.my.salesforce.com`;
  }
  if (/assignment_rule must match pattern/.test(text)) {
    return 'advanced.assignment_rule must be "default", "none" or the 15/18-character Id of an AssignmentRule';
  }
  return text;
}

/** Rules JSON Schema cannot say within Airbyte's spec rules (no if/then): cross-field requirements. */
function semanticProblems(raw: Record<string, unknown>): string[] {
  const problems: string[] = [];
  const checkTarget = (target: Record<string, unknown>, where: string): void => {
    if (target.salesforce_object === 'Custom Object' && typeof target.custom_object_api_name !== 'string') {
      problems.push(`${where}custom_object_api_name is required when salesforce_object is "Custom Object"`);
    }
  };
  checkTarget(raw, '');
  const streams = Array.isArray(raw.streams) ? (raw.streams as Array<Record<string, unknown>>) : [];
  const seen = new Set<string>();
  streams.forEach((s, i) => {
    if (s === null || typeof s !== 'object') return;
    checkTarget(s, `streams[${i}].`);
    const key = `${typeof s.stream_namespace === 'string' ? s.stream_namespace : ''}\u0001${String(s.stream_name)}`;
    if (seen.has(key)) problems.push(`streams[${i}] repeats stream "${String(s.stream_name)}"`);
    seen.add(key);
  });
  if (typeof raw.api_version === 'string' && /^v\d+\.0$/.test(raw.api_version)) {
    const major = Number(raw.api_version.slice(1, -2));
    if (major < OLDEST_API_VERSION) {
      problems.push(
        `api_version ${raw.api_version} is older than v${OLDEST_API_VERSION}.0, the oldest this connector supports; use ${DEFAULT_API_VERSION}`,
      );
    }
  }
  for (const field of ['login_url', 'instance_url'] as const) {
    const value = raw[field];
    if (typeof value !== 'string') continue;
    try {
      checkHostUrl(value, field);
    } catch (error) {
      problems.push((error as Error).message.replace(/\.$/, ''));
    }
  }
  const credentials = raw.credentials as Record<string, unknown> | undefined;
  if (credentials?.auth_type === 'client_credentials') {
    const host = typeof raw.login_url === 'string' ? safeHost(raw.login_url) : undefined;
    if (host === undefined || host === 'login.salesforce.com' || host === 'test.salesforce.com') {
      problems.push(
        'client credentials work only on your My Domain host: set login_url to e.g. https://mycompany.my.salesforce.com',
      );
    }
  }
  if (credentials?.auth_type === 'jwt_bearer' && typeof credentials.private_key === 'string') {
    if (!/-----BEGIN (RSA )?PRIVATE KEY-----/.test(credentials.private_key)) {
      problems.push('credentials.private_key must be a PEM private key (-----BEGIN PRIVATE KEY----- …)');
    }
  }
  return problems;
}

function safeHost(value: string): string | undefined {
  try {
    return new URL(value).hostname.toLowerCase();
  } catch {
    return undefined;
  }
}

function resolveObject(target: Record<string, unknown>): string | undefined {
  const object = target.salesforce_object;
  if (typeof object !== 'string') return undefined;
  return object === 'Custom Object' ? (target.custom_object_api_name as string) : object;
}

function mappings(value: unknown): Record<string, string> | undefined {
  if (!Array.isArray(value)) return undefined;
  const out: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const m of value as Array<{ source: string; destination: string }>) out[m.source] = m.destination;
  return out;
}

function targetSettings(target: Record<string, unknown>): TargetSettings {
  const settings: TargetSettings = {};
  const object = resolveObject(target);
  if (object !== undefined) settings.salesforceObject = object;
  if (typeof target.sync_mode === 'string') settings.syncMode = target.sync_mode as SyncMode;
  if (typeof target.external_id_field === 'string' && target.external_id_field.trim() !== '') {
    settings.externalIdField = target.external_id_field.trim();
  }
  const fm = mappings(target.field_mappings);
  if (fm !== undefined) settings.fieldMappings = fm;
  return settings;
}

function toConfig(raw: Record<string, unknown>, original: Record<string, unknown>): Config {
  const c = raw.credentials as Record<string, string>;
  let credentials: Credentials;
  switch (c.auth_type) {
    case 'jwt_bearer':
      credentials = {
        authType: 'jwt_bearer',
        clientId: c.client_id!,
        username: c.username!,
        privateKey: c.private_key!,
      };
      break;
    case 'client_credentials':
      credentials = {
        authType: 'client_credentials',
        clientId: c.client_id!,
        clientSecret: c.client_secret!,
      };
      break;
    default:
      credentials = {
        authType: 'oauth2_refresh_token',
        clientId: c.client_id!,
        refreshToken: c.refresh_token!,
      };
      if (typeof c.client_secret === 'string' && c.client_secret !== '')
        credentials.clientSecret = c.client_secret;
  }
  const isSandbox = raw.is_sandbox === true;
  const loginUrl =
    typeof raw.login_url === 'string'
      ? checkHostUrl(raw.login_url, 'login_url')
      : isSandbox
        ? 'https://test.salesforce.com'
        : 'https://login.salesforce.com';
  const a = (raw.advanced ?? {}) as Record<string, unknown>;
  const advanced: AdvancedSettings = {
    recordsPerRequest: a.records_per_request as number,
    parallelRequests: a.parallel_requests as number | 'auto',
    maxParallelRequests: a.max_parallel_requests as number,
    writeApi: a.write_api as WriteApi,
    bulkThresholdRows: a.bulk_threshold_rows as number,
    nullHandling: a.null_handling as NullHandling,
    assignmentRule: a.assignment_rule as string,
    duplicateRuleAllowSave: a.duplicate_rule_allow_save as boolean,
    mirrorMaxDeletePercent: a.mirror_max_delete_percent as number,
    mirrorAllowEmptySource: a.mirror_allow_empty_source as boolean,
    dryRun: a.dry_run as boolean,
    apiBudgetPercent: a.api_budget_percent as number,
    rateLimitMaxWaitSeconds: a.rate_limit_max_wait_seconds as number,
    requestTimeoutSeconds: a.request_timeout_seconds as number,
    lostAnswerWaitSeconds: a.lost_answer_wait_seconds as number,
  };
  if (typeof a.rejected_records_path === 'string' && a.rejected_records_path !== '') {
    advanced.rejectedRecordsPath = a.rejected_records_path;
  }
  const streams = ((raw.streams ?? []) as Array<Record<string, unknown>>).map((s) => {
    const o: StreamOverride = { streamName: s.stream_name as string, ...targetSettings(s) };
    if (typeof s.stream_namespace === 'string') o.streamNamespace = s.stream_namespace;
    return o;
  });
  const config: Config = {
    credentials,
    loginUrl,
    isSandbox,
    apiVersion: raw.api_version as string,
    defaults: targetSettings(raw),
    streams,
    advanced,
    raw: original,
  };
  if (typeof raw.instance_url === 'string')
    config.instanceUrl = checkHostUrl(raw.instance_url, 'instance_url');
  return config;
}
