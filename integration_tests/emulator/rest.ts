/**
 * REST API under /services/data/vNN.N/ (reference §2, §3, §5): resources, describes, sObject rows,
 * rows by external ID, query, limits. sObject Collections, Composite and Bulk have their own modules
 * and are routed from here.
 */
import { handleBulk } from './bulk.js';
import { handleCollections } from './collections.js';
import { handleComposite } from './composite.js';
import { type CachedJson, type Core, cachedJson, newContext } from './core.js';
import {
  type Deserialization,
  type DmlContext,
  type Prepared,
  type SaveOutcome,
  type User,
  createRecord,
  deleteRecord,
  findByKey,
  idOfObject,
  prepareJson,
  updateRecord,
  upsertRecord,
} from './dml.js';
import { withRequestUrls } from './fixtures.js';
import {
  type ApiResponse,
  apiError,
  json,
  notFound,
  parseHttpDate,
  typeMismatchMessage,
} from './http-util.js';
import { recordJson } from './read.js';
import { Problem, convertJson, type FieldInfo, type ObjectSchema } from './schema.js';
import { SoqlError, executeQuery, parseQuery, resultRecord } from './soql.js';
import type { Table } from './store.js';

/** One API request as the handlers see it (top-level or a composite subrequest). */
export interface RestRequest {
  method: string;
  /** Path segments after /services/data/vNN.N/, URL-decoded, without a trailing empty one. */
  segments: string[];
  query: URLSearchParams;
  /** Lower-case header names. */
  headers: Record<string, string | undefined>;
  /** Parsed JSON body, if any. */
  body: unknown;
  /** Text of the body (for error positions). */
  bodyText: () => string;
  /** Raw bytes (Bulk CSV uploads). */
  rawBody: Buffer;
  version: string;
  user: User;
  ctx: DmlContext;
  /** Inside a composite request. */
  inComposite: boolean;
  /** The enclosing composite request is allOrNone: collections must be allOrNone too (reference §3.5). */
  forceAllOrNone: boolean;
}

/** Request kind for statistics (see EmulatorStats.byKind). */
export function kindOf(method: string, segments: string[]): string {
  const [a, b] = segments;
  switch (a) {
    case undefined:
      return 'resources';
    case 'sobjects':
      return b === undefined || segments[2] === 'describe' || (segments.length === 2 && method === 'GET')
        ? 'describe'
        : 'sobject';
    case 'composite':
      return b === 'sobjects' ? 'collections' : 'composite';
    case 'query':
    case 'queryAll':
      return 'query';
    case 'limits':
      return 'limits';
    case 'jobs':
      return 'bulk';
    default:
      return 'other';
  }
}

/** The describable (served) table of an object name, case-insensitively. */
export function servedTable(core: Core, name: string): Table | undefined {
  const t = core.store.table(name);
  return t !== undefined && t.schema.describe !== undefined ? t : undefined;
}

/** Route a request under /services/data/vNN.N/. */
export function dispatch(core: Core, req: RestRequest): ApiResponse {
  const s = req.segments;
  switch (s[0]) {
    case undefined:
      return req.method === 'GET' ? resources(req.version) : methodNotAllowed(req.method, 'GET');
    case 'sobjects':
      return sobjects(core, req);
    case 'composite':
      if (s[1] === 'sobjects') return handleCollections(core, req);
      if (s.length === 1) {
        if (req.inComposite) return notFound();
        return req.method === 'POST' ? handleComposite(core, req) : methodNotAllowed(req.method, 'POST');
      }
      // composite/batch, composite/tree, composite/graph are not emulated.
      return notFound();
    case 'query':
    case 'queryAll':
      return req.method === 'GET'
        ? query(core, req, s[0] === 'queryAll')
        : methodNotAllowed(req.method, 'GET');
    case 'limits':
      return s.length === 1 && req.method === 'GET' ? limits(core) : notFound();
    case 'jobs':
      if (req.inComposite) return notFound();
      return handleBulk(core, req);
    default:
      return notFound();
  }
}

