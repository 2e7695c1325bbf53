/**
 * Per-record outcomes of a run (STYLE.md principle 10): every record ends committed or rejected,
 * and every rejection is logged with stream, row key, Salesforce statusCode, message and fields —
 * individually up to a cap per code and stream, then as counts — and optionally written whole to a
 * JSON-lines file. The run summary is built from the same counters.
 */
import { accessSync, constants, createWriteStream, openSync, statSync, type WriteStream } from 'node:fs';
import { dirname } from 'node:path';
import { ConfigError } from '../errors.js';
import { echo, jsonPreview } from '../mapping/coerce.js';
import type { Logger } from '../logger.js';
import type { SalesforceRecordError } from '../salesforce/types.js';

/**
 * How a committed record changed Salesforce. `merged`: a row folded into a later row with the same key
 * in one batch (batcher.ts); the later row's record carries both.
 */
export type Change = 'created' | 'updated' | 'deleted' | 'unchanged' | 'merged' | 'dry_run';

/** Counters of one stream. */
export interface StreamTally {
  label: string;
  object: string;
  operation: string;
  committed: number;
  rejected: number;
  /** Rejections the connector made itself before any call (a value Salesforce would refuse, a bad line). */
  rejectedLocally: number;
  /** API requests sent for this stream (retries and look-ups included). */
  requests: number;
  changes: Record<Change, number>;
  /** Rejections by Salesforce statusCode. */
  byCode: Map<string, number>;
  /** Dry run: how many records each change would touch ("create", "update", "delete", …). */
  wouldChange: Map<string, number>;
  /** Dry run: the first keys per would-be change. */
  samples: Map<string, string[]>;
  /** mirror: managed records found, deleted, failed deletions by code, or why nothing was deleted. */
  mirrorManaged?: number;
  mirrorDeleted?: number;
  mirrorFailed?: Map<string, number>;
  mirrorSkipped?: string;
  /** mirror: the stream whose summary line reports the one deletion step this stream shares. */
  mirrorSharedWith?: string;
}

/** A rejected row, as written to the rejected-records file. */
export interface RejectedRow {
  stream: string;
  namespace?: string;
  key: string;
  statusCode: string;
  message: string;
  fields: string[];
  record?: Record<string, unknown>;
}

/** How many rejections per stream and code are logged one by one. */
export const LOG_CAP_PER_CODE = 10;
const SAMPLE_CAP = 5;

/** Collects outcomes and reports rejections. */
export class Outcomes {
  readonly streams = new Map<string, StreamTally>();
  private file: WriteStream | undefined;
  private fileError: Error | undefined;
  /** Lines skipped on stdin (not JSON, not messages). */
  skippedLines = 0;

  constructor(
    private readonly logger: Logger,
    rejectedRecordsPath?: string,
  ) {
    if (rejectedRecordsPath !== undefined) {
      // Opened now, before any record is read: a path that cannot be written is a config error up
      // front, not a log line after rows were rejected with nowhere to go.
      let fd: number;
      try {
        fd = openSync(rejectedRecordsPath, 'a');
      } catch (error) {
        throw new ConfigError(rejectedFileProblem(rejectedRecordsPath, error));
      }
      this.file = createWriteStream('', { fd });
      this.file.on('error', (error) => {
        this.fileError ??= error;
        this.logger.error(`Cannot write the rejected-records file ${rejectedRecordsPath}: ${error.message}`);
      });
    }
  }

  /** True when rejected rows are written to a file (so callers keep the original record). */
  get keepsRecords(): boolean {
    return this.file !== undefined;
  }

  /** Registers a stream (idempotent). */
  stream(key: string, label: string, object: string, operation: string): StreamTally {
    let tally = this.streams.get(key);
    if (tally === undefined) {
      tally = {
        label,
        object,
        operation,
        committed: 0,
        rejected: 0,
        rejectedLocally: 0,
        requests: 0,
        changes: { created: 0, updated: 0, deleted: 0, unchanged: 0, merged: 0, dry_run: 0 },
        byCode: new Map(),
        wouldChange: new Map(),
        samples: new Map(),
      };
      this.streams.set(key, tally);
    }
    return tally;
  }

