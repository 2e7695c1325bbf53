/**
 * One Bulk API 2.0 ingest job and its processing (reference §4.2; bulk2-ingest.md §1.2–§1.4).
 *
 * A closed job is processed in steps, so the server stays responsive and a test can drive it poll by
 * poll: find the rows (the line ending is checked on every record, and a mismatch fails the job before
 * anything is written), read the header (a column that is no field fails the job), collect the upsert
 * keys of the whole job (a key sent twice fails both rows), then internal batches of 10,000 rows, each
 * counted against DailyBulkApiBatches and run with the same per-record validation as REST. Results are
 * kept per batch as CSV bytes; when the job ends, what was not processed becomes the unprocessedrecords
 * body and the upload is released.
 */
import {
  type RowProblem,
  ColumnReader,
  RowScanner,
  csvLine,
  javaDouble,
  looseSplit,
  readCells,
} from './bulk-csv.js';
import { type Core, newContext } from './core.js';
import {
  type DmlContext,
  DuplicateKeys,
  type Prepared,
  type RelRef,
  type SaveOutcome,
  type User,
  createRecord,
  deleteRecord,
  emptyPrepared,
  idOfObject,
  malformedRecordId,
  recordError,
  updateRecord,
  upsertRecord,
} from './dml.js';
import { prng } from './server.js';
import { type FieldInfo, Problem, convertCsv, formatDateTime } from './schema.js';
import type { Table } from './store.js';
import type { BulkJobFaultSpec, RecordError } from './types.js';

/** Ingest operations (reference §4.1). */
export type Operation = 'insert' | 'update' | 'upsert' | 'delete' | 'hardDelete';
/** Job states (reference §4.1 step 4). */
export type JobState = 'Open' | 'UploadComplete' | 'InProgress' | 'JobComplete' | 'Failed' | 'Aborted';

/** A job: what was asked, where it stands, and its results. */
export interface Job {
  id: string;
  /** Order of creation in the org (seeds the result shuffle, so two jobs differ). */
  seq: number;
  operation: Operation;
  table: Table;
  externalIdFieldName: string | undefined;
  keyField: FieldInfo | undefined;
  assignmentRuleId: string | undefined;
  lineEnding: 'LF' | 'CRLF';
  /** The delimiter character. */
  columnDelimiter: string;
  state: JobState;
  user: User;
  createdDate: string;
  systemModstamp: string;
  apiVersion: string;
  /** The uploaded CSV until processing takes it. */
  uploads: Buffer[];
  processed: number;
  failed: number;
  startedAt: number;
  finishedAt: number;
  errorMessage: string | undefined;
  /** The columns echoed in successful and failed results (header names as sent). */
  resultHeader: string[] | undefined;
  /** Result rows as CSV bytes, one chunk per internal batch (in the order they are answered). */
  successChunks: Buffer[];
  failedChunks: Buffer[];
  /** The unprocessedrecords body once the job has ended. */
  unprocessed: Buffer[];
  run: JobRun | undefined;
}

/** A pending {@link BulkJobFaultSpec} with its remaining count. */
export interface PendingBulkFault {
  remaining: number;
  spec: BulkJobFaultSpec;
}

/** A CSV column mapped to the object. */
type Column =
  | { kind: 'id'; header: string }
  | { kind: 'field'; header: string; field: FieldInfo }
  | { kind: 'rel'; header: string; field: FieldInfo; keyName: string; parentType: string | undefined }
  | { kind: 'ignore'; header: string };

/** Rows found or keys read per step, so a 100 MB upload does not hold the event loop for long. */
const ROWS_PER_STEP = 50_000;

const DOUBLE_TYPES = new Set(['double', 'currency', 'percent']);

/** `STATUS_CODE:message:fields --` (reference §4.1 step 5). */
function errorText(e: RecordError): string {
  return `${e.statusCode}:${e.message}:${e.fields.length > 0 ? `${e.fields.join(',')} --` : '--'}`;
}

