/** What every command gets from main.ts: the one emitter, the logger, the redactor, stdin and a stop signal. */
import type { Readable } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';
import {
  DEFAULT_API_VERSION,
  loadSpec,
  parseConfig,
  readJsonFile,
  unknownConfigKeys,
  type Config,
} from '../config.js';
import { secretValues } from '../redact.js';
import type { Connection } from '../connection.js';
import { listApiVersions } from '../salesforce/describe.js';
import type { Logger } from '../logger.js';
import type { Emitter } from '../protocol/emitter.js';
import type { Redactor } from '../redact.js';
import { TransientError } from '../errors.js';

/** The process around a command. */
export interface CommandContext {
  emitter: Emitter;
  logger: Logger;
  redactor: Redactor;
  stdin: Readable;
  /** Aborted on SIGTERM / SIGINT. */
  signal: AbortSignal;
}

/**
 * What to do when Salesforce rotates the refresh token (reference §1.2: the old one stops working):
 * hand the platform the config with the new token in a CONTROL message, so it stores it
 * (airbyte-protocol-notes §1.6). check, discover and write all sign in, so all three need it.
 */
export function persistRotatedToken(ctx: CommandContext, config: Config): (refreshToken: string) => void {
  return (refreshToken) => {
    ctx.redactor.add(refreshToken);
    const updated = structuredClone(config.raw);
    (updated.credentials as Record<string, unknown>).refresh_token = refreshToken;
    void ctx.emitter.emit({
      type: 'CONTROL',
      control: { type: 'CONNECTOR_CONFIG', emitted_at: Date.now(), connectorConfig: { config: updated } },
    });
    ctx.logger.info(
      'Salesforce rotated the refresh token; the new one was sent to the platform to be stored.',
    );
  };
}

/**
 * Reads the --config file the way every command that signs in does: its secrets go to the redactor
 * before anything can log them, then it is validated, and keys the spec does not know are warned about.
 */
export function readCommandConfig(ctx: CommandContext, path: string): Config {
  const raw = readJsonFile(path, 'config');
  for (const secret of secretValues(loadSpec().connectionSpecification, raw)) ctx.redactor.add(secret);
  const config = parseConfig(raw);
  warnUnknownConfigKeys(ctx, raw);
  return config;
}

/**
 * Logs one warning per config key the spec does not know (a typo such as `dryRun` would otherwise
 * pass in silence) and returns the sentences, for check to repeat in its answer.
 */
export function warnUnknownConfigKeys(ctx: CommandContext, raw: unknown): string[] {
  const sentences = unknownConfigKeys(raw);
  for (const sentence of sentences) ctx.logger.warn(`${sentence}.`);
  return sentences;
}

/**
 * Why the org cannot serve the configured API version, or undefined when it can. `GET /services/data/`
 * costs no API request. check asks first; discover and write ask when Salesforce did not find what
 * they asked for, since an API version the org does not offer answers every call with NOT_FOUND.
 */
export async function apiVersionProblem(config: Config, connection: Connection): Promise<string | undefined> {
  const token = await connection.tokens.get();
  const versions = await listApiVersions(connection.http, token.instanceUrl);
  const wanted = config.apiVersion.slice(1);
  if (versions.some((v) => v.version === wanted)) return undefined;
  const newest = versions.map((v) => v.version).sort((a, b) => Number(b) - Number(a))[0];
  const suggestion =
    newest === undefined
      ? DEFAULT_API_VERSION
      : Number(newest) >= Number(DEFAULT_API_VERSION.slice(1))
        ? `v${newest} or older, e.g. ${DEFAULT_API_VERSION}`
        : `v${newest}`;
  return `API version ${config.apiVersion} is not offered by this org${newest ? ` (its newest is v${newest})` : ''}. Set api_version to ${suggestion}.`;
}

/** What stopped the run, as main.ts gave it to the abort signal: SIGTERM, SIGINT or "stdout closed". */
export function stopReason(signal: AbortSignal): string {
  return typeof signal.reason === 'string' ? signal.reason : 'SIGTERM';
}

/** Resolves with `work`, or as soon as the run is stopped (a stalled stdout must not hold a stop). */
export function untilStopped(work: Promise<void>, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const done = (): void => {
      signal.removeEventListener('abort', done);
      resolve();
    };
    signal.addEventListener('abort', done, { once: true });
    void work.then(done, done);
  });
}

/** Waits `ms`, or rejects with an AbortError as soon as the run is stopped. */
export function sleepUnlessStopped(ms: number, signal: AbortSignal): Promise<void> {
  return delay(ms, undefined, { signal });
}

/** The error a stopped run ends with; `signal.reason` is what main.ts gave (SIGTERM, SIGINT, a closed stdout). */
export function stopped(signal: AbortSignal, recordsRead: number): TransientError {
  const reason = stopReason(signal);
  return new TransientError(
    `The sync was stopped (${reason}) after ${recordsRead} records; every finished record was acknowledged and the rest will be sent by the next sync.`,
  );
}
