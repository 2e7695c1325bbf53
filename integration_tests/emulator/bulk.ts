/**
 * Bulk API 2.0 ingest over HTTP (reference §4.1): create a job (200), upload its CSV once while Open
 * (201), close it (UploadComplete) or abort it, poll it, read its three result files once it has ended,
 * list and delete jobs. Every call is one API request (bulk2-ingest.md §1.2), counted by what it did
 * in stats().bulk. Processing itself is in bulk-job.ts.
 */
import { setImmediate as yieldToEvents, setTimeout as sleep } from 'node:timers/promises';
import { csvLine } from './bulk-csv.js';
import { type Job, type Operation, type PendingBulkFault, JobRun } from './bulk-job.js';
import type { Core } from './core.js';
import { type ApiResponse, apiError, json, notFound } from './http-util.js';
import { IdGenerator, normalizeId } from './ids.js';
import { type RestRequest, methodNotAllowed, servedTable } from './rest.js';
import { type FieldInfo, formatDateTime } from './schema.js';
import type { BulkJobFaultSpec } from './types.js';

const OPERATIONS = new Set<string>(['insert', 'update', 'upsert', 'delete', 'hardDelete']);
const DELIMITERS: Record<string, string> = {
  COMMA: ',',
  BACKQUOTE: '`',
  CARET: '^',
  PIPE: '|',
  SEMICOLON: ';',
  TAB: '\t',
};
/** The only fields of a create-job request (bulk2-ingest.md §1.1). */
const CREATE_FIELDS = new Set([
  'assignmentRuleId',
  'columnDelimiter',
  'contentType',
  'externalIdFieldName',
  'lineEnding',
  'object',
  'operation',
]);
/** bulk2-ingest.md §1.1: assignmentRuleId runs on Case and Lead only, from v49.0. */
const ASSIGNMENT_RULE_OBJECTS = new Set(['Case', 'Lead']);

function invalidJob(message: string): ApiResponse {
  return apiError(400, 'INVALIDJOB', `InvalidJob : ${message}`);
}

function invalidState(message: string): ApiResponse {
  // [U] the job-level error InvalidJobState (reference §4.4) in the errorCode form of INVALIDJOB.
  return apiError(400, 'INVALIDJOBSTATE', message);
}

/** The Bulk API 2.0 jobs of the org, and the pending Bulk processing faults. */
export class BulkJobs {
  readonly jobs = new Map<string, Job>();
  private seq = 0;
  private faults: PendingBulkFault[] = [];

  /** A new job's id and sequence number. */
  next(): { id: string; seq: number } {
    this.seq++;
    return { id: IdGenerator.make('750', this.seq), seq: this.seq };
  }

  addFault(spec: BulkJobFaultSpec): void {
    this.faults.push({ remaining: spec.count ?? 1, spec });
  }

  /** The fault for a job whose processing starts, if one matches (it is used up by this job). */
  takeFault(job: Job): BulkJobFaultSpec | undefined {
    const pending = this.faults.find(
      (f) =>
        f.remaining > 0 &&
        (f.spec.object === undefined ||
          f.spec.object.toLowerCase() === job.table.schema.name.toLowerCase()) &&
        (f.spec.operation === undefined || f.spec.operation === job.operation),
    );
    if (pending === undefined) return undefined;
    pending.remaining--;
    this.faults = this.faults.filter((f) => f.remaining > 0);
    return pending.spec;
  }

  clearFaults(): void {
    this.faults = [];
  }