/**
 * [U] the row error for a row that is not valid CSV ("A space before or after a double quote generates
 * an error for the row", reference §4.3). No recorded code or text: the Bulk deserialization error
 * (INVALID_FIELD "Failed to deserialize field at col N. Due to, …", reference §4.3) is the closest
 * documented row error for a cell that cannot be read.
 */
function malformedRow(problem: RowProblem): RecordError {
  const why =
    problem.kind === 'unterminated'
      ? 'a double quote that is never closed'
      : problem.kind === 'text-after-quote'
        ? 'text between the closing double quote and the delimiter'
        : 'a double quote inside an unquoted value (a space before or after a double quote is an error)';
  return recordError('INVALID_FIELD', `Failed to deserialize field at col ${problem.column}. Due to, ${why}`);
}

/** Result lines gathered into byte chunks of about 256 KB (no long-lived strings, no joins). */
class ChunkWriter {
  private text = '';

  constructor(private readonly chunks: Buffer[]) {}

  add(line: string): void {
    this.text += line;
    if (this.text.length >= 1 << 18) this.flush();
  }

  flush(): void {
    if (this.text === '') return;
    this.chunks.push(Buffer.from(this.text));
    this.text = '';
  }
}

function shuffle<T extends number[] | string[] | Buffer[] | Uint32Array>(items: T, random: () => number): T {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const t = items[i]!;
    items[i] = items[j]!;
    items[j] = t;
  }
  return items;
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

/** What a step did. */
export type StepResult = 'batch' | 'step' | 'done';

/** The processing of one closed job, one step at a time (see the module comment). */
export class JobRun {
  private phase: 'rows' | 'keys' | 'batches' | 'done' = 'rows';
  private data: Buffer;
  /** The delimiter's byte (every Bulk delimiter is one ASCII character). */
  private readonly delimiter: number;
  private readonly scanner: RowScanner;
  private columns: Column[] = [];
  /** Index of the Id column, or -1 (sf__Id of failed updates and deletes). */
  private idColumn = -1;
  /** Echoed columns, and whether each is echoed as a Java double. */
  private echoed: number[] = [];
  private echoJava: boolean[] = [];
  private keys: { reader: ColumnReader; finder: DuplicateKeys; field: FieldInfo; column: number } | undefined;
  private duplicates = new Map<number, RecordError>();
  /** Next row to process (row 0 is the header). */
  private next = 1;
  private batches = 0;
  /** Rows a fault left unprocessed. */
  private readonly skipped: number[] = [];
  private readonly skipRows: Set<number> | undefined;
  private skipColumn = -1;
  private readonly skipValues: Set<string> | undefined;

  constructor(
    private readonly core: Core,
    private readonly job: Job,
    private readonly fault: BulkJobFaultSpec | undefined,
  ) {
    this.data = job.uploads.length === 1 ? job.uploads[0]! : Buffer.concat(job.uploads);
    job.uploads = [];
    this.delimiter = job.columnDelimiter.charCodeAt(0);
    this.scanner = new RowScanner(this.data, this.delimiter, job.lineEnding === 'CRLF');
    if (fault?.unprocessedRows !== undefined) this.skipRows = new Set(fault.unprocessedRows);
    if (fault?.unprocessedMatch !== undefined) this.skipValues = new Set(fault.unprocessedMatch.values);
  }

  get done(): boolean {
    return this.phase === 'done';
  }

  /** Do the next piece of work. */
  step(): StepResult {
    if (this.phase === 'done') return 'done';
    if (this.job.state !== 'InProgress') {
      // Aborted while in progress: what was not processed is unprocessed.
      this.end(this.job.state);
      return 'done';
    }
    switch (this.phase) {
      case 'rows':
        this.findRows();
        break;
      case 'keys':
        this.readKeys();
        break;
      default:
        return this.nextBatch();
    }
    return this.done ? 'done' : 'step';
  }

