/**
 * Audience modes through the built CLI against the emulator (PRODUCT.md section 5): add, remove and
 * mirror, the managed-record rule, mirror's guards, dry run, and SOQL quoting of hostile keys.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startEmulator, type Emulator } from './emulator/index.js';
import { idSuffix } from './emulator/ids.js';
import { logText, ofType, runCli, tempFiles, type CliResult } from './helpers/cli.js';
import { catalog, configuredStream, record, streamState, streamStatus } from './helpers/messages.js';
import { emulatorConfig, runWrite } from './helpers/setup.js';

let emulator: Emulator;
beforeAll(async () => {
  emulator = await startEmulator();
});
afterAll(async () => emulator.close());
beforeEach(() => emulator.reset());

const COLUMNS = ['External_ID__c', 'LastName', 'Title'];

async function sync(
  mode: string,
  rows: Array<Record<string, unknown>>,
  options: {
    status?: 'COMPLETE' | 'INCOMPLETE' | null;
    advanced?: Record<string, unknown>;
    keyField?: string;
    onPid?: (pid: number) => void;
  } = {},
): Promise<CliResult> {
  let input = streamStatus('audience', 'STARTED');
  rows.forEach((row) => (input += record('audience', row)));
  input += streamState('audience', 'end', 1, rows.length);
  const status = options.status === undefined ? 'COMPLETE' : options.status;
  if (status !== null) input += streamStatus('audience', status);
  return writeCli(
    emulatorConfig(emulator, {
      salesforce_object: 'Contact',
      sync_mode: mode,
      external_id_field: options.keyField ?? 'External_ID__c',
      ...(options.advanced ? { advanced: options.advanced } : {}),
    }),
    catalog(configuredStream('audience', COLUMNS)),
    input,
  );
}

/** Runs write with this config and catalog on `stdin`; every stdout line is checked against the protocol. */
async function writeCli(
  config: Record<string, unknown>,
  configured: Record<string, unknown>,
  stdin: string,
): Promise<CliResult> {
  return runWrite(emulator, config, configured, { stdin });
}

const contact = (key: string, title = 'member') => ({
  External_ID__c: key,
  LastName: `Person ${key}`,
  Title: title,
});
/** The key of every Contact, sorted; `(none)` for a record without one. */
const keys = () =>
  emulator
    .records('Contact')
    .map((r) => (r.External_ID__c as string | null | undefined) ?? '(none)')
    .sort();
const lastStats = (result: CliResult) => ofType(result, 'STATE').at(-1)!.state.destinationStats;

describe('add', () => {
  it('creates the rows whose key is new and leaves existing records exactly as they were', async () => {
    const [existing] = emulator.seed('Contact', [
      { External_ID__c: 'A-1', LastName: 'Original', Title: 'keep me' },
    ]);
    const before = emulator.record('Contact', existing!);
    const result = await sync('add', [contact('A-1', 'overwritten?'), contact('A-2'), contact('A-3')]);
    expect(result.code).toBe(0);
    expect(emulator.record('Contact', existing!)).toEqual(before);
    expect(keys()).toEqual(['A-1', 'A-2', 'A-3']);
    expect(lastStats(result)).toEqual({ recordCount: 3, rejectedRecordCount: 0 });
    expect(logText(result)).toContain('3 committed (2 created, 1 unchanged)');
  });
});