export function methodNotAllowed(method: string, allowed: string): ApiResponse {
  return apiError(405, 'METHOD_NOT_ALLOWED', `HTTP Method '${method}' not allowed. Allowed are ${allowed}`);
}

function resources(version: string): ApiResponse {
  const base = `/services/data/v${version}`;
  return json(200, {
    sobjects: `${base}/sobjects`,
    query: `${base}/query`,
    queryAll: `${base}/queryAll`,
    composite: `${base}/composite`,
    limits: `${base}/limits`,
    jobs: `${base}/jobs`,
  });
}

/** 304 or the cached document, honouring If-Modified-Since (reference §2.3). */
function conditional(core: Core, req: RestRequest, doc: { text: string; etag: string }): ApiResponse {
  const lastModified = core.settings.metadataLastModified;
  const headers = { ETag: doc.etag, 'Last-Modified': lastModified };
  const since = parseHttpDate(req.headers['if-modified-since']);
  const modified = parseHttpDate(lastModified);
  if (since !== undefined && modified !== undefined && modified <= since) return { status: 304, headers };
  const match = req.headers['if-none-match'];
  if (match !== undefined && match === doc.etag) return { status: 304, headers };
  return { status: 200, raw: doc.text, contentType: 'application/json;charset=UTF-8', headers };
}

const servedDescribes = new WeakMap<Core, Map<string, CachedJson>>();

/** The instance URL a request was sent to (its Host), else the emulator's own. */
function instanceUrl(core: Core, req: RestRequest): string {
  const host = req.headers.host;
  return host !== undefined && /^[A-Za-z0-9.:[\]-]+$/.test(host) ? `http://${host}` : core.baseUrl();
}

/**
 * A describe as served for the version and host asked (reference §2.2, §2.3: `urls` name the version
 * and instance of the request): the fixtures' recorded or anonymised ones (`v48.0`, `vxx.0`,
 * `orgname.my.salesforce.com`) are rewritten. Each variant is built once.
 */
function describeFor(core: Core, req: RestRequest, name: string | undefined): CachedJson | undefined {
  const base = instanceUrl(core, req);
  const key = `${name ?? ''}|${req.version}|${base}`;
  let cache = servedDescribes.get(core);
  if (cache === undefined) servedDescribes.set(core, (cache = new Map()));
  let doc = cache.get(key);
  if (doc === undefined) {
    const source = name === undefined ? core.metadata.global : core.metadata.describes.get(name);
    if (source === undefined) return undefined;
    if (cache.size >= 256) cache.clear();
    doc = cachedJson(withRequestUrls(source, req.version, base));
    cache.set(key, doc);
  }
  return doc;
}

