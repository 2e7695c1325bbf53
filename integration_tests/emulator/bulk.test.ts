/**
 * Bulk API 2.0 ingest (reference §4, bulk2-ingest.md §1): job lifecycle, CSV rules, per-row validation,
 * results (in no promised order, numbers as Java prints doubles), the batch allocation, faults and the
 * counting of calls. Result files are read with csv-parse and joined by key, never by position.
 */
import { gzipSync } from 'node:zlib';
import { setTimeout as sleep } from 'node:timers/promises';
import { beforeEach, describe, expect, it } from '@jest/globals';
import { parse } from 'csv-parse/sync';
import { startEmulator } from './index.js';
import { defaultSettings } from './server.js';
import type { Api } from './test-support.js';
import { Api as ApiClient, type Reply, send, useEmulator } from './test-support.js';
import type { Emulator, EmulatorSettings } from './types.js';

let sf: Emulator;
let api: Api;

useEmulator((emulator, client) => {
  sf = emulator;
  api = client;
});

/** The Bulk settings at their defaults (tests change some of them). */
function bulkDefaults(): Partial<EmulatorSettings> {
  const defaults = defaultSettings();
  return Object.fromEntries(Object.entries(defaults).filter(([k]) => k.startsWith('bulk')));
}

beforeEach(() => {
  sf.reset();
  sf.resetStats();
  sf.configure({ ...bulkDefaults(), duplicateKeyRows: 'all' });
});

const CSV = { 'content-type': 'text/csv' };
type Row = Record<string, string>;

async function createJob(body: Record<string, unknown>, client: Api = api): Promise<Reply> {
  return client.post('/jobs/ingest', {
    contentType: 'CSV',
    lineEnding: 'LF',
    columnDelimiter: 'COMMA',
    ...body,
  });
}

function uploadTo(id: string, csv: string | Buffer, client: Api = api): Promise<Reply> {
  return client.call('PUT', `/jobs/ingest/${id}/batches`, csv, CSV);
}

function close(id: string, client: Api = api): Promise<Reply> {
  return client.patch(`/jobs/ingest/${id}`, { state: 'UploadComplete' });
}

/** Poll until the job has ended (processing runs on its own unless a test makes polls drive it). */
async function waitForEnd(id: string, client: Api = api): Promise<Record<string, any>> {
  for (let i = 0; i < 10_000; i++) {
    const info = await client.get(`/jobs/ingest/${id}`);
    if (['JobComplete', 'Failed', 'Aborted'].includes(info.body.state)) return info.body;
    await sleep(5);
  }
  throw new Error('job did not end');
}

async function runJob(
  body: Record<string, unknown>,
  csv: string | Buffer,
  client: Api = api,
): Promise<{ id: string; info: Record<string, any> }> {
  const job = await createJob(body, client);
  expect(job.status).toBe(200);
  expect((await uploadTo(job.body.id, csv, client)).status).toBe(201);
  expect((await close(job.body.id, client)).status).toBe(200);
  return { id: job.body.id, info: await waitForEnd(job.body.id, client) };
}

/** A result file as records by column (csv-parse: the reference reader). */
async function results(
  id: string,
  which: 'successfulResults' | 'failedResults' | 'unprocessedrecords',
  client: Api = api,
): Promise<Row[]> {
  const reply = await client.get(`/jobs/ingest/${id}/${which}/`);
  expect(reply.status).toBe(200);
  expect(reply.headers.get('content-type')).toContain('text/csv');
  return parse<Row>(reply.text, { columns: true, skip_empty_lines: true });
}

/** Records by the value of one column. */
function by(rows: Row[], column: string): Record<string, Row> {
  return Object.fromEntries(rows.map((r) => [r[column]!, r]));
}

function lines(text: string): string[] {
  return text.split('\n').filter((l) => l !== '');
}

function contactsCsv(n: number, from = 0): string {
  const rows = Array.from({ length: n }, (_, i) => `C-${from + i},Last${from + i}`);
  return `External_ID__c,LastName\n${rows.join('\n')}\n`;
}

const UPSERT_CONTACT = { object: 'Contact', operation: 'upsert', externalIdFieldName: 'External_ID__c' };