describe('remove', () => {
  it('deletes exactly the records whose key arrives and counts unknown keys as already removed', async () => {
    emulator.seed(
      'Contact',
      ['R-1', 'R-2', 'R-3'].map((k) => ({ External_ID__c: k, LastName: k })),
    );
    emulator.seed('Contact', [{ LastName: 'No key' }]);
    // A delete sends only the key: a value Salesforce would refuse in another column is no reason to keep R-3.
    const result = await sync('remove', [contact('R-1'), contact('R-3', 'x'.repeat(500)), contact('R-404')]);
    expect(result.code).toBe(0);
    expect(keys()).toEqual(['(none)', 'R-2']);
    expect(logText(result)).not.toContain('will not be written');
    expect(lastStats(result)).toEqual({ recordCount: 3, rejectedRecordCount: 0 });
    expect(logText(result)).toContain('3 committed (2 deleted, 1 unchanged)');
    expect(logText(result)).toMatch(/audience → Contact remove: .*; 2 API requests\./);
  });

  it('deletes by Id when the key field is Id, and counts an Id of no record as already removed', async () => {
    const ids = emulator.seed('Contact', [{ LastName: 'one' }, { LastName: 'two' }]);
    // A well-formed Contact Id that names no record: Salesforce answers INVALID_CROSS_REFERENCE_KEY.
    const nobody15 = `003${'9'.repeat(12)}`;
    const nobody = nobody15 + idSuffix(nobody15);
    const files = tempFiles({
      'config.json': emulatorConfig(emulator, {
        salesforce_object: 'Contact',
        sync_mode: 'remove',
        external_id_field: 'Id',
      }),
      'catalog.json': catalog(configuredStream('gone', ['Id'])),
    });
    const result = await runCli(
      ['write', '--config', files['config.json']!, '--catalog', files['catalog.json']!],
      {
        stdin: record('gone', { Id: ids[0] }) + record('gone', { Id: nobody }) + streamState('gone', 1, 2),
      },
    );
    expect(result.code).toBe(0);
    expect(emulator.records('Contact').map((r) => r.LastName)).toEqual(['two']);
    expect(ofType(result, 'STATE').at(-1)!.state.destinationStats).toEqual({
      recordCount: 2,
      rejectedRecordCount: 0,
    });
    expect(logText(result)).toContain('2 committed (1 deleted, 1 unchanged)');
  });
});

