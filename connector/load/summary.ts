/**
 * The end-of-run summary and the progress lines of long runs (PRODUCT.md section 7): committed and
 * rejected per stream and per Salesforce error code, API requests used, and the daily quota left.
 */
import type { Logger } from '../logger.js';
import type { SalesforceHttp } from '../salesforce/http.js';
import type { Checkpoints } from './checkpoints.js';
import type { Outcomes } from './outcomes.js';
import type { StreamContext } from './stream.js';
import { grouped } from '../numbers.js';

const n = grouped;
/** `1 API request`, `2 API requests`. */
const count = (value: number, one: string, many = `${one}s`): string =>
  `${n(value)} ${value === 1 ? one : many}`;

/** A one-line progress report. */
export function progressLine(
  recordsRead: number,
  started: number,
  http: SalesforceHttp,
  outcomes: Outcomes,
): string {
  const seconds = Math.max(0.001, (Date.now() - started) / 1000);
  const { committed, rejected } = outcomes.totals();
  const quota = http.usage
    ? `; ${n(http.usage.max - http.usage.used)} of ${n(http.usage.max)} daily API requests left`
    : '';
  return `Progress: ${n(recordsRead)} records read, ${n(committed)} committed, ${n(rejected)} rejected; ${n(Math.round(committed / seconds))} records/s; ${n(http.total)} API requests${quota}.`;
}

/** What the summary reports on. */
export interface SummaryInput {
  outcomes: Outcomes;
  http: SalesforceHttp;
  started: number;
  recordsRead: number;
  pendingRecords: number;
  unreleasedStates: number;
  dryRun: boolean;
  /** Further lines (the calls in flight the run used). */
  notes?: string[];
}

/** The summary as lines (one LOG message each, so each stays readable in the platform's log view). */
export function summaryLines(input: SummaryInput): string[] {
  const { outcomes, http } = input;
  const seconds = Math.max(0.001, (Date.now() - input.started) / 1000);
  const totals = outcomes.totals();
  const lines: string[] = [];
  lines.push(
    `Summary${input.dryRun ? ' (dry run: nothing was written)' : ''}: ${n(input.recordsRead)} records read in ${seconds.toFixed(1)} s; ${n(totals.committed)} committed, ${n(totals.rejected)} rejected${
      input.pendingRecords > 0
        ? `, ${n(input.pendingRecords)} not finished (not acknowledged; the next sync sends them again)`
        : ''
    }.`,
  );
  for (const t of outcomes.streams.values()) {
    const changes = Object.entries(t.changes)
      .filter(([k, v]) => v > 0 && k !== 'dry_run')
      .map(([k, v]) => `${n(v)} ${k}`)
      .join(', ');
    let line = `  ${t.label} → ${t.object} ${t.operation}: ${n(t.committed)} committed${changes ? ` (${changes})` : ''}, ${n(t.rejected)} rejected`;
    if (t.rejected > 0) {
      // Refused here before any call (what Salesforce would have refused, costing no API request)
      // and refused by Salesforce itself are different things to fix.
      const remote = t.rejected - t.rejectedLocally;
      line += ` (${n(t.rejectedLocally)} before sending, ${n(remote)} by Salesforce)`;
    }
    if (t.byCode.size > 0) {
      line += ` [${[...t.byCode]
        .sort((a, b) => b[1] - a[1])
        .map(([code, c]) => `${code} ${n(c)}`)
        .join(', ')}]`;
    }
    line += `; ${count(t.requests, 'API request')}.`;
    lines.push(line);
    if (t.wouldChange.size > 0) {
      const parts = [...t.wouldChange].map(([what, count]) => {
        const sample = t.samples.get(what) ?? [];
        return `would ${what} ${n(count)}${sample.length > 0 ? ` (e.g. ${sample.join(', ')})` : ''}`;
      });
      lines.push(`    dry run: ${parts.join('; ')}.`);
    }
    if (t.mirrorSharedWith !== undefined) {
      lines.push(`    mirror: one deletion step with "${t.mirrorSharedWith}", reported there.`);
    } else if (t.mirrorSkipped !== undefined) lines.push(`    mirror: nothing deleted (${t.mirrorSkipped}).`);
    else if (t.mirrorDeleted !== undefined) {
      const failed = [...(t.mirrorFailed ?? new Map<string, number>())]
        .map(([c, v]) => `${n(v)} ${c}`)
        .join(', ');
      lines.push(
        `    mirror: deleted ${n(t.mirrorDeleted)} of ${n(t.mirrorManaged ?? 0)} managed records${failed ? `; failed: ${failed}` : ''}.`,
      );
    }
  }
  const kinds = [...http.counts].map(([kind, count]) => `${kind} ${n(count)}`).join(', ');
  const perThousand =
    totals.committed + totals.rejected > 0 ? (http.total * 1000) / (totals.committed + totals.rejected) : 0;
  lines.push(
    `API requests: ${n(http.total)}${kinds ? ` (${kinds})` : ''}; ${perThousand.toFixed(2)} per 1,000 records${http.retries > 0 ? `; ${n(http.retries)} retries` : ''}${
      http.rateLimitedMs > 0
        ? `; paused ${Math.round(http.rateLimitedMs / 1000)} s on REQUEST_LIMIT_EXCEEDED`
        : ''
    }.`,
  );
  if (http.usage !== undefined) {
    lines.push(
      `Daily API quota: ${n(http.usage.max - http.usage.used)} of ${n(http.usage.max)} requests remain (Sforce-Limit-Info).`,
    );
  }
  if (outcomes.skippedLines > 0)
    lines.push(`Skipped ${n(outcomes.skippedLines)} stdin lines that were not Airbyte messages.`);
  if (input.notes !== undefined) lines.push(...input.notes);
  if (input.unreleasedStates > 0) {
    lines.push(
      `${n(input.unreleasedStates)} state message(s) were not echoed because records before them did not finish.`,
    );
  }
  return lines;
}

/** Logs the summary. */
export function logSummary(logger: Logger, input: SummaryInput): void {
  for (const line of summaryLines(input)) logger.info(line);
}

/**
 * Inserted rows that no echoed state covers (a run that stopped mid-stream, or a stream whose last
 * rows came after its last state): the next sync sends them again, and an insert creates them twice.
 * Said, with the count, so that nobody finds the duplicates by surprise.
 */
export function warnUncoveredInserts(
  logger: Logger,
  streams: Iterable<StreamContext>,
  checkpoints: Checkpoints,
): void {
  for (const stream of streams) {
    if (stream.operation !== 'insert') continue;
    const uncovered = checkpoints.committedUncovered(stream.key);
    if (uncovered === 0) continue;
    logger.warn(
      `${stream.label}: ${grouped(uncovered)} inserted row(s) are in Salesforce but no echoed state covers them, so the next sync sends them again and insert would create them twice. Remove them before the next sync, or use upsert with an External ID, with which sending again is harmless.`,
    );
  }
}
