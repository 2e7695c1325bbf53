/**
 * sObject Collections (reference §3.2): create (POST), update (PATCH), upsert by external ID
 * (PATCH /{SObject}/{Field}), delete (DELETE ?ids=). Up to 200 records; results in request order;
 * allOrNone with Salesforce's exact result shapes:
 * - a failed create has no `id`; a failed update/delete keeps the id when the id was well-formed;
 * - allOrNone=true and any failure: nothing persists, every good record reports
 *   ALL_OR_NONE_OPERATION_ROLLED_BACK (updates/deletes/matched upserts keep their id, creates don't,
 *   no `created` key).
 */
import type { Core } from './core.js';
import {
  type DmlContext,
  type Prepared,
  type SaveOutcome,
  createRecord,
  deleteRecord,
  duplicateKeyRows,
  idOfObject,
  malformedRecordId,
  noSuchColumn,
  prepareJson,
  recordError,
  rolledBack,
  updateRecord,
  upsertKeyValue,
  upsertRecord,
} from './dml.js';
import { type ApiResponse, apiError, json, notFound } from './http-util.js';
import { type RestRequest, methodNotAllowed, notKeyable, servedTable } from './rest.js';
import type { StoredValue } from './schema.js';
import { Transaction, type Table } from './store.js';
import type { RecordError } from './types.js';

const MAX_RECORDS = 200;
const MAX_CHUNKS = 10;

type Op = 'create' | 'update' | 'upsert' | 'delete';

/** One record after reading: its table and prepared body, or a per-record error. */
interface Item {
  table?: Table;
  prepared?: Prepared;
  error?: RecordError;
  /** Known id (update/delete) for results. */
  id?: string;
}

function exceeded(): ApiResponse {
  // [3P] reference §3.2: EXCEEDED_ID_LIMIT wording.
  return apiError(
    400,
    'EXCEEDED_ID_LIMIT',
    'record limit reached. cannot submit more than 200 records into this call',
  );
}

/** Route /composite/sobjects[...]. */
export function handleCollections(core: Core, req: RestRequest): ApiResponse {
  // sObject Collections exist from v42.0; upsert from v46.0 (reference §3.2).
  if (Number(req.version) < 42) return notFound();
  const s = req.segments;
  if (s.length === 2) {
    switch (req.method) {
      case 'POST':
        return writeRecords(core, req, 'create', undefined, undefined);
      case 'PATCH':
        return writeRecords(core, req, 'update', undefined, undefined);
      case 'DELETE':
        return deleteRecords(req);
      default:
        return methodNotAllowed(req.method, 'POST,PATCH,DELETE');
    }
  }
  if (s.length === 4) {
    if (req.method !== 'PATCH') return methodNotAllowed(req.method, 'PATCH');
    if (Number(req.version) < 46) return notFound();
    const table = servedTable(core, s[2]!);
    if (table === undefined) return notFound();
    const field = table.schema.byLower.get(s[3]!.toLowerCase());
    if (field === undefined) {
      // [U] an unknown key field: the single-record resource's NOT_FOUND wording (reference §3.3).
      return apiError404(`Provided external ID field does not exist or is not accessible: ${s[3]}`);
    }
    if (!field.keyable) return notKeyable(field);
    return writeRecords(core, req, 'upsert', table, field.name);
  }
  // sObject Collections retrieve (GET/POST /composite/sobjects/{SObject}) is not emulated.
  return notFound();
}

function apiError404(message: string): ApiResponse {
  return { status: 404, body: [{ errorCode: 'NOT_FOUND', message }] };
}

function readBody(req: RestRequest): { allOrNone: boolean; records: unknown[] } | ApiResponse {
  const body = req.body;
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return apiError(
      400,
      'JSON_PARSER_ERROR',
      'Cannot deserialize instance of SObjectCollectionRequest from input',
    );
  }
  const b = body as Record<string, unknown>;
  if (b.allOrNone !== undefined && typeof b.allOrNone !== 'boolean') {
    return apiError(
      400,
      'JSON_PARSER_ERROR',
      `Cannot deserialize instance of boolean from ${JSON.stringify(b.allOrNone)}`,
    );
  }
  if (!Array.isArray(b.records)) {
    return apiError(
      400,
      'JSON_PARSER_ERROR',
      'Cannot deserialize instance of List<SObject>: records is required',
    );
  }
  return { allOrNone: b.allOrNone === true || req.forceAllOrNone, records: b.records };
}