  /** Counts committed records. */
  commit(tally: StreamTally, change: Change, count = 1): void {
    tally.committed += count;
    tally.changes[change] += count;
  }

  /** Dry run: counts a change that would happen and remembers the first few keys. */
  wouldChange(tally: StreamTally, what: string, key: string, count = 1): void {
    tally.wouldChange.set(what, (tally.wouldChange.get(what) ?? 0) + count);
    let list = tally.samples.get(what);
    if (list === undefined) {
      list = [];
      tally.samples.set(what, list);
    }
    if (list.length < SAMPLE_CAP) list.push(key);
  }

  /** Counts, logs (capped) and optionally writes one rejected row. */
  reject(
    tally: StreamTally,
    row: {
      key: string;
      namespace?: string | undefined;
      record?: Record<string, unknown> | undefined;
      /** Refused by the connector before any call (no API request spent). */
      local?: boolean;
    },
    error: SalesforceRecordError,
    count = 1,
  ): void {
    tally.rejected += count;
    if (row.local === true) tally.rejectedLocally += count;
    const seen = tally.byCode.get(error.statusCode) ?? 0;
    tally.byCode.set(error.statusCode, seen + count);
    if (seen < LOG_CAP_PER_CODE) {
      const fields = error.fields.length > 0 ? ` [fields: ${error.fields.join(', ')}]` : '';
      // The key is a value of the row: cut like values in messages, or one LOG line could be megabytes.
      this.logger.warn(
        `Rejected ${tally.label} ${echo(row.key)}: ${error.statusCode}: ${error.message}${fields}`,
      );
    } else if (seen === LOG_CAP_PER_CODE) {
      // Said once, when there is a further one to speak of.
      this.logger.warn(
        `${tally.label}: further ${error.statusCode} rejections are counted in the summary, not logged one by one.`,
      );
    }
    if (this.file !== undefined && this.fileError === undefined) {
      const line: RejectedRow = {
        stream: tally.label,
        ...(row.namespace !== undefined ? { namespace: row.namespace } : {}),
        key: row.key,
        statusCode: error.statusCode,
        message: error.message,
        fields: error.fields,
        ...(row.record !== undefined ? { record: row.record } : {}),
      };
      this.file.write(`${rejectedLine(line)}\n`);
    }
  }

  /** Totals over every stream. */
  totals(): { committed: number; rejected: number } {
    let committed = 0;
    let rejected = 0;
    for (const t of this.streams.values()) {
      committed += t.committed;
      rejected += t.rejected;
    }
    return { committed, rejected };
  }

  /** Closes the rejected-records file. */
  async close(): Promise<void> {
    const file = this.file;
    if (file === undefined) return;
    this.file = undefined;
    await new Promise<void>((resolve) => file.end(() => resolve()));
  }
}

/**
 * A rejected row as one JSON line. A record nested too deeply for JSON.stringify (which recurses)
 * is written as the start of its JSON text instead, so that one row cannot stop the sync.
 */
function rejectedLine(row: RejectedRow): string {
  try {
    return JSON.stringify(row);
  } catch {
    const { record, ...rest } = row;
    return JSON.stringify({
      ...rest,
      recordPreview: jsonPreview(record, 64 * 1024),
      recordNote: 'the record is nested too deeply to be written whole; this is the start of its JSON text',
    });
  }
}

/** The sentence for a rejected-records path that cannot be written (the error code, never file contents). */
function rejectedFileProblem(path: string, error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code ?? 'unknown error';
  return `advanced.rejected_records_path "${path}" cannot be written (${code}). Point it at a file in a directory that exists and that the connector may write; in a container, a mounted volume.`;
}

/**
 * Why the rejected-records file could not be written, or undefined when it can — without creating
 * or changing anything (for check): an existing file must be writable, a new one needs a writable
 * directory.
 */
export function rejectedFileUnwritable(path: string): string | undefined {
  try {
    const existing = statSync(path, { throwIfNoEntry: false });
    if (existing?.isDirectory()) return rejectedFileProblem(path, { code: 'EISDIR' });
    accessSync(existing === undefined ? dirname(path) : path, constants.W_OK);
    return undefined;
  } catch (error) {
    return rejectedFileProblem(path, error);
  }
}
