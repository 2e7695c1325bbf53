/**
 * mirror's deletion itself, once the guard in mirror.ts has passed: the records go by Id, through
 * Bulk API 2.0 delete jobs when there are many (PRODUCT.md section 7a: a delete by Id is safe to send
 * again), else through Composite calls of five sObject Collections deletes. A record already gone
 * counts as deleted either way. Records a job did not process, could not lock or said nothing about
 * go through REST, never dropped; REST tries a locked record again after a pause (LOCK_RETRY, as for
 * writes); other failures are counted by code, the first ten of each told.
 */
import type { Connection } from '../connection.js';
import type { Logger } from '../logger.js';
import { BulkClient, parseBulkError } from '../salesforce/bulk.js';
import {
  MAX_COLLECTIONS_PER_COMPOSITE,
  MAX_RECORDS_PER_COLLECTION,
  sendCollections,
} from '../salesforce/composite.js';
import type { RequestCounter } from '../salesforce/http.js';
import { canonicalId } from '../salesforce/ids.js';
import { awaitJob, submitJob, type JobLife } from './bulk-job.js';
import { ALREADY_GONE, LOCK_RETRY, lockPause } from './rest-loader.js';
import { grouped } from '../numbers.js';

/** A record to delete, and its key (for logs). */
export interface Doomed {
  id: string;
  key: string;
}

/** What the deletion needs from the run. */
export interface DeletionRun {
  connection: Connection;
  logger: Logger;
  counter: RequestCounter;
  /** `rest`, or `bulk` for Bulk API 2.0 delete jobs. */
  route: 'rest' | 'bulk';
  sleep: (ms: number) => Promise<void>;
  signal: AbortSignal;
  /** Ids per Bulk job (Salesforce splits a job into internal batches of 10,000). */
  jobRows?: number;
  /** For logs: "mirror of … → Object". */
  label: string;
}

/** How a deletion went. */
export interface Deletion {
  deleted: number;
  failed: Map<string, number>;
  /** Set when the run stopped before every record was settled: the next sync's mirror deletes the rest. */
  stopped: boolean;
}

/** Failures by code; the first ten of each code are told one by one. */
class Failures {
  readonly byCode = new Map<string, number>();

  constructor(private readonly warn: (text: string) => void) {}

  add(code: string, count: number, text: () => string): void {
    const total = (this.byCode.get(code) ?? 0) + count;
    this.byCode.set(code, total);
    if (total - count < 10) this.warn(text());
  }
}

/** Deletes the records by Id; see the module comment. */
export async function deleteRecords(
  run: DeletionRun,
  object: string,
  doomed: readonly Doomed[],
): Promise<Deletion> {
  const failures = new Failures((text) => run.logger.warn(`${run.label}: ${text}`));
  let deleted = 0;
  let rest: readonly Doomed[] = doomed;
  let stopped = false;
  if (run.route === 'bulk' && doomed.length > 0) {
    const bulk = await bulkDelete(run, object, doomed, failures);
    deleted += bulk.deleted;
    rest = bulk.resend;
    stopped = bulk.stopped;
    if (rest.length > 0 && !stopped) {
      run.logger.info(
        `${run.label}: ${grouped(rest.length)} record(s) not settled by the Bulk job go through the REST API.`,
      );
    }
  }
  if (!stopped) deleted += await restDelete(run, rest, failures);
  return { deleted, failed: failures.byCode, stopped };
}

/**
 * A thousand Ids per Composite call, as sObject Collections deletes of 200. Records another
 * transaction held locked (UNABLE_TO_LOCK_ROW) are tried again after a pause, as rows of a write are.
 */
