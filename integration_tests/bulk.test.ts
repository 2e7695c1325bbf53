/**
 * Bulk API 2.0 through the built CLI (PRODUCT.md section 7a): the same semantics as REST, a
 * per-row outcome for every row, the choice between the two paths, and the faults that must leave
 * nothing lost or duplicated. The emulator returns Bulk results shuffled with numbers re-formatted,
 * as Salesforce may, so a join by position would fail here.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { startEmulator, type Emulator } from './emulator/index.js';
import { logText, ofType, type CliResult } from './helpers/cli.js';
import { catalog, configuredStream, record, streamState, streamStatus } from './helpers/messages.js';
import { contactRow, CONTACT_COLUMNS } from './helpers/rows.js';
import { emulatorConfig, runWrite } from './helpers/setup.js';

let emulator: Emulator;
beforeAll(async () => {
  emulator = await startEmulator();
});
afterAll(async () => emulator.close());
beforeEach(() => {
  emulator.reset();
  emulator.resetStats();
  emulator.configure({ bulkBatchSize: 10_000, bulkBatchesPerPoll: null, latencyMs: 0 });
});

type Msg = Record<string, any>;
const COLUMNS = [...CONTACT_COLUMNS, 'Account.External_ID__c'];

interface WriteOptions {
  onLine?: (m: Msg, child: any) => void;
  onStart?: (child: any) => void;
  streams?: Array<Record<string, unknown>>;
}

async function write(
  input: string | AsyncIterable<string>,
  extra: Record<string, unknown> = {},
  options: WriteOptions = {},
): Promise<CliResult> {
  const streams = options.streams ?? [configuredStream('contacts', COLUMNS)];
  const { advanced, ...rest } = extra as { advanced?: Record<string, unknown> };
  const config = emulatorConfig(emulator, {
    salesforce_object: 'Contact',
    external_id_field: 'External_ID__c',
    ...rest,
    advanced: { write_api: 'bulk', ...advanced },
  });
  return runWrite(emulator, config, catalog(...streams), {
    stdin: input,
    ...(options.onLine ? { onLine: options.onLine } : {}),
    ...(options.onStart ? { onStart: options.onStart } : {}),
  });
}

function rows(n: number, version = 1, from = 0, stateEvery = 100): string {
  let text = '';
  for (let i = from; i < from + n; i += 1) {
    text += record('contacts', contactRow(i, version));
    if ((i - from + 1) % stateEvery === 0) text += streamState('contacts', i + 1, i + 1);
  }
  return text;
}

const states = (result: CliResult): Msg[] => ofType(result, 'STATE').map((m) => m.state);
const committed = (result: CliResult): number =>
  states(result).reduce((n, s) => n + s.destinationStats.recordCount, 0);
const rejected = (result: CliResult): number =>
  states(result).reduce((n, s) => n + s.destinationStats.rejectedRecordCount, 0);

/** The stored Contacts by key, without the fields Salesforce sets itself. */
function stored(): Map<string, Record<string, unknown>> {
  const out = new Map<string, Record<string, unknown>>();
  for (const r of emulator.records('Contact')) {
    const {
      Id,
      CreatedDate,
      LastModifiedDate,
      SystemModstamp,
      CreatedById,
      LastModifiedById,
      OwnerId,
      ...fields
    } = r;
    void [Id, CreatedDate, LastModifiedDate, SystemModstamp, CreatedById, LastModifiedById, OwnerId];
    // A lookup is compared by the parent's External ID: the parent's Id differs between two runs.
    if (typeof fields.AccountId === 'string') {
      fields.AccountId = `Account ${String(emulator.record('Account', fields.AccountId)?.External_ID__c)}`;
    }
    out.set(String(r.External_ID__c), fields);
  }
  return out;
}

function expectExactlyOnce(n: number): void {
  const keys = emulator.records('Contact').map((r) => r.External_ID__c);
  expect(keys).toHaveLength(n);
  expect(new Set(keys).size).toBe(n);
}

