import { describe, expect, it } from '@jest/globals';
import nock from 'nock';
import { INSTANCE, testClient, tokenOnce } from '../salesforce/test-client.js';
import { attributesKey, ByteArena } from './arena.js';
import { Checkpoints } from './checkpoints.js';
import { KeyLedger } from './keys.js';
import { Outcomes } from './outcomes.js';
import { Pace } from './pace.js';
import { RestLoader, type RestLoaderOptions, LOCK_RETRY, lockPause } from './rest-loader.js';
import { Settler } from './settle.js';
import { makeItem, type Item, type StreamContext } from './stream.js';

const quiet = {
  error: () => undefined,
  warn: () => undefined,
  info: () => undefined,
  debug: () => undefined,
};

function setup(options: Partial<RestLoaderOptions> = {}, http = testClient({ maxConcurrent: 4 })) {
  const released: string[] = [];
  const checkpoints = new Checkpoints((state) => released.push(JSON.stringify(state.data)));
  const outcomes = new Outcomes(quiet);
  const loader = new RestLoader(http, new Settler(outcomes, checkpoints), quiet, {
    pace: new Pace({ mode: 3, max: 3, recordsPerCall: 1020 }),
    headers: {},
    lockAttempts: 1,
    lockDelayMs: 0,
    dryRun: false,
    lostAnswerWaitMs: 600_000,
    ...options,
  });
  const ledger = new KeyLedger();
  const streamOf = (name: string, operation: StreamContext['operation'] = 'upsert'): StreamContext => ({
    key: name,
    label: name,
    object: 'Contact',
    operation,
    keyField: { name: 'External_ID__c', type: 'string', caseInsensitive: false, isId: false },
    describe: { name: 'Contact', fields: [] } as unknown as StreamContext['describe'],
    tally: outcomes.stream(name, name, 'Contact', operation),
    ledger,
  });
  const stream = streamOf('contacts');
  const arena = new ByteArena();
  const item = (key: string, title: string): Item => {
    arena.append(JSON.stringify({ External_ID__c: key, Title: title }), attributesKey('Contact'));
    return makeItem(checkpoints.arrive(), 1, arena, key, key, undefined, undefined);
  };
  tokenOnce();
  return { loader, stream, streamOf, item, outcomes, checkpoints, released };
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

describe('RestLoader orders rows for one key across batches in flight', () => {
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

describe('lock retries', () => {
  it('pause 1 s doubling up to 30 s, about a minute and a half over all tries', () => {
    const pauses = Array.from({ length: LOCK_RETRY.attempts - 1 }, (_, i) => lockPause(i + 1));
    expect(pauses).toEqual([1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000]);
    expect(lockPause(3, 0)).toBe(0);
  });
});