function typeOf(record: Record<string, unknown>): string | undefined {
  const a = record.attributes;
  if (typeof a !== 'object' || a === null) return undefined;
  const t = (a as Record<string, unknown>).type;
  return typeof t === 'string' ? t : undefined;
}

/**
 * [U] a record without `attributes.type`, or of an unknown type: a per-record INVALID_TYPE with the
 * SOAP API's wording ("Must send a concrete entity type.").
 */
function typeError(type: string | undefined): RecordError {
  if (type === undefined) return recordError('INVALID_TYPE', 'Must send a concrete entity type.');
  return recordError(
    'INVALID_TYPE',
    `sObject type '${type}' is not supported. If you are attempting to use a custom object, be sure to append the '__c' after the entity name. Please reference your WSDL or the describe call for the appropriate names.`,
  );
}

/** Type runs of a mixed create/update request: at most 10 chunks (reference §3.2). */
function chunkCount(items: Item[]): number {
  let chunks = 0;
  let last: Table | undefined;
  for (const it of items) {
    if (it.table === undefined) continue;
    if (it.table !== last) chunks++;
    last = it.table;
  }
  return chunks;
}

/** Run the records in one transaction; with allOrNone, roll every write back when one record fails. */
function runBatch(
  req: RestRequest,
  allOrNone: boolean,
  n: number,
  run: (i: number, ctx: DmlContext) => SaveOutcome,
): {
  outcomes: SaveOutcome[];
  failed: boolean;
} {
  const txn = req.ctx.txn ?? (allOrNone ? new Transaction() : undefined);
  const ctx: DmlContext = txn === req.ctx.txn ? req.ctx : { ...req.ctx, txn };
  const savepoint = txn?.size ?? 0;
  const outcomes: SaveOutcome[] = [];
  let failed = false;
  for (let i = 0; i < n; i++) {
    const outcome = run(i, ctx);
    if (!outcome.success) failed = true;
    outcomes.push(outcome);
  }
  if (allOrNone && failed) txn!.rollbackTo(savepoint);
  return { outcomes, failed };
}