describe('Bulk writes what REST writes', () => {
  it('upsert: the stored records equal the REST path’s for the same input, rejections included, and a second run makes no duplicates', async () => {
    const account = { Name: 'Acme', External_ID__c: 'A-1' };
    emulator.seed('Account', [account]);
    let input = '';
    for (let i = 0; i < 300; i += 1) {
      const row: Record<string, unknown> = contactRow(i);
      // A lookup by the parent's External ID (a relationship column), on some rows only; a key that
      // names no Account on a few (Salesforce refuses those rows).
      if (i % 3 === 0) row['Account.External_ID__c'] = 'A-1';
      if (i % 50 === 7) row['Account.External_ID__c'] = 'A-404';
      input += record('contacts', row);
      if ((i + 1) % 100 === 0) input += streamState('contacts', i + 1, i + 1);
    }
    const viaRest = await write(input, { advanced: { write_api: 'rest' } });
    expect(viaRest.code).toBe(0);
    const restStored = stored();
    const restStates = states(viaRest).map((s) => s.destinationStats);
    emulator.reset();
    emulator.resetStats();
    emulator.seed('Account', [account]);

    const viaBulk = await write(input);
    expect(viaBulk.code).toBe(0);
    expect(emulator.stats().bulk.jobsCreated).toBe(1);
    expect(stored()).toEqual(restStored);
    expect(states(viaBulk).map((s) => s.destinationStats)).toEqual(restStates);
    expect(rejected(viaBulk)).toBe(6);
    // Each rejected row carries its own key and Salesforce's code.
    for (const i of [7, 57, 107, 157, 207, 257]) {
      expect(logText(viaBulk)).toContain(
        `Rejected contacts C-${i}: INVALID_FIELD: Foreign key external ID: A-404 not found`,
      );
    }

    const again = await write(input);
    expect(again.code).toBe(0);
    expectExactlyOnce(294);
  });

  it('an explicit null clears a field, an absent column leaves it, and rows with different columns keep every column', async () => {
    emulator.seed('Contact', [
      { External_ID__c: 'K-1', LastName: 'One', Title: 'Old title', Department: 'Old dept' },
      { External_ID__c: 'K-2', LastName: 'Two', Title: 'Old title', Department: 'Old dept' },
      { External_ID__c: 'K-3', LastName: 'Three', Title: 'Old title', Department: 'Old dept' },
    ]);
    const input =
      record('contacts', { External_ID__c: 'K-1', LastName: 'One', Title: null }) +
      record('contacts', { External_ID__c: 'K-2', LastName: 'Two', Department: 'New dept' }) +
      record('contacts', { External_ID__c: 'K-3', Title: 'New title', Phone: '+1 555 0100' }) +
      streamState('contacts', 3, 1);
    const result = await write(input);
    expect(result.code).toBe(0);
    const byKey = stored();
    expect(byKey.get('K-1')).toMatchObject({ LastName: 'One', Title: null, Department: 'Old dept' });
    expect(byKey.get('K-2')).toMatchObject({ LastName: 'Two', Title: 'Old title', Department: 'New dept' });
    expect(byKey.get('K-3')).toMatchObject({
      LastName: 'Three',
      Title: 'New title',
      Department: 'Old dept',
      Phone: '+1 555 0100',
    });
  });

  it('update and remove by Id run as Bulk jobs; an Id that names no record is NOT_FOUND for update and already gone for remove', async () => {
    const ids = emulator.seed('Contact', [
      { LastName: 'A', External_ID__c: 'U-1' },
      { LastName: 'B', External_ID__c: 'U-2' },
    ]);
    const missing = '003000000000000AAA';
    const update =
      record('contacts', { Id: ids[0], Title: 'Updated' }) +
      record('contacts', { Id: missing, Title: 'Nobody' }) +
      streamState('contacts', 1, 1);
    const byId = { streams: [configuredStream('contacts', ['Id', 'Title'])] };
    const updated = await write(update, { sync_mode: 'update', external_id_field: 'Id' }, byId);
    expect(updated.code).toBe(0);
    expect(emulator.record('Contact', ids[0]!)?.Title).toBe('Updated');
    expect(logText(updated)).toContain(`Rejected contacts ${missing}: NOT_FOUND`);
    expect(states(updated)[0]!.destinationStats).toEqual({ recordCount: 1, rejectedRecordCount: 1 });

    emulator.resetStats();
    const remove =
      record('contacts', { Id: ids[1] }) +
      record('contacts', { Id: missing }) +
      streamState('contacts', 2, 2);
    const removed = await write(remove, { sync_mode: 'remove', external_id_field: 'Id' }, byId);
    expect(removed.code).toBe(0);
    expect(emulator.stats().bulk.jobsCreated).toBe(1);
    expect(emulator.record('Contact', ids[1]!)?.IsDeleted).toBe(true);
    expect(states(removed)[0]!.destinationStats).toEqual({ recordCount: 2, rejectedRecordCount: 0 });
  });

  it('mirror: the rows go through a Bulk upsert, then the records whose key did not arrive go in a Bulk delete job; locked and unprocessed ones through REST', async () => {
    emulator.seed('Contact', [
      { External_ID__c: 'C-0', LastName: 'kept' },
      ...Array.from({ length: 10 }, (_, i) => ({ External_ID__c: `GONE-${i}`, LastName: 'stale' })),
      { LastName: 'made by hand, no key' },
    ]);
    const idOf = (key: string): string =>
      String(emulator.records('Contact').find((r) => r.External_ID__c === key)!.Id);
    emulator.faults.lockRows({
      object: 'Contact',
      match: { field: 'External_ID__c', values: ['GONE-1'] },
      times: 1,
    });
    emulator.faults.bulkJob({
      operation: 'delete',
      unprocessedMatch: { column: 'Id', values: [idOf('GONE-2')] },
    });
    const input = rows(20) + streamStatus('contacts', 'COMPLETE');
    const result = await write(input, { sync_mode: 'mirror', advanced: { mirror_max_delete_percent: 100 } });
    expect(result.code).toBe(0);
    expect(emulator.stats().bulk.jobsCreated).toBe(2);
    const keys = emulator.records('Contact').map((r) => r.External_ID__c);
    expect(keys.filter((k) => String(k).startsWith('GONE-'))).toEqual([]);
    const unkeyed = (k: unknown): boolean => k === null || k === undefined;
    expect(keys.filter(unkeyed)).toHaveLength(1); // the record without a key is not managed: kept
    expect(new Set(keys.filter((k) => !unkeyed(k))).size).toBe(20);
    expect(logText(result)).toMatch(/2 record\(s\) not settled by the Bulk job go through the REST API/);
    expect(logText(result)).toMatch(/deleted 10 of 30 managed records .*Bulk API 2\.0\)/);
  });

  it('auto: mirror deletes through a Bulk job when the records to delete reach the threshold, through REST below it', async () => {
    const stale = (n: number) =>
      Array.from({ length: n }, (_, i) => ({ External_ID__c: `GONE-${i}`, LastName: 'stale' }));
    const sync = () =>
      write(rows(10) + streamStatus('contacts', 'COMPLETE'), {
        sync_mode: 'mirror',
        advanced: { write_api: 'auto', bulk_threshold_rows: 15, mirror_max_delete_percent: 100 },
      });
    emulator.seed('Contact', stale(20));
    const many = await sync();
    expect(many.code).toBe(0);
    // The 10 rows stayed on REST (below the threshold); the 20 deletions went in one Bulk job.
    expect(emulator.stats().bulk.jobsCreated).toBe(1);
    expect(emulator.count('Contact')).toBe(10);
    emulator.seed('Contact', stale(3));
    emulator.resetStats();
    const few = await sync();
    expect(few.code).toBe(0);
    expect(emulator.stats().bulk.jobsCreated).toBe(0);
    expect(emulator.count('Contact')).toBe(10);
    expect(logText(few)).toMatch(/deleted 3 of 13 managed records/);
  });

  it('unprocessed rows and rows Salesforce could not lock end committed after a re-send through REST', async () => {
    emulator.seed('Contact', [contactRow(3), contactRow(4)]);
    emulator.faults.lockRows({
      object: 'Contact',
      match: { field: 'External_ID__c', values: ['C-3', 'C-4'] },
      times: 1,
    });
    emulator.faults.bulkJob({ unprocessedRows: [10, 11, 12] });
    const result = await write(rows(100));
    expect(result.code).toBe(0);
    expectExactlyOnce(100);
    expect(committed(result)).toBe(100);
    expect(logText(result)).toMatch(/row\(s\) not settled by the Bulk job go through the REST API/);
  });

  it('states leave in order, each only after every row before it has ended', async () => {
    const seen: number[] = [];
    const result = await write(
      rows(400, 1, 0, 100),
      {},
      {
        onLine: (m) => {
          if (m.type === 'STATE') seen.push(emulator.count('Contact'));
        },
      },
    );
    expect(result.code).toBe(0);
    expect(states(result).map((s) => s.stream.stream_state.cursor)).toEqual([100, 200, 300, 400]);
    // When a state came out, the rows it covers were in Salesforce.
    seen.forEach((count, i) => expect(count).toBeGreaterThanOrEqual((i + 1) * 100));
  });
});

