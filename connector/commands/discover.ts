/**
 * `discover` (PRODUCT.md section 8): one DESTINATION_CATALOG for the configured objects, the four
 * service objects and every createable custom object, described in parallel within the
 * concurrency limit. An object that cannot be described is skipped with a warning; an auth or
 * network failure ends the run with a TRACE of the right failure type.
 */
import { connect } from '../connection.js';
import { toConnectorError } from '../failure.js';
import { ConfigError, TransientError } from '../errors.js';
import { buildDestinationCatalog } from '../mapping/catalog.js';
import { configuredTargets } from '../mapping/target.js';
import { SalesforceApiError } from '../salesforce/errors.js';
import type { DescribeSObject } from '../salesforce/types.js';
import {
  apiVersionProblem,
  persistRotatedToken,
  readCommandConfig,
  stopReason,
  type CommandContext,
} from './context.js';

/** The Service Cloud objects every catalog offers. */
export const SERVICE_OBJECTS = ['Account', 'Case', 'Contact', 'Lead'] as const;

/** Runs discover; returns the exit code. */
export async function runDiscover(ctx: CommandContext, configPath: string): Promise<number> {
  const config = readCommandConfig(ctx, configPath);
  const connection = connect(config, {
    redactor: ctx.redactor,
    logger: ctx.logger,
    onRefreshTokenRotated: persistRotatedToken(ctx, config),
    signal: ctx.signal,
  });
  try {
    const global = await connection.describe.global().catch(async (error: unknown) => {
      // Every call of an API version the org does not offer is NOT_FOUND: say which setting to fix.
      if (error instanceof SalesforceApiError && error.status === 404) {
        const version = await apiVersionProblem(config, connection);
        if (version !== undefined) throw new ConfigError(version);
      }
      throw error;
    });
    const names = new Set<string>(SERVICE_OBJECTS);
    for (const { target } of configuredTargets(config)) names.add(target.object);
    for (const o of global.sobjects) {
      if (o.custom && o.createable && o.name.endsWith('__c')) names.add(o.name);
    }
    const results = await connection.describe.many([...names].sort());
    const describes: DescribeSObject[] = [];
    for (const [name, result] of results) {
      if (result instanceof Error) {
        // An auth or network failure is the run's failure, not one object's.
        if (!(result instanceof SalesforceApiError) || result.status === 401 || result.status >= 500)
          throw result;
        ctx.logger.warn(
          `Skipping ${name}: Salesforce could not describe it (${result.errorCode}: ${result.salesforceMessage}).`,
        );
      } else if (result === undefined) {
        ctx.logger.warn(`Skipping ${name}: the object does not exist in this org or the user cannot see it.`);
      } else if (!describes.some((d) => d.name === result.name)) {
        // A configured name in another case (with_external_id__c) describes the same object once.
        describes.push(result);
      }
    }
    const catalog = buildDestinationCatalog(describes);
    ctx.logger.info(
      `Discovered ${catalog.operations.length} operations on ${describes.length} objects with ${connection.http.total} API requests.`,
    );
    await ctx.emitter.emit({ type: 'DESTINATION_CATALOG', destination_catalog: catalog });
    return 0;
  } catch (error) {
    if (ctx.signal.aborted)
      throw new TransientError(
        `discover was stopped (${stopReason(ctx.signal)}) before it finished; run it again.`,
      );
    throw toConnectorError(error, config.loginUrl);
  } finally {
    await connection.http.stop();
  }
}