function writeRecords(
  core: Core,
  req: RestRequest,
  op: Op,
  urlTable: Table | undefined,
  keyName: string | undefined,
): ApiResponse {
  const body = readBody(req);
  if ('status' in body) return body;
  const { allOrNone, records } = body;
  if (records.length > MAX_RECORDS) return exceeded();
  const settings = core.settings;
  const items: Item[] = [];
  for (const raw of records) {
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
      return apiError(400, 'JSON_PARSER_ERROR', 'Cannot deserialize instance of SObject from input');
    }
    const record = raw as Record<string, unknown>;
    const type = typeOf(record);
    const table = type === undefined ? undefined : servedTable(core, type);
    if (table === undefined) {
      items.push({ error: typeError(type) });
      continue;
    }
    if (urlTable !== undefined && table !== urlTable) {
      // [U] a record of another type than the URL's in an upsert.
      items.push({
        error: recordError(
          'INVALID_TYPE',
          `Record type ${table.schema.name} does not match the sObject type ${urlTable.schema.name} of the request`,
        ),
      });
      continue;
    }
    const prepared = prepareJson(table.schema, record, settings.coerceStringsToScalars);
    if ('deserialization' in prepared) {
      // [U] reference §3.2: per record (default) or for the whole request (setting).
      const error =
        prepared.unknownField !== undefined
          ? noSuchColumn(prepared.unknownField, table.schema.name)
          : recordError(
              'INVALID_FIELD',
              `Json Deserialization failed on token '${prepared.shown}' and has left off in the middle of parsing a row. Will go to end of row to begin parsing the next row`,
            );
      if (settings.collectionsDeserializationErrors === 'request') {
        return apiError(400, error.statusCode, error.message);
      }
      items.push({ table, error });
      continue;
    }
    const item: Item = { table, prepared };
    if (op === 'update') {
      if (!prepared.idGiven || prepared.idValue === null || prepared.idValue === undefined) {
        item.error = recordError('MISSING_ARGUMENT', 'Id not specified in an update call');
      } else {
        const id = idOfObject(table.schema, prepared.idValue);
        if (id === undefined) item.error = malformedRecordId(table.schema, prepared.idValue);
        else item.id = id;
      }
    }
    items.push(item);
  }
  if ((op === 'create' || op === 'update') && chunkCount(items) > MAX_CHUNKS) {
    // [U] wording of Salesforce's DML chunking limit (Apex: "Cannot have more than 10 chunks in a single operation").
    return apiError(
      400,
      'INVALID_BATCH_SIZE',
      'Cannot have more than 10 chunks in a single operation. Please rearrange the data to reduce chunking.',
    );
  }
  let duplicates = new Map<number, RecordError>();
  if (op === 'upsert') {
    const keyField = urlTable!.schema.byLower.get(keyName!.toLowerCase())!;
    const keys: Array<StoredValue | undefined> = items.map((it) =>
      it.prepared === undefined ? undefined : upsertKeyValue(it.prepared, keyField),
    );
    duplicates = duplicateKeyRows(keys, keyField, settings);
  }
  const { outcomes, failed } = runBatch(req, allOrNone, items.length, (i, ctx) => {
    const it = items[i]!;
    const dup = duplicates.get(i);
    if (dup !== undefined) return { success: false, errors: [dup] };
    if (it.error !== undefined || it.table === undefined || it.prepared === undefined) {
      const out: SaveOutcome = {
        success: false,
        errors: [it.error ?? recordError('UNKNOWN_EXCEPTION', 'unknown')],
      };
      if (it.id !== undefined) out.id = it.id;
      return out;
    }
    switch (op) {
      case 'create':
        return createRecord(ctx, it.table, it.prepared);
      case 'update': {
        const out = updateRecord(ctx, it.table, it.id!, it.prepared);
        out.id = it.id!;
        return out;
      }
      default: {
        const keyField = it.table.schema.byLower.get(keyName!.toLowerCase())!;
        const out = upsertRecord(ctx, it.table, keyField, it.prepared);
        if (!out.success) delete out.id;
        return out;
      }
    }
  });
  return json(
    200,
    outcomes.map((o) => result(op, o, allOrNone && failed)),
  );
}

/** A result in the documented shape for the operation (see the module comment). */
function result(op: Op, o: SaveOutcome, rolled: boolean): Record<string, unknown> {
  if (o.success && rolled) {
    const keepId = op === 'update' || op === 'delete' || (op === 'upsert' && o.created === false);
    return keepId
      ? { id: o.id, success: false, errors: [rolledBack()] }
      : { success: false, errors: [rolledBack()] };
  }
  if (o.success) {
    const out: Record<string, unknown> = { id: o.id, success: true, errors: [] };
    if (op === 'upsert') out.created = o.created === true;
    return out;
  }
  if (o.id !== undefined && op !== 'create' && op !== 'upsert')
    return { id: o.id, success: false, errors: o.errors };
  return { success: false, errors: o.errors };
}

function deleteRecords(req: RestRequest): ApiResponse {
  const raw = req.query.get('ids');
  const ids =
    raw === null
      ? []
      : raw
          .split(',')
          .map((x) => x.trim())
          .filter((x) => x !== '');
  // restforce fixture composite_sobjects_destroy_bad_request_response.json (reference §3.2).
  if (ids.length === 0) return apiError(400, 'REQUIRED_FIELD_MISSING', 'At least 1 Id is required.');
  if (ids.length > MAX_RECORDS) return exceeded();
  const allOrNone = req.query.get('allOrNone') === 'true' || req.forceAllOrNone;
  const { outcomes, failed } = runBatch(req, allOrNone, ids.length, (i, ctx) => deleteRecord(ctx, ids[i]!));
  return json(
    200,
    outcomes.map((o) => result('delete', o, allOrNone && failed)),
  );
}
