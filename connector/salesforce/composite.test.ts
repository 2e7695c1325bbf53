import { describe, expect, it } from '@jest/globals';
import nock from 'nock';
import { attributesKey, ByteArena, standalone, textOf } from '../load/arena.js';
import { sendComposite, type RecordBytes } from './composite.js';
import { INSTANCE, testClient, tokenOnce } from './test-client.js';

interface SentBody {
  allOrNone: boolean;
  compositeRequest: Array<{
    method: string;
    url: string;
    referenceId: string;
    body?: { allOrNone: boolean; records: Array<Record<string, unknown>> };
  }>;
}

/** Answers one Composite call with `reply`, and keeps the body it was sent. */
function captureComposite(reply: object): { body?: SentBody } {
  const seen: { body?: SentBody } = {};
  tokenOnce();
  nock(INSTANCE)
    .post('/services/data/v61.0/composite', (body: SentBody) => {
      seen.body = body;
      return true;
    })
    .reply(200, reply);
  return seen;
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
    const seen = captureComposite({
      compositeResponse: [
        { referenceId: 'c0', httpStatusCode: 200, body: first.map(() => ({ success: true, errors: [] })) },
        { referenceId: 'c1', httpStatusCode: 200, body: second.map(() => ({ success: true, errors: [] })) },
      ],
    });
    const answer = await sendComposite(
      testClient({ maxConcurrent: 1 }),
      [
        { kind: 'upsert', object: 'Contact', externalIdField: 'External_ID__c', records: first },
        { kind: 'upsert', object: 'Contact', externalIdField: 'External_ID__c', records: second },
      ],
      [],
      { idempotent: true },
    );
    expect(answer.collections.map((c) => c.ok)).toEqual([true, true]);
    expect(seen.body!.compositeRequest.map((s) => s.body!.records)).toEqual([
      first.map((r) => JSON.parse(textOf(r)) as unknown),
      second.map((r) => JSON.parse(textOf(r)) as unknown),
    ]);
    expect(seen.body!.compositeRequest[0]!.url).toBe(
      '/services/data/v61.0/composite/sobjects/Contact/External_ID__c',
    );
    expect(seen.body!.compositeRequest[1]!.body!.records[1]).toEqual({
      External_ID__c: 'X-1',
      attributes: { type: 'Contact' },
    });
  });

  it('sends an empty collection as an empty records array, and singles after the collections', async () => {
    const seen = captureComposite({
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
      testClient({ maxConcurrent: 1 }),
      [{ kind: 'create', records: [] }],
      [{ kind: 'create', object: 'Contact', body: '{"LastName":"Alone"}' }],
      { idempotent: false },
    );
    expect(seen.body!.compositeRequest.map((s) => s.referenceId)).toEqual(['c0', 's0']);
    expect(seen.body!.compositeRequest[0]!.body!.records).toEqual([]);
    expect(seen.body!.compositeRequest[1]!.body).toEqual({ LastName: 'Alone' });
    expect(answer.singles[0]!.success).toBe(true);
  });
});
