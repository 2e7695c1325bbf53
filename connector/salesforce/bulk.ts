/**
 * Bulk API 2.0 ingest (reference §4, bulk2-ingest.md): create a job, upload its CSV once, close it,
 * poll it, read its three result sets. Knows nothing of Airbyte: it takes a file to upload and hands
 * back result rows. Every call goes through the one client (http.ts), so each counts as an API
 * request, polls included, and the same policy holds (no redirect, https only, one retry rule).
 */
import type { Readable } from 'node:stream';
import Papa from 'papaparse';
import { SalesforceApiError } from './errors.js';
import type { RequestCounter, SalesforceHttp } from './http.js';

/** A job's operation (reference §4.1). */
export type BulkOperation = 'insert' | 'update' | 'upsert' | 'delete';

/** Terminal and working states of an ingest job. */
export type BulkState = 'Open' | 'UploadComplete' | 'InProgress' | 'JobComplete' | 'Failed' | 'Aborted';

/** What Create Job takes (no other field is accepted: bulk2-ingest.md §1.1). */
export interface BulkJobRequest {
  object: string;
  operation: BulkOperation;
  externalIdFieldName?: string;
  assignmentRuleId?: string;
  /** What the CSV uses; the connector always writes LF and commas, and says so. */
  lineEnding: 'LF';
  columnDelimiter: 'COMMA';
}

/** A job as Salesforce describes it. */
export interface BulkJobInfo {
  id: string;
  state: BulkState;
  object: string;
  operation: string;
  numberRecordsProcessed?: number;
  numberRecordsFailed?: number;
  errorMessage?: string;
}

/** What a job uploads: `size` bytes, `prefix` first, then the first bytes of the open file `fd`. */
export interface UploadFile {
  fd?: number;
  size: number;
  prefix?: Buffer;
}

/** The three result sets (reference §4.1 step 5). */
export type BulkResultKind = 'successfulResults' | 'failedResults' | 'unprocessedrecords';

/** `DailyBulkApiBatches` and `DailyApiRequests` from /limits. */
export interface BulkLimits {
  batchesRemaining: number | undefined;
  requestsRemaining: number | undefined;
}

/** Time allowed for an upload or a results download: up to ~100 MB each way. */
const TRANSFER_TIMEOUT_MS = 15 * 60_000;

/** The Bulk API 2.0 ingest client of one run. */
export class BulkClient {
  constructor(private readonly http: SalesforceHttp) {}

  /** `POST /jobs/ingest`: a new job, Open. Not idempotent: a lost answer could leave an empty job. */
  async create(job: BulkJobRequest, counter?: RequestCounter): Promise<BulkJobInfo> {
    const response = await this.http.request<BulkJobInfo>({
      method: 'POST',
      path: '/jobs/ingest',
      body: { ...job, contentType: 'CSV' },
      // An empty Open job left behind costs nothing and is deleted by Salesforce after 7 days; re-sending
      // the create cannot apply any row twice.
      idempotent: true,
      kind: 'bulk',
      ...(counter ? { counter } : {}),
    });
    return response.body;
  }

  /**
   * `PUT /jobs/ingest/{id}/batches` with the file as the job's one CSV upload (201, no body): `size`
   * bytes, `prefix` (the header line, when the file holds only the rows) first.
   */
  async upload(id: string, file: UploadFile, counter?: RequestCounter): Promise<void> {
    await this.http.request({
      method: 'PUT',
      path: `/jobs/ingest/${encodeURIComponent(id)}/batches`,
      fileBody: { ...file, contentType: 'text/csv' },
      // Nothing is applied before the job is closed: a lost answer is settled by aborting this job
      // and uploading to a new one (the caller's part), never by a second upload to this one.
      idempotent: false,
      kind: 'bulk',
      timeoutMs: TRANSFER_TIMEOUT_MS,
      ...(counter ? { counter } : {}),
    });
  }

  /** `PATCH /jobs/ingest/{id}` to UploadComplete (processing starts) or Aborted. */
  async setState(
    id: string,
    state: 'UploadComplete' | 'Aborted',
    counter?: RequestCounter,
  ): Promise<BulkJobInfo> {
    const response = await this.http.request<BulkJobInfo>({
      method: 'PATCH',
      path: `/jobs/ingest/${encodeURIComponent(id)}`,
      body: { state },
      idempotent: true,
      kind: 'bulk',
      // An abort is what a stop asks for a job that is still Open.
      ...(state === 'Aborted' ? { evenWhenStopped: true } : {}),
      ...(counter ? { counter } : {}),
    });
    return response.body;
  }

  /** `GET /jobs/ingest/{id}`: one poll. */
  async info(id: string, counter?: RequestCounter): Promise<BulkJobInfo> {
    const response = await this.http.request<BulkJobInfo>({
      method: 'GET',
      path: `/jobs/ingest/${encodeURIComponent(id)}`,
      idempotent: true,
      kind: 'bulk',
      ...(counter ? { counter } : {}),
    });
    return response.body;
  }

