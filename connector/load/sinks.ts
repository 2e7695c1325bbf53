/**
 * The sinks of one run, built from the config: the REST sink (Composite calls), the Bulk API 2.0
 * sink, and the router that gives each stream its route (PRODUCT.md section 7a). Which streams can use
 * Bulk is decided here, once, before the first row; the log says why a stream stays on REST.
 */
import type { Config } from '../config.js';
import type { Connection } from '../connection.js';
import type { Logger } from '../logger.js';
import { findField } from '../mapping/fields.js';
import { BulkClient } from '../salesforce/bulk.js';
import { queryPages, soqlQuote } from '../salesforce/query.js';
import { BulkLoader } from './bulk-loader.js';
import { Pace } from './pace.js';
import { LOCK_RETRY, RestLoader } from './rest-loader.js';
import { Router, type BulkFit } from './router.js';
import type { Settler } from './settle.js';
import type { LoadStream } from './stream.js';

/** What the sinks need from the run. */
export interface SinkContext {
  config: Config;
  connection: Connection;
  settler: Settler;
  logger: Logger;
  sleep: (ms: number) => Promise<void>;
  signal: AbortSignal;
}

/** Builds the sinks and routes every stream. */
export async function openSinks(ctx: SinkContext, streams: Iterable<LoadStream>): Promise<Router> {
  const { config, connection, settler, logger } = ctx;
  const advanced = config.advanced;
  const batchers: Array<{ maxRecords: number }> = [];
  const pace = new Pace({
    mode: advanced.parallelRequests,
    max: advanced.maxParallelRequests,
    recordsPerCall: advanced.recordsPerRequest,
    onChange: (from, to, recordsPerCall, reason) => {
      // Bottleneck, the client's one limiter, holds the level; the REST sink's job bound follows it.
      connection.http.setConcurrency(to);
      for (const batcher of batchers) batcher.maxRecords = Math.min(batcher.maxRecords, recordsPerCall);
      logger.info(
        `Parallel requests: ${from} → ${to} (${reason}).${recordsPerCall < advanced.recordsPerRequest ? ` Records per call: ${recordsPerCall}.` : ''}`,
      );
    },
  });
  const rest = new RestLoader(connection.http, settler, logger, {
    pace,
    headers: requestHeaders(config),
    lockAttempts: LOCK_RETRY.attempts,
    lockDelayMs: LOCK_RETRY.delayMs,
    dryRun: advanced.dryRun,
    lostAnswerWaitMs: advanced.lostAnswerWaitSeconds * 1000,
    sleep: ctx.sleep,
    signal: ctx.signal,
  });
  const useBulk = advanced.writeApi !== 'rest' && !advanced.dryRun;
  const bulk = useBulk
    ? new BulkLoader(settler, logger, {
        rest,
        client: new BulkClient(connection.http),
        maxJobBytes: 100 * 1024 * 1024,
        // Bounds the job's bookkeeping (30–50 bytes a row with the typed arrays' spare room, kept until
        // its results are read; up to three jobs of a stream are alive: one processing, one closed and
        // waiting its turn, one filling) and fits its key index in 2^18 slots.
        maxJobRows: 200_000,
        maxJobAgeMs: 60_000,
        pollMinMs: 1_000,
        pollMaxMs: 30_000,
        keepRecords: settler.outcomes.keepsRecords,
        sleep: ctx.sleep,
        signal: ctx.signal,
      })
    : undefined;
  const router = new Router(rest, bulk, advanced.bulkThresholdRows, logger, pace);
  for (const stream of streams) {
    batchers.push(stream.batcher);
    stream.parent = parentOf(stream);
    router.route(stream, useBulk ? await bulkFit(stream, ctx) : { route: 'rest' });
  }
  return router;
}

/** Sforce-Auto-Assign and Sforce-Duplicate-Rule-Header from the advanced settings (reference §3.7). */
function requestHeaders(config: Config): Record<string, string> {
  const headers: Record<string, string> = {};
  const rule = config.advanced.assignmentRule;
  if (rule === 'none') headers['Sforce-Auto-Assign'] = 'FALSE';
  else if (rule !== 'default') headers['Sforce-Auto-Assign'] = rule;
  if (config.advanced.duplicateRuleAllowSave) headers['Sforce-Duplicate-Rule-Header'] = 'allowSave=true';
  return headers;
}

