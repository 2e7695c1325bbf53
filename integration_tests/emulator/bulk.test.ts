/**
 * Bulk API 2.0 ingest (reference §4): job lifecycle, CSV rules, per-row validation and results.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { beforeEach, describe, expect, it } from '@jest/globals';
import type { Api } from './test-support.js';
import { type Reply, useEmulator } from './test-support.js';
import type { Emulator } from './types.js';

let sf: Emulator;
let api: Api;

useEmulator((emulator, client) => {
  sf = emulator;
  api = client;
});

beforeEach(() => {
  sf.reset();
  sf.configure({
    bulkBatchSize: 10_000,
    bulkBatchDelayMs: 0,
    bulkStartDelayMs: 0,
    bulkAllowMultipleUploads: false,
  });
});

const CSV = { 'content-type': 'text/csv' };

async function createJob(body: Record<string, unknown>): Promise<Reply> {
  return api.post('/jobs/ingest', {
    contentType: 'CSV',
    lineEnding: 'LF',
    columnDelimiter: 'COMMA',
    ...body,
  });
}

async function waitForEnd(id: string): Promise<Record<string, unknown>> {
  for (let i = 0; i < 200; i++) {
    const info = await api.get(`/jobs/ingest/${id}`);
    if (['JobComplete', 'Failed', 'Aborted'].includes(info.body.state)) return info.body;
    await sleep(10);
  }
  throw new Error('job did not finish');
}

async function runJob(
  body: Record<string, unknown>,
  csv: string,
): Promise<{ id: string; info: Record<string, unknown> }> {
  const job = await createJob(body);
  expect(job.status).toBe(200);
  expect((await api.call('PUT', `/jobs/ingest/${job.body.id}/batches`, csv, CSV)).status).toBe(201);
  expect((await api.patch(`/jobs/ingest/${job.body.id}`, { state: 'UploadComplete' })).status).toBe(200);
  return { id: job.body.id, info: await waitForEnd(job.body.id) };
}

function lines(text: string): string[] {
  return text.split('\n').filter((l) => l !== '');
}

describe('job lifecycle', () => {
  it('creates an Open job with the documented fields', async () => {
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
    const ok = await api.get(`/jobs/ingest/${id}/successfulResults/`);
    expect(ok.headers.get('content-type')).toContain('text/csv');
    const okLines = lines(ok.text);
    expect(okLines[0]).toBe('"sf__Id","sf__Created","FirstName","LastName","Email"');
    expect(okLines[1]).toMatch(/^"003[0-9A-Za-z]{15}","true","Ada","Lovelace","ada@example\.com"$/);
    const failed = lines((await api.get(`/jobs/ingest/${id}/failedResults/`)).text);
    expect(failed[0]).toBe('"sf__Id","sf__Error","FirstName","LastName","Email"');
    expect(failed[1]).toBe(
      '"","REQUIRED_FIELD_MISSING:Required fields are missing: [LastName]:LastName --","No","","x@example.com"',
    );
    expect(failed[2]).toBe(
      '"","INVALID_EMAIL_ADDRESS:Email: invalid email address: bad email:Email --","Grace, Admiral","Hopper","bad email"',
    );
    const unprocessed = lines((await api.get(`/jobs/ingest/${id}/unprocessedrecords/`)).text);
    expect(unprocessed).toEqual(['"FirstName","LastName","Email"']);
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
    const { id, info } = await runJob(
      { object: 'Contact', operation: 'upsert', externalIdFieldName: 'External_ID__c' },
      csv,
    );
    expect(info).toMatchObject({
      numberRecordsProcessed: 5,
      numberRecordsFailed: 3,
      externalIdFieldName: 'External_ID__c',
    });
    const updated = sf.record('Contact', existing!)!;
    expect(updated).toMatchObject({ LastName: 'New', Title: 'Keep', Email: null, AccountId: accountId });
    const ok = lines((await api.get(`/jobs/ingest/${id}/successfulResults`)).text);
    expect(ok.slice(1).map((l) => l.split(',')[1])).toEqual(['"false"', '"true"']);
    const failed = lines((await api.get(`/jobs/ingest/${id}/failedResults`)).text).slice(1);
    expect(failed[0]).toContain('DUPLICATE_VALUE:Duplicate external id specified: C-3:External_ID__c --');
    expect(failed[1]).toContain('DUPLICATE_VALUE:Duplicate external id specified: C-3');
    expect(failed[2]).toContain(
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
    const failed = lines((await api.get(`/jobs/ingest/${update.id}/failedResults`)).text);
    expect(failed[1]).toContain(
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
    expect(info.numberRecordsFailed).toBe(0);
    expect(sf.records('Contact')[0]).toMatchObject({
      LastName: 'Pipe|Name',
      Description: 'line one\r\nline two',
    });
  });

  it('processes in internal batches: InProgress is observable and DailyBulkApiBatches decreases', async () => {
    sf.configure({ bulkBatchSize: 2, bulkBatchDelayMs: 100 });
    const before = (await api.get('/limits')).body.DailyBulkApiBatches.Remaining as number;
    const csv = `LastName\n${Array.from({ length: 6 }, (_, i) => `n${i}`).join('\n')}\n`;
    const job = await createJob({ object: 'Contact', operation: 'insert' });
    await api.call('PUT', `/jobs/ingest/${job.body.id}/batches`, csv, CSV);
    await api.patch(`/jobs/ingest/${job.body.id}`, { state: 'UploadComplete' });
    await sleep(20);
    expect((await api.get(`/jobs/ingest/${job.body.id}`)).body.state).toBe('InProgress');
    expect((await api.get(`/jobs/ingest/${job.body.id}/successfulResults`)).status).toBe(400);
    const info = await waitForEnd(job.body.id);
    expect(info).toMatchObject({ state: 'JobComplete', numberRecordsProcessed: 6 });
    const limits = await api.get('/limits');
    expect(limits.body.DailyBulkApiBatches.Remaining).toBe(before - 3);
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

  it('counts each Bulk HTTP call as one API request', async () => {
    sf.resetStats();
    await runJob({ object: 'Account', operation: 'insert' }, 'Name\nA\n');
    const stats = sf.stats();
    expect(stats.byKind.bulk).toBe(stats.apiUsed);
    expect(stats.apiUsed).toBeGreaterThanOrEqual(4);
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

  it('returns the uploaded rows as unprocessed records of a job aborted before processing', async () => {
    const job = await createJob({ object: 'Contact', operation: 'insert' });
    await api.call('PUT', `/jobs/ingest/${job.body.id}/batches`, 'LastName\na\nb\n', CSV);
    const aborted = await api.patch(`/jobs/ingest/${job.body.id}`, { state: 'Aborted' });
    expect(aborted.body.state).toBe('Aborted');
    const unprocessed = await api.get(`/jobs/ingest/${job.body.id}/unprocessedrecords`);
    expect(lines(unprocessed.text)).toEqual(['LastName', 'a', 'b']);
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