describe('mirror', () => {
  beforeEach(() => {
    emulator.seed(
      'Contact',
      ['M-1', 'M-2', 'M-3', 'M-4', 'M-5', 'M-6', 'M-7', 'M-8', 'M-9', 'M-10'].map((k) => ({
        External_ID__c: k,
        LastName: k,
      })),
    );
    emulator.seed('Contact', [{ LastName: 'Created by hand, no key' }]);
  });

  it('upserts every row, then deletes exactly the managed records whose key did not arrive, never one without a key', async () => {
    const arriving = ['M-1', 'M-2', 'M-3', 'M-4', 'M-5', 'M-6', 'M-7', 'M-8', 'M-11'].map((k) =>
      contact(k, 'mirrored'),
    );
    const result = await sync('mirror', arriving);
    expect(result.code).toBe(0);
    expect(keys()).toEqual(['(none)', 'M-1', 'M-11', 'M-2', 'M-3', 'M-4', 'M-5', 'M-6', 'M-7', 'M-8']);
    expect(
      emulator
        .records('Contact')
        .filter((r) => r.External_ID__c)
        .every((r) => r.Title === 'mirrored'),
    ).toBe(true);
    expect(logText(result)).toMatch(
      /deleted 2 of 11 managed records whose External_ID__c did not arrive \(\d+ API requests\)/,
    );
    expect(logText(result)).toContain('mirror: deleted 2 of 11 managed records.');
  });

  /** A sync of several streams to Contact: each [name, rows], then its state and COMPLETE. */
  async function syncStreams(
    streams: Array<[string, Array<Record<string, unknown>>]>,
    settings: Record<string, unknown> = {},
  ): Promise<CliResult> {
    let input = '';
    for (const [name, rows] of streams) {
      input += streamStatus(name, 'STARTED');
      for (const row of rows) input += record(name, row);
      input += streamState(name, 'end', 1, rows.length) + streamStatus(name, 'COMPLETE');
    }
    const result = await writeCli(
      emulatorConfig(emulator, {
        salesforce_object: 'Contact',
        sync_mode: 'mirror',
        external_id_field: 'External_ID__c',
        ...settings,
      }),
      catalog(...streams.map(([name]) => configuredStream(name, COLUMNS))),
      input,
    );
    return result;
  }

  it('keeps every key that arrived in any stream of the object: two mirror streams delete once, together', async () => {
    const result = await syncStreams([
      ['a', ['M-1', 'M-2', 'M-3', 'M-4', 'M-5'].map((k) => contact(k))],
      ['b', ['M-6', 'M-7', 'M-8', 'M-9', 'M-11'].map((k) => contact(k))],
    ]);
    expect(result.code).toBe(0);
    // Only M-10 arrived in neither stream (each stream alone would have deleted the other's keys).
    expect(keys()).toEqual(['(none)', 'M-1', 'M-11', 'M-2', 'M-3', 'M-4', 'M-5', 'M-6', 'M-7', 'M-8', 'M-9']);
    expect(logText(result)).toMatch(/mirror of "a", "b" → Contact: deleted 1 of 11 managed records/);
    expect(logText(result)).toContain('mirror: one deletion step with "a", reported there.');
  });

  it('judges the guard on the records that existed before the sync, not on those it just created', async () => {
    // Every existing key replaced by 40 new ones: 10 of 10 existing records would go (100 %), though
    // they are only 10 of the 50 managed records once the new ones are written.
    const fresh = Array.from({ length: 40 }, (_, i) => contact(`N-${i}`));
    const result = await sync('mirror', fresh);
    expect(result.code).toBe(1);
    const trace = ofType(result, 'TRACE').at(-1)!.trace.error;
    expect(trace.failure_type).toBe('config_error');
    expect(trace.message).toContain(
      'would remove more than 20 % of the managed records that existed before this sync (at least 10 of 10)',
    );
    expect(keys().filter((k) => k.startsWith('M-'))).toHaveLength(10);
    expect(keys().filter((k) => k.startsWith('N-'))).toHaveLength(40);
  });

  it('refuses, before any write, a stream that writes the mirrored object without its matching field', async () => {
    emulator.resetStats();
    const result = await syncStreams(
      [
        ['audience', ['M-1', 'M-2'].map((k) => contact(k))],
        ['extra', [{ LastName: 'Inserted' }]],
      ],
      { streams: [{ stream_name: 'extra', sync_mode: 'insert' }] },
    );
    expect(result.code).toBe(1);
    const trace = ofType(result, 'TRACE').at(-1)!.trace.error;
    expect(trace.failure_type).toBe('config_error');
    expect(trace.message).toContain(
      'stream "extra" inserts Contact records in the same sync as mirror stream "audience"',
    );
    expect(emulator.stats().byKind.composite ?? 0).toBe(0);
    expect(keys()).toHaveLength(11);
  });

  it('keeps a record whose row Salesforce would refuse: its key still arrived', async () => {
    const rows = ['M-1', 'M-2', 'M-3', 'M-4', 'M-5', 'M-6', 'M-7', 'M-8', 'M-9'].map(
      (k): Record<string, unknown> => contact(k),
    );
    rows.push({ External_ID__c: 'M-10', LastName: 'x'.repeat(500) });
    const result = await sync('mirror', rows);
    expect(result.code).toBe(0);
    expect(keys()).toContain('M-10');
    expect(logText(result)).toContain('deleted 0 of 10 managed records');
  });

  it.each([
    ['the stream ended INCOMPLETE', 'INCOMPLETE' as const, 'the stream ended INCOMPLETE'],
    ['the stream sent no status', null, 'the stream sent no COMPLETE status'],
  ])('deletes nothing when %s, and says why', async (_what, status, why) => {
    const result = await sync('mirror', [contact('M-1')], { status });
    expect(result.code).toBe(0);
    expect(emulator.count('Contact')).toBe(11);
    expect(logText(result)).toContain(`no records deleted, because ${why}`);
  });

  it('refuses with a config_error, deleting nothing, when the stream brought zero rows', async () => {
    const result = await sync('mirror', []);
    expect(result.code).toBe(1);
    expect(emulator.count('Contact')).toBe(11);
    const trace = ofType(result, 'TRACE').at(-1)!.trace.error;
    expect(trace.failure_type).toBe('config_error');
    expect(trace.message).toContain('the stream brought zero rows');
    expect(trace.message).toContain('mirror_allow_empty_source');
  });

  it('deletes every managed record for an empty source only when allowed, and still never a record without a key', async () => {
    const result = await sync('mirror', [], {
      advanced: { mirror_allow_empty_source: true, mirror_max_delete_percent: 100 },
    });
    expect(result.code).toBe(0);
    expect(keys()).toEqual(['(none)']);
  });

  it('refuses with a config_error, deleting nothing, when the deletion exceeds the guard', async () => {
    const result = await sync(
      'mirror',
      ['M-1', 'M-2', 'M-3', 'M-4', 'M-5', 'M-6', 'M-7'].map((k) => contact(k)),
    );
    expect(result.code).toBe(1);
    expect(emulator.count('Contact')).toBe(11);
    expect(ofType(result, 'STATE')).toHaveLength(1);
    const trace = ofType(result, 'TRACE').at(-1)!.trace.error;
    expect(trace.failure_type).toBe('config_error');
    expect(trace.message).toContain('would remove more than 20 % of the managed records');
    expect(trace.message).toContain('mirror_max_delete_percent');
  });

  it('deletes a record another transaction held locked once the lock is gone, trying again after a pause', async () => {
    // The first two delete attempts of M-10 meet a lock (a count of attempts, not a time).
    emulator.faults.lockRows({
      object: 'Contact',
      match: { field: 'External_ID__c', values: ['M-10'] },
      times: 2,
    });
    const arriving = ['M-1', 'M-2', 'M-3', 'M-4', 'M-5', 'M-6', 'M-7', 'M-8'].map((k) => contact(k));
    const result = await sync('mirror', arriving, { advanced: { write_api: 'rest' } });
    expect(result.code).toBe(0);
    expect(keys()).toEqual(['(none)', 'M-1', 'M-2', 'M-3', 'M-4', 'M-5', 'M-6', 'M-7', 'M-8']);
    expect(logText(result)).toMatch(/1 record\(s\) to delete were locked .*retrying \(attempt 2 of 8\)/);
    expect(logText(result)).toMatch(/retrying \(attempt 3 of 8\)/);
    expect(logText(result)).toContain('mirror: deleted 2 of 10 managed records.');
  });

  it('deletes above 20 % when the guard is raised', async () => {
    const result = await sync(
      'mirror',
      ['M-1', 'M-2', 'M-3', 'M-4', 'M-5', 'M-6', 'M-7'].map((k) => contact(k)),
      {
        advanced: { mirror_max_delete_percent: 50 },
      },
    );
    expect(result.code).toBe(0);
    expect(emulator.count('Contact')).toBe(8);
  });
});