function sobjects(core: Core, req: RestRequest): ApiResponse {
  const s = req.segments;
  if (s.length === 1)
    return req.method === 'GET'
      ? conditional(core, req, describeFor(core, req, undefined)!)
      : methodNotAllowed(req.method, 'GET');
  const table = servedTable(core, s[1]!);
  if (table === undefined) return notFound();
  const schema = table.schema;
  if (s.length === 2) {
    if (req.method === 'GET') {
      const entry = (core.metadata.global.sobjects as Array<Record<string, unknown>>).find(
        (e) => e.name === schema.name,
      );
      const objectDescribe =
        entry === undefined ? null : withRequestUrls(entry, req.version, instanceUrl(core, req));
      return json(200, { objectDescribe, recentItems: [] });
    }
    if (req.method === 'POST') return create(core, req, table);
    return methodNotAllowed(req.method, 'GET,POST');
  }
  if (s[2] === 'describe' && s.length === 3) {
    if (req.method !== 'GET') return methodNotAllowed(req.method, 'GET');
    const doc = describeFor(core, req, schema.name);
    return doc === undefined ? notFound() : conditional(core, req, doc);
  }
  const method = req.method === 'POST' && req.query.get('_HttpMethod') === 'PATCH' ? 'PATCH' : req.method;
  if (s.length === 3) {
    const segment = s[2]!;
    const id = idOfObject(schema, segment);
    if (id === undefined) {
      // POST /sobjects/Account/Id: upsert keyed by Id with a null value creates (reference §3.3).
      if (method === 'POST' && segment.toLowerCase() === 'id')
        return upsertOne(core, req, table, schema.byLower.get('id')!, null);
      const field = schema.byLower.get(segment.toLowerCase());
      if (field !== undefined) return notFound();
      // reference §3.1: a non-id segment is read as an external-ID field name.
      return apiError404(`Provided external ID field does not exist or is not accessible: ${segment}`);
    }
    switch (method) {
      case 'GET':
        return getRecord(req, table, id);
      case 'PATCH':
        return updateOne(core, req, table, id);
      case 'DELETE':
        return deleteOne(req.ctx, table, id);
      default:
        return methodNotAllowed(method, 'GET,PATCH,DELETE');
    }
  }
  if (s.length === 4) {
    const field = schema.byLower.get(s[2]!.toLowerCase());
    if (field === undefined)
      return apiError404(`Provided external ID field does not exist or is not accessible: ${s[2]}`);
    switch (method) {
      case 'GET':
      case 'DELETE':
        return byExternalId(core, req, table, field, s[3]!, method);
      case 'PATCH':
      case 'POST':
        return upsertOne(core, req, table, field, s[3]!);
      default:
        return methodNotAllowed(method, 'GET,PATCH,DELETE');
    }
  }
  return notFound();
}

function apiError404(message: string): ApiResponse {
  return { status: 404, body: [{ errorCode: 'NOT_FOUND', message }] };
}

/** Body of a single-record write: a JSON object, read as the object's fields. */
function prepareBody(core: Core, req: RestRequest, schema: ObjectSchema): Prepared | ApiResponse {
  const body = req.body;
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    const token = Array.isArray(body) ? 'START_ARRAY' : body === undefined ? 'VALUE_NULL' : 'VALUE_STRING';
    return apiError(
      400,
      'JSON_PARSER_ERROR',
      `Cannot deserialize instance of ${schema.name} from ${token} value at [line:1, column:1]`,
    );
  }
  const prepared = prepareJson(schema, body as Record<string, unknown>, core.settings.coerceStringsToScalars);
  if ('deserialization' in prepared) return deserializationResponse(req, schema, prepared);
  return prepared;
}

/** reference §3.1: unknown field → INVALID_FIELD; wrong JSON type → JSON_PARSER_ERROR (request level). */
export function deserializationResponse(
  req: RestRequest,
  schema: ObjectSchema,
  d: Deserialization,
): ApiResponse {
  if (d.unknownField !== undefined) {
    return apiError(
      400,
      'INVALID_FIELD',
      `No such column '${d.unknownField}' on sobject of type ${schema.name}`,
    );
  }
  return apiError(
    400,
    'JSON_PARSER_ERROR',
    typeMismatchMessage(req.bodyText(), d.fieldName, d.typeName, d.token, d.shown),
  );
}

/** A failed single-record outcome as a request-level error (reference §3.1: errorCode, not statusCode). */
function outcomeError(outcome: SaveOutcome): ApiResponse {
  const err = outcome.errors[0] ?? { statusCode: 'UNKNOWN_EXCEPTION', message: 'unknown', fields: [] };
  if (outcome.notFound === true) return notFound();
  const status = err.statusCode === 'ENTITY_IS_DELETED' ? 404 : 400;
  return {
    status,
    body: outcome.errors.map((e) => ({ message: e.message, errorCode: e.statusCode, fields: e.fields })),
  };
}

