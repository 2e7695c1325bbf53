/**
 * Bulk API 2.0 ingest (reference §4): create a job, upload CSV (once, while Open), close it
 * (UploadComplete) or abort it; the job is then processed asynchronously in internal batches
 * (10,000 records by default) with the same per-record validation as REST; results come back as CSV
 * (successfulResults, failedResults, unprocessedrecords). Every HTTP call is one API request.
 */
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { parse } from 'csv-parse';
import { type Core, newContext } from './core.js';
import {
  type DmlContext,
  type Prepared,
  type RelRef,
  type SaveOutcome,
  type User,
  createRecord,
  deleteRecord,
  duplicateKeyRows,
  emptyPrepared,
  idOfObject,
  malformedRecordId,
  recordError,
  updateRecord,
  upsertKeyValue,
  upsertRecord,
} from './dml.js';
import { type ApiResponse, apiError, json, notFound } from './http-util.js';
import { IdGenerator } from './ids.js';
import { type RestRequest, methodNotAllowed, servedTable } from './rest.js';
import { type FieldInfo, Problem, type StoredValue, convertCsv, formatDateTime } from './schema.js';
import type { Table } from './store.js';
import type { RecordError } from './types.js';

type Operation = 'insert' | 'update' | 'upsert' | 'delete' | 'hardDelete';
type State = 'Open' | 'UploadComplete' | 'InProgress' | 'JobComplete' | 'Failed' | 'Aborted';

const OPERATIONS = new Set<string>(['insert', 'update', 'upsert', 'delete', 'hardDelete']);
const DELIMITERS: Record<string, string> = {
  COMMA: ',',
  BACKQUOTE: '`',
  CARET: '^',
  PIPE: '|',
  SEMICOLON: ';',
  TAB: '\t',
};

/** A CSV column mapped to the object. */
type Column =
  | { kind: 'id'; header: string }
  | { kind: 'field'; header: string; field: FieldInfo }
  | { kind: 'rel'; header: string; field: FieldInfo; keyName: string; parentType: string | undefined }
  | { kind: 'ignore'; header: string };

interface Job {
  id: string;
  operation: Operation;
  table: Table;
  externalIdFieldName: string | undefined;
  keyField: FieldInfo | undefined;
  lineEnding: 'LF' | 'CRLF';
  columnDelimiter: string;
  state: State;
  user: User;
  createdDate: string;
  systemModstamp: string;
  apiVersion: string;
  data: Buffer[];
  processed: number;
  failed: number;
  startedAt: number;
  finishedAt: number;
  errorMessage: string | undefined;
  /** CSV result text, one string per internal batch (compact for large jobs). */
  successChunks: string[];
  failedChunks: string[];
  unprocessedChunks: string[];
  resultHeader: string[] | undefined;
  rawHeader: string[] | undefined;
}

function quote(v: string): string {
  return `"${v.replace(/"/g, '""')}"`;
}

function csvLine(values: string[]): string {
  return values.map(quote).join(',') + '\n';
}

/** `STATUS_CODE:message:fields --` (reference §4.1 step 5). */
function errorText(e: RecordError): string {
  return `${e.statusCode}:${e.message}:${e.fields.length > 0 ? `${e.fields.join(',')} --` : '--'}`;
}

function invalidJob(message: string): ApiResponse {
  return apiError(400, 'INVALIDJOB', `InvalidJob : ${message}`);
}

function invalidState(message: string): ApiResponse {
  // [U] the job-level error InvalidJobState (reference §4.4) in the errorCode form of INVALIDJOB.
  return apiError(400, 'INVALIDJOBSTATE', message);
}

/** The Bulk API 2.0 jobs of the org. */
export class BulkJobs {
  readonly jobs = new Map<string, Job>();
  private seq = 0;

  nextId(): string {
    this.seq++;
    return IdGenerator.make('750', this.seq);
  }

  clear(): void {
    for (const job of this.jobs.values())
      if (job.state === 'InProgress' || job.state === 'UploadComplete') job.state = 'Aborted';
    this.jobs.clear();
  }
}

const registry = new WeakMap<Core, BulkJobs>();

/** The jobs of an org (created on first use). */
export function bulkJobs(core: Core): BulkJobs {
  let jobs = registry.get(core);
  if (jobs === undefined) {
    jobs = new BulkJobs();
    registry.set(core, jobs);
  }
  return jobs;
}

