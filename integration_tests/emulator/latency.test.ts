/**
 * The latency model (README "Latency model"): latency = base + per-record cost × records, Composite
 * subrequests adding up, the long-running limit (reference §5.3), the server's call limit, lock
 * contention, and held and stalled requests. Every test counts (requests, calls in flight, results,
 * the latency the model assigned); none measures how long something took.
 */
import { beforeEach, describe, expect, it } from '@jest/globals';
import { request } from 'node:http';
import { contentionChance, modelLatencyMs, writeCost } from './latency.js';
import { defaultSettings } from './server.js';
import { Api, rec, send, until, useEmulator } from './test-support.js';
import type { Emulator, EmulatorSettings } from './types.js';

let sf: Emulator;
let api: Api;
const V = '/services/data/v61.0';

useEmulator((emulator, client) => {
  sf = emulator;
  api = client;
});

beforeEach(async () => {
  sf.reset();
  sf.faults.releaseHeld();
  sf.configure(defaultSettings());
  sf.resetStats();
  api.token = (await Api.connect(sf)).token;
});

const LONG_TXN = [
  { message: 'ConcurrentPerOrgLongTxn Limit exceeded.', errorCode: 'REQUEST_LIMIT_EXCEEDED' },
];
const CALL_LIMIT = [{ message: 'Your query request was running for too long.', errorCode: 'QUERY_TIMEOUT' }];

/** `n` Contacts keyed by External_ID__c `${prefix}-i`. */
function contacts(prefix: string, n: number, lastName = 'L'): Array<Record<string, unknown>> {
  return Array.from({ length: n }, (_, i) =>
    rec('Contact', { External_ID__c: `${prefix}-${i}`, LastName: lastName }),
  );
}

function upsert(records: Array<Record<string, unknown>>, signal?: AbortSignal) {
  return api.call(
    'PATCH',
    '/composite/sobjects/Contact/External_ID__c',
    { allOrNone: false, records },
    undefined,
    signal,
  );
}

function compositeUpsert(records: Array<Record<string, unknown>>, signal?: AbortSignal) {
  const body = {
    allOrNone: false,
    compositeRequest: [
      {
        method: 'PATCH',
        url: `${V}/composite/sobjects/Contact/External_ID__c`,
        referenceId: 'rows',
        body: { allOrNone: false, records },
      },
    ],
  };
  return api.call('POST', '/composite', body, undefined, signal);
}

const noObject = (): string | undefined => undefined;