async function restDelete(run: DeletionRun, doomed: readonly Doomed[], failures: Failures): Promise<number> {
  let deleted = 0;
  let pending = doomed;
  for (let attempt = 1; pending.length > 0; attempt += 1) {
    const last = attempt >= LOCK_RETRY.attempts || run.signal.aborted;
    const locked: Doomed[] = [];
    deleted += await deleteOnce(run, pending, failures, last ? undefined : locked);
    if (locked.length === 0) break;
    run.logger.info(
      `${run.label}: ${grouped(locked.length)} record(s) to delete were locked by another transaction (UNABLE_TO_LOCK_ROW); retrying (attempt ${attempt + 1} of ${LOCK_RETRY.attempts}).`,
    );
    await run.sleep(lockPause(attempt));
    pending = locked;
  }
  return deleted;
}

/** One pass of Composite deletes; locked records go to `locked` when given, else count as failed. */
async function deleteOnce(
  run: DeletionRun,
  doomed: readonly Doomed[],
  failures: Failures,
  locked: Doomed[] | undefined,
): Promise<number> {
  let deleted = 0;
  const perCall = MAX_RECORDS_PER_COLLECTION * MAX_COLLECTIONS_PER_COMPOSITE;
  for (let start = 0; start < doomed.length; start += perCall) {
    const slice = doomed.slice(start, start + perCall);
    const requests = [];
    for (let i = 0; i < slice.length; i += MAX_RECORDS_PER_COLLECTION) {
      requests.push({
        kind: 'delete' as const,
        ids: slice.slice(i, i + MAX_RECORDS_PER_COLLECTION).map((d) => d.id),
      });
    }
    const results = await sendCollections(run.connection.http, requests, {
      idempotent: true,
      counter: run.counter,
    });
    results.forEach((outcome, c) => {
      const chunk = slice.slice(c * MAX_RECORDS_PER_COLLECTION, (c + 1) * MAX_RECORDS_PER_COLLECTION);
      if (!outcome.ok) {
        const { statusCode, message } = outcome.error;
        if (statusCode === 'UNABLE_TO_LOCK_ROW' && locked !== undefined) {
          locked.push(...chunk);
          return;
        }
        failures.add(
          statusCode,
          chunk.length,
          () => `could not delete ${chunk.length} records: ${statusCode}: ${message}`,
        );
        return;
      }
      outcome.results.forEach((r, i) => {
        const code = r.errors[0]?.statusCode;
        const d = chunk[i]!;
        // Deleted since the query found it counts as deleted: the record is gone either way.
        if (r.success || (code !== undefined && ALREADY_GONE.has(code))) deleted += 1;
        else if (code === 'UNABLE_TO_LOCK_ROW' && locked !== undefined) locked.push(d);
        else {
          failures.add(
            code ?? 'UNKNOWN_ERROR',
            1,
            () => `could not delete ${d.key} (${d.id}): ${code}: ${r.errors[0]?.message ?? ''}`,
          );
        }
      });
    });
  }
  return deleted;
}

/** A record's state once a job's results are read. */
const Fate = { Unknown: 0, Deleted: 1, Failed: 2, Resend: 3 } as const;

/**
 * Bulk delete jobs of up to `jobRows` Ids each, one after another. Returns the records deleted and
 * those to send through REST; stops (leaving the rest to the next sync) when the run stops.
 */