function jobInfo(job: Job, created: boolean): Record<string, unknown> {
  const info: Record<string, unknown> = {
    id: job.id,
    operation: job.operation,
    object: job.table.schema.name,
    createdById: job.user.id,
    createdDate: job.createdDate,
    systemModstamp: job.systemModstamp,
    state: job.state,
  };
  if (job.externalIdFieldName !== undefined) info.externalIdFieldName = job.externalIdFieldName;
  info.concurrencyMode = 'Parallel';
  info.contentType = 'CSV';
  info.apiVersion = Number(job.apiVersion);
  if (!created) info.jobType = 'V2Ingest';
  info.contentUrl = `services/data/v${job.apiVersion}/jobs/ingest/${job.id}/batches`;
  info.lineEnding = job.lineEnding;
  info.columnDelimiter =
    Object.entries(DELIMITERS).find(([, d]) => d === job.columnDelimiter)?.[0] ?? 'COMMA';
  if (!created) {
    info.numberRecordsProcessed = job.processed;
    info.numberRecordsFailed = job.failed;
    info.retries = 0;
    const elapsed =
      job.startedAt === 0 ? 0 : (job.finishedAt === 0 ? Date.now() : job.finishedAt) - job.startedAt;
    info.totalProcessingTime = elapsed;
    info.apiActiveProcessingTime = elapsed;
    info.apexProcessingTime = 0;
    if (job.errorMessage !== undefined) info.errorMessage = job.errorMessage;
  }
  return info;
}

/** Route /jobs/ingest[...]. */
export function handleBulk(core: Core, req: RestRequest): ApiResponse {
  const s = req.segments;
  if (s[1] !== 'ingest') return notFound();
  // Bulk API 2.0 exists from v41.0 (reference §4.1).
  if (Number(req.version) < 41) return notFound();
  const jobs = bulkJobs(core);
  if (s.length === 2) {
    if (req.method === 'POST') return createJob(core, req, jobs);
    if (req.method === 'GET') {
      const records = [...jobs.jobs.values()].map((j) => jobInfo(j, false));
      return json(200, { done: true, records, nextRecordsUrl: null });
    }
    return methodNotAllowed(req.method, 'GET,POST');
  }
  const job = jobs.jobs.get(s[2]!);
  if (job === undefined) return notFound();
  if (s.length === 3) {
    switch (req.method) {
      case 'GET':
        return json(200, jobInfo(job, false));
      case 'PATCH':
        return changeState(core, req, job);
      case 'DELETE':
        if (job.state === 'Open' || job.state === 'InProgress') {
          return invalidState(`Job ${job.id} can't be deleted in state ${job.state}`);
        }
        jobs.jobs.delete(job.id);
        return { status: 204 };
      default:
        return methodNotAllowed(req.method, 'GET,PATCH,DELETE');
    }
  }
  if (s.length === 4) {
    switch (s[3]) {
      case 'batches':
        return req.method === 'PUT' ? upload(core, req, job) : methodNotAllowed(req.method, 'PUT');
      case 'successfulResults':
      case 'failedResults':
      case 'unprocessedrecords':
        return req.method === 'GET' ? results(job, s[3]) : methodNotAllowed(req.method, 'GET');
      default:
        return notFound();
    }
  }
  return notFound();
}