  /** Stop without results (the org is being reset). */
  discard(): void {
    this.phase = 'done';
    this.data = Buffer.alloc(0);
  }

  private findRows(): void {
    const scanner = this.scanner;
    scanner.scan(ROWS_PER_STEP);
    if (scanner.lineEndingMismatch) {
      // [3P] the errorMessage seen from Salesforce; nothing is written (bulk2-ingest.md §1.3).
      this.end(
        'Failed',
        `ClientInputError : LineEnding is invalid on user data. Current LineEnding setting is ${this.job.lineEnding}`,
      );
      return;
    }
    if (!scanner.done) return;
    if (scanner.count === 0) {
      // [U] a job closed without data completes with no rows.
      this.end('JobComplete');
      return;
    }
    if (scanner.problems.has(0)) {
      this.end('Failed', 'InvalidBatch : Failed to parse the CSV header row');
      return;
    }
    const header = readCells(this.data, this.scanner.starts[0]!, this.scanner.ends[0]!, this.delimiter);
    const unknown = this.mapColumns(header);
    if (unknown !== undefined) {
      // bulk2-ingest.md §1.3: a header that is no field fails the whole job; every row is unprocessed.
      this.end('Failed', `InvalidBatch : Field name not found : ${unknown}`);
      return;
    }
    if (this.fault?.unprocessedMatch !== undefined)
      this.skipColumn = header.indexOf(this.fault.unprocessedMatch.column);
    const keyField = this.job.keyField;
    const keyColumn = this.columns.findIndex((c) => c.kind === 'field' && c.field === keyField);
    if (
      this.job.operation === 'upsert' &&
      keyField !== undefined &&
      keyField.name !== 'Id' &&
      keyColumn >= 0
    ) {
      this.keys = {
        reader: new ColumnReader(this.data, this.delimiter, keyColumn),
        finder: new DuplicateKeys(keyField, this.core.settings),
        field: keyField,
        column: keyColumn,
      };
      this.phase = 'keys';
    } else this.phase = 'batches';
  }

  /**
   * Map the header to columns (reference §4.3: field API names, `Relationship.IndexedField`, polymorphic
   * `Type:Relationship.Field`); returns the first header that is none of these when that fails the job.
   */
  private mapColumns(header: string[]): string | undefined {
    const schema = this.job.table.schema;
    const failUnknown = this.core.settings.bulkUnknownColumns === 'fail';
    for (const h of header) {
      // Values and names are not trimmed (reference §4.3): ` LastName` is no field.
      if (h.toLowerCase() === 'id') {
        this.idColumn = this.columns.length;
        this.columns.push({ kind: 'id', header: h });
        continue;
      }
      const field = schema.byLower.get(h.toLowerCase());
      if (field !== undefined) {
        this.columns.push({ kind: 'field', header: h, field });
        continue;
      }
      const m = /^(?:([A-Za-z0-9_]+):)?([A-Za-z0-9_]+)\.([A-Za-z0-9_]+)$/.exec(h);
      const rel = m === null ? undefined : schema.relByLower.get(m[2]!.toLowerCase());
      if (m !== null && rel !== undefined) {
        this.columns.push({ kind: 'rel', header: h, field: rel, keyName: m[3]!, parentType: m[1] });
        continue;
      }
      if (failUnknown) return h;
      this.columns.push({ kind: 'ignore', header: h });
    }
    const java = this.core.settings.bulkJavaNumbers;
    this.columns.forEach((c, i) => {
      if (c.kind === 'ignore') return;
      this.echoed.push(i);
      this.echoJava.push(java && c.kind === 'field' && DOUBLE_TYPES.has(c.field.type));
    });
    this.job.resultHeader = this.echoed.map((i) => this.columns[i]!.header);
    return undefined;
  }