describe('dry run', () => {
  it('changes nothing, echoes no state, and reports what each operation would do', async () => {
    emulator.seed(
      'Contact',
      ['D-1', 'D-2', 'D-3'].map((k) => ({ External_ID__c: k, LastName: k })),
    );
    const snapshot = JSON.stringify(emulator.records('Contact'));
    const mirror = await sync('mirror', [contact('D-1'), contact('D-4')], {
      advanced: { dry_run: true, mirror_max_delete_percent: 100 },
    });
    expect(mirror.code).toBe(0);
    expect(JSON.stringify(emulator.records('Contact'))).toBe(snapshot);
    // An echoed state would move the source's cursor past rows that were never written.
    expect(ofType(mirror, 'STATE')).toEqual([]);
    expect(logText(mirror)).toContain('Dry run: 1 state message(s) withheld');
    expect(logText(mirror)).toContain(
      'dry run: would update 1 (e.g. D-1); would create 1 (e.g. D-4); would delete (mirror) 2 (e.g. D-2, D-3).',
    );

    const remove = await sync('remove', [contact('D-1'), contact('D-9')], { advanced: { dry_run: true } });
    expect(logText(remove)).toContain(
      'dry run: would delete 1 (e.g. D-1); would skip (already absent) 1 (e.g. D-9).',
    );
    const add = await sync('add', [contact('D-1'), contact('D-7')], { advanced: { dry_run: true } });
    expect(logText(add)).toContain('dry run: would leave unchanged 1 (e.g. D-1); would create 1 (e.g. D-7).');
    expect(JSON.stringify(emulator.records('Contact'))).toBe(snapshot);
  });
});

