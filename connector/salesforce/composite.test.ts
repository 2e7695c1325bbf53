import { describe, expect, it } from '@jest/globals';
import nock from 'nock';
import { attributesKey, ByteArena, standalone, textOf } from '../load/arena.js';
import { sendComposite, type CollectionRequest, type RecordBytes, type SingleRequest } from './composite.js';
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

describe('sendComposite reads an answer the same whether every record saved or not', () => {
  const ID = (i: number): string => `003000000000${String(i).padStart(3, '0')}AAA`;
  const key = attributesKey('Contact');

  /** Two collections of 3 records and one single (upserts, or creates), answered with `reply` (a body text). */
  async function answerTo(reply: string, upsert = true): Promise<Awaited<ReturnType<typeof sendComposite>>> {
    const arena = new ByteArena(600);
    const records: RecordBytes[] = [];
    for (let i = 0; i < 6; i += 1) {
      arena.append(JSON.stringify({ External_ID__c: `C-${i}` }), key);
      records.push({ chunk: arena.chunk, start: arena.start, end: arena.end });
    }
    tokenOnce();
    nock(INSTANCE)
      .post('/services/data/v61.0/composite')
      .reply(200, reply, { 'content-type': 'application/json' });
    const collection = (part: RecordBytes[]): CollectionRequest =>
      upsert
        ? { kind: 'upsert', object: 'Contact', externalIdField: 'External_ID__c', records: part }
        : { kind: 'create', records: part };
    const single: SingleRequest = upsert
      ? { kind: 'upsert', object: 'Contact', externalIdField: 'External_ID__c', value: 'C-9', body: '{}' }
      : { kind: 'create', object: 'Contact', body: '{}' };
    return sendComposite(
      testClient({ maxConcurrent: 1 }),
      [collection(records.slice(0, 3)), collection(records.slice(3))],
      [single],
      { idempotent: upsert },
    );
  }

  const saved = (i: number, created: boolean): object => ({ id: ID(i), success: true, errors: [], created });
  const answer = (first: object[], second: object[], secondStatus = 200): object => ({
    compositeResponse: [
      { body: first, httpHeaders: {}, httpStatusCode: 200, referenceId: 'c0' },
      { body: second, httpHeaders: {}, httpStatusCode: secondStatus, referenceId: 'c1' },
      { body: saved(9, true), httpHeaders: {}, httpStatusCode: 201, referenceId: 's0' },
    ],
  });
  const allSaved = answer(
    [saved(0, true), saved(1, false), saved(2, true)],
    [saved(3, false), saved(4, true), saved(5, true)],
  );
  const createdOf = (a: Awaited<ReturnType<typeof sendComposite>>): unknown[] => [
    ...a.collections.flatMap((c): unknown[] => (c.ok ? c.results.map((r) => r.created) : [c.status])),
    ...a.singles.map((s) => s.created),
  ];

  it('every record saved (compact, as Salesforce writes it): created or updated, in order, without parsing', async () => {
    const a = await answerTo(JSON.stringify(allSaved));
    expect(createdOf(a)).toEqual([true, false, true, false, true, true, true]);
    // The results are the shared ones of the fast path, not objects parsed from the text.
    expect(a.collections.every((c) => c.ok && c.results.every((r) => Object.isFrozen(r)))).toBe(true);
  });

  it('the same answer spaced out is parsed in full, with the same outcome', async () => {
    const a = await answerTo(JSON.stringify(allSaved, null, 1));
    expect(createdOf(a)).toEqual([true, false, true, false, true, true, true]);
    expect(a.collections.some((c) => c.ok && c.results.some((r) => Object.isFrozen(r)))).toBe(false);
  });

  it('one record refused: its own error, and the others saved', async () => {
    const refused = {
      success: false,
      errors: [
        {
          statusCode: 'REQUIRED_FIELD_MISSING',
          message: 'Required fields are missing: [LastName]',
          fields: ['LastName'],
        },
      ],
    };
    const a = await answerTo(
      JSON.stringify(
        answer([saved(0, true), refused, saved(2, true)], [saved(3, false), saved(4, true), saved(5, true)]),
      ),
    );
    const first = a.collections[0]!;
    expect(first.ok && first.results.map((r) => r.success)).toEqual([true, false, true]);
    expect(first.ok && first.results[1]!.errors[0]!.statusCode).toBe('REQUIRED_FIELD_MISSING');
    expect(createdOf(a)).toEqual([true, undefined, true, false, true, true, true]);
  });

  it('a record marked failed is not read as saved, even with no error text', async () => {
    const bare = { id: ID(1), success: false, errors: [] };
    const a = await answerTo(
      JSON.stringify(
        answer([saved(0, true), bare, saved(2, true)], [saved(3, false), saved(4, true), saved(5, true)]),
      ),
      false,
    );
    const first = a.collections[0]!;
    expect(first.ok && first.results.map((r) => r.success)).toEqual([true, false, true]);
  });

  it('a subrequest answered with an error status is not read as saved', async () => {
    const error = [
      { errorCode: 'INVALID_FIELD', message: "No such column 'Foo__c' on sobject of type Contact" },
    ];
    const a = await answerTo(
      JSON.stringify(answer([saved(0, true), saved(1, false), saved(2, true)], error, 400)),
    );
    expect(a.collections[0]!.ok).toBe(true);
    const second = a.collections[1]!;
    expect(second.ok).toBe(false);
    expect(!second.ok && [second.status, second.error.statusCode]).toEqual([400, 'INVALID_FIELD']);
  });

  it('a status that only starts like 200 or 201 is not read as saved', async () => {
    const a = await answerTo(
      JSON.stringify(allSaved).replace('"httpStatusCode":201', '"httpStatusCode":2010'),
    );
    // The single's subrequest now carries an unknown status: no longer read as the fast path's created.
    expect(Object.isFrozen(a.singles[0])).toBe(false);
    expect(a.collections.some((c) => c.ok && c.results.some((r) => Object.isFrozen(r)))).toBe(false);
  });
});