function createJob(core: Core, req: RestRequest, jobs: BulkJobs): ApiResponse {
  const body = req.body;
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return apiError(400, 'JSON_PARSER_ERROR', 'Cannot deserialize instance of IngestJobRequest from input');
  }
  const b = body as Record<string, unknown>;
  const objectName = typeof b.object === 'string' ? b.object : '';
  const table = servedTable(core, objectName);
  if (table === undefined) return invalidJob(`Unable to find object: ${objectName}`);
  const operation = typeof b.operation === 'string' ? b.operation : '';
  if (!OPERATIONS.has(operation)) return invalidJob(`Invalid value for operation: ${operation}`);
  if (b.contentType !== undefined && b.contentType !== 'CSV')
    return invalidJob(`Unsupported content type: ${JSON.stringify(b.contentType)}`);
  const lineEnding = b.lineEnding ?? 'LF';
  if (lineEnding !== 'LF' && lineEnding !== 'CRLF')
    return invalidJob(`Invalid line ending: ${JSON.stringify(lineEnding)}`);
  const delimiterName = typeof b.columnDelimiter === 'string' ? b.columnDelimiter : 'COMMA';
  const columnDelimiter = DELIMITERS[delimiterName];
  if (columnDelimiter === undefined) return invalidJob(`Invalid column delimiter: ${delimiterName}`);
  let externalIdFieldName: string | undefined;
  let keyField: FieldInfo | undefined;
  if (operation === 'upsert') {
    const name = typeof b.externalIdFieldName === 'string' ? b.externalIdFieldName : '';
    if (name === '') {
      return invalidJob(
        `External ID was blank for ${table.schema.name}. An External ID must be specified for upsert.`,
      );
    }
    keyField = table.schema.byLower.get(name.toLowerCase());
    if (keyField === undefined || !keyField.keyable) {
      // [3P] reference §4.3: refused at job creation with this message (field name as given).
      return invalidJob(
        `Field name provided, ${name} does not match an External ID, Salesforce Id, or indexed field for ${table.schema.name}`,
      );
    }
    externalIdFieldName = keyField.name;
  }
  const now = formatDateTime(Date.now());
  const job: Job = {
    id: jobs.nextId(),
    operation: operation as Operation,
    table,
    externalIdFieldName,
    keyField,
    lineEnding,
    columnDelimiter,
    state: 'Open',
    user: req.user,
    createdDate: now,
    systemModstamp: now,
    apiVersion: req.version,
    data: [],
    processed: 0,
    failed: 0,
    startedAt: 0,
    finishedAt: 0,
    errorMessage: undefined,
    successChunks: [],
    failedChunks: [],
    unprocessedChunks: [],
    resultHeader: undefined,
    rawHeader: undefined,
  };
  jobs.jobs.set(job.id, job);
  // [U] reference §4.1: the create status is not shown for ingest jobs; 200 like the query-job example.
  return json(200, jobInfo(job, true));
}

function upload(core: Core, req: RestRequest, job: Job): ApiResponse {
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'text/csv') {
    return apiError(
      415,
      'INVALIDCONTENTTYPE',
      `Content-Type ${type === '' ? '(none)' : type} is not supported; use text/csv`,
    );
  }
  if (job.state !== 'Open')
    return invalidState(`Job ${job.id} is not in the Open state; data can be uploaded only to an Open job`);
  if (job.data.length > 0 && !core.settings.bulkAllowMultipleUploads) {
    // [U] Bulk 2.0 takes one upload per job; this is the refusal observed for a second PUT.
    return apiError(
      400,
      'BULK_API_ERROR',
      `Found multiple contents for job: <${job.id}>, please 'Close' / 'Abort' / 'Delete' the current Job then create a new Job and make sure you only do 'PUT' once on a given Job.`,
    );
  }
  job.data.push(req.rawBody);
  return { status: 201 };
}

function changeState(core: Core, req: RestRequest, job: Job): ApiResponse {
  const body = req.body as Record<string, unknown> | undefined;
  const state = body?.state;
  if (state === 'UploadComplete') {
    if (job.state !== 'Open')
      return invalidState(`Job ${job.id} can't be closed: it is in state ${job.state}`);
    job.state = 'UploadComplete';
    job.systemModstamp = formatDateTime(Date.now());
    void processJob(core, job);
    return json(200, jobInfo(job, true));
  }
  if (state === 'Aborted') {
    if (job.state !== 'Open' && job.state !== 'UploadComplete' && job.state !== 'InProgress') {
      return invalidState(`Job ${job.id} can't be aborted: it is in state ${job.state}`);
    }
    job.state = 'Aborted';
    job.systemModstamp = formatDateTime(Date.now());
    return json(200, jobInfo(job, true));
  }
  return invalidState(`Invalid state transition requested: ${String(state)}`);
}