/** Whether a stream may write through Bulk, and on which route (PRODUCT.md section 7a). */
async function bulkFit(stream: LoadStream, ctx: SinkContext): Promise<BulkFit> {
  const advanced = ctx.config.advanced;
  const asked = advanced.writeApi === 'bulk' ? 'bulk' : 'auto';
  const rest = (reason: string): BulkFit => ({ route: 'rest', reason });
  switch (stream.operation) {
    case 'add':
      return rest(
        'add writes only the keys Salesforce does not have yet, which takes a look-up a Bulk upsert cannot make',
      );
    case 'insert':
      if (asked !== 'bulk') {
        return rest(
          'insert moves to Bulk API 2.0 only with write_api bulk, because a Bulk job cut short can leave inserted rows that no state covers, which the next sync would insert again',
        );
      }
      break;
    case 'update':
    case 'remove':
      if (stream.keyField?.isId !== true) {
        return rest(
          `Bulk API 2.0 ${stream.operation === 'update' ? 'updates' : 'deletes'} by record Id, and this stream matches on ${stream.keyField?.name ?? 'no field'}`,
        );
      }
      break;
    default: {
      const key =
        stream.keyField === undefined ? undefined : findField(stream.describe, stream.keyField.name);
      if (key?.externalId !== true) {
        return rest(
          `its matching field ${stream.keyField?.name ?? ''} is an idLookup field, not an External ID, and Bulk API 2.0 upserts on such a field are not proven to work (bulk2-ingest.md §1.4)`,
        );
      }
    }
  }
  if (advanced.duplicateRuleAllowSave) {
    return rest(
      'duplicate_rule_allow_save has no equivalent in Bulk API 2.0 (a job takes no duplicate-rule header)',
    );
  }
  const rule = advanced.assignmentRule;
  if (/^(Case|Lead)$/i.test(stream.object) && rule === 'default') {
    // REST runs the active assignment rule when the header is absent; a Bulk job runs one only by Id.
    const active = await activeAssignmentRule(stream.object, ctx);
    if (active === undefined) {
      return rest(
        `assignment_rule default runs ${stream.object}'s active assignment rule, which a Bulk job runs only when given its Id, and the rule could not be read; set assignment_rule to the rule's Id (or none) to use Bulk`,
      );
    }
    if (active.id !== undefined) stream.assignmentRuleId = active.id;
  } else if (/^(Case|Lead)$/i.test(stream.object) && rule !== 'none') {
    stream.assignmentRuleId = rule;
  } else if (rule !== 'default' && rule !== 'none') {
    return rest(
      `an assignment rule runs through Bulk API 2.0 only for Case and Lead, not for ${stream.object}`,
    );
  }
  return { route: asked };
}

/** An object's active assignment rule: its Id, none (`{}`), or undefined when it cannot be read. */
async function activeAssignmentRule(object: string, ctx: SinkContext): Promise<{ id?: string } | undefined> {
  try {
    const soql = `SELECT Id FROM AssignmentRule WHERE SobjectType = ${soqlQuote(object)} AND Active = true`;
    for await (const page of queryPages<{ Id: string }>(ctx.connection.http, soql)) {
      const id = page.records[0]?.Id;
      return id === undefined ? {} : { id };
    }
    return {};
  } catch {
    return undefined;
  }
}

/** Lookups that do not lock a parent worth grouping by (users, queues, record types). */
const NOT_PARENTS = /^(OwnerId|RecordTypeId|CreatedById|LastModifiedById)$/;

/**
 * The lookup a Bulk job groups rows by (bulk2-ingest.md §1.5): the first reference field the stream
 * writes whose parent is a record that children lock (an Account for a Contact), not a user.
 */
function parentOf(stream: LoadStream): { field: string; relationship: string } | undefined {
  for (const column of stream.plan.columns.values()) {
    if (column === null) continue;
    const field = findField(stream.describe, column.nullTarget);
    if (field === undefined || field.type !== 'reference' || NOT_PARENTS.test(field.name)) continue;
    if (field.referenceTo.some((t) => t === 'User' || t === 'Group')) continue;
    if (field.relationshipName) return { field: field.name, relationship: field.relationshipName };
  }
  return undefined;
}