describe('job lifecycle', () => {
  it('creates an Open job with the documented fields (HTTP 200)', async () => {
    const reply = await createJob({ object: 'Contact', operation: 'insert' });
    expect(reply.status).toBe(200);
    expect(Object.keys(reply.body)).toEqual([
      'id',
      'operation',
      'object',
      'createdById',
      'createdDate',
      'systemModstamp',
      'state',
      'concurrencyMode',
      'contentType',
      'apiVersion',
      'contentUrl',
      'lineEnding',
      'columnDelimiter',
    ]);
    expect(reply.body).toMatchObject({
      operation: 'insert',
      object: 'Contact',
      state: 'Open',
      contentType: 'CSV',
      apiVersion: 61,
    });
    expect(reply.body.id).toMatch(/^750/);
    expect(reply.body.contentUrl).toBe(`services/data/v61.0/jobs/ingest/${reply.body.id}/batches`);
    expect(reply.body.createdDate).toMatch(/\+0000$/);
  });

  it('inserts, reports processed/failed counts, and returns success, failure and unprocessed CSVs', async () => {
    const csv =
      'FirstName,LastName,Email\nAda,Lovelace,ada@example.com\nNo,,x@example.com\n"Grace, Admiral",Hopper,"bad email"\n';
    const { id, info } = await runJob({ object: 'Contact', operation: 'insert' }, csv);
    expect(info).toMatchObject({
      state: 'JobComplete',
      numberRecordsProcessed: 3,
      numberRecordsFailed: 2,
      jobType: 'V2Ingest',
      retries: 0,
    });
    const okText = (await api.get(`/jobs/ingest/${id}/successfulResults/`)).text;
    expect(lines(okText)[0]).toBe('"sf__Id","sf__Created","FirstName","LastName","Email"');
    const ok = await results(id, 'successfulResults');
    expect(ok).toHaveLength(1);
    expect(ok[0]).toMatchObject({ sf__Created: 'true', FirstName: 'Ada', Email: 'ada@example.com' });
    expect(ok[0]!.sf__Id).toMatch(/^003[0-9A-Za-z]{15}$/);
    const failedText = (await api.get(`/jobs/ingest/${id}/failedResults/`)).text;
    expect(lines(failedText)[0]).toBe('"sf__Id","sf__Error","FirstName","LastName","Email"');
    const failed = by(await results(id, 'failedResults'), 'FirstName');
    expect(failed.No).toEqual({
      sf__Id: '',
      sf__Error: 'REQUIRED_FIELD_MISSING:Required fields are missing: [LastName]:LastName --',
      FirstName: 'No',
      LastName: '',
      Email: 'x@example.com',
    });
    expect(failed['Grace, Admiral']!.sf__Error).toBe(
      'INVALID_EMAIL_ADDRESS:Email: invalid email address: bad email:Email --',
    );
    const unprocessed = (await api.get(`/jobs/ingest/${id}/unprocessedrecords/`)).text;
    expect(lines(unprocessed)).toEqual(['FirstName,LastName,Email']);
    expect(sf.count('Contact')).toBe(1);
  });

  it('upserts by external ID: relationship columns, #N/A to null, empty cells ignored, duplicate keys fail', async () => {
    const [accountId] = sf.seed('Account', [{ Name: 'Parent', External_ID__c: 'A-1' }]);
    const [existing] = sf.seed('Contact', [
      { LastName: 'Old', Title: 'Keep', Email: 'old@example.com', External_ID__c: 'C-1' },
    ]);
    const csv = [
      'External_ID__c,LastName,Title,Email,Account.External_ID__c',
      'C-1,New,,#N/A,A-1',
      'C-2,Two,T,,A-1',
      'C-3,Dup1,,,',
      'C-3,Dup2,,,',
      'C-4,Orphan,,,A-404',
    ].join('\n');
    const { id, info } = await runJob(UPSERT_CONTACT, csv);
    expect(info).toMatchObject({
      numberRecordsProcessed: 5,
      numberRecordsFailed: 3,
      externalIdFieldName: 'External_ID__c',
    });
    const updated = sf.record('Contact', existing!)!;
    expect(updated).toMatchObject({ LastName: 'New', Title: 'Keep', Email: null, AccountId: accountId });
    const ok = by(await results(id, 'successfulResults'), 'External_ID__c');
    expect(ok['C-1']).toMatchObject({ sf__Id: existing, sf__Created: 'false', Email: '#N/A' });
    expect(ok['C-2']).toMatchObject({ sf__Created: 'true', 'Account.External_ID__c': 'A-1' });
    const failed = by(await results(id, 'failedResults'), 'LastName');
    expect(failed.Dup1!.sf__Error).toBe(
      'DUPLICATE_VALUE:Duplicate external id specified: C-3:External_ID__c --',
    );
    expect(failed.Dup2!.sf__Error).toBe(
      'DUPLICATE_VALUE:Duplicate external id specified: C-3:External_ID__c --',
    );
    expect(failed.Orphan!.sf__Error).toBe(
      'INVALID_FIELD:Foreign key external ID: A-404 not found for field External_ID__c in entity Account:--',
    );
  });

  it('updates, deletes and hard-deletes by Id', async () => {
    const [a, b, c] = sf.seed('Contact', [{ LastName: 'A' }, { LastName: 'B' }, { LastName: 'C' }]);
    const update = await runJob(
      { object: 'Contact', operation: 'update' },
      `Id,Title\n${a},Boss\n001xx000003DGb2999,x\n`,
    );
    expect(update.info).toMatchObject({ numberRecordsProcessed: 2, numberRecordsFailed: 1 });
    expect(sf.record('Contact', a!)!.Title).toBe('Boss');
    const [failed] = await results(update.id, 'failedResults');
    expect(failed!.sf__Error).toBe(
      'MALFORMED_ID:Contact ID: id value of incorrect type: 001xx000003DGb2999:Id --',
    );
    await runJob({ object: 'Contact', operation: 'delete' }, `Id\n${b}\n`);
    await runJob({ object: 'Contact', operation: 'hardDelete' }, `Id\n${c}\n`);
    expect(sf.count('Contact')).toBe(1);
    expect(sf.record('Contact', b!)!.IsDeleted).toBe(true);
    expect(sf.record('Contact', c!)).toBeUndefined();
  });

  it('reads quoted values, embedded delimiters and newlines, other delimiters and CRLF', async () => {
    const csv = 'LastName|Description\r\n"Pipe|Name"|"line one\r\nline two"\r\n';
    const { info } = await runJob(
      { object: 'Contact', operation: 'insert', columnDelimiter: 'PIPE', lineEnding: 'CRLF' },
      csv,
    );
    expect(info).toMatchObject({ state: 'JobComplete', numberRecordsFailed: 0 });
    expect(sf.records('Contact')[0]).toMatchObject({
      LastName: 'Pipe|Name',
      Description: 'line one\r\nline two',
    });
  });

  it('accepts a gzip-encoded upload', async () => {
    const job = await createJob({ object: 'Contact', operation: 'insert' });
    const body = gzipSync(Buffer.from('LastName\nZipped\n'));
    const up = await api.call('PUT', `/jobs/ingest/${job.body.id}/batches`, body, {
      ...CSV,
      'content-encoding': 'gzip',
    });
    expect(up.status).toBe(201);
    await close(job.body.id);
    expect(await waitForEnd(job.body.id)).toMatchObject({ state: 'JobComplete', numberRecordsProcessed: 1 });
    expect(sf.records('Contact')[0]!.LastName).toBe('Zipped');
  });

  it('processes in internal batches: when polls drive it, each poll shows one more batch', async () => {
    sf.configure({ bulkBatchSize: 2, bulkBatchesPerPoll: 1 });
    const before = (await api.get('/limits')).body.DailyBulkApiBatches.Remaining as number;
    const job = await createJob({ object: 'Contact', operation: 'insert' });
    await uploadTo(job.body.id, `LastName\n${Array.from({ length: 6 }, (_, i) => `n${i}`).join('\n')}\n`);
    expect((await close(job.body.id)).body.state).toBe('UploadComplete');
    const first = await api.get(`/jobs/ingest/${job.body.id}`);
    expect(first.body).toMatchObject({ state: 'InProgress', numberRecordsProcessed: 2 });
    const early = await api.get(`/jobs/ingest/${job.body.id}/successfulResults`);
    expect(early.status).toBe(400);
    expect(early.body[0].errorCode).toBe('INVALIDJOBSTATE');
    expect((await api.get('/limits')).body.DailyBulkApiBatches.Remaining).toBe(before - 1);
    expect((await api.get(`/jobs/ingest/${job.body.id}`)).body.numberRecordsProcessed).toBe(4);
    const last = await api.get(`/jobs/ingest/${job.body.id}`);
    expect(last.body).toMatchObject({ state: 'JobComplete', numberRecordsProcessed: 6 });
    expect((await api.get('/limits')).body.DailyBulkApiBatches.Remaining).toBe(before - 3);
    expect(sf.stats().bulk.batchesProcessed).toBe(3);
  });

  it('aborts a job in progress: the rows not yet processed are unprocessed', async () => {
    sf.configure({ bulkBatchSize: 2, bulkBatchesPerPoll: 1 });
    const job = await createJob({ object: 'Contact', operation: 'insert' });
    await uploadTo(job.body.id, 'LastName\na\nb\nc\nd\ne\n');
    await close(job.body.id);
    await api.get(`/jobs/ingest/${job.body.id}`);
    const aborted = await api.patch(`/jobs/ingest/${job.body.id}`, { state: 'Aborted' });
    expect(aborted.body.state).toBe('Aborted');
    expect((await api.get(`/jobs/ingest/${job.body.id}`)).body).toMatchObject({
      state: 'Aborted',
      numberRecordsProcessed: 2,
    });
    const unprocessed = await results(job.body.id, 'unprocessedrecords');
    expect(unprocessed.map((r) => r.LastName).sort()).toEqual(['c', 'd', 'e']);
    expect(sf.count('Contact')).toBe(2);
  });

  it('lists jobs and deletes a finished one', async () => {
    const { id } = await runJob({ object: 'Account', operation: 'insert' }, 'Name\nA\n');
    const list = await api.get('/jobs/ingest');
    expect(list.body.done).toBe(true);
    expect(list.body.records.map((j: { id: string }) => j.id)).toContain(id);
    expect((await api.delete(`/jobs/ingest/${id}`)).status).toBe(204);
    const gone = await api.get(`/jobs/ingest/${id}`);
    expect(gone.status).toBe(404);
    expect(gone.body).toEqual([{ errorCode: 'NOT_FOUND', message: 'The requested resource does not exist' }]);
  });
});