function results(job: Job, which: string): ApiResponse {
  if (job.state !== 'JobComplete' && job.state !== 'Failed' && job.state !== 'Aborted') {
    // [U] results are available once the job is in a terminal state (reference §4.1 step 5).
    return invalidState(`Job ${job.id} is in state ${job.state}; results are available when it is complete`);
  }
  const header = job.resultHeader ?? [];
  let text: string;
  if (which === 'successfulResults')
    text = csvLine(['sf__Id', 'sf__Created', ...header]) + job.successChunks.join('');
  else if (which === 'failedResults')
    text = csvLine(['sf__Id', 'sf__Error', ...header]) + job.failedChunks.join('');
  else if (job.data.length > 0)
    text = Buffer.concat(job.data).toString('utf8'); // aborted before processing
  else text = (job.rawHeader === undefined ? '' : csvLine(job.rawHeader)) + job.unprocessedChunks.join('');
  return { status: 200, raw: text, contentType: 'text/csv' };
}

/** Map the header row to columns (reference §4.3: field names, `Relationship.ExternalField`, unknown headers ignored). */
function mapColumns(core: Core, job: Job, header: string[]): Column[] | string {
  const schema = job.table.schema;
  const columns: Column[] = [];
  for (const h of header) {
    const name = h.trim();
    if (name.toLowerCase() === 'id') {
      columns.push({ kind: 'id', header: h });
      continue;
    }
    const field = schema.byLower.get(name.toLowerCase());
    if (field !== undefined) {
      columns.push({ kind: 'field', header: h, field });
      continue;
    }
    // Relationship columns: Rel.Field, or polymorphic Type:Rel.Field.
    const m = /^(?:([A-Za-z0-9_]+):)?([A-Za-z0-9_]+)\.([A-Za-z0-9_]+)$/.exec(name);
    const rel = m === null ? undefined : schema.relByLower.get(m[2]!.toLowerCase());
    if (m !== null && rel !== undefined) {
      columns.push({ kind: 'rel', header: h, field: rel, keyName: m[3]!, parentType: m[1] });
      continue;
    }
    if (core.settings.bulkUnknownColumns === 'fail') return `InvalidBatch : Field name not found : ${name}`;
    columns.push({ kind: 'ignore', header: h });
  }
  return columns;
}

/** A CSV row as a prepared record: empty cells are ignored, `#N/A` sets null (reference §4.3). */
function prepareRow(columns: Column[], row: string[]): Prepared {
  const prepared = emptyPrepared();
  for (let i = 0; i < columns.length; i++) {
    const col = columns[i]!;
    const cell = row[i] ?? '';
    if (cell === '' || col.kind === 'ignore') continue;
    const isNull = cell === '#N/A';
    if (col.kind === 'id') {
      prepared.idGiven = true;
      prepared.idValue = isNull ? null : cell;
    } else if (col.kind === 'field') {
      if (isNull && col.field.type === 'boolean') {
        prepared.valueError ??= recordError(
          'INVALID_TYPE_ON_FIELD_IN_RECORD',
          `${col.field.label}: value not of required type`,
          [col.field.name],
        );
        continue;
      }
      if (isNull) {
        prepared.fields.push(col.field);
        prepared.values.push(null);
        continue;
      }
      const v = convertCsv(col.field, cell, i + 1);
      if (v instanceof Problem) {
        prepared.valueError ??= v.problem.error;
        continue;
      }
      prepared.fields.push(col.field);
      prepared.values.push(v === '' ? null : v);
    } else {
      const rel: RelRef = {
        field: col.field,
        parentType: col.parentType,
        keyName: col.keyName,
        keyValue: isNull ? null : cell,
        fromText: true,
      };
      prepared.rels.push(rel);
    }
  }
  return prepared;
}

function processRow(ctx: DmlContext, job: Job, prepared: Prepared): SaveOutcome {
  const table = job.table;
  switch (job.operation) {
    case 'insert':
      return createRecord(ctx, table, prepared);
    case 'upsert':
      return upsertRecord(ctx, table, job.keyField!, prepared);
    case 'update': {
      if (!prepared.idGiven || prepared.idValue === null) {
        return {
          success: false,
          errors: [recordError('MISSING_ARGUMENT', 'Id not specified in an update call')],
        };
      }
      const id = idOfObject(table.schema, prepared.idValue);
      if (id === undefined)
        return { success: false, errors: [malformedRecordId(table.schema, prepared.idValue)] };
      return updateRecord(ctx, table, id, { ...prepared, idGiven: false, idValue: undefined });
    }
    default: {
      if (!prepared.idGiven || typeof prepared.idValue !== 'string') {
        return {
          success: false,
          errors: [recordError('MISSING_ARGUMENT', 'Id not specified in a delete call')],
        };
      }
      return deleteRecord(ctx, prepared.idValue, table.schema, job.operation === 'hardDelete');
    }
  }
}

