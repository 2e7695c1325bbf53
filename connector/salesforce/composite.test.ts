import { describe, expect, it } from '@jest/globals';
import got from 'got';
import nock from 'nock';
import { attributesKey, ByteArena, standalone, textOf } from '../load/arena.js';
import { TokenManager } from './auth.js';
import { sendComposite, type RecordBytes } from './composite.js';
import { SalesforceHttp } from './http.js';

const LOGIN = 'https://login.salesforce.com';
const INSTANCE = 'https://acme.my.salesforce.com';

function client(): SalesforceHttp {
  const tokens = new TokenManager({
    loginUrl: LOGIN,
    credentials: { authType: 'oauth2_refresh_token', clientId: 'cid', refreshToken: 'rt' },
    jwtAudience: LOGIN,
    http: got,
  });
  return new SalesforceHttp({
    tokens,
    apiVersion: 'v61.0',
    got,
    maxConcurrent: 1,
    timeoutMs: 5000,
    rateLimitMaxWaitMs: 0,
  });
}

interface SentBody {
  allOrNone: boolean;
  compositeRequest: Array<{
    method: string;
    url: string;
    referenceId: string;
    body?: { allOrNone: boolean; records: Array<Record<string, unknown>> };
  }>;
}

describe('sendComposite assembles its body from record bytes', () => {
  it('sends every record once, in order, whether adjacent in a chunk, apart, in other chunks or standalone', async () => {
    const arena = new ByteArena(600);
    const key = attributesKey('Contact');
    const records: RecordBytes[] = [];
    for (let i = 0; i < 12; i += 1) {
      arena.append(JSON.stringify({ External_ID__c: `C-${i}`, LastName: `Naïve ${i}` }), key);
      records.push({ chunk: arena.chunk, start: arena.start, end: arena.end });
    }
    // Records 0-5 share one chunk and 6-11 another. Out of order, with gaps, across chunks, plus one
    // record that lives alone.
    expect(records[3]!.chunk).toBe(records[5]!.chunk);
    expect(records[5]!.chunk).not.toBe(records[11]!.chunk);
    const first = [records[0]!, records[1]!, records[2]!, records[4]!, records[5]!, records[11]!];
    const second = [
      records[7]!,
      standalone('{"External_ID__c":"X-1","attributes":{"type":"Contact"}}'),
      records[3]!,
    ];
    let sent: SentBody | undefined;
    nock(LOGIN)
      .post('/services/oauth2/token')
      .reply(200, { access_token: 'tok', instance_url: INSTANCE, id: 'x', issued_at: '1' });
    nock(INSTANCE)
      .post('/services/data/v61.0/composite', (body: SentBody) => {
        sent = body;
        return true;
      })
      .reply(200, {
        compositeResponse: [
          { referenceId: 'c0', httpStatusCode: 200, body: first.map(() => ({ success: true, errors: [] })) },
          { referenceId: 'c1', httpStatusCode: 200, body: second.map(() => ({ success: true, errors: [] })) },
        ],
      });
    const answer = await sendComposite(
      client(),
      [
        { kind: 'upsert', object: 'Contact', externalIdField: 'External_ID__c', records: first },
        { kind: 'upsert', object: 'Contact', externalIdField: 'External_ID__c', records: second },
      ],
      [],
      { idempotent: true },
    );
    expect(answer.collections.map((c) => c.ok)).toEqual([true, true]);
    expect(sent!.compositeRequest.map((s) => s.body!.records)).toEqual([
      first.map((r) => JSON.parse(textOf(r)) as unknown),
      second.map((r) => JSON.parse(textOf(r)) as unknown),
    ]);
    expect(sent!.compositeRequest[0]!.url).toBe(
      '/services/data/v61.0/composite/sobjects/Contact/External_ID__c',
    );
    expect(sent!.compositeRequest[1]!.body!.records[1]).toEqual({
      External_ID__c: 'X-1',
      attributes: { type: 'Contact' },
    });
  });

  it('sends an empty collection as an empty records array, and singles after the collections', async () => {
    let sent: SentBody | undefined;
    nock(LOGIN)
      .post('/services/oauth2/token')
      .reply(200, { access_token: 'tok', instance_url: INSTANCE, id: 'x', issued_at: '1' });
    nock(INSTANCE)
      .post('/services/data/v61.0/composite', (body: SentBody) => {
        sent = body;
        return true;
      })
      .reply(200, {
        compositeResponse: [
          { referenceId: 'c0', httpStatusCode: 200, body: [] },
          {
            referenceId: 's0',
            httpStatusCode: 201,
            body: { id: '003000000000001AAA', success: true, errors: [] },
          },
        ],
      });
    const answer = await sendComposite(
      client(),
      [{ kind: 'create', records: [] }],
      [{ kind: 'create', object: 'Contact', body: '{"LastName":"Alone"}' }],
      { idempotent: false },
    );
    expect(sent!.compositeRequest.map((s) => s.referenceId)).toEqual(['c0', 's0']);
    expect(sent!.compositeRequest[0]!.body!.records).toEqual([]);
    expect(sent!.compositeRequest[1]!.body).toEqual({ LastName: 'Alone' });
    expect(answer.singles[0]!.success).toBe(true);
  });
});