describe('what a request costs', () => {
  const settings: EmulatorSettings = { ...defaultSettings(), latencyMs: 150, latencyPerRecordMs: 3 };

  it('a Composite of 5 collections of 200 records costs the base once plus 3 ms × 1,000 records', () => {
    const compositeRequest = Array.from({ length: 5 }, (_, i) => ({
      method: 'PATCH',
      url: `${V}/composite/sobjects/Contact/External_ID__c`,
      referenceId: `r${i}`,
      body: { records: contacts(`K${i}`, 200) },
    }));
    const cost = writeCost(
      { method: 'POST', segments: ['composite'], query: new URLSearchParams(), body: { compositeRequest } },
      noObject,
    );
    expect(cost.records).toBe(1000);
    expect([...cost.byObject]).toEqual([['contact', 1000]]);
    expect(modelLatencyMs(settings, cost.records)).toBe(3150);
  });

  it('counts 1 per single-record write, the ids of a delete by their object, nothing for reads and Bulk', () => {
    const cost = (method: string, path: string, body?: unknown): [number, Array<[string, number]>] => {
      const url = new URL(path, 'http://x');
      const c = writeCost(
        { method, segments: url.pathname.split('/').filter((x) => x !== ''), query: url.searchParams, body },
        (id) => (id.startsWith('001') ? 'Account' : undefined),
      );
      return [c.records, [...c.byObject]];
    };
    expect(cost('POST', '/sobjects/Case', { Subject: 's' })).toEqual([1, [['case', 1]]]);
    expect(cost('PATCH', '/sobjects/Contact/003000000000001AAA', {})).toEqual([1, [['contact', 1]]]);
    expect(cost('POST', '/sobjects/Contact/003000000000001AAA?_HttpMethod=PATCH', {})).toEqual([
      1,
      [['contact', 1]],
    ]);
    expect(cost('DELETE', '/sobjects/Lead/External_ID__c/L-1')).toEqual([1, [['lead', 1]]]);
    expect(cost('GET', '/sobjects/Contact/003000000000001AAA')).toEqual([0, []]);
    expect(cost('GET', '/sobjects/Contact/describe')).toEqual([0, []]);
    expect(cost('GET', '/query?q=SELECT+Id+FROM+Contact')).toEqual([0, []]);
    expect(cost('POST', '/jobs/ingest', { object: 'Contact', operation: 'insert' })).toEqual([0, []]);
    expect(
      cost('DELETE', '/composite/sobjects?ids=001000000000001AAA,001000000000002AAA,003000000000001AAA'),
    ).toEqual([3, [['account', 2]]]);
    expect(
      cost('POST', '/composite/sobjects', {
        records: [rec('Account', { Name: 'a' }), rec('Contact', { LastName: 'c' }), rec('Account', {})],
      }),
    ).toEqual([
      3,
      [
        ['account', 2],
        ['contact', 1],
      ],
    ]);
  });

  it('the server assigns base + per-record × records to each request, a Composite its subrequests summed', async () => {
    sf.configure({ latencyMs: 2, latencyPerRecordMs: 0.5 });
    expect((await upsert(contacts('A', 6))).status).toBe(200);
    expect(sf.stats().latencyTotalMs).toBe(2 + 3);
    sf.resetStats();
    const reply = await api.post('/composite', {
      compositeRequest: [
        {
          method: 'PATCH',
          url: `${V}/composite/sobjects/Contact/External_ID__c`,
          referenceId: 'first',
          body: { records: contacts('B', 4) },
        },
        {
          method: 'POST',
          url: `${V}/composite/sobjects`,
          referenceId: 'second',
          body: { records: [rec('Account', { Name: 'x' }), rec('Account', { Name: 'y' })] },
        },
        { method: 'POST', url: `${V}/sobjects/Case`, referenceId: 'third', body: { Subject: 's' } },
        { method: 'GET', url: `${V}/query?q=SELECT Id FROM Contact`, referenceId: 'read' },
      ],
    });
    expect(reply.status).toBe(200);
    expect(sf.stats().latencyTotalMs).toBe(2 + 0.5 * (4 + 2 + 1));
    sf.resetStats();
    expect((await api.get('/limits')).status).toBe(200);
    expect(sf.stats().latencyTotalMs).toBe(2);
  });

  it('counts the latency from arrival: time spent before the body was read is not added to it', async () => {
    sf.configure({ latencyMs: 300 });
    const body = JSON.stringify({ allOrNone: false, records: contacts('S', 2) });
    const url = new URL(`${sf.url}${V}/composite/sobjects/Contact/External_ID__c`);
    const answer = new Promise<number>((resolve, reject) => {
      const req = request(url, {
        method: 'PATCH',
        headers: {
          authorization: `Bearer ${api.token}`,
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
        },
      });
      req.on('response', (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
      req.write(body.slice(0, 10));
      // The rest of the body comes only once the request has been in flight for the whole latency,
      // read on the emulator's own clock (it runs in this process): a timer may fire a little early.
      void until(() => sf.stats().inFlight === 1)
        .then(() => {
          const seen = performance.now();
          return until(() => performance.now() - seen >= 300);
        })
        .then(() => req.end(body.slice(10)));
    });
    expect(await answer).toBe(200);
    const stats = sf.stats();
    expect(stats.latencyTotalMs).toBe(300);
    // At least 300 ms passed between arrival and the end of the body: nothing was left to wait.
    expect(stats.latencyWaitedMs).toBe(0);
    expect(sf.count('Contact')).toBe(2);
  });

  it('stats().longestRequestMs is at least the latency of the longest request, and resetStats zeroes it', async () => {
    sf.configure({ latencyMs: 40 });
    expect((await api.get('/limits')).status).toBe(200);
    // A timer may fire up to a millisecond early; the answer comes after it, never before.
    expect(sf.stats().longestRequestMs).toBeGreaterThanOrEqual(39);
    sf.resetStats();
    expect(sf.stats().longestRequestMs).toBe(0);
  });

  it('a request whose latency outlasts the server call limit gets 400 QUERY_TIMEOUT and is not applied', async () => {
    sf.configure({ latencyMs: 600_000, serverCallLimitMs: 100 });
    const reply = await upsert(contacts('T', 3));
    expect(reply.status).toBe(400);
    expect(reply.body).toEqual(CALL_LIMIT);
    sf.configure({ latencyMs: 0 });
    expect((await api.get('/limits')).status).toBe(200);
    expect(sf.count('Contact')).toBe(0);
  });

  it('refuses settings out of range, in-process and on the admin endpoint', async () => {
    expect(() => sf.configure({ lockContentionMax: 1.5 })).toThrow(
      'Emulator setting lockContentionMax must be a non-negative number up to 1',
    );
    expect(() => sf.configure({ maxLongRunning: 2.5 })).toThrow(
      'maxLongRunning must be a non-negative integer',
    );
    const reply = await send(`${sf.url}/__emulator/configure`, {
      method: 'POST',
      body: { latencyPerRecordMs: -1 },
    });
    expect(reply.status).toBe(400);
    expect(sf.settings().latencyPerRecordMs).toBe(0);
  });
});

describe('long-running requests (reference §5.3)', () => {
  it('refuses, metered, a request arriving while the maximum of long-running requests is in flight', async () => {
    sf.configure({ longRunningThresholdMs: 50, maxLongRunning: 2 });
    sf.faults.holdNext({ count: 2, match: { kind: 'limits' } });
    const held = [api.get('/limits'), api.get('/limits')];
    await until(() => sf.stats().held === 2);
    await until(() => sf.stats().longRunningInFlight === 2);
    const used = sf.stats().apiUsed;
    const refused = await api.get('/limits');
    expect(refused.status).toBe(403);
    expect(refused.body).toEqual(LONG_TXN);
    expect(refused.headers.get('sforce-limit-info')).toBe(`api-usage=${used + 1}/5000000`);
    expect(sf.stats().apiUsed).toBe(used + 1);
    expect(sf.stats().byKind.limits).toBe(3);
    expect(sf.faults.releaseHeld()).toBe(2);
    expect((await Promise.all(held)).map((r) => r.status)).toEqual([200, 200]);
    expect(sf.stats().inFlight).toBe(0);
    expect((await api.get('/limits')).status).toBe(200);
  });

  it('counts only requests past the threshold: young requests in flight, however many, do not count', async () => {
    sf.configure({ longRunningThresholdMs: 600_000, maxLongRunning: 2 });
    sf.faults.holdNext({ count: 3, match: { kind: 'limits' } });
    const held = [api.get('/limits'), api.get('/limits'), api.get('/limits')];
    await until(() => sf.stats().held === 3);
    expect(sf.stats()).toMatchObject({ inFlight: 3, longRunningInFlight: 0 });
    expect((await api.query('SELECT Id FROM Contact')).status).toBe(200);
    sf.faults.releaseHeld();
    await Promise.all(held);
  });

  it('lets a request in while fewer than the maximum are long-running', async () => {
    sf.configure({ longRunningThresholdMs: 50, maxLongRunning: 2 });
    sf.faults.holdNext({ count: 1, match: { kind: 'limits' } });
    const held = api.get('/limits');
    await until(() => sf.stats().longRunningInFlight === 1);
    expect((await api.query('SELECT Id FROM Contact')).status).toBe(200);
    sf.faults.releaseHeld();
    expect((await held).status).toBe(200);
  });

  it('the maxConcurrent cap, unlike it, refuses by the number in flight alone and is not metered', async () => {
    sf.configure({ maxConcurrent: 2 });
    sf.faults.holdNext({ count: 2, match: { kind: 'limits' } });
    const held = [api.get('/limits'), api.get('/limits')];
    await until(() => sf.stats().held === 2);
    const used = sf.stats().apiUsed;
    const refused = await api.query('SELECT Id FROM Contact');
    expect(refused.status).toBe(403);
    expect(refused.body).toEqual(LONG_TXN);
    expect(sf.stats().apiUsed).toBe(used);
    sf.faults.releaseHeld();
    await Promise.all(held);
  });

  it('a held request past the server call limit is answered 400 QUERY_TIMEOUT and not applied', async () => {
    sf.configure({ serverCallLimitMs: 100 });
    sf.faults.holdNext({ match: { kind: 'collections' } });
    const reply = await upsert(contacts('H', 2));
    expect(reply.status).toBe(400);
    expect(reply.body).toEqual(CALL_LIMIT);
    expect(sf.stats().held).toBe(0);
    expect(sf.count('Contact')).toBe(0);
  });
});

describe('lock contention', () => {
  /** Hold `calls` upserts of `size` Contacts each, let them go together, and return their results. */
  async function together(calls: number, size: number): Promise<Array<Array<Record<string, any>>>> {
    sf.faults.holdNext({ count: calls, match: { kind: 'collections' } });
    const replies = Array.from({ length: calls }, (_, c) => upsert(contacts(`W${c}`, size)));
    await until(() => sf.stats().held === calls);
    sf.faults.releaseHeld();
    return (await Promise.all(replies)).map((r) => {
      expect(r.status).toBe(200);
      return r.body as Array<Record<string, any>>;
    });
  }

  const locked = (results: Array<Record<string, any>>): number =>
    results.filter((r) => r.errors[0]?.statusCode === 'UNABLE_TO_LOCK_ROW').length;

  it('is off by default: 16 calls writing Contacts at once all succeed', async () => {
    const results = await together(16, 20);
    expect(results.flat().every((r) => r.success === true)).toBe(true);
  });

  it('fails records with probability min(max, k × (writers − 1)): each call sees the writers still in flight', async () => {
    // k = 1: every record of a call fails while another call writing Contacts is in flight.
    sf.configure({ lockContention: true, lockContentionPerWriter: 1, lockContentionMax: 1 });
    const results = await together(3, 5);
    // Let go together, the calls finish one by one: the first two see 3 and 2 writers, the last 1.
    expect(results.map(locked).sort()).toEqual([0, 5, 5]);
    const failure = results.flat().find((r) => r.success === false)!;
    expect(failure).toEqual({
      success: false,
      errors: [
        {
          statusCode: 'UNABLE_TO_LOCK_ROW',
          // A new Contact without a parent waits for its owner's row.
          message: `unable to obtain exclusive access to this record or 1 records: ${String(sf.records('User')[0]!.Id)}`,
          fields: [],
        },
      ],
    });
    expect(sf.count('Contact')).toBe(5);
  });

  it('names the record itself for an update, and counts only calls writing the same object', async () => {
    sf.configure({ lockContention: true, lockContentionPerWriter: 1, lockContentionMax: 1 });
    const ids = sf.seed('Contact', [{ LastName: 'One' }, { LastName: 'Two' }]);
    sf.faults.holdNext({ count: 2 });
    const account = api.post('/sobjects/Account', { Name: 'elsewhere' });
    const contact = api.patch(`/sobjects/Contact/${ids[0]}`, { LastName: 'Changed' });
    await until(() => sf.stats().held === 2);
    sf.faults.releaseHeld();
    expect((await account).status).toBe(201);
    expect((await contact).status).toBe(204);

    sf.faults.holdNext({ count: 2 });
    const replies = ids.map((id) => api.patch(`/sobjects/Contact/${id}`, { LastName: 'Again' }));
    await until(() => sf.stats().held === 2);
    sf.faults.releaseHeld();
    const [a, b] = await Promise.all(replies);
    expect([a!.status, b!.status].sort()).toEqual([204, 400]);
    const [refused, id] = a!.status === 400 ? [a!, ids[0]] : [b!, ids[1]];
    expect(refused.body).toEqual([
      {
        errorCode: 'UNABLE_TO_LOCK_ROW',
        message: `unable to obtain exclusive access to this record or 1 records: ${id}`,
        fields: [],
      },
    ]);
  });

  it('with the defaults, 2 calls in flight see few failures and 16 many; the same seed, the same count', async () => {
    sf.configure({ lockContention: true });
    const two = (await together(2, 200)).map(locked);
    sf.reset();
    sf.configure({ lockContentionSeed: 1 });
    const sixteen = (await together(16, 200)).map(locked);
    const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);
    // Expected: 200 × 0.02 = 4 of 400; Σ 200 × min(0.5, 0.02 × w) for w = 0..15 = 480 of 3,200.
    expect(sum(two)).toBeLessThanOrEqual(15);
    expect(sum(sixteen)).toBeGreaterThanOrEqual(350);
    expect(sum(sixteen)).toBeLessThanOrEqual(620);
    sf.reset();
    sf.configure({ lockContentionSeed: 1 });
    expect(sum((await together(16, 200)).map(locked))).toBe(sum(sixteen));
  });

  it('counts every UNABLE_TO_LOCK_ROW it gives in stats().lockErrors, the lockRows fault too, until resetStats', async () => {
    sf.configure({ lockContention: true, lockContentionPerWriter: 1, lockContentionMax: 1 });
    const results = await together(3, 5);
    expect(sf.stats().lockErrors).toBe(results.map(locked).reduce((a, b) => a + b, 0));
    expect(sf.stats().lockErrors).toBe(10);
    sf.resetStats();
    expect(sf.stats().lockErrors).toBe(0);
    sf.configure({ lockContention: false });
    const [id] = sf.seed('Contact', [{ LastName: 'Locked' }]);
    sf.faults.lockRows({ object: 'Contact', ids: [id!], times: 2 });
    expect((await api.patch(`/sobjects/Contact/${id}`, { LastName: 'A' })).status).toBe(400);
    expect((await api.patch(`/sobjects/Contact/${id}`, { LastName: 'B' })).status).toBe(400);
    expect((await api.patch(`/sobjects/Contact/${id}`, { LastName: 'C' })).status).toBe(204);
    expect(sf.stats().lockErrors).toBe(2);
  });

  it('documents its curve: none alone, 2% for two writers, capped at 50%', () => {
    const s = { ...defaultSettings(), lockContention: true };
    expect([1, 2, 4, 8, 16, 40].map((w) => Number(contentionChance(s, w).toFixed(2)))).toEqual([
      0, 0.02, 0.06, 0.14, 0.3, 0.5,
    ]);
    expect(contentionChance(defaultSettings(), 16)).toBe(0);
  });
});

describe('stalled requests (a client that timed out, a server that carried on)', () => {
  it('a composite upsert whose client has gone lands after N later requests and overwrites what they wrote', async () => {
    sf.faults.stallNext({ match: { kind: 'composite' }, applyAfterRequests: 2 });
    const client = new AbortController();
    const original = compositeUpsert(contacts('K', 3, 'Original'), client.signal);
    await until(() => sf.stats().stalled.waiting === 1);
    client.abort();
    await expect(original).rejects.toThrow();
    await until(() => sf.stats().stalled.clientGone === 1);
    // The re-sent call and a later one (other rows for the same keys) are answered and applied…
    expect((await compositeUpsert(contacts('K', 3, 'Resent'))).status).toBe(200);
    expect((await upsert(contacts('K', 3, 'Later'))).status).toBe(200);
    // …and then the original lands, last.
    await until(() => sf.stats().stalled.applied === 1);
    expect(sf.records('Contact').map((r) => r.LastName)).toEqual(['Original', 'Original', 'Original']);
    expect(sf.stats()).toMatchObject({ inFlight: 0, stalled: { waiting: 0, clientGone: 0, rolledBack: 0 } });
    expect(sf.stats().byKind.composite).toBe(2);
  });

  it('is not applied before N further requests are answered, counting from the moment its client went', async () => {
    sf.faults.stallNext({ match: { kind: 'collections' }, applyAfterRequests: 2 });
    const client = new AbortController();
    const original = upsert(contacts('N', 1, 'Original'), client.signal);
    await until(() => sf.stats().stalled.waiting === 1);
    await api.get('/limits'); // answered while the client still waits: does not count
    client.abort();
    await expect(original).rejects.toThrow();
    await until(() => sf.stats().stalled.clientGone === 1);
    await api.get('/limits');
    expect(sf.count('Contact')).toBe(0);
    await api.get('/limits');
    await until(() => sf.stats().stalled.applied === 1);
    expect(sf.records('Contact')[0]!.LastName).toBe('Original');
  });

  it('one whose client has gone but which is past the server call limit is rolled back and never applied', async () => {
    sf.configure({ serverCallLimitMs: 200 });
    sf.faults.stallNext({ match: { kind: 'composite' }, applyAfterRequests: 1 });
    const client = new AbortController();
    const original = compositeUpsert(contacts('R', 2, 'Original'), client.signal);
    await until(() => sf.stats().stalled.waiting === 1);
    client.abort();
    await expect(original).rejects.toThrow();
    await until(() => sf.stats().stalled.rolledBack === 1);
    for (let i = 0; i < 3; i++) expect((await api.get('/limits')).status).toBe(200);
    expect(sf.count('Contact')).toBe(0);
    expect(sf.stats().stalled).toEqual({ waiting: 0, clientGone: 0, applied: 0, rolledBack: 1 });
  });

  it('a client still waiting at the server call limit gets 400 QUERY_TIMEOUT; nothing is written', async () => {
    sf.configure({ serverCallLimitMs: 150 });
    sf.faults.stallNext({ match: { kind: 'composite' }, applyAfterRequests: 0 });
    const reply = await compositeUpsert(contacts('Q', 2));
    expect(reply.status).toBe(400);
    expect(reply.body).toEqual(CALL_LIMIT);
    expect((await api.get('/limits')).status).toBe(200);
    expect(sf.count('Contact')).toBe(0);
    expect(sf.stats().stalled.rolledBack).toBe(1);
  });

  it('is set, held and released over the admin endpoint too', async () => {
    const faults = (body: unknown) => send(`${sf.url}/__emulator/faults`, { method: 'POST', body });
    expect(
      (await faults({ stallNext: { match: { kind: 'collections' }, applyAfterRequests: 0 } })).status,
    ).toBe(204);
    const client = new AbortController();
    const stalled = upsert(contacts('X', 1, 'Stalled'), client.signal);
    await until(() => sf.stats().stalled.waiting === 1);
    client.abort();
    await expect(stalled).rejects.toThrow();
    await until(() => sf.stats().stalled.applied === 1);
    expect(sf.records('Contact')[0]!.LastName).toBe('Stalled');

    expect((await faults({ holdNext: { match: { kind: 'limits' } } })).status).toBe(204);
    const held = api.get('/limits');
    await until(() => sf.stats().held === 1);
    expect((await faults({ releaseHeld: true })).status).toBe(204);
    expect((await held).status).toBe(200);
    expect((await faults({ stallNext: { applyAfterRequests: -1 } })).status).toBe(400);
  });
});