function location(req: RestRequest, schema: ObjectSchema, id: string): Record<string, string> {
  return { Location: `/services/data/v${req.version}/sobjects/${schema.name}/${id}` };
}

function create(core: Core, req: RestRequest, table: Table): ApiResponse {
  const prepared = prepareBody(core, req, table.schema);
  if ('status' in prepared) return prepared;
  const outcome = createRecord(req.ctx, table, prepared);
  if (!outcome.success) return outcomeError(outcome);
  return json(201, { id: outcome.id, success: true, errors: [] }, location(req, table.schema, outcome.id!));
}

function resolveFields(schema: ObjectSchema, list: string | null): FieldInfo[] | ApiResponse | undefined {
  if (list === null) return undefined;
  const fields: FieldInfo[] = [];
  for (const name of list
    .split(',')
    .map((x) => x.trim())
    .filter((x) => x !== '')) {
    const f = schema.byLower.get(name.toLowerCase());
    if (f === undefined) {
      return apiError(
        400,
        'INVALID_FIELD',
        `No such column '${name}' on entity '${schema.name}'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names.`,
      );
    }
    fields.push(f);
  }
  return fields;
}

function getRecord(req: RestRequest, table: Table, id: string): ApiResponse {
  const fields = resolveFields(table.schema, req.query.get('fields'));
  if (fields !== undefined && 'status' in fields) return fields;
  const row = table.rows.get(id);
  if (row === undefined) return notFound();
  // [3P] reference §3.1: GET of a deleted record → 404 ENTITY_IS_DELETED.
  if (row.IsDeleted === true) return apiError(404, 'ENTITY_IS_DELETED', 'entity is deleted', []);
  return json(200, recordJson(table.schema, row, req.version, fields));
}

function updateOne(core: Core, req: RestRequest, table: Table, id: string): ApiResponse {
  const prepared = prepareBody(core, req, table.schema);
  if ('status' in prepared) return prepared;
  if (prepared.idGiven) {
    // An Id in the body equal to the URL's is harmless; another one is a read-only field.
    if (idOfObject(table.schema, prepared.idValue) !== id) {
      return outcomeError({
        success: false,
        errors: [
          {
            statusCode: 'INVALID_FIELD_FOR_INSERT_UPDATE',
            message:
              'Unable to create/update fields: Id. Please check the security settings of this field and verify that it is read/write for your profile or permission set.',
            fields: ['Id'],
          },
        ],
      });
    }
  }
  const outcome = updateRecord(req.ctx, table, id, prepared);
  if (!outcome.success) return outcomeError(outcome);
  return { status: 204 };
}

function deleteOne(ctx: DmlContext, table: Table, id: string): ApiResponse {
  const outcome = deleteRecord(ctx, id, table.schema);
  if (!outcome.success) return outcomeError(outcome);
  return { status: 204 };
}

/** Convert a URL key value for a key field; undefined when it cannot be that field's value. */
function urlKeyValue(field: FieldInfo, raw: string): string | number | boolean | undefined {
  let input: unknown = raw;
  if (field.numeric) input = Number(raw);
  if (field.type === 'boolean') input = raw === 'true';
  const v = convertJson(field, input, true);
  if (v instanceof Problem || v === null) return undefined;
  return v;
}

/** GET / DELETE /sobjects/{O}/{field}/{value}: 300 with the URLs when several records match (reference §3.3). */
function byExternalId(
  core: Core,
  req: RestRequest,
  table: Table,
  field: FieldInfo,
  raw: string,
  method: string,
): ApiResponse {
  const value = urlKeyValue(field, raw);
  const ids = value === undefined ? [] : findByKey(table, field, value, core.settings);
  if (ids.length === 0) return notFound();
  if (ids.length > 1)
    return json(
      300,
      ids.map((id) => `/services/data/v${req.version}/sobjects/${table.schema.name}/${id}`),
    );
  if (method === 'DELETE') return deleteOne(req.ctx, table, ids[0]!);
  return getRecord(req, table, ids[0]!);
}