async function bulkDelete(
  run: DeletionRun,
  object: string,
  doomed: readonly Doomed[],
  failures: Failures,
): Promise<{ deleted: number; resend: Doomed[]; stopped: boolean }> {
  const client = new BulkClient(run.connection.http);
  const why = await bulkUnavailable(client, doomed.length);
  if (why !== undefined) {
    run.logger.warn(
      `${run.label}: Bulk API 2.0 is not used for the deletion: ${why}. The records go through the REST API.`,
    );
    return { deleted: 0, resend: [...doomed], stopped: false };
  }
  const life: JobLife = {
    client,
    logger: run.logger,
    pollMinMs: 1_000,
    pollMaxMs: 30_000,
    sleep: run.sleep,
    now: Date.now,
    stopped: () => run.signal.aborted,
    signal: run.signal,
  };
  const jobRows = run.jobRows ?? 250_000;
  const index = new Map<string, number>();
  doomed.forEach((d, i) => index.set(canonicalId(d.id), i));
  const fate = new Uint8Array(doomed.length);
  const errors = new Map<number, { statusCode: string; message: string }>();
  for (let start = 0; start < doomed.length; start += jobRows) {
    const end = Math.min(doomed.length, start + jobRows);
    // Record Ids only (19 bytes a line, under 5 MB a job): uploaded from memory, nothing on disk.
    let csv = 'Id\n';
    for (let i = start; i < end; i += 1) csv += `${doomed[i]!.id}\n`;
    const body = Buffer.from(csv, 'utf8');
    const request = { object, operation: 'delete', lineEnding: 'LF', columnDelimiter: 'COMMA' } as const;
    const info = await submitJob(life, request, { size: body.length, prefix: body }, run.counter, run.label);
    const done =
      info &&
      (await awaitJob(
        life,
        info.id,
        run.counter,
        (now) =>
          `${run.label}: Bulk delete job ${now.id} (${grouped(end - start)} records) is ${now.state}: ${grouped(now.numberRecordsProcessed ?? 0)} processed so far.`,
      ));
    if (done === undefined) return tally(doomed, fate, errors, failures, true);
    const onRow = (kind: 'success' | 'failure' | 'unprocessed') => (cells: string[], header: string[]) => {
      const at = index.get(
        canonicalId(cells[header.indexOf(kind === 'unprocessed' ? 'Id' : 'sf__Id')] ?? ''),
      );
      if (at === undefined) return;
      if (kind === 'success') fate[at] = Fate.Deleted;
      else if (kind === 'unprocessed') fate[at] = Fate.Resend;
      else {
        const error = parseBulkError(cells[header.indexOf('sf__Error')] ?? '');
        if (ALREADY_GONE.has(error.statusCode)) fate[at] = Fate.Deleted;
        else if (error.statusCode === 'UNABLE_TO_LOCK_ROW') fate[at] = Fate.Resend;
        else {
          fate[at] = Fate.Failed;
          errors.set(at, error);
        }
      }
    };
    await client.results(done.id, 'successfulResults', onRow('success'), run.counter);
    await client.results(done.id, 'failedResults', onRow('failure'), run.counter);
    await client.results(done.id, 'unprocessedrecords', onRow('unprocessed'), run.counter);
  }
  return tally(doomed, fate, errors, failures, false);
}

/** Counts what the jobs settled; a record no result named is sent again (a delete by Id is safe to repeat). */
function tally(
  doomed: readonly Doomed[],
  fate: Uint8Array,
  errors: ReadonlyMap<number, { statusCode: string; message: string }>,
  failures: Failures,
  stopped: boolean,
): { deleted: number; resend: Doomed[]; stopped: boolean } {
  let deleted = 0;
  const resend: Doomed[] = [];
  doomed.forEach((d, i) => {
    if (fate[i] === Fate.Deleted) deleted += 1;
    else if (fate[i] === Fate.Failed) {
      const { statusCode, message } = errors.get(i)!;
      failures.add(statusCode, 1, () => `could not delete ${d.key} (${d.id}): ${statusCode}: ${message}`);
    } else if (!stopped) resend.push(d);
  });
  return { deleted, resend, stopped };
}

/** Why Bulk cannot take the deletion today (its daily batch allocation), or undefined. */
async function bulkUnavailable(client: BulkClient, records: number): Promise<string | undefined> {
  try {
    const limits = await client.limits();
    const needed = Math.ceil(records / 10_000) + 1;
    if (limits.batchesRemaining !== undefined && limits.batchesRemaining < needed) {
      return `the org has ${limits.batchesRemaining} Bulk API batches left today (DailyBulkApiBatches), and results past the allocation are not recorded`;
    }
  } catch {
    // /limits needs "View Setup and Configuration": without it, Bulk is tried as asked.
  }
  return undefined;
}
