/**
 * `check` (PRODUCT.md section 9): authenticates, confirms the API version is offered, describes the
 * target objects and confirms each allows its operation and matching field, that every field mapping
 * names a field, and names the required fields no mapping sets (unlisted columns map by name, so
 * those must come as columns: write checks each stream's schema), and reports the daily API requests left.
 * Every outcome prints exactly one CONNECTION_STATUS; a FAILED one says what to fix.
 */
import { loadSpec, parseConfig, readJsonFile, type Config } from '../config.js';
import { connect } from '../connection.js';
import { toConnectorError } from '../failure.js';
import type { ConnectorError } from '../errors.js';
import { ConfigError, errorTraceMessage, SystemError, TransientError } from '../errors.js';
import {
  configuredTargets,
  requiredNotMapped,
  targetProblems,
  unknownObjectMessage,
} from '../mapping/target.js';
import { secretValues } from '../redact.js';
import { rejectedFileUnwritable } from '../load/outcomes.js';
import { RateLimitError } from '../salesforce/errors.js';
import type { ApiUsage } from '../salesforce/types.js';
import {
  apiVersionProblem,
  persistRotatedToken,
  stopReason,
  warnUnknownConfigKeys,
  type CommandContext,
} from './context.js';
import { grouped } from '../numbers.js';

/** Runs check; returns the exit code (0 for SUCCEEDED and for FAILED caused by config or Salesforce). */
export async function runCheck(ctx: CommandContext, configPath: string): Promise<number> {
  const spec = loadSpec();
  let raw: unknown;
  try {
    raw = readJsonFile(configPath, 'config');
  } catch (error) {
    // PRODUCT.md section 2: a missing or malformed file is a config_error and exit 1 — still with
    // the one CONNECTION_STATUS every check prints.
    return failed(ctx, toConnectorError(error), true);
  }
  let config: Config;
  try {
    for (const secret of secretValues(spec.connectionSpecification, raw)) ctx.redactor.add(secret);
    config = parseConfig(raw);
  } catch (error) {
    return failed(ctx, toConnectorError(error), false);
  }
  const ignored = warnUnknownConfigKeys(ctx, raw);
  try {
    const message = await checkConnection(config, ctx);
    await ctx.emitter.emit({
      type: 'CONNECTION_STATUS',
      connectionStatus: {
        status: 'SUCCEEDED',
        message: ignored.length === 0 ? message : `${message} Warning: ${ignored.join('; ')}.`,
      },
    });
    return 0;
  } catch (error) {
    // The write path's wording (records acknowledged, the next sync) means nothing to a check.
    const failure = ctx.signal.aborted
      ? new TransientError(
          `The check was stopped (${stopReason(ctx.signal)}) before it finished; run it again.`,
        )
      : error instanceof RateLimitError
        ? new TransientError(
            `Salesforce's API limit refused the check's calls: ${error.message}. Wait for the rolling 24-hour allocation to recover (or, for a limit on concurrent calls, for other integrations' calls to finish), then check again.`,
          )
        : toConnectorError(error, config.loginUrl);
    return failed(ctx, failure, failure instanceof SystemError);
  }
}

/**
 * Prints the one FAILED status; with `trace`, a TRACE error first and exit 1 (a file that cannot be
 * read, or a bug — PRODUCT.md section 2), otherwise exit 0 (check ran and found a problem to fix).
 */
async function failed(ctx: CommandContext, failure: ConnectorError, trace: boolean): Promise<number> {
  if (trace) await ctx.emitter.emit(errorTraceMessage(failure));
  if (!trace) ctx.logger.debug(`check failed: ${failure.internalMessage ?? failure.message}`);
  await ctx.emitter.emit({
    type: 'CONNECTION_STATUS',
    connectionStatus: { status: 'FAILED', message: failure.message },
  });
  return trace ? 1 : 0;
}