/** reference §3.3: "Invalid field for upsert, must be an External Id custom or standard indexed field". */
export function notKeyable(field: FieldInfo): ApiResponse {
  // [U] the REST wording is unconfirmed (reference §7); Apex's message for the same mistake is used.
  return apiError(
    400,
    'INVALID_FIELD',
    `Invalid field for upsert, must be an External Id custom or standard indexed field: ${field.name}`,
  );
}

/** PATCH /sobjects/{O}/{field}/{value} — upsert one record by external ID (reference §3.3). */
function upsertOne(
  core: Core,
  req: RestRequest,
  table: Table,
  field: FieldInfo,
  raw: string | null,
): ApiResponse {
  const schema = table.schema;
  if (!field.keyable) return notKeyable(field);
  const prepared = prepareBody(core, req, schema);
  if ('status' in prepared) return prepared;
  if (field.name === 'Id') {
    prepared.idGiven = raw !== null;
    prepared.idValue = raw;
  } else {
    const value = raw === null ? undefined : urlKeyValue(field, raw);
    if (value === undefined) return notFound();
    const at = prepared.fields.indexOf(field);
    if (at < 0) {
      prepared.fields.push(field);
      prepared.values.push(value);
    } else if (findByKeyEquals(core, field, prepared.values[at], value) === false) {
      // [U] reference §3.3: the value in the body must equal the URL's; the wording is unconfirmed.
      return apiError(
        400,
        'INVALID_FIELD',
        `The value of ${field.name} in the request body doesn't match the value in the URL: ${raw}`,
      );
    }
    const ids = findByKey(table, field, value, core.settings);
    if (ids.length > 1) {
      return json(
        300,
        ids.map((id) => `/services/data/v${req.version}/sobjects/${schema.name}/${id}`),
      );
    }
  }
  const outcome = upsertRecord(req.ctx, table, field, prepared);
  if (!outcome.success) return outcomeError(outcome);
  const created = outcome.created === true;
  const v46 = Number(req.version) >= 46;
  if (created) {
    const body: Record<string, unknown> = { id: outcome.id, success: true, errors: [] };
    if (v46) body.created = true;
    return json(201, body, location(req, schema, outcome.id!));
  }
  // v45.0 and earlier: 204 without a body for an update (reference §3.3).
  if (!v46) return { status: 204 };
  return json(200, { id: outcome.id, success: true, errors: [], created: false });
}

function findByKeyEquals(core: Core, field: FieldInfo, a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a === 'string' && typeof b === 'string' && field.text && !field.caseSensitive) {
    return a.toLowerCase() === b.toLowerCase() && core.settings.emailMatchCaseInsensitive;
  }
  return false;
}

// ---------------------------------------------------------------------------------------------
// Query (reference §5.4)

function batchSizeOf(req: RestRequest): number {
  const header = req.headers['sforce-query-options'];
  const m = header === undefined ? null : /batchSize\s*=\s*(\d+)/i.exec(header);
  if (m === null) return 2000;
  // Sforce-Query-Options batchSize: min 200, max 2000 (reference §3.7).
  return Math.min(2000, Math.max(200, Number(m[1])));
}

