/**
 * Limits and injected faults (reference §5.1, §5.3), and the admin endpoint that controls them.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { beforeEach, describe, expect, it } from '@jest/globals';
import { prng } from './server.js';
import { Api, rec, send, useEmulator } from './test-support.js';
import type { Emulator } from './types.js';

let sf: Emulator;
let api: Api;

useEmulator((emulator, client) => {
  sf = emulator;
  api = client;
});

beforeEach(async () => {
  sf.reset();
  sf.resetStats();
  sf.configure({
    dailyApiLimit: 5_000_000,
    latencyMs: 0,
    latencyJitterMs: 0,
    jitterSeed: null,
    maxConcurrent: null,
  });
  api.token = (await Api.connect(sf)).token;
});

const LIMIT_EXCEEDED = [{ message: 'TotalRequests Limit exceeded.', errorCode: 'REQUEST_LIMIT_EXCEEDED' }];

describe('daily API allocation', () => {
  it('adds Sforce-Limit-Info to API responses and reports it in /limits', async () => {
    sf.faults.setApiUsed(10);
    const reply = await api.get('/limits');
    expect(reply.headers.get('sforce-limit-info')).toBe('api-usage=11/5000000');
    expect(reply.body.DailyApiRequests).toEqual({ Max: 5000000, Remaining: 4999989 });
    expect(Object.keys(reply.body)).toEqual(
      expect.arrayContaining([
        'DailyApiRequests',
        'DailyBulkApiBatches',
        'DailyBulkV2QueryFileStorageMB',
        'DailyBulkV2QueryJobs',
        'DataStorageMB',
        'PermissionSets',
      ]),
    );
  });

  it('answers 403 TotalRequests Limit exceeded once the allocation is used; OAuth still works', async () => {
    sf.configure({ dailyApiLimit: 2 });
    expect((await api.get('/limits')).status).toBe(200);
    expect((await api.get('/limits')).status).toBe(200);
    const refused = await api.get('/limits');
    expect(refused.status).toBe(403);
    expect(refused.body).toEqual(LIMIT_EXCEEDED);
    expect(refused.headers.get('sforce-limit-info')).toBe('api-usage=2/2');
    expect((await Api.connect(sf)).token).toMatch(/^00D/);
    expect(sf.stats().apiUsed).toBe(2);
  });

  it('refuses for a number of requests, then recovers', async () => {
    sf.faults.requestLimitExceeded({ forRequests: 2 });
    expect((await api.get('/limits')).status).toBe(403);
    expect((await api.get('/limits')).status).toBe(403);
    expect((await api.get('/limits')).status).toBe(200);
  });

  it('refuses for a time window, then recovers', async () => {
    sf.faults.requestLimitExceeded({ forMs: 150 });
    expect((await api.get('/limits')).body).toEqual(LIMIT_EXCEEDED);
    await sleep(200);
    expect((await api.get('/limits')).status).toBe(200);
  });
});

describe('concurrency and latency', () => {
  it('answers ConcurrentPerOrgLongTxn above the concurrency cap', async () => {
    sf.configure({ maxConcurrent: 1, latencyMs: 100 });
    const replies = await Promise.all([api.get('/limits'), api.get('/limits'), api.get('/limits')]);
    const statuses = replies.map((r) => r.status).sort();
    expect(statuses).toEqual([200, 403, 403]);
    const refused = replies.find((r) => r.status === 403)!;
    expect(refused.body).toEqual([
      { message: 'ConcurrentPerOrgLongTxn Limit exceeded.', errorCode: 'REQUEST_LIMIT_EXCEEDED' },
    ]);
  });

  it('delays every request by latencyMs, on a timer', async () => {
    sf.configure({ latencyMs: 120 });
    const start = performance.now();
    await api.get('/limits');
    // A lower bound only: a loaded machine can make a call slower, never faster.
    expect(performance.now() - start).toBeGreaterThanOrEqual(115);
    expect(sf.stats().latencyTotalMs).toBe(120);
    sf.configure({ latencyMs: 0 });
    await api.get('/limits');
    expect(sf.stats().latencyTotalMs).toBe(120);
  });

  it('draws jitter from a seeded PRNG: the same seed gives the same sequence', () => {
    const a = prng(42);
    const b = prng(42);
    const c = prng(7);
    const seqA = Array.from({ length: 5 }, () => a());
    expect(Array.from({ length: 5 }, () => b())).toEqual(seqA);
    expect(Array.from({ length: 5 }, () => c())).not.toEqual(seqA);
    for (const x of seqA) expect(x >= 0 && x < 1).toBe(true);
  });
});

describe('tokens', () => {
  it('expireTokensNow invalidates every current access token; a refresh gets a working one', async () => {
    sf.faults.expireTokensNow();
    const reply = await api.get('/limits');
    expect(reply.status).toBe(401);
    expect(reply.body).toEqual([{ message: 'Session expired or invalid', errorCode: 'INVALID_SESSION_ID' }]);
    api.token = (await Api.connect(sf)).token;
    expect((await api.get('/limits')).status).toBe(200);
  });

  it('expireTokensAfter(n) lets n calls through, then expires the tokens', async () => {
    sf.faults.expireTokensAfter(2);
    expect((await api.get('/limits')).status).toBe(200);
    expect((await api.get('/limits')).status).toBe(200);
    expect((await api.get('/limits')).status).toBe(401);
  });
});

describe('failNext and dropNext', () => {
  it("'before' answers the error without applying the request, with the given headers", async () => {
    sf.faults.failNext({ status: 503, headers: { 'Retry-After': '2' } });
    const reply = await api.post('/sobjects/Contact', { LastName: 'x' });
    expect(reply.status).toBe(503);
    expect(reply.headers.get('retry-after')).toBe('2');
    expect(reply.body[0].errorCode).toBe('SERVER_UNAVAILABLE');
    expect(sf.count('Contact')).toBe(0);
    expect((await api.post('/sobjects/Contact', { LastName: 'x' })).status).toBe(201);
  });

  it("'after' applies the request and answers the error (a lost response)", async () => {
    sf.faults.failNext({
      status: 500,
      when: 'after',
      body: [{ message: 'boom', errorCode: 'UNKNOWN_EXCEPTION' }],
    });
    const reply = await api.post('/sobjects/Contact', { LastName: 'x' });
    expect(reply.status).toBe(500);
    expect(reply.body).toEqual([{ message: 'boom', errorCode: 'UNKNOWN_EXCEPTION' }]);
    expect(sf.count('Contact')).toBe(1);
  });

  it('matches by kind, method and path, and counts', async () => {
    sf.faults.failNext({
      status: 502,
      count: 2,
      match: { kind: 'composite', method: 'POST', pathIncludes: '/composite' },
    });
    expect((await api.get('/limits')).status).toBe(200);
    const body = {
      compositeRequest: [{ method: 'GET', url: '/services/data/v61.0/limits', referenceId: 'r' }],
    };
    expect((await api.post('/composite', body)).status).toBe(502);
    expect((await api.post('/composite', body)).status).toBe(502);
    expect((await api.post('/composite', body)).status).toBe(200);
  });

  it("dropNext 'before' destroys the connection and nothing is written", async () => {
    sf.faults.dropNext({ match: { kind: 'collections' } });
    await expect(
      api.post('/composite/sobjects', { records: [rec('Contact', { LastName: 'x' })] }),
    ).rejects.toThrow();
    expect(sf.count('Contact')).toBe(0);
  });

  it("dropNext 'after' writes, then destroys the connection without answering", async () => {
    sf.faults.dropNext({ when: 'after', match: { kind: 'collections' } });
    await expect(
      api.post('/composite/sobjects', { records: [rec('Contact', { LastName: 'x' })] }),
    ).rejects.toThrow();
    expect(sf.count('Contact')).toBe(1);
  });
});

describe('lockRows', () => {
  it('answers UNABLE_TO_LOCK_ROW for the chosen ids a number of times, then succeeds', async () => {
    const [id] = sf.seed('Contact', [{ LastName: 'A' }]);
    sf.faults.lockRows({ object: 'Contact', ids: [id!], times: 2 });
    const expected = {
      success: false,
      errors: [
        {
          statusCode: 'UNABLE_TO_LOCK_ROW',
          message: `unable to obtain exclusive access to this record or 1 records: ${id}`,
          fields: [],
        },
      ],
    };
    for (let i = 0; i < 2; i++) {
      const reply = await api.patch('/composite/sobjects', { records: [rec('Contact', { id, Title: 'x' })] });
      expect(reply.body[0]).toEqual({ id, ...expected });
    }
    const third = await api.patch('/composite/sobjects', { records: [rec('Contact', { id, Title: 'x' })] });
    expect(third.body[0].success).toBe(true);
  });

  it('locks records matched by a field value during an upsert', async () => {
    sf.seed('Contact', [
      { LastName: 'A', External_ID__c: 'L-1' },
      { LastName: 'B', External_ID__c: 'L-2' },
    ]);
    sf.faults.lockRows({ object: 'Contact', match: { field: 'External_ID__c', values: ['L-2'] } });
    const reply = await api.patch('/composite/sobjects/Contact/External_ID__c', {
      records: [
        rec('Contact', { External_ID__c: 'L-1', Title: 't' }),
        rec('Contact', { External_ID__c: 'L-2', Title: 't' }),
      ],
    });
    expect(reply.body[0].success).toBe(true);
    expect(reply.body[1].errors[0].statusCode).toBe('UNABLE_TO_LOCK_ROW');
    const retry = await api.patch('/composite/sobjects/Contact/External_ID__c', {
      records: [rec('Contact', { External_ID__c: 'L-2', Title: 't' })],
    });
    expect(retry.body[0].success).toBe(true);
  });
});

describe('statistics', () => {
  it('counts every request by kind', async () => {
    await api.get('/sobjects/Contact/describe');
    await api.query('SELECT Id FROM Contact');
    await api.post('/sobjects/Contact', { LastName: 'x' });
    await send(`${sf.url}/services/data/`);
    const stats = sf.stats();
    expect(stats.byKind).toMatchObject({ oauth: 1, describe: 1, query: 1, sobject: 1, versions: 1 });
    expect(stats.apiRequests).toBe(5);
    expect(stats.apiUsed).toBe(3);
    expect(stats.cpuUserMicros).toBeGreaterThan(0);
    sf.resetStats();
    expect(sf.stats()).toMatchObject({ apiRequests: 0, byKind: {}, apiUsed: 0 });
  });
});

describe('admin endpoint /__emulator/', () => {
  const admin = (method: string, path: string, body?: unknown) =>
    send(`${sf.url}/__emulator/${path}`, { method, body });

  it('seeds, counts, lists records, and is neither counted nor authenticated', async () => {
    const seeded = await admin('POST', 'seed/Contact', [{ LastName: 'A' }, { LastName: 'B' }]);
    expect(seeded.status).toBe(200);
    expect(seeded.body.ids).toHaveLength(2);
    expect((await admin('GET', 'count/Contact')).body).toEqual({ count: 2 });
    const page = await admin('GET', 'records/Contact?limit=1&offset=1');
    expect(page.body.totalSize).toBe(2);
    expect(page.body.records).toHaveLength(1);
    expect(page.body.records[0].LastName).toBe('B');
    const stats = await admin('GET', 'stats');
    expect(stats.body.apiRequests).toBe(1);
  });

  it('configures, sets faults, resets stats and resets data', async () => {
    expect((await admin('POST', 'configure', { dailyApiLimit: 1 })).body.dailyApiLimit).toBe(1);
    expect((await admin('POST', 'configure', { noSuchSetting: 1 })).status).toBe(400);
    await admin('POST', 'configure', { dailyApiLimit: 100 });
    expect((await admin('POST', 'faults', { failNext: { status: 500 } })).status).toBe(204);
    expect((await api.get('/limits')).status).toBe(500);
    await admin('POST', 'faults', { apiUsed: 100 });
    expect((await api.get('/limits')).status).toBe(403);
    await admin('POST', 'reset-stats');
    expect((await api.get('/limits')).status).toBe(200);
    sf.seed('Contact', [{ LastName: 'A' }]);
    expect((await admin('POST', 'reset')).status).toBe(204);
    expect(sf.count('Contact')).toBe(0);
    expect((await admin('POST', 'faults', { nonsense: true })).status).toBe(400);
  });
});