describe('line endings (reference §4.3)', () => {
  it('fails an LF job given CRLF data, writing nothing and returning the upload as unprocessed', async () => {
    const csv = 'LastName,Title\r\nA,t\r\nB,u\r\n';
    const { id, info } = await runJob({ object: 'Contact', operation: 'insert', lineEnding: 'LF' }, csv);
    expect(info).toMatchObject({
      state: 'Failed',
      errorMessage: 'ClientInputError : LineEnding is invalid on user data. Current LineEnding setting is LF',
      numberRecordsProcessed: 0,
      numberRecordsFailed: 0,
    });
    expect(sf.count('Contact')).toBe(0);
    expect((await api.get(`/jobs/ingest/${id}/unprocessedrecords`)).text).toBe(csv);
    expect(await results(id, 'successfulResults')).toEqual([]);
  });

  it('fails a CRLF job given LF data', async () => {
    const { info } = await runJob(
      { object: 'Contact', operation: 'insert', lineEnding: 'CRLF' },
      'LastName\nA\nB\n',
    );
    expect(info).toMatchObject({
      state: 'Failed',
      errorMessage:
        'ClientInputError : LineEnding is invalid on user data. Current LineEnding setting is CRLF',
      numberRecordsProcessed: 0,
    });
    expect(sf.count('Contact')).toBe(0);
  });

  it('fails the job on one CRLF record late in an LF upload, before any row is written', async () => {
    sf.configure({ bulkBatchSize: 2 });
    const { info } = await runJob({ object: 'Contact', operation: 'insert' }, 'LastName\na\nb\nc\nd\r\ne\n');
    expect(info.state).toBe('Failed');
    expect(sf.count('Contact')).toBe(0);
  });
});

