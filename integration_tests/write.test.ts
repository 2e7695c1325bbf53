/**
 * The built CLI's write against the emulator, through real stdin/stdout (PRODUCT.md sections 4–7):
 * rows land with the right values and never twice, every rejected row carries Salesforce's code and
 * is counted, and states leave in order, whole, only after their records ended.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { startEmulator, type Emulator } from './emulator/index.js';
import { logText, ofType, runCli, tempFiles, type CliResult } from './helpers/cli.js';
import {
  catalog,
  configuredStream,
  globalState,
  record,
  streamState,
  streamStatus,
} from './helpers/messages.js';
import { contactRow, CONTACT_COLUMNS } from './helpers/rows.js';
import { emulatorConfig, expectValidProtocol, runWrite } from './helpers/setup.js';

let emulator: Emulator;
beforeAll(async () => {
  emulator = await startEmulator();
});
afterAll(async () => emulator.close());
beforeEach(() => emulator.reset());

type Msg = Record<string, any>;

async function write(
  config: Record<string, unknown>,
  configured: Record<string, unknown>,
  input: string,
  onLine?: (m: Msg) => void,
): Promise<CliResult> {
  return runWrite(emulator, config, configured, { stdin: input, ...(onLine ? { onLine } : {}) });
}

const contactsConfig = (extra: Record<string, unknown> = {}) =>
  emulatorConfig(emulator, { salesforce_object: 'Contact', external_id_field: 'External_ID__c', ...extra });
const contactsCatalog = (extra: string[] = []) =>
  catalog(configuredStream('contacts', [...CONTACT_COLUMNS, ...extra]));

function contactsInput(n: number, version: number, stateEvery: number): string {
  let input = '';
  for (let i = 0; i < n; i += 1) {
    input += record('contacts', contactRow(i, version));
    if ((i + 1) % stateEvery === 0) input += streamState('contacts', i + 1, i + 1, stateEvery);
  }
  return input;
}

const states = (result: CliResult) => ofType(result, 'STATE').map((m) => m.state);

describe('upsert', () => {
  it('lands 10,000 rows with the right values, then updates them on a second run without one duplicate', async () => {
    const first = await write(contactsConfig(), contactsCatalog(), contactsInput(10_000, 1, 2_500));
    expect(first.code).toBe(0);
    expect(emulator.count('Contact')).toBe(10_000);
    const stored = new Map(emulator.records('Contact').map((r) => [r.External_ID__c as string, r]));
    for (const i of [0, 1, 4_242, 9_999]) {
      const row = contactRow(i, 1);
      expect(stored.get(`C-${i}`)).toMatchObject({
        FirstName: row.FirstName,
        LastName: row.LastName,
        Email: row.Email,
        Phone: row.Phone,
        Title: row.Title,
        Birthdate: row.Birthdate,
        MailingCity: row.MailingCity,
        MailingLatitude: row.MailingLatitude,
        Description: row.Description,
      });
    }
    expect(states(first).map((s) => s.destinationStats)).toEqual(
      Array(4).fill({ recordCount: 2_500, rejectedRecordCount: 0 }),
    );

    emulator.resetStats();
    const second = await write(contactsConfig(), contactsCatalog(), contactsInput(10_000, 2, 2_500));
    expect(second.code).toBe(0);
    const records = emulator.records('Contact');
    expect(records).toHaveLength(10_000);
    expect(new Set(records.map((r) => r.External_ID__c)).size).toBe(10_000);
    expect(records.every((r) => String(r.Department) === 'Dept v2')).toBe(true);
    expect(logText(second)).toContain('10,000 committed (10,000 updated)');
    // 10,000 rows in 1,020-record Composite calls, plus one Describe.
    expect(emulator.stats().apiUsed).toBe(Math.ceil(10_000 / 1_020) + 1);
  });

  it('merges two rows for one key into one write, the later values winning', async () => {
    const input =
      record('contacts', { ...contactRow(1), Title: 'first' }) +
      record('contacts', { External_ID__c: 'C-1', Title: 'second' }) +
      streamState('contacts', 1, 1, 2);
    const result = await write(contactsConfig(), contactsCatalog(), input);
    expect(result.code).toBe(0);
    expect(emulator.records('Contact')).toEqual([
      expect.objectContaining({ External_ID__c: 'C-1', Title: 'second', LastName: contactRow(1).LastName }),
    ]);
    expect(states(result)[0].destinationStats).toEqual({ recordCount: 2, rejectedRecordCount: 0 });
    // One record was created; the summary does not count the folded row as a second creation.
    expect(logText(result)).toContain('2 committed (1 created, 1 merged)');
  });
});

describe('settings that would do nothing', () => {
  it('warns about a misspelt config key and a streams entry that names no stream, and writes as configured', async () => {
    const result = await write(
      contactsConfig({
        advanced: { dryRun: true },
        streams: [{ stream_name: 'contact', sync_mode: 'insert' }],
      }),
      contactsCatalog(),
      record('contacts', contactRow(1)) + streamState('contacts', 1, 1),
    );
    expect(result.code).toBe(0);
    const log = logText(result);
    expect(log).toContain(
      'The config key `advanced.dryRun` is not a setting of this connector and is ignored; did you mean `dry_run`?',
    );
    expect(log).toContain(
      'The streams entry for "contact" matches no stream of the catalog, so its settings are not used; did you mean "contacts"?',
    );
    // Neither took effect: a real write (no dry run), by upsert (not the entry's insert).
    expect(emulator.count('Contact')).toBe(1);
    expect(logText(result)).toContain('contacts → Contact upsert');
  });
});

describe('top-level field mappings in a stream of another object', () => {
  it('are not judged against that object: a mapping meant for Contact does not stop a Case stream', async () => {
    const result = await write(
      contactsConfig({
        field_mappings: [{ source: 'surname', destination: 'LastName' }],
        streams: [{ stream_name: 'cases', salesforce_object: 'Case', sync_mode: 'insert' }],
      }),
      catalog(configuredStream('cases', ['Subject'])),
      record('cases', { Subject: 'Printer on fire' }) + streamState('cases', 1, 1),
    );
    expect(result.code).toBe(0);
    expect(emulator.count('Case')).toBe(1);
  });
});

describe('a catalog that asks to delete', () => {
  it('says so when the config decides otherwise (without destination_object_name the config rules)', async () => {
    const result = await write(
      contactsConfig(),
      catalog(configuredStream('contacts', CONTACT_COLUMNS, { destination_sync_mode: 'overwrite' })),
      record('contacts', contactRow(1)) + streamState('contacts', 1, 1),
    );
    expect(result.code).toBe(0);
    expect(logText(result)).toContain(
      'Stream "contacts": the catalog asks overwrite (mirror), but without destination_object_name the config decides, and it says upsert.',
    );
    expect(emulator.count('Contact')).toBe(1);
  });
});

describe('a bounded log', () => {
  it('tells skipped lines and new columns a few times, then counts them, and cuts a long key in a rejection', async () => {
    let input = 'not json\n'.repeat(30);
    for (let i = 0; i < 15; i += 1) input += record('contacts', { ...contactRow(i), [`extra_${i}`]: 'x' });
    input += record('contacts', { ...contactRow(99), External_ID__c: 'K'.repeat(5_000) });
    input += streamState('contacts', 1, 1);
    const result = await write(contactsConfig(), contactsCatalog(), input);
    expect(result.code).toBe(0);
    const logs = ofType(result, 'LOG').map((m) => String(m.log.message));
    expect(logs.filter((l) => l.startsWith('Skipped stdin line'))).toHaveLength(10);
    expect(logText(result)).toContain('Skipped 30 stdin lines that were not Airbyte messages.');
    expect(
      logs.filter((l) => l.includes("column(s) not in the stream's schema will not be written")),
    ).toHaveLength(10);
    expect(logText(result)).toContain("5 more column(s) not in the stream's schema were not written.");
    expect(logText(result)).toContain(`Rejected contacts ${'K'.repeat(100)}…: STRING_TOO_LONG`);
    expect(Math.max(...logs.map((l) => l.length))).toBeLessThan(2_000);
  });
});

describe('per-record errors', () => {
  it("rejects each bad row with Salesforce's code, counts it, and still lands every good row of the batch", async () => {
    emulator.seed('Contact', [
      { LastName: 'Twin A', Email: 'twin@example.com' },
      { LastName: 'Twin B', Email: 'twin@example.com' },
    ]);
    const [accountId] = emulator.seed('Account', [{ Name: 'Acme', External_ID__c: 'ACME' }]);
    const good = (i: number) => contactRow(i);
    const bad: Array<[string, Record<string, unknown>]> = [
      // Refused locally, costing no API call:
      ['STRING_TOO_LONG', { ...good(100), LastName: 'x'.repeat(81) }],
      ['INVALID_EMAIL_ADDRESS', { ...good(101), Email: 'not an email' }],
      ['REQUIRED_FIELD_MISSING', { ...good(102), LastName: null }],
      ['INVALID_TYPE_ON_FIELD_IN_RECORD', { ...good(103), Birthdate: '2020-02-31' }],
      ['INVALID_TYPE_ON_FIELD_IN_RECORD', { ...good(104), MailingLatitude: 'north' }],
      ['MALFORMED_ID', { ...good(105), AccountId: 'not-an-id' }],
      ['MISSING_ARGUMENT', { ...good(106), External_ID__c: null }],
      // Refused by Salesforce (the emulator):
      ['INVALID_CROSS_REFERENCE_KEY', { ...good(107), AccountId: '001000000000000AAA' }],
      ['INVALID_FIELD', { ...good(108), AccountId: { External_ID__c: 'NO-SUCH-ACCOUNT' } }],
    ];
    let input = '';
    for (let i = 0; i < 50; i += 1) input += record('contacts', good(i));
    for (const [, row] of bad) input += record('contacts', row);
    input += record('contacts', { ...good(200), AccountId: { External_ID__c: 'ACME' } });
    input += streamState('contacts', 'end', 7, 60);
    const result = await write(contactsConfig(), contactsCatalog(['AccountId']), input);
    expect(result.code).toBe(0);
    const stored = emulator.records('Contact').filter((r) => typeof r.External_ID__c === 'string');
    expect(stored).toHaveLength(51);
    expect(stored.find((r) => r.External_ID__c === 'C-200')?.AccountId).toBe(accountId);
    const text = logText(result);
    for (const [code, row] of bad) {
      const key = row.External_ID__c === null ? 'row 57' : (row.External_ID__c as string);
      expect(text).toMatch(new RegExp(`Rejected contacts ${key}: ${code}: `));
    }
    expect(text).toContain('Rejected contacts C-100: STRING_TOO_LONG: Last Name: data value too large');
    expect(states(result)).toEqual([
      expect.objectContaining({
        id: 7,
        sourceStats: { recordCount: 60 },
        destinationStats: { recordCount: 51, rejectedRecordCount: 9 },
      }),
    ]);
  });

  it('rejects DUPLICATE_EXTERNAL_ID when an Email key matches two records, and writes the rejected rows to the configured file', async () => {
    emulator.seed('Contact', [
      { LastName: 'Twin A', Email: 'twin@example.com' },
      { LastName: 'Twin B', Email: 'twin@example.com' },
    ]);
    const files = tempFiles({});
    const path = `${files.dir}/rejected.jsonl`;
    const input =
      record('leads_as_contacts', { Email: 'twin@example.com', LastName: 'Twin' }) +
      record('leads_as_contacts', { Email: 'solo@example.com', LastName: 'Solo' }) +
      streamState('leads_as_contacts', 1, 1);
    const result = await write(
      emulatorConfig(emulator, { salesforce_object: 'Contact', advanced: { rejected_records_path: path } }),
      catalog(configuredStream('leads_as_contacts', ['Email', 'LastName'])),
      input,
    );
    expect(result.code).toBe(0);
    expect(logText(result)).toMatch(/Rejected leads_as_contacts twin@example.com: DUPLICATE_EXTERNAL_ID/);
    expect(emulator.records('Contact').filter((r) => r.Email === 'solo@example.com')).toHaveLength(1);
    const rejected = readFileSync(path, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(rejected).toEqual([
      expect.objectContaining({
        stream: 'leads_as_contacts',
        key: 'twin@example.com',
        statusCode: 'DUPLICATE_EXTERNAL_ID',
        record: { Email: 'twin@example.com', LastName: 'Twin' },
      }),
    ]);
  });

  it('stops with a config_error before reading any record when the rejected-records file cannot be written', async () => {
    emulator.resetStats();
    const files = tempFiles({});
    const path = `${files.dir}/no-such-directory/rejected.jsonl`;
    const result = await write(
      emulatorConfig(emulator, { salesforce_object: 'Contact', advanced: { rejected_records_path: path } }),
      catalog(configuredStream('contacts', ['Email', 'LastName'])),
      record('contacts', { Email: 'a@example.com', LastName: 'A' }) + streamState('contacts', 1, 1),
    );
    expect(result.code).toBe(1);
    const trace = ofType(result, 'TRACE')[0]!.trace.error;
    expect(trace.failure_type).toBe('config_error');
    expect(trace.message).toContain(`advanced.rejected_records_path "${path}" cannot be written (ENOENT)`);
    expect(ofType(result, 'STATE')).toEqual([]);
    expect(emulator.stats().apiUsed).toBe(0);
  });

  it("rejects a validation rule's error (FIELD_CUSTOM_VALIDATION_EXCEPTION) per record", async () => {
    const strict = await startEmulator({
      beforeSave: ({ record: r }) =>
        r.Title === 'forbidden'
          ? {
              statusCode: 'FIELD_CUSTOM_VALIDATION_EXCEPTION',
              message: 'Title may not be forbidden',
              fields: ['Title'],
            }
          : undefined,
    });
    try {
      const input =
        record('contacts', { ...contactRow(1), Title: 'forbidden' }) +
        record('contacts', contactRow(2)) +
        streamState('contacts', 1, 1);
      const files = tempFiles({
        'config.json': {
          ...emulatorConfig(strict, { salesforce_object: 'Contact', external_id_field: 'External_ID__c' }),
        },
        'catalog.json': contactsCatalog(),
      });
      const result = await runCli(
        ['write', '--config', files['config.json']!, '--catalog', files['catalog.json']!],
        { stdin: input },
      );
      expect(logText(result)).toContain(
        'Rejected contacts C-1: FIELD_CUSTOM_VALIDATION_EXCEPTION: Title may not be forbidden [fields: Title]',
      );
      expect(strict.count('Contact')).toBe(1);
      expect(states(result)[0].destinationStats).toEqual({ recordCount: 1, rejectedRecordCount: 1 });
    } finally {
      await strict.close();
    }
  });
});

describe('state messages', () => {
  it('leaves each STREAM state in order, whole, only after the records before it are in Salesforce', async () => {
    emulator.configure({ latencyMs: 50 });
    try {
      let input = '';
      for (let i = 0; i < 3_000; i += 1) {
        input += record('contacts', contactRow(i));
        if ((i + 1) % 500 === 0) input += streamState('contacts', { upTo: i + 1 }, 1000 + i, 500);
      }
      const seenAtState: number[] = [];
      const result = await write(
        contactsConfig({ advanced: { records_per_request: 200 } }),
        contactsCatalog(),
        input,
        (m) => {
          if (m.type !== 'STATE') return;
          const upTo = m.state.stream.stream_state.cursor.upTo as number;
          const keys = new Set(emulator.records('Contact').map((r) => r.External_ID__c));
          let present = 0;
          for (let i = 0; i < upTo; i += 1) if (keys.has(`C-${i}`)) present += 1;
          seenAtState.push(present - upTo);
        },
      );
      expect(result.code).toBe(0);
      expect(seenAtState).toEqual(Array(6).fill(0));
      expect(states(result)).toEqual(
        Array.from({ length: 6 }, (_, k) => ({
          type: 'STREAM',
          stream: {
            stream_descriptor: { name: 'contacts' },
            stream_state: { cursor: { upTo: (k + 1) * 500 } },
          },
          id: 1000 + (k + 1) * 500 - 1,
          sourceStats: { recordCount: 500 },
          destinationStats: { recordCount: 500, rejectedRecordCount: 0 },
        })),
      );
    } finally {
      emulator.configure({ latencyMs: 0 });
    }
  });

  it('counts a GLOBAL state over every stream, committed and rejected', async () => {
    const input =
      record('contacts', contactRow(1)) +
      record('leads', { LastName: 'Lead', Company: 'Acme', Email: 'lead1@example.com' }) +
      record('leads', { LastName: 'No company', Email: 'lead2@example.com' }) +
      globalState(1, 11, ['contacts', 'leads']) +
      record('contacts', contactRow(2)) +
      globalState(2, 12, ['contacts', 'leads']);
    const result = await write(
      emulatorConfig(emulator, {
        streams: [
          { stream_name: 'contacts', salesforce_object: 'Contact', external_id_field: 'External_ID__c' },
          { stream_name: 'leads', salesforce_object: 'Lead', sync_mode: 'insert' },
        ],
      }),
      catalog(
        configuredStream('contacts', CONTACT_COLUMNS),
        configuredStream('leads', ['LastName', 'Company', 'Email']),
      ),
      input,
    );
    expect(result.code).toBe(0);
    expect(states(result).map((s) => [s.id, s.type, s.global.shared_state, s.destinationStats])).toEqual([
      [11, 'GLOBAL', { cursor: 1 }, { recordCount: 2, rejectedRecordCount: 1 }],
      [12, 'GLOBAL', { cursor: 2 }, { recordCount: 1, rejectedRecordCount: 0 }],
    ]);
    expect(logText(result)).toContain(
      'Rejected leads row 2: REQUIRED_FIELD_MISSING: Required fields are missing: [Company]',
    );
  });

  it('echoes a LEGACY state (no type) whole', async () => {
    const input =
      record('contacts', contactRow(1)) +
      `${JSON.stringify({ type: 'STATE', state: { data: { cursor: 'x' } } })}\n`;
    const result = await write(contactsConfig(), contactsCatalog(), input);
    expect(states(result)).toEqual([
      { data: { cursor: 'x' }, destinationStats: { recordCount: 1, rejectedRecordCount: 0 } },
    ]);
  });
});

describe('bad input', () => {
  it('skips garbage lines with a warning naming the line, keeps every record, and counts a RECORD it cannot read as rejected', async () => {
    const input = `${record('contacts', contactRow(1))}this is not json\n{"type":"RECORD"}\n[]\n${record('contacts', contactRow(2))}${streamState('contacts', 1, 1)}`;
    const result = await write(contactsConfig(), contactsCatalog(), input);
    expect(result.code).toBe(0);
    expect(emulator.count('Contact')).toBe(2);
    const text = logText(result);
    expect(text).toContain('Skipped stdin line 2: not JSON');
    expect(text).toContain(
      'Rejected lines that could not be read row 1: INVALID_RECORD: stdin line 3 could not be read as an Airbyte RECORD (RECORD without a "record" object)',
    );
    expect(text).toContain('Skipped stdin line 4: not a JSON object');
    expect(text).toContain('Skipped 2 stdin lines that were not Airbyte messages.');
    expect(states(result)[0].destinationStats).toEqual({ recordCount: 2, rejectedRecordCount: 0 });
  });

  it('rejects records of a stream the catalog does not list, says so once, and counts them', async () => {
    const input =
      record('contacts', contactRow(1)) +
      record('ghost', { a: 1 }) +
      record('ghost', { a: 2 }) +
      globalState(1, 1, ['contacts']);
    const result = await write(contactsConfig(), contactsCatalog(), input);
    expect(result.code).toBe(0);
    const errors = ofType(result, 'LOG').filter((m) => m.log.level === 'ERROR');
    expect(errors).toHaveLength(1);
    expect(errors[0]!.log.message).toContain(
      'Records for stream "ghost" arrived, but the configured catalog does not list that stream',
    );
    expect(states(result)[0].destinationStats).toEqual({ recordCount: 1, rejectedRecordCount: 2 });
  });

  it('rejects a RECORD whose data is not an object', async () => {
    const input = `${JSON.stringify({ type: 'RECORD', record: { stream: 'contacts', data: 'text', emitted_at: 1 } })}\n${streamState('contacts', 1, 1)}`;
    const result = await write(contactsConfig(), contactsCatalog(), input);
    expect(logText(result)).toContain('Rejected contacts row 1: INVALID_RECORD');
    expect(states(result)[0].destinationStats).toEqual({ recordCount: 0, rejectedRecordCount: 1 });
  });

  it.each([
    [
      'an unknown object',
      { salesforce_object: 'Custom Object', custom_object_api_name: 'Ghost__c', external_id_field: 'X__c' },
      'Salesforce object "Ghost__c" does not exist',
    ],
    [
      'a key field that cannot match',
      { salesforce_object: 'Contact', external_id_field: 'Department' },
      'is not an External ID or idLookup field',
    ],
    [
      'a missing required column',
      { salesforce_object: 'Lead', external_id_field: 'Email' },
      'Required Lead field Company is not mapped',
    ],
    [
      'an API version the org does not offer',
      { salesforce_object: 'Contact', external_id_field: 'Email', api_version: 'v99.0' },
      'API version v99.0 is not offered by this org',
    ],
    [
      'a field mapping to a field the object does not have',
      {
        salesforce_object: 'Contact',
        external_id_field: 'Email',
        field_mappings: [{ source: 'X__c', destination: 'Titel' }],
      },
      'field_mappings sends column "X__c" to "Titel", but Contact has no field Titel (did you mean Title?).',
    ],
  ])('fails with a config_error before writing anything for %s', async (_what, settings, message) => {
    emulator.resetStats();
    const result = await write(
      emulatorConfig(emulator, settings),
      catalog(configuredStream('s', ['Email', 'LastName', 'X__c'])),
      record('s', { Email: 'a@b.co', LastName: 'x' }),
    );
    expect(result.code).toBe(1);
    const trace = ofType(result, 'TRACE')[0]!.trace.error;
    expect(trace.failure_type).toBe('config_error');
    expect(trace.message).toContain(message);
    expect(emulator.stats().byKind.composite ?? 0).toBeLessThanOrEqual(1);
    expect(emulator.stats().byKind.collections ?? 0).toBe(0);
    expect(ofType(result, 'STATE')).toHaveLength(0);
  });

  it('fails with a config_error naming every catalog problem', async () => {
    const result = await write(
      contactsConfig(),
      { streams: [{ stream: {}, destination_sync_mode: 'merge' }] },
      '',
    );
    expect(result.code).toBe(1);
    const message = ofType(result, 'TRACE')[0]!.trace.error.message as string;
    expect(message).toContain('catalog.streams[0].stream.name is required');
    expect(message).toContain('catalog.streams[0].destination_sync_mode must be one of');
  });

  it('warns once per stream about columns it will not write', async () => {
    const result = await write(
      contactsConfig(),
      contactsCatalog(['CaseNumber', 'favourite_colour']),
      record('contacts', contactRow(1)),
    );
    const warnings = ofType(result, 'LOG').filter((m) => m.log.message.includes('will not be written'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.log.message).toContain('favourite_colour');
  });
});

describe('update', () => {
  it('updates by external ID the rows whose key exists and rejects the rest with NOT_FOUND', async () => {
    emulator.seed('Contact', [
      { LastName: 'Existing 1', External_ID__c: 'C-1' },
      { LastName: 'Existing 2', External_ID__c: 'C-2' },
    ]);
    const input =
      record('contacts', { External_ID__c: 'C-1', Title: 'Updated' }) +
      record('contacts', { External_ID__c: 'C-2', Title: 'Updated' }) +
      record('contacts', { External_ID__c: 'C-404', Title: 'Updated' }) +
      streamState('contacts', 1, 1);
    const result = await write(
      contactsConfig({ sync_mode: 'update' }),
      catalog(configuredStream('contacts', ['External_ID__c', 'Title'])),
      input,
    );
    expect(result.code).toBe(0);
    expect(emulator.records('Contact').map((r) => [r.External_ID__c, r.Title])).toEqual([
      ['C-1', 'Updated'],
      ['C-2', 'Updated'],
    ]);
    expect(logText(result)).toContain(
      'Rejected contacts C-404: NOT_FOUND: No Contact record has External_ID__c = "C-404"',
    );
    expect(states(result)[0].destinationStats).toEqual({ recordCount: 2, rejectedRecordCount: 1 });
  });

  it('updates by Id', async () => {
    const [id] = emulator.seed('Contact', [{ LastName: 'By Id' }]);
    const result = await write(
      emulatorConfig(emulator, {
        salesforce_object: 'Contact',
        sync_mode: 'update',
        external_id_field: 'Id',
      }),
      catalog(configuredStream('contacts', ['Id', 'Title'])),
      record('contacts', { Id: id, Title: 'Set by Id' }) + streamState('contacts', 1, 1),
    );
    expect(result.code).toBe(0);
    expect(emulator.record('Contact', id!)?.Title).toBe('Set by Id');
  });
});

describe('insert and data activation', () => {
  it('inserts every row through destination_object_name with append, and upserts with append_dedup on primary_key', async () => {
    const input =
      record('people', { LastName: 'A', Company: 'X' }) +
      record('people', { LastName: 'B', Company: 'Y' }) +
      streamState('people', 1, 1);
    const config = emulatorConfig(emulator);
    const appendCatalog = catalog(
      configuredStream('people', ['LastName', 'Company'], {
        destination_object_name: 'Lead',
        destination_sync_mode: 'append',
      }),
    );
    expect((await write(config, appendCatalog, input)).code).toBe(0);
    expect((await write(config, appendCatalog, input)).code).toBe(0);
    expect(emulator.count('Lead')).toBe(4);

    const dedupCatalog = catalog(
      configuredStream('people', ['External_ID__c', 'LastName', 'Company'], {
        destination_object_name: 'Lead',
        destination_sync_mode: 'append_dedup',
        primary_key: [['External_ID__c']],
      }),
    );
    const keyed =
      record('people', { External_ID__c: 'L-1', LastName: 'A', Company: 'X' }) + streamState('people', 1, 1);
    await write(config, dedupCatalog, keyed);
    await write(config, dedupCatalog, keyed);
    expect(emulator.records('Lead').filter((r) => r.External_ID__c === 'L-1')).toHaveLength(1);
  });

  it('refuses a composite primary key for data activation', async () => {
    const result = await write(
      emulatorConfig(emulator),
      catalog(
        configuredStream('people', ['a', 'b'], {
          destination_object_name: 'Lead',
          destination_sync_mode: 'append_dedup',
          primary_key: [['a'], ['b']],
        }),
      ),
      '',
    );
    expect(result.code).toBe(1);
    expect(ofType(result, 'TRACE')[0]!.trace.error.message).toContain(
      'Salesforce matches records on one field',
    );
  });
});

describe('stream status', () => {
  it("sends a stream's open batch when its COMPLETE arrives, before the input ends", async () => {
    // Which record Salesforce saves first, and whether stdin was still open then, tells the COMPLETE
    // send apart from the two other ways a batch leaves: the end of input (stdin is closed by then)
    // and the age timer, which takes the streams in catalog order, "leads" before "contacts", while
    // only "contacts" completes. One call at a time, so the saves keep the order of the sends.
    const saved: string[] = [];
    let stdinOpen = true;
    let contactSaved!: () => void;
    const contactArrived = new Promise<void>((resolve) => (contactSaved = resolve));
    const sf = await startEmulator({
      beforeSave: ({ objectName }) => {
        saved.push(`${objectName} saved while stdin is ${stdinOpen ? 'open' : 'closed'}`);
        if (objectName === 'Contact') contactSaved();
        return undefined;
      },
    });
    async function* source(): AsyncGenerator<string> {
      yield (
        streamStatus('leads', 'STARTED') +
        record('leads', { LastName: 'Lead', Company: 'Acme' }) +
        streamStatus('contacts', 'STARTED') +
        record('contacts', contactRow(1)) +
        streamStatus('contacts', 'COMPLETE')
      );
      await contactArrived;
      stdinOpen = false;
      yield streamState('contacts', 1, 1) + streamStatus('leads', 'COMPLETE');
    }
    try {
      const files = tempFiles({
        'config.json': emulatorConfig(sf, {
          advanced: { parallel_requests: 1 },
          streams: [
            { stream_name: 'leads', salesforce_object: 'Lead', sync_mode: 'insert' },
            { stream_name: 'contacts', salesforce_object: 'Contact', external_id_field: 'External_ID__c' },
          ],
        }),
        'catalog.json': catalog(
          configuredStream('leads', ['LastName', 'Company']),
          configuredStream('contacts', CONTACT_COLUMNS),
        ),
      });
      const result = await runCli(
        ['write', '--config', files['config.json']!, '--catalog', files['catalog.json']!],
        { stdin: source() },
      );
      expectValidProtocol(result, [sf.credentials.clientSecret, sf.credentials.refreshToken]);
      expect(result.code).toBe(0);
      expect(saved[0]).toBe('Contact saved while stdin is open');
      expect(saved).toHaveLength(2);
      expect(saved[1]).toMatch(/^Lead saved/);
      expect(states(result)[0].destinationStats).toEqual({ recordCount: 1, rejectedRecordCount: 0 });
    } finally {
      await sf.close();
    }
  });
});