  /** Forget every job (processing stops) and fault. */
  clear(): void {
    for (const job of this.jobs.values()) {
      job.run?.discard();
      if (job.state === 'InProgress' || job.state === 'UploadComplete') job.state = 'Aborted';
    }
    this.jobs.clear();
    this.clearFaults();
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

function delimiterName(job: Job): string {
  return Object.entries(DELIMITERS).find(([, d]) => d === job.columnDelimiter)?.[0] ?? 'COMMA';
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
  // [U] where the echoed assignmentRuleId sits in the job info.
  if (job.assignmentRuleId !== undefined) info.assignmentRuleId = job.assignmentRuleId;
  info.concurrencyMode = 'Parallel';
  info.contentType = 'CSV';
  info.apiVersion = Number(job.apiVersion);
  if (!created) info.jobType = 'V2Ingest';
  info.contentUrl = `services/data/v${job.apiVersion}/jobs/ingest/${job.id}/batches`;
  info.lineEnding = job.lineEnding;
  info.columnDelimiter = delimiterName(job);
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
  const stats = core.usage.bulk;
  if (s.length === 2) {
    if (req.method === 'POST') {
      const reply = createJob(core, req, jobs);
      if (reply.status === 200) stats.jobsCreated++;
      return reply;
    }
    if (req.method === 'GET') {
      stats.lists++;
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
        stats.polls++;
        return poll(core, job);
      case 'PATCH':
        return changeState(core, req, job);
      case 'DELETE':
        stats.deletes++;
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
        if (req.method !== 'PUT') return methodNotAllowed(req.method, 'PUT');
        stats.uploads++;
        return upload(core, req, job);
      case 'successfulResults':
      case 'failedResults':
      case 'unprocessedrecords':
        if (req.method !== 'GET') return methodNotAllowed(req.method, 'GET');
        stats.resultGets++;
        return results(job, s[3]);
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
  // [U] wording: the request takes only the documented fields (bulk2-ingest.md §1.1: no concurrency
  // mode, no duplicate-rule option), so another one is refused rather than silently ignored.
  const extra = Object.keys(b).find(
    (k) => !CREATE_FIELDS.has(k) || (k === 'assignmentRuleId' && Number(req.version) < 49),
  );
  if (extra !== undefined) return invalidJob(`Unrecognized field: ${extra}`);
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
  let assignmentRuleId: string | undefined;
  if (b.assignmentRuleId !== undefined && b.assignmentRuleId !== null) {
    // [U] wordings of both refusals.
    if (!ASSIGNMENT_RULE_OBJECTS.has(table.schema.name))
      return invalidJob(`assignmentRuleId is supported only for Case and Lead, not ${table.schema.name}`);
    if (typeof b.assignmentRuleId !== 'string' || normalizeId(b.assignmentRuleId) === undefined)
      return invalidJob(`Invalid assignmentRuleId: ${JSON.stringify(b.assignmentRuleId)}`);
    assignmentRuleId = b.assignmentRuleId;
  }
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
  const { id, seq } = jobs.next();
  const job: Job = {
    id,
    seq,
    operation: operation as Operation,
    table,
    externalIdFieldName,
    keyField,
    assignmentRuleId,
    lineEnding,
    columnDelimiter,
    state: 'Open',
    user: req.user,
    createdDate: now,
    systemModstamp: now,
    apiVersion: req.version,
    uploads: [],
    processed: 0,
    failed: 0,
    startedAt: 0,
    finishedAt: 0,
    errorMessage: undefined,
    resultHeader: undefined,
    successChunks: [],
    failedChunks: [],
    unprocessed: [],
    run: undefined,
  };
  jobs.jobs.set(job.id, job);
  // bulk2-ingest.md §1.1: create answers 200.
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
  if (job.uploads.length > 0 && !core.settings.bulkAllowMultipleUploads) {
    // [U] Bulk 2.0 takes one upload per job; this is the refusal observed for a second PUT.
    return apiError(
      400,
      'BULK_API_ERROR',
      `Found multiple contents for job: <${job.id}>, please 'Close' / 'Abort' / 'Delete' the current Job then create a new Job and make sure you only do 'PUT' once on a given Job.`,
    );
  }
  const size = req.rawBody.length + job.uploads.reduce((n, b) => n + b.length, 0);
  if (size > core.settings.bulkMaxUploadBytes) {
    // [U] wording, after Bulk 1.0's "Failed to read request. Exceeded max size limit of …" (ClientInputError).
    return apiError(
      400,
      'CLIENTINPUTERROR',
      `ClientInputError : Failed to read request. Exceeded max size limit of ${core.settings.bulkMaxUploadBytes} bytes of CSV (150 MB after base64)`,
    );
  }
  // The body is kept as received: one buffer, not copied again (a 100 MB upload is held once).
  job.uploads.push(req.rawBody);
  core.usage.bulk.uploadBytes += req.rawBody.length;
  return { status: 201 };
}

function startRun(core: Core, job: Job): JobRun {
  job.state = 'InProgress';
  job.startedAt = Date.now();
  job.systemModstamp = formatDateTime(job.startedAt);
  job.run = new JobRun(core, job, bulkJobs(core).takeFault(job));
  return job.run;
}

/** Process a closed job batch after batch, yielding between steps (settings.bulkBatchesPerPoll null). */
async function drive(core: Core, job: Job): Promise<void> {
  if (core.settings.bulkStartDelayMs > 0) await sleep(core.settings.bulkStartDelayMs);
  else await yieldToEvents();
  if (job.state !== 'UploadComplete' || bulkJobs(core).jobs.get(job.id) !== job) return;
  const run = startRun(core, job);
  for (;;) {
    const done = run.step();
    if (done === 'done') return;
    const delay = done === 'batch' ? core.settings.bulkBatchDelayMs : 0;
    if (delay > 0) await sleep(delay);
    else await yieldToEvents();
  }
}

/** GET of the job info; when polls drive processing, up to bulkBatchesPerPoll batches first. */
function poll(core: Core, job: Job): ApiResponse {
  const perPoll = core.settings.bulkBatchesPerPoll;
  if (perPoll !== null && (job.state === 'UploadComplete' || job.state === 'InProgress')) {
    const run = job.run ?? startRun(core, job);
    let batches = 0;
    while (!run.done && batches < perPoll) if (run.step() === 'batch') batches++;
  }
  return json(200, jobInfo(job, false));
}

function changeState(core: Core, req: RestRequest, job: Job): ApiResponse {
  const body = req.body as Record<string, unknown> | undefined;
  const state = body?.state;
  const stats = core.usage.bulk;
  if (state === 'UploadComplete') {
    stats.closes++;
    if (job.state !== 'Open')
      return invalidState(`Job ${job.id} can't be closed: it is in state ${job.state}`);
    job.state = 'UploadComplete';
    job.systemModstamp = formatDateTime(Date.now());
    if (core.settings.bulkBatchesPerPoll === null) void drive(core, job);
    return json(200, jobInfo(job, true));
  }
  if (state === 'Aborted') {
    stats.aborts++;
    if (job.state !== 'Open' && job.state !== 'UploadComplete' && job.state !== 'InProgress') {
      return invalidState(`Job ${job.id} can't be aborted: it is in state ${job.state}`);
    }
    const wasRunning = job.state === 'InProgress';
    job.state = 'Aborted';
    job.systemModstamp = formatDateTime(Date.now());
    if (wasRunning)
      job.run?.step(); // ends it: the rows not yet processed become unprocessed
    else {
      // Nothing was processed: the upload is returned as it came.
      job.unprocessed = job.uploads;
      job.uploads = [];
    }
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
  let chunks: Buffer[];
  if (which === 'successfulResults')
    chunks = [Buffer.from(csvLine(['sf__Id', 'sf__Created', ...header])), ...job.successChunks];
  else if (which === 'failedResults')
    chunks = [Buffer.from(csvLine(['sf__Id', 'sf__Error', ...header])), ...job.failedChunks];
  else chunks = job.unprocessed;
  return { status: 200, chunks, contentType: 'text/csv' };
}