describe('header row', () => {
  it('fails the job on a column that is no field, returning every row as unprocessed', async () => {
    const csv = 'LastName,Nickname__c\nA,x\nB,y\nC,z\n';
    const { id, info } = await runJob({ object: 'Contact', operation: 'insert' }, csv);
    expect(info).toMatchObject({
      state: 'Failed',
      errorMessage: 'InvalidBatch : Field name not found : Nickname__c',
      numberRecordsProcessed: 0,
    });
    expect(sf.count('Contact')).toBe(0);
    const unprocessed = await results(id, 'unprocessedrecords');
    expect(unprocessed.map((r) => `${r.LastName}${r.Nickname__c}`).sort()).toEqual(['Ax', 'By', 'Cz']);
    expect(lines((await api.get(`/jobs/ingest/${id}/unprocessedrecords`)).text)[0]).toBe(
      'LastName,Nickname__c',
    );
  });

  it('does not trim header names', async () => {
    const { info } = await runJob({ object: 'Contact', operation: 'insert' }, 'Title, LastName\nt,A\n');
    expect(info.errorMessage).toBe('InvalidBatch : Field name not found :  LastName');
  });

  it('ignores such a column when bulkUnknownColumns is "ignore": not written, not echoed', async () => {
    sf.configure({ bulkUnknownColumns: 'ignore' });
    const { id, info } = await runJob(
      { object: 'Contact', operation: 'insert' },
      'LastName,Nickname__c\nA,x\n',
    );
    expect(info).toMatchObject({ state: 'JobComplete', numberRecordsProcessed: 1 });
    expect(Object.keys((await results(id, 'successfulResults'))[0]!)).toEqual([
      'sf__Id',
      'sf__Created',
      'LastName',
    ]);
  });
});

describe('malformed rows (reference §4.3: "an error for the row")', () => {
  it('fails only the malformed rows and processes the others', async () => {
    const csv = [
      'External_ID__c,LastName',
      'C-1,"Good"',
      'C-2, "Space"',
      'C-3,Fine',
      'C-4,"Never closed',
      'C-5,Last',
    ].join('\n');
    const { id, info } = await runJob(UPSERT_CONTACT, csv);
    expect(info).toMatchObject({ state: 'JobComplete', numberRecordsProcessed: 5, numberRecordsFailed: 2 });
    expect(
      sf
        .records('Contact')
        .map((c) => c.LastName)
        .sort(),
    ).toEqual(['Fine', 'Good', 'Last']);
    const failed = by(await results(id, 'failedResults'), 'External_ID__c');
    expect(failed['C-2']!.sf__Error).toMatch(
      /^INVALID_FIELD:Failed to deserialize field at col 2\. Due to, .*:--$/,
    );
    expect(failed['C-4']!.sf__Error).toBe(
      'INVALID_FIELD:Failed to deserialize field at col 2. Due to, a double quote that is never closed:--',
    );
    expect(await results(id, 'unprocessedrecords')).toEqual([]);
  });
});

describe('sf__Id of failed rows (reference §4.1 step 5)', () => {
  it('holds the Id sent for failed updates and deletes, nothing for failed inserts', async () => {
    const [gone] = sf.seed('Contact', [{ LastName: 'Gone', IsDeleted: true }]);
    const unknown = '003000000000001AAA';
    const update = await runJob(
      { object: 'Contact', operation: 'update' },
      `Id,Title\n${unknown},x\nnot-an-id,y\n`,
    );
    const updated = by(await results(update.id, 'failedResults'), 'Title');
    expect(updated.x).toMatchObject({
      sf__Id: unknown,
      sf__Error: 'INVALID_CROSS_REFERENCE_KEY:invalid cross reference id:--',
    });
    expect(updated.y!.sf__Id).toBe('not-an-id');
    const del = await runJob({ object: 'Contact', operation: 'delete' }, `Id\n${gone}\n`);
    expect(await results(del.id, 'failedResults')).toEqual([
      { sf__Id: gone, sf__Error: 'ENTITY_IS_DELETED:entity is deleted:--', Id: gone },
    ]);
    const insert = await runJob({ object: 'Contact', operation: 'insert' }, 'LastName,Email\nA,bad\n');
    expect((await results(insert.id, 'failedResults'))[0]!.sf__Id).toBe('');
  });

  it('holds the matched record for a failed upsert of an existing key, nothing for a new key', async () => {
    const [existing] = sf.seed('Contact', [{ LastName: 'Old', External_ID__c: 'C-1' }]);
    const { id } = await runJob(UPSERT_CONTACT, 'External_ID__c,LastName,Email\nC-1,A,bad\nC-2,B,bad\n');
    const failed = by(await results(id, 'failedResults'), 'External_ID__c');
    expect(failed['C-1']!.sf__Id).toBe(existing);
    expect(failed['C-2']!.sf__Id).toBe('');
  });

  it('is empty before v53.0', async () => {
    const v52 = new ApiClient(sf, api.token, '52.0');
    const { id } = await runJob(
      { object: 'Contact', operation: 'update' },
      'Id,Title\n003000000000001AAA,x\n',
      v52,
    );
    expect((await results(id, 'failedResults', v52))[0]!.sf__Id).toBe('');
  });
});