/** Process one internal batch synchronously and append its results. */
function processBatch(core: Core, job: Job, columns: Column[], rows: string[][]): void {
  const ctx = newContext(core, job.user);
  core.usage.bulkBatches++;
  const prepared = rows.map((r) => prepareRow(columns, r));
  let duplicates = new Map<number, RecordError>();
  if (job.operation === 'upsert') {
    const keys: Array<StoredValue | undefined> = prepared.map((p) => upsertKeyValue(p, job.keyField!));
    duplicates = duplicateKeyRows(keys, job.keyField!, core.settings);
  }
  const kept = columns.map((c, i) => (c.kind === 'ignore' ? -1 : i)).filter((i) => i >= 0);
  let ok = '';
  let bad = '';
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i]!;
    const original = kept.map((k) => row[k] ?? '');
    const dup = duplicates.get(i);
    const outcome: SaveOutcome =
      dup !== undefined ? { success: false, errors: [dup] } : processRow(ctx, job, prepared[i]!);
    job.processed++;
    if (outcome.success) {
      const created = outcome.created ?? job.operation === 'insert';
      ok += csvLine([outcome.id ?? '', String(created), ...original]);
    } else {
      job.failed++;
      // sf__Id is filled for update/delete failures (v53.0+), empty for failed inserts (reference §4.1).
      const id = job.operation === 'insert' || job.operation === 'upsert' ? '' : (outcome.id ?? '');
      bad += csvLine([
        id,
        errorText(outcome.errors[0] ?? recordError('UNKNOWN_EXCEPTION', 'unknown')),
        ...original,
      ]);
    }
  }
  if (ok !== '') job.successChunks.push(ok);
  if (bad !== '') job.failedChunks.push(bad);
}

/** Asynchronous processing of a closed job. */
async function processJob(core: Core, job: Job): Promise<void> {
  const jobs = bulkJobs(core);
  await sleep(core.settings.bulkStartDelayMs);
  if (job.state !== 'UploadComplete' || jobs.jobs.get(job.id) !== job) return;
  job.state = 'InProgress';
  job.startedAt = Date.now();
  const data = Buffer.concat(job.data);
  job.data = [];
  const parser = parse({
    delimiter: job.columnDelimiter,
    record_delimiter: job.lineEnding === 'CRLF' ? '\r\n' : '\n',
    relax_column_count: true,
    skip_empty_lines: true,
    bom: true,
  });
  const slices: Buffer[] = [];
  for (let i = 0; i < data.length; i += 1 << 20) slices.push(data.subarray(i, i + (1 << 20)));
  Readable.from(slices).pipe(parser);
  let columns: Column[] | undefined;
  let batch: string[][] = [];
  const size = Math.max(1, core.settings.bulkBatchSize);
  const stillRunning = (): boolean => job.state === 'InProgress' && jobs.jobs.get(job.id) === job;
  try {
    for await (const record of parser as AsyncIterable<string[]>) {
      if (columns === undefined) {
        const mapped = mapColumns(core, job, record);
        job.rawHeader = record;
        if (typeof mapped === 'string') {
          job.errorMessage = mapped;
          job.state = 'Failed';
          break;
        }
        columns = mapped;
        job.resultHeader = columns.filter((c) => c.kind !== 'ignore').map((c) => c.header);
        continue;
      }
      if (!stillRunning()) {
        job.unprocessedChunks.push(csvLine(record));
        continue;
      }
      batch.push(record);
      if (batch.length >= size) {
        processBatch(core, job, columns, batch);
        batch = [];
        await sleep(core.settings.bulkBatchDelayMs);
      }
    }
    if (columns !== undefined && batch.length > 0) {
      if (stillRunning()) processBatch(core, job, columns, batch);
      else for (const r of batch) job.unprocessedChunks.push(csvLine(r));
    }
    if (job.state === 'InProgress') job.state = 'JobComplete';
  } catch (e) {
    job.state = 'Failed';
    job.errorMessage = `InvalidBatch : ${e instanceof Error ? e.message : String(e)}`;
  }
  job.finishedAt = Date.now();
  job.systemModstamp = formatDateTime(job.finishedAt);
}