  /**
   * Reads one result set row by row (header first, as arrays of cells). `onRow` may be called again
   * for the same rows if the download fails midway and is retried: it must be idempotent.
   */
  async results(
    id: string,
    kind: BulkResultKind,
    onRow: (cells: string[], header: string[]) => void,
    counter?: RequestCounter,
  ): Promise<number> {
    const response = await this.http.request<number>({
      method: 'GET',
      path: `/jobs/ingest/${encodeURIComponent(id)}/${kind}/`,
      headers: { accept: 'text/csv' },
      idempotent: true,
      kind: 'bulk',
      timeoutMs: TRANSFER_TIMEOUT_MS,
      consume: (body) => readCsv(body, onRow),
      ...(counter ? { counter } : {}),
    });
    return response.body;
  }

  /** `GET /limits/`: the batches and requests left in the rolling 24 hours (reference §5.3). */
  async limits(): Promise<BulkLimits> {
    const response = await this.http.request<
      Record<string, { Max?: number; Remaining?: number } | undefined>
    >({
      method: 'GET',
      path: '/limits/',
      idempotent: true,
      kind: 'limits',
    });
    const body = response.body ?? {};
    // DailyBulkApiBatches is DailyBulkApiRequests in v48.0 and earlier (reference §5.3).
    const batches = body.DailyBulkApiBatches ?? body.DailyBulkApiRequests;
    return {
      batchesRemaining: batches?.Remaining,
      requestsRemaining: body.DailyApiRequests?.Remaining,
    };
  }
}

/**
 * Parses a results CSV as it streams in (papaparse: several times faster than csv-parse on result
 * files, which echo every column of every row); resolves with the number of data rows. The body is
 * decoded as a UTF-8 stream first, so a character split between two chunks stays whole. A file that
 * is not well-formed CSV (an unterminated quote) fails the download rather than pair rows wrongly.
 */
function readCsv(body: Readable, onRow: (cells: string[], header: string[]) => void): Promise<number> {
  return new Promise((resolve, reject) => {
    let header: string[] | undefined;
    let rows = 0;
    let failed = false;
    body.setEncoding('utf8');
    Papa.parse<string[]>(body as unknown as File, {
      // The job declares COMMA (results use the job's delimiter); the line ending is found by papaparse.
      delimiter: ',',
      skipEmptyLines: true,
      // Rows come a chunk at a time: a callback per row costs more than the parsing itself.
      chunk: (result, parser) => {
        if (failed) return;
        const quoteError = result.errors.find((e) => e.type === 'Quotes');
        if (quoteError !== undefined) {
          failed = true;
          parser.abort();
          // Data rows are counted from 1 after the header; quoteError.row counts within this chunk.
          const at = quoteError.row ?? 0;
          reject(
            new Error(
              `the results file is not well-formed CSV (${quoteError.message}, row ${header === undefined ? at : rows + at + 1})`,
            ),
          );
          return;
        }
        try {
          for (const cells of result.data) {
            if (header === undefined) {
              // A byte order mark, if any, is not part of the first column's name.
              if (cells[0]?.startsWith('\ufeff')) cells[0] = cells[0].slice(1);
              header = cells;
              continue;
            }
            rows += 1;
            onRow(cells, header);
          }
        } catch (error) {
          failed = true;
          parser.abort();
          reject(error instanceof Error ? error : new Error(String(error)));
        }
      },
      complete: () => {
        if (!failed) resolve(rows);
      },
      error: (error: Error) => {
        failed = true;
        reject(error);
      },
    });
    body.once('error', (error) => {
      if (failed) return;
      failed = true;
      reject(error);
    });
  });
}

/**
 * `sf__Error` as Salesforce writes it: `STATUS_CODE:message:fields --` (reference §4.1 step 5), e.g.
 * `REQUIRED_FIELD_MISSING:Required fields are missing: [LastName]:LastName --`.
 */
export function parseBulkError(text: string): { statusCode: string; message: string; fields: string[] } {
  const trimmed = text.replace(/\s*--\s*$/, '');
  const first = trimmed.indexOf(':');
  if (first < 0) return { statusCode: trimmed || 'UNKNOWN_ERROR', message: '', fields: [] };
  const statusCode = trimmed.slice(0, first);
  const rest = trimmed.slice(first + 1);
  // The fields part is after the last colon: API names only (no spaces), or empty.
  const last = rest.lastIndexOf(':');
  const tail = last < 0 ? '' : rest.slice(last + 1);
  if (last >= 0 && /^[A-Za-z0-9_.,]*$/.test(tail)) {
    return {
      statusCode,
      message: rest.slice(0, last),
      fields: tail === '' ? [] : tail.split(',').filter((f) => f !== ''),
    };
  }
  return { statusCode, message: rest, fields: [] };
}

/** Whether a Bulk call was refused because the job is not in the state the call needs. */
export function isJobStateError(error: unknown): boolean {
  return (
    error instanceof SalesforceApiError &&
    error.status === 400 &&
    /INVALIDJOBSTATE|InvalidJobState|JOB_STATE/i.test(`${error.errorCode} ${error.salesforceMessage}`)
  );
}