describe('result order and number format (bulk2-ingest.md §1.3, §1.4)', () => {
  const inputOrder = (n: number): string[] => Array.from({ length: n }, (_, i) => `C-${i}`);

  it('returns successful, failed and unprocessed rows in an order that is not the input order', async () => {
    sf.configure({ bulkBatchSize: 10 });
    const good = await runJob(UPSERT_CONTACT, contactsCsv(60));
    const ok = (await results(good.id, 'successfulResults')).map((r) => r.External_ID__c);
    expect(ok).not.toEqual(inputOrder(60));
    expect([...ok].sort()).toEqual([...inputOrder(60)].sort());
    // The order is the job's: asking again gives the same.
    expect((await results(good.id, 'successfulResults')).map((r) => r.External_ID__c)).toEqual(ok);
    const bad = await runJob(
      UPSERT_CONTACT,
      `External_ID__c,LastName,Email\n${inputOrder(30)
        .map((k) => `${k},L,bad`)
        .join('\n')}\n`,
    );
    const failed = (await results(bad.id, 'failedResults')).map((r) => r.External_ID__c);
    expect(failed).not.toEqual(inputOrder(30));
    expect(failed).toHaveLength(30);
    const refused = await runJob(
      { object: 'Contact', operation: 'insert' },
      `LastName,Nope__c\n${inputOrder(30).join(',x\n')},x\n`,
    );
    const unprocessed = (await results(refused.id, 'unprocessedrecords')).map((r) => r.LastName);
    expect(unprocessed).not.toEqual(inputOrder(30));
    expect([...unprocessed].sort()).toEqual([...inputOrder(30)].sort());
  });

  it('keeps the input order when bulkShuffleResults is off', async () => {
    sf.configure({ bulkShuffleResults: false, bulkBatchSize: 10 });
    const { id } = await runJob(UPSERT_CONTACT, contactsCsv(60));
    expect((await results(id, 'successfulResults')).map((r) => r.External_ID__c)).toEqual(inputOrder(60));
  });

  it('shuffles deterministically: the same seed and job give the same order in another org', async () => {
    const orders: string[][] = [];
    for (let n = 0; n < 2; n++) {
      const org = await startEmulator({ settings: { bulkResultSeed: 7, bulkBatchSize: 10 } });
      try {
        const client = await ApiClient.connect(org);
        const { id } = await runJob(UPSERT_CONTACT, contactsCsv(40), client);
        orders.push((await results(id, 'successfulResults', client)).map((r) => r.External_ID__c!));
      } finally {
        await org.close();
      }
    }
    expect(orders[1]).toEqual(orders[0]);
    expect(orders[0]).not.toEqual(inputOrder(40));
  });

  it('echoes double, currency and percent cells as Java prints doubles, other cells as sent', async () => {
    const csv = [
      'Name,AnnualRevenue,NumberOfEmployees,BillingLatitude',
      'Ten million,10000000,3,12.5',
      'Three,3,12,0.0001',
      ',5,1,',
    ].join('\n');
    const { id } = await runJob({ object: 'Account', operation: 'insert' }, csv);
    const ok = by(await results(id, 'successfulResults'), 'Name');
    expect(ok['Ten million']).toMatchObject({
      AnnualRevenue: '1.0E7',
      NumberOfEmployees: '3',
      BillingLatitude: '12.5',
    });
    expect(ok.Three).toMatchObject({ AnnualRevenue: '3.0', BillingLatitude: '1.0E-4' });
    const [failed] = await results(id, 'failedResults');
    expect(failed).toMatchObject({ Name: '', AnnualRevenue: '5.0', BillingLatitude: '' });
  });

  it('echoes a double external ID reformatted too, so results cannot be joined on the text sent', async () => {
    const { id } = await runJob(
      { object: 'With_External_Id__c', operation: 'upsert', externalIdFieldName: 'External_Id__c' },
      'External_Id__c,Name\n7,Seven\n12345678,Big\n',
    );
    const ok = by(await results(id, 'successfulResults'), 'Name');
    expect(ok.Seven!.External_Id__c).toBe('7.0');
    expect(ok.Big!.External_Id__c).toBe('1.2345678E7');
  });

  it('echoes numbers as sent when bulkJavaNumbers is off', async () => {
    sf.configure({ bulkJavaNumbers: false });
    const { id } = await runJob(
      { object: 'Account', operation: 'insert' },
      'Name,AnnualRevenue\nA,10000000\n',
    );
    expect((await results(id, 'successfulResults'))[0]!.AnnualRevenue).toBe('10000000');
  });
});

describe('daily batch allocation (DailyBulkApiBatches, reference §4.2)', () => {
  it('reports the configured Max and ends a job Failed when its next batch would pass it', async () => {
    sf.configure({ bulkDailyBatchLimit: 2, bulkBatchSize: 2 });
    const { id, info } = await runJob(
      { object: 'Contact', operation: 'insert' },
      'LastName\na\nb\nc\nd\ne\nf\n',
    );
    expect(info).toMatchObject({ state: 'Failed', numberRecordsProcessed: 4 });
    expect(info.errorMessage).toMatch(/^ExceededQuota : /);
    expect(sf.count('Contact')).toBe(4);
    expect((await results(id, 'unprocessedrecords')).map((r) => r.LastName).sort()).toEqual(['e', 'f']);
    expect((await api.get('/limits')).body.DailyBulkApiBatches).toEqual({ Max: 2, Remaining: 0 });
    const next = await runJob({ object: 'Contact', operation: 'insert' }, 'LastName\ng\n');
    expect(next.info).toMatchObject({ state: 'Failed', numberRecordsProcessed: 0 });
    expect(await results(next.id, 'unprocessedrecords')).toEqual([{ LastName: 'g' }]);
  });

  it('has Max 15,000 by default, one used per internal batch', async () => {
    sf.configure({ bulkBatchSize: 2 });
    await runJob({ object: 'Contact', operation: 'insert' }, 'LastName\na\nb\nc\n');
    expect((await api.get('/limits')).body.DailyBulkApiBatches).toEqual({ Max: 15000, Remaining: 14998 });
  });
});