describe('dry run and a key two records hold', () => {
  it('refuses the row with DUPLICATE_EXTERNAL_ID, as the real run does, instead of reporting it would go ahead', async () => {
    emulator.seed('Contact', [
      { LastName: 'Twin A', Email: 'dup@example.com' },
      { LastName: 'Twin B', Email: 'dup@example.com' },
      { LastName: 'Solo', Email: 'solo@example.com' },
    ]);
    const run = (dryRun: boolean) =>
      writeCli(
        emulatorConfig(emulator, {
          salesforce_object: 'Contact',
          sync_mode: 'remove',
          external_id_field: 'Email',
          advanced: { dry_run: dryRun },
        }),
        catalog(configuredStream('people', ['Email'])),
        record('people', { Email: 'dup@example.com' }) +
          record('people', { Email: 'solo@example.com' }) +
          streamState('people', 'end', 1, 2),
      );
    const dry = await run(true);
    expect(dry.code).toBe(0);
    expect(logText(dry)).toMatch(/Rejected people dup@example.com: DUPLICATE_EXTERNAL_ID/);
    expect(logText(dry)).toContain('dry run: would delete 1 (e.g. solo@example.com).');
    expect(emulator.count('Contact')).toBe(3);
    const real = await run(false);
    expect(logText(real)).toMatch(/Rejected people dup@example.com: DUPLICATE_EXTERNAL_ID/);
    expect(emulator.count('Contact')).toBe(2);
  });
});

describe('keys that try to break the query', () => {
  it('matches keys with quotes, backslashes and unicode exactly, and a key can never widen the query', async () => {
    const hostile = [
      "O'Brien",
      'back\\slash',
      "x' OR External_ID__c != null OR External_ID__c = 'y",
      'Zoë "quoted"',
      'tab\there',
    ];
    emulator.seed(
      'Contact',
      [...hostile, 'innocent'].map((k) => ({ External_ID__c: k, LastName: 'seed' })),
    );
    const result = await sync(
      'remove',
      hostile.slice(0, 2).map((k) => contact(k)),
    );
    expect(result.code).toBe(0);
    expect(keys()).toEqual([...hostile.slice(2), 'innocent'].sort());
    const injection = await sync('remove', [contact(hostile[2]!)]);
    expect(injection.code).toBe(0);
    expect(keys()).toEqual([hostile[3], hostile[4], 'innocent'].sort());
    await sync(
      'add',
      hostile.slice(3).map((k) => contact(k, 'should not change')),
    );
    expect(emulator.records('Contact').filter((r) => r.Title === 'should not change')).toHaveLength(0);
  });
});

/** Preloaded into the CLI (`node --import`): writes its peak RSS in KB to $PEAK_RSS_FILE on exit. */
const PEAK_RSS_HOOK = `data:text/javascript,${encodeURIComponent(
  "import { writeFileSync } from 'node:fs';" +
    "process.on('exit', () => writeFileSync(process.env.PEAK_RSS_FILE, String(process.resourceUsage().maxRSS)));",
)}`;

describe('memory', () => {
  it('mirrors 200,000 keys with peak memory within the benchmark bound (200 MB)', async () => {
    const total = 200_000;
    emulator.seed(
      'Contact',
      Array.from({ length: total + 1_000 }, (_, i) => ({ External_ID__c: `K-${i}`, LastName: 'x' })),
    );
    let input = streamStatus('audience', 'STARTED');
    for (let i = 0; i < total; i += 1) {
      input += record('audience', { External_ID__c: `K-${i}`, LastName: 'x' });
      if ((i + 1) % 20_000 === 0) input += streamState('audience', i, i, 20_000);
    }
    input += streamStatus('audience', 'COMPLETE');
    const files = tempFiles({
      'config.json': emulatorConfig(emulator, {
        salesforce_object: 'Contact',
        sync_mode: 'mirror',
        external_id_field: 'External_ID__c',
      }),
      'catalog.json': catalog(configuredStream('audience', ['External_ID__c', 'LastName'])),
    });
    // The CLI's peak resident set as the kernel kept it (getrusage maxRSS, KB), written as it exits:
    // sampling /proc on a timer could miss a peak between two samples, more so on a busy machine.
    const peakFile = join(files.dir, 'peak-rss-kb');
    const result = await runCli(
      ['write', '--config', files['config.json']!, '--catalog', files['catalog.json']!],
      {
        stdin: input,
        nodeArgs: ['--import', PEAK_RSS_HOOK],
        env: { PEAK_RSS_FILE: peakFile },
        timeoutMs: 240_000,
      },
    );
    expect(result.code).toBe(0);
    const peakKb = Number(readFileSync(peakFile, 'utf8'));
    expect(emulator.count('Contact')).toBe(total);
    expect(logText(result)).toContain(
      `deleted 1,000 of ${(total + 1_000).toLocaleString('en-US')} managed records`,
    );
    expect(peakKb).toBeGreaterThan(0);
    expect(peakKb / 1024).toBeLessThan(200);
  }, 300_000);
});