  /** reference §4.3: the same external ID twice in one job fails those rows (DUPLICATE_VALUE). */
  private readKeys(): void {
    const keys = this.keys!;
    const { starts, ends, count, problems } = this.scanner;
    const to = Math.min(count, this.next + ROWS_PER_STEP);
    for (let r = this.next; r < to; r++) {
      if (problems.has(r)) continue;
      const cell = keys.reader.read(starts[r]!, ends[r]!);
      if (cell === '' || cell === '#N/A') continue;
      const value = convertCsv(keys.field, cell, keys.column + 1);
      if (!(value instanceof Problem)) keys.finder.add(r, value);
    }
    this.next = to;
    if (to < count) return;
    this.duplicates = keys.finder.errors();
    this.keys = undefined;
    this.next = 1;
    this.phase = 'batches';
  }

  private nextBatch(): StepResult {
    const { core, fault } = this;
    if (this.next >= this.scanner.count) {
      this.finish();
      return 'done';
    }
    if (fault?.failAfterBatches !== undefined && this.batches >= fault.failAfterBatches) {
      this.end(
        'Failed',
        fault.errorMessage ?? `Unknown : Injected fault: the job stopped after ${this.batches} batches`,
      );
      return 'done';
    }
    if (core.usage.bulkBatches >= core.settings.bulkDailyBatchLimit) {
      // [U] wording; ExceededQuota is the documented code (reference §4.4) and the rest is not processed.
      this.end(
        'Failed',
        'ExceededQuota : The batch you tried to create exceeds the allowed number for the past 24-hour period (DailyBulkApiBatches)',
      );
      return 'done';
    }
    const to = Math.min(this.scanner.count, this.next + Math.max(1, core.settings.bulkBatchSize));
    this.processBatch(this.next, to);
    this.next = to;
    this.batches++;
    if (this.next >= this.scanner.count) this.finish();
    return 'batch';
  }

  private rowText(r: number): string {
    return this.data.toString('utf8', this.scanner.starts[r], this.scanner.ends[r]);
  }

  private leaveUnprocessed(r: number, cells: string[]): boolean {
    if (this.skipRows?.has(r) === true) return true;
    return this.skipColumn >= 0 && this.skipValues!.has(cells[this.skipColumn] ?? '');
  }

  private echo(cells: string[]): string[] {
    const out: string[] = [];
    for (let j = 0; j < this.echoed.length; j++) {
      const cell = cells[this.echoed[j]!] ?? '';
      if (this.echoJava[j] === true && cell !== '' && cell !== '#N/A') {
        const n = Number(cell);
        out.push(Number.isFinite(n) && cell.trim() !== '' ? javaDouble(n) : cell);
      } else out.push(cell);
    }
    return out;
  }

  /**
   * sf__Id of a failed row (reference §4.1 step 5): from v53.0 the Id sent for update and delete
   * failures, empty for inserts; [U] for upserts, the record's Id when the row matched one.
   */
  private failedId(cells: string[], outcome: SaveOutcome): string {
    const op = this.job.operation;
    if (Number(this.job.apiVersion) < 53 || op === 'insert') return '';
    if (op === 'upsert') return outcome.id ?? '';
    return this.idColumn >= 0 ? (cells[this.idColumn] ?? '') : '';
  }