describe('Bulk faults', () => {
  it('ends a job Failed after N internal batches, the rest unprocessed', async () => {
    sf.configure({ bulkBatchSize: 2 });
    sf.faults.bulkJob({ failAfterBatches: 1 });
    const { id, info } = await runJob(UPSERT_CONTACT, contactsCsv(6));
    expect(info).toMatchObject({ state: 'Failed', numberRecordsProcessed: 2 });
    expect(info.errorMessage).toMatch(/^Unknown : Injected fault/);
    expect(await results(id, 'successfulResults')).toHaveLength(2);
    expect(await results(id, 'unprocessedrecords')).toHaveLength(4);
    // Used up: the next job is not touched.
    expect((await runJob(UPSERT_CONTACT, contactsCsv(6, 10))).info.state).toBe('JobComplete');
  });

  it('applies to the jobs of the object and operation named, with the errorMessage given', async () => {
    sf.faults.bulkJob({
      object: 'account',
      operation: 'insert',
      failAfterBatches: 0,
      errorMessage: 'Timeout : x',
    });
    expect((await runJob(UPSERT_CONTACT, contactsCsv(2))).info.state).toBe('JobComplete');
    const { info } = await runJob({ object: 'Account', operation: 'insert' }, 'Name\nA\n');
    expect(info).toMatchObject({ state: 'Failed', errorMessage: 'Timeout : x', numberRecordsProcessed: 0 });
  });

  it('leaves chosen rows unprocessed (by number or by value) and processes the others', async () => {
    sf.faults.bulkJob({ unprocessedRows: [2, 4] });
    const first = await runJob(UPSERT_CONTACT, contactsCsv(5));
    expect(first.info).toMatchObject({ state: 'Failed', numberRecordsProcessed: 3 });
    expect((await results(first.id, 'unprocessedrecords')).map((r) => r.External_ID__c).sort()).toEqual([
      'C-1',
      'C-3',
    ]);
    expect(sf.count('Contact')).toBe(3);
    // The same through the admin endpoint, matching a column's values.
    const reply = await send(`${sf.url}/__emulator/faults`, {
      method: 'POST',
      body: { bulkJob: { unprocessedMatch: { column: 'LastName', values: ['Last11'] } } },
    });
    expect(reply.status).toBe(204);
    const second = await runJob(UPSERT_CONTACT, contactsCsv(3, 10));
    expect(await results(second.id, 'unprocessedrecords')).toEqual([
      { External_ID__c: 'C-11', LastName: 'Last11' },
    ]);
  });

  it('answers UNABLE_TO_LOCK_ROW for locked rows during Bulk processing, as the lockRows fault says', async () => {
    const [locked] = sf.seed('Contact', [
      { LastName: 'L', External_ID__c: 'C-1' },
      { LastName: 'M', External_ID__c: 'C-2' },
    ]);
    sf.faults.lockRows({ object: 'Contact', match: { field: 'External_ID__c', values: ['C-1'] } });
    const { id } = await runJob(UPSERT_CONTACT, contactsCsv(3));
    const [failed] = await results(id, 'failedResults');
    expect(failed).toMatchObject({
      sf__Id: locked,
      sf__Error: `UNABLE_TO_LOCK_ROW:unable to obtain exclusive access to this record or 1 records: ${locked}:--`,
      External_ID__c: 'C-1',
    });
    expect(await results(id, 'successfulResults')).toHaveLength(2);
    const retry = await runJob(UPSERT_CONTACT, contactsCsv(1));
    expect(retry.info.numberRecordsFailed).toBe(0);
  });

  it('fails or drops an upload after applying it: the data is kept, a second upload is refused', async () => {
    const job = await createJob(UPSERT_CONTACT);
    sf.faults.failNext({ status: 500, when: 'after', match: { method: 'PUT', pathIncludes: '/batches' } });
    expect((await uploadTo(job.body.id, contactsCsv(2))).status).toBe(500);
    const again = await uploadTo(job.body.id, contactsCsv(2));
    expect(again.status).toBe(400);
    expect(again.body[0].message).toContain('Found multiple contents for job');
    await close(job.body.id);
    expect(await waitForEnd(job.body.id)).toMatchObject({ state: 'JobComplete', numberRecordsProcessed: 2 });
    const dropped = await createJob(UPSERT_CONTACT);
    sf.faults.dropNext({ when: 'after', match: { method: 'PUT', pathIncludes: dropped.body.id } });
    await expect(uploadTo(dropped.body.id, contactsCsv(1))).rejects.toThrow();
    expect((await uploadTo(dropped.body.id, contactsCsv(1))).status).toBe(400);
  });

  it('fails an upload before applying it: nothing is kept, the retry is accepted', async () => {
    const job = await createJob(UPSERT_CONTACT);
    sf.faults.failNext({ status: 503, match: { method: 'PUT', pathIncludes: '/jobs/ingest/' } });
    expect((await uploadTo(job.body.id, contactsCsv(2))).status).toBe(503);
    expect((await uploadTo(job.body.id, contactsCsv(2))).status).toBe(201);
  });

  it('drops a close after applying it: the job is processed all the same', async () => {
    const job = await createJob(UPSERT_CONTACT);
    await uploadTo(job.body.id, contactsCsv(3));
    sf.faults.dropNext({ when: 'after', match: { method: 'PATCH', pathIncludes: job.body.id } });
    await expect(close(job.body.id)).rejects.toThrow();
    expect(await waitForEnd(job.body.id)).toMatchObject({ state: 'JobComplete', numberRecordsProcessed: 3 });
    const again = await close(job.body.id);
    expect(again.status).toBe(400);
    expect(again.body[0].errorCode).toBe('INVALIDJOBSTATE');
  });

  it('fails a poll and a results GET, each counted; the next ones answer', async () => {
    sf.configure({ bulkBatchesPerPoll: 10 });
    const job = await createJob(UPSERT_CONTACT);
    await uploadTo(job.body.id, contactsCsv(3));
    await close(job.body.id);
    sf.faults.failNext({ status: 503, match: { method: 'GET', pathIncludes: '/jobs/ingest/' } });
    expect((await api.get(`/jobs/ingest/${job.body.id}`)).status).toBe(503);
    expect(sf.stats().bulk.polls).toBe(0);
    expect((await api.get(`/jobs/ingest/${job.body.id}`)).body.state).toBe('JobComplete');
    sf.faults.dropNext({ when: 'after', match: { method: 'GET', pathIncludes: 'successfulResults' } });
    await expect(api.get(`/jobs/ingest/${job.body.id}/successfulResults`)).rejects.toThrow();
    sf.faults.failNext({ status: 500, when: 'after', match: { pathIncludes: 'successfulResults' } });
    expect((await api.get(`/jobs/ingest/${job.body.id}/successfulResults`)).status).toBe(500);
    expect(await results(job.body.id, 'successfulResults')).toHaveLength(3);
    const stats = sf.stats();
    expect(stats.bulk.resultGets).toBe(3);
    // create, upload, close, 1 poll, 3 results GETs; the poll failed before it was applied is counted
    // as a request but used no allocation (as every failNext 'before').
    expect(stats.apiUsed).toBe(7);
    expect(stats.byKind.bulk).toBe(8);
  });
});