describe('numeric keys', () => {
  /** A sync of rows to With_External_Id__c (External_Id__c: a number, scale 0) with the given mode. */
  async function numericSync(mode: string, rows: Array<Record<string, unknown>>): Promise<CliResult> {
    const input =
      streamStatus('numbers', 'STARTED') +
      rows.map((row) => record('numbers', row)).join('') +
      streamState('numbers', 'end', 1, rows.length) +
      streamStatus('numbers', 'COMPLETE');
    const result = await writeCli(
      emulatorConfig(emulator, {
        salesforce_object: 'Custom Object',
        custom_object_api_name: 'With_External_Id__c',
        sync_mode: mode,
        external_id_field: 'External_Id__c',
      }),
      catalog(configuredStream('numbers', { Name: ['null', 'string'], External_Id__c: ['null', 'number'] })),
      input,
    );
    return result;
  }
  const stored = () =>
    emulator
      .records('With_External_Id__c')
      .map((r) => `${String(r.External_Id__c)}:${String(r.Name)}`)
      .sort();

  it('looks keys up in plain decimals rounded to the field, never as "1e-7" (a query Salesforce refuses)', async () => {
    emulator.seed('With_External_Id__c', [
      { Name: 'one', External_Id__c: 1 },
      { Name: 'two', External_Id__c: 2 },
    ]);
    const result = await numericSync('update', [
      { External_Id__c: 1.4, Name: 'first' },
      { External_Id__c: 2, Name: 'second' },
      { External_Id__c: 0.0000001, Name: 'tiny' },
    ]);
    expect(result.code).toBe(0);
    expect(stored()).toEqual(['1:first', '2:second']);
    expect(ofType(result, 'STATE').at(-1)!.state.destinationStats).toEqual({
      recordCount: 2,
      rejectedRecordCount: 1,
    });
    expect(logText(result)).toContain('NOT_FOUND');
  });

  it('mirror shares keys between streams that spell the object differently (one object in Describe)', async () => {
    emulator.seed(
      'With_External_Id__c',
      [1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map((n) => ({ Name: `n${n}`, External_Id__c: n })),
    );
    let input = '';
    for (const [stream, keys] of [
      ['a', [1, 2, 3, 4, 5, 6, 7, 8, 9]],
      ['b', [10]],
    ] as const) {
      input += streamStatus(stream, 'STARTED');
      for (const n of keys) input += record(stream, { External_Id__c: n, Name: `n${n}` });
      input += streamState(stream, 'end', 1, keys.length) + streamStatus(stream, 'COMPLETE');
    }
    const result = await writeCli(
      emulatorConfig(emulator, {
        salesforce_object: 'Custom Object',
        custom_object_api_name: 'With_External_Id__c',
        sync_mode: 'mirror',
        external_id_field: 'External_Id__c',
        streams: [
          {
            stream_name: 'b',
            salesforce_object: 'Custom Object',
            custom_object_api_name: 'with_external_id__c',
          },
        ],
      }),
      catalog(
        ...['a', 'b'].map((name) =>
          configuredStream(name, { Name: ['null', 'string'], External_Id__c: ['null', 'number'] }),
        ),
      ),
      input,
    );
    expect(result.code).toBe(0);
    expect(stored()).toHaveLength(10);
    expect(logText(result)).toContain('deleted 0 of 10 managed records');
  });

  it('mirror keeps a record whose key arrived with more decimals than the field keeps', async () => {
    emulator.seed(
      'With_External_Id__c',
      [1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map((n) => ({ Name: `n${n}`, External_Id__c: n })),
    );
    const rows = [2, 3, 4, 5, 6, 7, 8, 9, 10].map((n) => ({ External_Id__c: n, Name: `n${n}` }));
    rows.push({ External_Id__c: 1.4, Name: 'n1' }, { External_Id__c: 0.0000001, Name: 'n0' });
    const result = await numericSync('mirror', rows);
    expect(result.code).toBe(0);
    // 1.4 is stored as 1 and 0.0000001 as 0: both arrived, so neither record is deleted.
    expect(stored()).toHaveLength(11);
    expect(logText(result)).toContain('deleted 0 of 11 managed records');
  });
});