  /**
   * One internal batch. With shuffled results its rows are processed in a shuffled order, as parallel
   * processing would have them end, and each result line goes straight into a chunk of bytes.
   */
  private processBatch(from: number, to: number): void {
    const { core, job, scanner, data } = this;
    core.usage.bulkBatches++;
    const stats = core.usage.bulk;
    stats.batchesProcessed++;
    const ctx = newContext(core, job.user);
    const ok = new ChunkWriter(job.successChunks);
    const bad = new ChunkWriter(job.failedChunks);
    const order = new Uint32Array(to - from);
    for (let i = 0; i < order.length; i++) order[i] = from + i;
    if (core.settings.bulkShuffleResults) shuffle(order, this.random(this.batches));
    for (const r of order) {
      const problem = scanner.problems.get(r);
      const cells =
        problem === undefined
          ? readCells(data, scanner.starts[r]!, scanner.ends[r]!, this.delimiter)
          : looseSplit(this.rowText(r), job.columnDelimiter);
      if (this.leaveUnprocessed(r, cells)) {
        this.skipped.push(r);
        continue;
      }
      let outcome: SaveOutcome;
      if (problem !== undefined) outcome = { success: false, errors: [malformedRow(problem)] };
      else {
        const duplicate = this.duplicates.get(r);
        outcome =
          duplicate !== undefined
            ? { success: false, errors: [duplicate] }
            : processRow(ctx, job, prepareRow(this.columns, cells));
      }
      job.processed++;
      stats.recordsProcessed++;
      if (outcome.success) {
        const created = outcome.created ?? job.operation === 'insert';
        ok.add(csvLine([outcome.id ?? '', String(created), ...this.echo(cells)]));
      } else {
        job.failed++;
        const error = outcome.errors[0] ?? recordError('UNKNOWN_EXCEPTION', 'unknown');
        bad.add(csvLine([this.failedId(cells, outcome), errorText(error), ...this.echo(cells)]));
      }
    }
    ok.flush();
    bad.flush();
  }

  /** A deterministic sequence for the job and a salt (the batch), from the configured seed. */
  private random(salt: number): () => number {
    const seed = this.core.settings.bulkResultSeed;
    return prng((seed ^ Math.imul(this.job.seq, 0x9e3779b1) ^ Math.imul(salt + 1, 0x85ebca6b)) >>> 0);
  }

  /** Every row has been through a batch. */
  private finish(): void {
    if (this.skipped.length > 0) {
      this.end(
        'Failed',
        this.fault?.errorMessage ??
          `Unknown : Injected fault: ${this.skipped.length} records were left unprocessed`,
      );
    } else this.end('JobComplete');
  }

  /** End the job: its state, the unprocessedrecords body, the answer order of the result chunks. */
  private end(state: JobState, errorMessage?: string): void {
    const job = this.job;
    if (job.state === 'InProgress') job.state = state;
    if (errorMessage !== undefined) job.errorMessage = errorMessage;
    if (!this.scanner.done) this.scanner.scan(Number.POSITIVE_INFINITY);
    // Rows cannot be told apart in data with the wrong line ending: it is returned as uploaded.
    job.unprocessed = this.scanner.lineEndingMismatch ? [this.data] : this.unprocessedBody();
    if (this.core.settings.bulkShuffleResults) {
      shuffle(job.successChunks, this.random(-1));
      shuffle(job.failedChunks, this.random(-2));
    }
    job.finishedAt = Date.now();
    job.systemModstamp = formatDateTime(job.finishedAt);
    this.phase = 'done';
    // The job keeps its results only: the upload, the row index and the keys go.
    this.data = Buffer.alloc(0);
    this.duplicates = new Map();
    job.run = undefined;
  }

  /** The header line and every row not processed, as uploaded (one line each), in answer order. */
  private unprocessedBody(): Buffer[] {
    const { starts, ends, count } = this.scanner;
    if (count === 0) return [];
    const rows = [...this.skipped];
    // Before the batches began (a failed header, an abort while rows or keys were read) nothing was processed.
    for (let r = this.phase === 'batches' ? this.next : 1; r < count; r++) rows.push(r);
    if (this.core.settings.bulkShuffleResults) shuffle(rows, this.random(-3));
    let size = ends[0]! - starts[0]! + 1;
    for (const r of rows) size += ends[r]! - starts[r]! + 1;
    const out = Buffer.allocUnsafe(size);
    let at = this.data.copy(out, 0, starts[0], ends[0]);
    out[at++] = 0x0a;
    for (const r of rows) {
      at += this.data.copy(out, at, starts[r], ends[r]);
      out[at++] = 0x0a;
    }
    return [out];
  }
}