describe('counting (bulk2-ingest.md §1.2: every HTTP request is one call)', () => {
  it('counts each Bulk call as one API request, and by what it did', async () => {
    sf.configure({ bulkBatchSize: 2, bulkBatchesPerPoll: 1 });
    const job = await createJob({ object: 'Contact', operation: 'insert' });
    await uploadTo(job.body.id, 'LastName\na\nb\nc\n');
    await close(job.body.id);
    await api.get(`/jobs/ingest/${job.body.id}`);
    await api.get(`/jobs/ingest/${job.body.id}`);
    for (const which of ['successfulResults', 'failedResults', 'unprocessedrecords'])
      await api.get(`/jobs/ingest/${job.body.id}/${which}`);
    await api.get('/jobs/ingest');
    await api.delete(`/jobs/ingest/${job.body.id}`);
    const stats = sf.stats();
    expect(stats.bulk).toEqual({
      jobsCreated: 1,
      uploads: 1,
      uploadBytes: 'LastName\na\nb\nc\n'.length,
      closes: 1,
      aborts: 0,
      polls: 2,
      resultGets: 3,
      lists: 1,
      deletes: 1,
      batchesProcessed: 2,
      recordsProcessed: 3,
    });
    expect(stats.apiUsed).toBe(10);
    expect(stats.byKind.bulk).toBe(10);
    sf.resetStats();
    expect(sf.stats().bulk.polls).toBe(0);
  });
});

