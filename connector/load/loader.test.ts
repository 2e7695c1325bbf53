import { describe, expect, it } from '@jest/globals';
import nock from 'nock';
import { INSTANCE, testClient, tokenOnce } from '../salesforce/test-client.js';
import { attributesKey, ByteArena } from './arena.js';
import { Checkpoints } from './checkpoints.js';
import { Loader, normalizeKey, type Item, type KeyField, type StreamContext } from './loader.js';
import { Outcomes } from './outcomes.js';

const quiet = {
  error: () => undefined,
  warn: () => undefined,
  info: () => undefined,
  debug: () => undefined,
};

function setup() {
  const http = testClient({ maxConcurrent: 4 });
  const checkpoints = new Checkpoints(() => undefined);
  const outcomes = new Outcomes(quiet);
  const loader = new Loader(http, checkpoints, outcomes, quiet, {
    maxJobs: 4,
    headers: {},
    lockAttempts: 1,
    lockDelayMs: 0,
    dryRun: false,
  });
  const stream: StreamContext = {
    key: 'contacts',
    label: 'contacts',
    object: 'Contact',
    operation: 'upsert',
    keyField: { name: 'External_ID__c', type: 'string', caseInsensitive: false, isId: false },
    tally: outcomes.stream('contacts', 'contacts', 'Contact', 'upsert'),
    locks: new Map(),
  };
  const arena = new ByteArena();
  const item = (key: string, title: string): Item => {
    arena.append(JSON.stringify({ External_ID__c: key, Title: title }), attributesKey('Contact'));
    return {
      epoch: checkpoints.arrive(),
      row: 1,
      chunk: arena.chunk,
      start: arena.start,
      end: arena.end,
      bytes: arena.end - arena.start,
      key,
      rawKey: key,
      more: undefined,
      id: undefined,
      records: undefined,
    };
  };
  tokenOnce();
  return { loader, stream, item };
}

interface Sent {
  compositeRequest: Array<{
    referenceId: string;
    body: { records: Array<{ External_ID__c: string; Title: string }> };
  }>;
}

const answer = (body: Sent) => ({
  compositeResponse: body.compositeRequest.map((s) => ({
    referenceId: s.referenceId,
    httpStatusCode: 200,
    body: s.body.records.map(() => ({ success: true, created: false, errors: [] })),
  })),
});

describe('Loader orders rows for one key across batches in flight', () => {
  it('sends a batch only after an earlier batch with one of its keys has been answered', async () => {
    const { loader, stream, item } = setup();
    const events: string[] = [];
    // The first batch is answered only once C has been sent: C must go beside it, not after it. An
    // event, not a pause, so a slow machine cannot reorder what the test observes.
    let cSent!: () => void;
    const cArrived = new Promise<void>((resolve) => (cSent = resolve));
    nock(INSTANCE)
      .post('/services/data/v61.0/composite')
      .times(3)
      .reply(200, async function (_uri, body) {
        const sent = body as Sent;
        const what = sent.compositeRequest[0]!.body.records.map((r) => `${r.External_ID__c}=${r.Title}`).join(
          ',',
        );
        events.push(`sent ${what}`);
        if (what === 'C=v1') cSent();
        if (what === 'A=v1,B=v1') await cArrived;
        events.push(`answered ${what}`);
        return answer(sent);
      });
    loader.submit(stream, [item('A', 'v1'), item('B', 'v1')]);
    loader.submit(stream, [item('C', 'v1')]); // no shared key: goes at once
    loader.submit(stream, [item('A', 'v2')]); // shares A with the first batch: waits for it
    await loader.drain();
    expect(loader.failure).toBeUndefined();
    // C went at once beside the first batch; the second A waited for the first to be answered.
    expect(events.indexOf('sent C=v1')).toBeLessThan(events.indexOf('answered A=v1,B=v1'));
    expect(events.indexOf('answered A=v1,B=v1')).toBeLessThan(events.indexOf('sent A=v2'));
    expect(events).toHaveLength(6);
  });
});

describe('normalizeKey', () => {
  it('gives every spelling of one record Id one key, so rows for the record keep their order', () => {
    const id: KeyField = { name: 'Id', type: 'id', caseInsensitive: false, isId: true };
    const keys = ['0037e00001WZ30q', '0037e00001WZ30qAAD', '0037e00001wz30qaad'].map((v) =>
      normalizeKey(v, id),
    );
    expect(new Set(keys).size).toBe(1);
  });

  it("compares numeric keys as the numbers Salesforce keeps, at the field's scale", () => {
    const field: KeyField = {
      name: 'External_Id__c',
      type: 'double',
      scale: 0,
      caseInsensitive: false,
      isId: false,
    };
    expect(normalizeKey('1.4', field)).toBe(normalizeKey('1', field));
    expect(normalizeKey('0.0000001', field)).toBe('0');
    expect(normalizeKey('007', field)).toBe('7');
  });
});