describe('auto: Bulk for large loads, REST for small ones', () => {
  it('moves a stream to Bulk once its waiting rows reach the threshold, and keeps a small one on REST', async () => {
    // The REST calls are held in flight, so rows wait for REST and reach the threshold: an event,
    // not a race with the clock.
    emulator.faults.holdNext({ match: { kind: 'composite' }, count: 2 });
    let switched = false;
    let released = false;
    // Once the stream has moved, every REST call held in flight is let go (each an event).
    const watch = setInterval(() => {
      if (switched && emulator.stats().held > 0) released = emulator.faults.releaseHeld() > 0 || released;
    }, 20);
    const result = await write(
      rows(2_000),
      {
        advanced: {
          write_api: 'auto',
          bulk_threshold_rows: 500,
          records_per_request: 100,
          parallel_requests: 1,
        },
      },
      {
        onLine: (m) => {
          if (m.type === 'LOG' && String(m.log.message).includes('moves to Bulk API 2.0')) switched = true;
        },
      },
    ).finally(() => clearInterval(watch));
    expect(result.code).toBe(0);
    expect(released).toBe(true);
    expect(emulator.stats().bulk.jobsCreated).toBeGreaterThanOrEqual(1);
    expectExactlyOnce(2_000);

    emulator.reset();
    emulator.resetStats();
    const small = await write(rows(200), { advanced: { write_api: 'auto' } });
    expect(small.code).toBe(0);
    expect(emulator.stats().bulk.jobsCreated).toBe(0);
    expectExactlyOnce(200);
  });

  it.each([
    [
      'duplicate_rule_allow_save',
      { advanced: { duplicate_rule_allow_save: true } },
      /duplicate_rule_allow_save has no equivalent in Bulk API 2.0/,
    ],
    ['an idLookup key (Email)', { external_id_field: 'Email' }, /idLookup field, not an External ID/],
    [
      'insert under auto',
      { sync_mode: 'insert', advanced: { write_api: 'auto' } },
      /insert moves to Bulk API 2.0 only with write_api bulk/,
    ],
  ])('keeps %s on REST and says why', async (_what, extra, why) => {
    const result = await write(rows(50), extra);
    expect(result.code).toBe(0);
    expect(logText(result)).toMatch(why);
    expect(emulator.stats().bulk.jobsCreated).toBe(0);
  });

  it('keeps a Case stream on REST when its active assignment rule cannot be read (a Bulk job runs a rule only by Id)', async () => {
    const result = await write(
      record('cases', { Subject: 'Help', External_ID__c: 'CASE-1' }) + streamState('cases', 1, 1),
      { salesforce_object: 'Case' },
      { streams: [configuredStream('cases', ['Subject', 'External_ID__c'])] },
    );
    expect(result.code).toBe(0);
    expect(logText(result)).toMatch(/assignment_rule default runs Case's active assignment rule/);
    expect(emulator.stats().bulk.jobsCreated).toBe(0);
  });
});

describe('Bulk faults leave nothing lost or duplicated', () => {
  it.each([
    ['the upload', { method: 'PUT', pathIncludes: '/batches' }],
    ['the close', { method: 'PATCH', pathIncludes: '/jobs/ingest/' }],
    ['a poll', { method: 'GET', pathIncludes: '/jobs/ingest/' }],
  ])('a reply lost on %s', async (_what, match) => {
    emulator.faults.dropNext({ match, when: 'after' });
    const result = await write(rows(300));
    expect(result.code).toBe(0);
    expectExactlyOnce(300);
    expect(committed(result)).toBe(300);
  });

  it('an access token that expires mid-job: refreshed, and the job goes on', async () => {
    emulator.faults.expireTokensAfter(3);
    const result = await write(rows(300));
    expect(result.code).toBe(0);
    expectExactlyOnce(300);
    expect(emulator.stats().byKind.oauth).toBe(2);
  });

  it('a job that ends Failed after its first internal batch: the rest go through REST', async () => {
    emulator.configure({ bulkBatchSize: 100 });
    emulator.faults.bulkJob({ failAfterBatches: 1 });
    const result = await write(rows(300));
    expect(result.code).toBe(0);
    expectExactlyOnce(300);
    expect(committed(result)).toBe(300);
  });

  it('SIGTERM while a job is Open: it is aborted, nothing in it applied, and no state covers its rows', async () => {
    emulator.faults.holdNext({ match: { method: 'PUT', pathIncludes: '/batches' } });
    let stopped = false;
    let child: { kill: (signal: string) => void } | undefined;
    // The upload is held in flight (an event the emulator reports): stop the run then, and let it go.
    const watch = setInterval(() => {
      if (!stopped && child !== undefined && emulator.stats().held > 0) {
        stopped = true;
        child.kill('SIGTERM');
        setTimeout(() => emulator.faults.releaseHeld(), 200);
      }
    }, 20);
    const result = await write(rows(300), {}, { onStart: (c) => (child = c) }).finally(() =>
      clearInterval(watch),
    );
    expect(stopped).toBe(true);
    expect(result.code).toBe(1);
    expect(ofType(result, 'TRACE').at(-1)!.trace.error.message).toContain('stopped (SIGTERM)');
    expect(emulator.stats().bulk.aborts).toBe(1);
    expect(emulator.count('Contact')).toBe(0);
    expect(states(result)).toEqual([]);
  });

  it('SIGTERM while a job is InProgress: it is left to finish, unacknowledged, and the next sync adds no duplicate', async () => {
    emulator.configure({ bulkBatchSize: 50, bulkBatchesPerPoll: 1 });
    let child: { kill: (signal: string) => void } | undefined;
    let stopped = false;
    // After the first poll the job is InProgress (it advances one batch per poll): stop the run then.
    const watch = setInterval(() => {
      if (!stopped && child !== undefined && emulator.stats().bulk.polls >= 1) {
        stopped = true;
        child.kill('SIGTERM');
      }
    }, 20);
    const result = await write(rows(300), {}, { onStart: (c) => (child = c) }).finally(() =>
      clearInterval(watch),
    );
    expect(stopped).toBe(true);
    expect(result.code).toBe(1);
    expect(emulator.stats().bulk.aborts).toBe(0);
    expect(emulator.stats().bulk.deletes).toBe(0);
    expect(states(result)).toEqual([]);
    emulator.configure({ bulkBatchesPerPoll: null });
    const again = await write(rows(300));
    expect(again.code).toBe(0);
    expectExactlyOnce(300);
  });
});