describe('ingest rules (reference §4.3, bulk2-ingest.md §1.1, §1.3)', () => {
  it('fails every row sharing an external ID across the whole job, not only within a batch', async () => {
    sf.configure({ bulkBatchSize: 2 });
    const csv = 'External_ID__c,LastName\nK-1,first\nK-2,b\nK-3,c\nk-1,case\nK-1,again\n';
    const { id } = await runJob(UPSERT_CONTACT, csv);
    const failed = by(await results(id, 'failedResults'), 'LastName');
    expect(Object.keys(failed).sort()).toEqual(['again', 'first']);
    expect(failed.again!.sf__Error).toBe(
      'DUPLICATE_VALUE:Duplicate external id specified: K-1:External_ID__c --',
    );
    sf.configure({ duplicateKeyRows: 'later' });
    const later = await runJob(UPSERT_CONTACT, 'External_ID__c,LastName\nL-1,one\nL-2,x\nL-3,y\nL-1,two\n');
    expect((await results(later.id, 'failedResults')).map((r) => r.LastName)).toEqual(['two']);
  });

  it('takes dates and datetimes in the Bulk formats only: a date sent to a datetime fails the row', async () => {
    const csv = [
      'LastName,Birthdate,EmailBouncedDate',
      'ok1,2024-05-22,2024-05-22T10:00:00Z',
      'ok2,,2024-05-22T10:00:00.000+02:00',
      'dateOffset,1940-06-07Z,',
      'dateToDatetime,,2018-09-28',
      'noColon,,2024-05-22T10:00:00+0200',
    ].join('\n');
    const { id } = await runJob({ object: 'Contact', operation: 'insert' }, csv);
    const failed = by(await results(id, 'failedResults'), 'LastName');
    expect(Object.keys(failed).sort()).toEqual(['dateOffset', 'dateToDatetime', 'noColon']);
    expect(failed.dateToDatetime!.sf__Error).toBe(
      "INVALID_FIELD:Failed to deserialize field at col 3. Due to, '2018-09-28' is not a valid value for the type xsd:dateTime:EmailBouncedDate --",
    );
    expect(failed.dateOffset!.sf__Error).toContain('xsd:date');
    const ok = sf.records('Contact').find((c) => c.LastName === 'ok2')!;
    expect(ok.EmailBouncedDate).toBe('2024-05-22T08:00:00.000+0000');
  });

  it('accepts assignmentRuleId for Case and Lead only, and no field beyond the documented ones', async () => {
    const rule = '01Q000000000001AAA';
    const caseJob = await createJob({ object: 'Case', operation: 'insert', assignmentRuleId: rule });
    expect(caseJob.status).toBe(200);
    expect(caseJob.body.assignmentRuleId).toBe(rule);
    expect(
      (
        await createJob({
          object: 'Lead',
          operation: 'upsert',
          externalIdFieldName: 'Email',
          assignmentRuleId: rule,
        })
      ).status,
    ).toBe(200);
    const account = await createJob({ object: 'Account', operation: 'insert', assignmentRuleId: rule });
    expect(account.status).toBe(400);
    expect(account.body[0].errorCode).toBe('INVALIDJOB');
    expect(
      (await createJob({ object: 'Case', operation: 'insert', assignmentRuleId: 'rule-1' })).status,
    ).toBe(400);
    const old = new ApiClient(sf, api.token, '48.0');
    expect(
      (await createJob({ object: 'Case', operation: 'insert', assignmentRuleId: rule }, old)).status,
    ).toBe(400);
    const serial = await createJob({ object: 'Contact', operation: 'insert', concurrencyMode: 'Serial' });
    expect(serial.status).toBe(400);
    expect(serial.body[0].message).toBe('InvalidJob : Unrecognized field: concurrencyMode');
  });

  it('refuses an upload larger than 150 MB after base64 (here, a lower configured limit)', async () => {
    sf.configure({ bulkMaxUploadBytes: 10 });
    const job = await createJob({ object: 'Contact', operation: 'insert' });
    const reply = await uploadTo(job.body.id, 'LastName\nfar too long\n');
    expect(reply.status).toBe(400);
    expect(reply.body[0].errorCode).toBe('CLIENTINPUTERROR');
    expect(sf.settings().bulkMaxUploadBytes).toBe(10);
    expect(defaultSettings().bulkMaxUploadBytes).toBe(117_964_800);
  });
});

describe('job rules', () => {
  it('refuses a second upload to the same job, and an upload to a closed or aborted job', async () => {
    const job = await createJob({ object: 'Contact', operation: 'insert' });
    const url = `/jobs/ingest/${job.body.id}/batches`;
    expect((await api.call('PUT', url, 'LastName\na\n', CSV)).status).toBe(201);
    const second = await api.call('PUT', url, 'LastName\nb\n', CSV);
    expect(second.status).toBe(400);
    expect(second.body[0].errorCode).toBe('BULK_API_ERROR');
    expect(second.body[0].message).toContain('Found multiple contents for job');
    await api.patch(`/jobs/ingest/${job.body.id}`, { state: 'Aborted' });
    const afterAbort = await api.call('PUT', url, 'LastName\nb\n', CSV);
    expect(afterAbort.status).toBe(400);
    expect(afterAbort.body[0].errorCode).toBe('INVALIDJOBSTATE');
  });

  it('returns the upload as it came as the unprocessed records of a job aborted before processing', async () => {
    const job = await createJob({ object: 'Contact', operation: 'insert' });
    await api.call('PUT', `/jobs/ingest/${job.body.id}/batches`, 'LastName\na\nb\n', CSV);
    const aborted = await api.patch(`/jobs/ingest/${job.body.id}`, { state: 'Aborted' });
    expect(aborted.body.state).toBe('Aborted');
    const unprocessed = await api.get(`/jobs/ingest/${job.body.id}/unprocessedrecords`);
    expect(unprocessed.text).toBe('LastName\na\nb\n');
    expect(sf.count('Contact')).toBe(0);
  });

  it('refuses an upsert key that is not External ID, idLookup or Id with INVALIDJOB', async () => {
    const reply = await createJob({ object: 'Account', operation: 'upsert', externalIdFieldName: 'website' });
    expect(reply.status).toBe(400);
    expect(reply.body).toEqual([
      {
        message:
          'InvalidJob : Field name provided, website does not match an External ID, Salesforce Id, or indexed field for Account',
        errorCode: 'INVALIDJOB',
      },
    ]);
    expect(
      (await createJob({ object: 'Contact', operation: 'upsert', externalIdFieldName: 'Email' })).status,
    ).toBe(200);
    expect(
      (await createJob({ object: 'Contact', operation: 'upsert', externalIdFieldName: 'Id' })).status,
    ).toBe(200);
    const blank = await createJob({ object: 'Contact', operation: 'upsert' });
    expect(blank.body[0].message).toContain('External ID was blank for Contact');
  });

  it('refuses an unknown object and an unknown operation', async () => {
    expect((await createJob({ object: 'Nope__c', operation: 'insert' })).body[0].errorCode).toBe(
      'INVALIDJOB',
    );
    expect((await createJob({ object: 'Contact', operation: 'merge' })).body[0].errorCode).toBe('INVALIDJOB');
  });

  it('refuses an upload that is not text/csv', async () => {
    const job = await createJob({ object: 'Contact', operation: 'insert' });
    const reply = await api.call('PUT', `/jobs/ingest/${job.body.id}/batches`, 'LastName\na\n', {
      'content-type': 'application/json',
    });
    expect(reply.status).toBe(415);
  });
});