function query(core: Core, req: RestRequest, all: boolean): ApiResponse {
  const s = req.segments;
  if (s.length === 2) return queryMore(core, req, s[1]!);
  if (s.length > 2) return notFound();
  const q = req.query.get('q');
  if (q === null || q.trim() === '')
    return apiError(400, 'MALFORMED_QUERY', 'A query string has to be specified');
  let parsed;
  try {
    parsed = parseQuery(q, core.store);
  } catch (e) {
    if (e instanceof SoqlError) return apiError(400, e.errorCode, e.message);
    throw e;
  }
  const ids = executeQuery(core.store, parsed, all);
  if (parsed.count) return json(200, { totalSize: ids.length, done: true, records: [] });
  const table = parsed.table;
  const render = (id: string, version: string): Record<string, unknown> | undefined => {
    const row = table.rows.get(id);
    return row === undefined ? undefined : resultRecord(core.store, parsed, row, version);
  };
  const batchSize = batchSizeOf(req);
  if (ids.length <= batchSize) {
    const records: Array<Record<string, unknown>> = [];
    for (const id of ids) {
      const r = render(id, req.version);
      if (r !== undefined) records.push(r);
    }
    return json(200, { totalSize: ids.length, done: true, records });
  }
  const cursor = core.cursors.create({
    objectName: table.schema.name,
    ids,
    batchSize,
    version: req.version,
    render,
  });
  return page(core, req, cursor.locator, 0);
}

function page(core: Core, req: RestRequest, locator: string, offset: number): ApiResponse {
  const cursor = core.cursors.get(locator);
  if (cursor === undefined) return apiError(400, 'INVALID_QUERY_LOCATOR', 'invalid query locator');
  const end = Math.min(cursor.ids.length, offset + cursor.batchSize);
  const records: Array<Record<string, unknown>> = [];
  for (let i = offset; i < end; i++) {
    const r = cursor.render(cursor.ids[i]!, req.version);
    if (r !== undefined) records.push(r);
  }
  const done = end >= cursor.ids.length;
  const body: Record<string, unknown> = { totalSize: cursor.ids.length, done };
  if (done) core.cursors.close(locator);
  else body.nextRecordsUrl = `/services/data/v${req.version}/query/${locator}-${end}`;
  body.records = records;
  return json(200, body);
}

/** GET /query/{locator}-{offset} (reference §5.4). */
function queryMore(core: Core, req: RestRequest, segment: string): ApiResponse {
  const dash = segment.lastIndexOf('-');
  const locator = dash < 0 ? segment : segment.slice(0, dash);
  const offset = dash < 0 ? 0 : Number(segment.slice(dash + 1));
  if (!Number.isInteger(offset) || offset < 0)
    return apiError(400, 'INVALID_QUERY_LOCATOR', 'invalid query locator');
  return page(core, req, locator, offset);
}

// ---------------------------------------------------------------------------------------------
// Limits (reference §5.3)

function limits(core: Core): ApiResponse {
  const max = core.settings.dailyApiLimit;
  const batchesMax = core.settings.bulkDailyBatchLimit;
  let records = 0;
  for (const t of core.store.tables.values()) records += t.live;
  // Salesforce counts most records as 2 KB of data storage.
  const usedMb = Math.ceil((records * 2) / 1024);
  return json(200, {
    ConcurrentAsyncGetReportInstances: { Max: 200, Remaining: 200 },
    ConcurrentSyncReportRuns: { Max: 20, Remaining: 20 },
    DailyApiRequests: { Max: max, Remaining: Math.max(0, max - core.usage.apiUsed) },
    DailyAsyncApexExecutions: { Max: 250000, Remaining: 250000 },
    DailyBulkApiBatches: { Max: batchesMax, Remaining: Math.max(0, batchesMax - core.usage.bulkBatches) },
    DailyBulkV2QueryFileStorageMB: { Max: 976562, Remaining: 976562 },
    DailyBulkV2QueryJobs: { Max: 10000, Remaining: 10000 },
    DataStorageMB: { Max: 1024, Remaining: Math.max(0, 1024 - usedMb) },
    FileStorageMB: { Max: 1024, Remaining: 1024 },
    HourlyTimeBasedWorkflow: { Max: 50, Remaining: 50 },
    PermissionSets: { Max: 1500, Remaining: 1499, CreateCustom: { Max: 1000, Remaining: 999 } },
    SingleEmail: { Max: 15, Remaining: 15 },
  });
}

/** Build a context for a request made by `user` (used by the server). */
export function requestContext(core: Core, user: User): DmlContext {
  return newContext(core, user);
}