/** The checks themselves; resolves with the SUCCEEDED message or throws. */
export async function checkConnection(config: Config, ctx: CommandContext): Promise<string> {
  const connection = connect(config, {
    redactor: ctx.redactor,
    logger: ctx.logger,
    onRefreshTokenRotated: persistRotatedToken(ctx, config),
    signal: ctx.signal,
  });
  const token = await connection.tokens.get();
  const version = await apiVersionProblem(config, connection);
  if (version !== undefined) throw new ConfigError(version);
  const targets = configuredTargets(config);
  const problems: string[] = [];
  const ready: string[] = [];
  const describes = await connection.describe.many([...new Set(targets.map((t) => t.target.object))]);
  for (const { where, target } of targets) {
    const describe = describes.get(target.object);
    if (describe instanceof Error) throw describe;
    if (describe === undefined) {
      const global = await connection.describe.global().catch(() => undefined);
      problems.push(`${where}: ${unknownObjectMessage(target.object, global)}`);
      continue;
    }
    const found = targetProblems(target, describe);
    if (found.length > 0) {
      for (const p of found) problems.push(`${where}: ${p}`);
    } else {
      // Unlisted columns map by name, and check cannot see the streams' columns: a required field no
      // mapping names is a condition on the streams, which write checks before sending anything.
      const unmapped = requiredNotMapped(target, describe);
      ready.push(
        `${target.object} ${target.operation}${target.matchingField ? ` on ${target.matchingField}` : ''}${
          unmapped.length === 0
            ? ''
            : ` (no field mapping sets the required ${unmapped.join(', ')}: each stream must bring ${unmapped.length === 1 ? 'a column' : 'columns'} of that name)`
        }`,
      );
    }
  }
  const path = config.advanced.rejectedRecordsPath;
  const unwritable = path === undefined ? undefined : rejectedFileUnwritable(path);
  if (unwritable !== undefined) problems.push(unwritable);
  if (problems.length > 0) {
    throw new ConfigError(
      problems.length === 1 ? problems[0]! : problems.map((p, i) => `(${i + 1}) ${p}`).join(' '),
    );
  }
  const usage = connection.http.usage ?? (await dailyUsage(connection));
  const budget = budgetProblem(config, usage);
  if (budget !== undefined) throw new ConfigError(budget);
  const remaining = usage === undefined ? undefined : usage.max - usage.used;
  const parts = [`Connected to ${token.instanceUrl} with API ${config.apiVersion}.`];
  parts.push(
    ready.length > 0
      ? `Ready: ${ready.join('; ')}.`
      : 'No object is configured: streams must name one through Airbyte data activation or a streams entry.',
  );
  if (remaining !== undefined) parts.push(`${grouped(remaining)} daily API requests remain.`);
  await connection.http.stop();
  return parts.join(' ');
}

/**
 * The org's daily API usage when no call so far carried Sforce-Limit-Info (no object configured):
 * `GET /limits/` DailyApiRequests, which also sets the header's figure.
 */
async function dailyUsage(connection: ReturnType<typeof connect>): Promise<ApiUsage | undefined> {
  try {
    const response = await connection.http.request<Record<string, { Max: number; Remaining: number }>>({
      method: 'GET',
      path: '/limits/',
      idempotent: true,
      kind: 'limits',
    });
    const daily = response.body.DailyApiRequests;
    return daily === undefined
      ? connection.http.usage
      : { used: daily.Max - daily.Remaining, max: daily.Max };
  } catch {
    return connection.http.usage;
  }
}

/**
 * Why a sync would stop before its first write for want of API requests: the 24-hour allocation used
 * up, or usage at or above the configured budget (the write path stops there, http.ts). A check
 * that answered SUCCEEDED would only move the failure to the first sync.
 */
function budgetProblem(config: Config, usage: ApiUsage | undefined): string | undefined {
  if (usage === undefined || usage.max === 0) return undefined;
  const n = grouped;
  if (usage.used >= usage.max) {
    return `The org has used all ${n(usage.max)} of its daily API requests, so a sync would stop at once. Wait for the rolling 24-hour allocation to recover, or raise it with Salesforce.`;
  }
  const budget = config.advanced.apiBudgetPercent;
  const share = (usage.used / usage.max) * 100;
  if (budget < 100 && share >= budget) {
    return `The org has used ${n(usage.used)} of its ${n(usage.max)} daily API requests (${share.toFixed(1)} %), at or above advanced.api_budget_percent (${budget} %), so a sync would stop before its first write. Wait for the rolling 24-hour allocation to recover, or raise api_budget_percent.`;
  }
  return undefined;
}
