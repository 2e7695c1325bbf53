/**
 * The built CLI's spec and check against the emulator (PRODUCT.md sections 2, 3, 9): exactly one
 * message of the right type, valid against the protocol schema, and a FAILED status that says what
 * to fix for each way a setup goes wrong.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { existsSync, readFileSync } from 'node:fs';
import { startEmulator, type Emulator } from './emulator/index.js';
import { ofType, runCli, tempFiles } from './helpers/cli.js';
import { emulatorConfig, expectValidProtocol } from './helpers/setup.js';

let emulator: Emulator;
beforeAll(async () => {
  emulator = await startEmulator({ apiVersions: ['58.0', '59.0', '60.0', '61.0', '62.0'] });
});
afterAll(async () => emulator.close());

async function check(config: Record<string, unknown>) {
  const files = tempFiles({ 'config.json': config });
  const result = await runCli(['check', '--config', files['config.json']!]);
  expectValidProtocol(result, [emulator.credentials.clientSecret, emulator.credentials.refreshToken]);
  const statuses = ofType(result, 'CONNECTION_STATUS');
  expect(statuses).toHaveLength(1);
  return { result, status: statuses[0]!.connectionStatus as { status: string; message: string } };
}

describe('spec', () => {
  it('prints exactly spec/spec.json as one SPEC message, valid against the protocol schema', async () => {
    const result = await runCli(['spec']);
    expect(result.code).toBe(0);
    expectValidProtocol(result);
    expect(result.messages).toHaveLength(1);
    expect(result.messages[0]).toEqual({
      type: 'SPEC',
      spec: JSON.parse(readFileSync(new URL('../spec/spec.json', import.meta.url), 'utf8')),
    });
  });
});

describe('check against the emulator', () => {
  it('succeeds with good credentials and reports the daily API requests left', async () => {
    const { result, status } = await check(
      emulatorConfig(emulator, { salesforce_object: 'Contact', external_id_field: 'External_ID__c' }),
    );
    expect(result.code).toBe(0);
    expect(status.status).toBe('SUCCEEDED');
    expect(status.message).toMatch(
      /Ready: Contact upsert on External_ID__c\. [\d,]+ daily API requests remain\./,
    );
  });

  it('succeeds with a warning naming a config key it does not know, and the key meant', async () => {
    const { status } = await check(
      emulatorConfig(emulator, { salesforce_object: 'Contact', advanced: { dryRun: true } }),
    );
    expect(status.status).toBe('SUCCEEDED');
    expect(status.message).toContain(
      'Warning: The config key `advanced.dryRun` is not a setting of this connector and is ignored; did you mean `dry_run`?',
    );
  });

  it('succeeds for Contact upsert on Email, the default key', async () => {
    const { status } = await check(emulatorConfig(emulator, { salesforce_object: 'Contact' }));
    expect(status).toMatchObject({ status: 'SUCCEEDED' });
    expect(status.message).toContain('Contact upsert on Email');
  });

  it('fails with "reconnect" for a bad refresh token', async () => {
    const config = emulatorConfig(emulator, { salesforce_object: 'Contact' });
    (config.credentials as Record<string, string>).refresh_token = 'revoked-or-wrong-token';
    const { result, status } = await check(config);
    expect(result.code).toBe(0);
    expect(status.status).toBe('FAILED');
    expect(status.message).toMatch(/invalid_grant/);
    expect(status.message).toMatch(/Reconnect/);
    expect(result.stdout).not.toContain('revoked-or-wrong-token');
  });

  it('fails naming the client for a wrong client secret', async () => {
    const config = emulatorConfig(emulator, { salesforce_object: 'Contact' });
    (config.credentials as Record<string, string>).client_secret = 'wrong-secret';
    const { status } = await check(config);
    expect(status.status).toBe('FAILED');
    expect(status.message).toMatch(/invalid_client/);
  });

  it('fails for an unknown object and says how custom objects are named', async () => {
    const { status } = await check(
      emulatorConfig(emulator, {
        salesforce_object: 'Custom Object',
        custom_object_api_name: 'Support_Ticket__c',
      }),
    );
    expect(status.status).toBe('FAILED');
    expect(status.message).toContain('Salesforce object "Support_Ticket__c" does not exist in this org');
  });

  it('fails for a custom object name without __c, saying to add the suffix', async () => {
    const { status: failed } = await check({
      ...emulatorConfig(emulator),
      streams: [
        {
          stream_name: 'tickets',
          salesforce_object: 'Custom Object',
          custom_object_api_name: 'With_External_Id',
        },
      ],
    });
    expect(failed.status).toBe('FAILED');
    expect(failed.message).toContain(
      'streams[0].custom_object_api_name must be a custom object API name ending in __c (add the __c suffix',
    );
  });

  it('fails when the matching field is neither External ID nor idLookup, saying how to mark it', async () => {
    const { status } = await check(
      emulatorConfig(emulator, { salesforce_object: 'Contact', external_id_field: 'Department' }),
    );
    expect(status.status).toBe('FAILED');
    expect(status.message).toContain('Field Contact.Department is not an External ID or idLookup field');
    expect(status.message).toContain('tick "External ID"');
  });

  it('fails when the matching field does not exist', async () => {
    const { status } = await check(
      emulatorConfig(emulator, { salesforce_object: 'Account', external_id_field: 'Nope__c' }),
    );
    expect(status.status).toBe('FAILED');
    expect(status.message).toContain('Matching field "Nope__c" does not exist on Account');
  });

  it('fails when upsert on Account has no matching field at all', async () => {
    const { status } = await check(emulatorConfig(emulator, { salesforce_object: 'Account' }));
    expect(status.status).toBe('FAILED');
    expect(status.message).toContain('upsert on Account needs a matching field');
  });

  it('fails for an API version the org does not offer, naming the newest it does', async () => {
    const { status } = await check(
      emulatorConfig(emulator, { salesforce_object: 'Contact', api_version: 'v66.0' }),
    );
    expect(status.status).toBe('FAILED');
    expect(status.message).toContain('API version v66.0 is not offered by this org (its newest is v62.0)');
  });

  it('names the required fields no field mapping sets without failing: unlisted columns map by name', async () => {
    // A stream with a Company column writes fine (write checks each stream's schema), so a FAILED
    // check here would block a working setup.
    const { status } = await check(
      emulatorConfig(emulator, {
        salesforce_object: 'Lead',
        field_mappings: [{ source: 'surname', destination: 'LastName' }],
      }),
    );
    expect(status.status).toBe('SUCCEEDED');
    expect(status.message).toContain(
      'Lead upsert on Email (no field mapping sets the required Company: each stream must bring a column of that name)',
    );
  });

  it('fails when the rejected-records file cannot be written, and creates nothing', async () => {
    const files = tempFiles({});
    const path = `${files.dir}/missing/rejected.jsonl`;
    const { status } = await check(
      emulatorConfig(emulator, { salesforce_object: 'Contact', advanced: { rejected_records_path: path } }),
    );
    expect(status.status).toBe('FAILED');
    expect(status.message).toContain(`advanced.rejected_records_path "${path}" cannot be written (ENOENT)`);
    const writable = `${files.dir}/rejected.jsonl`;
    const ok = await check(
      emulatorConfig(emulator, {
        salesforce_object: 'Contact',
        advanced: { rejected_records_path: writable },
      }),
    );
    expect(ok.status.status).toBe('SUCCEEDED');
    expect(existsSync(writable)).toBe(false);
  });

  it('fails when a field mapping names a field or lookup the object does not have', async () => {
    const { status } = await check(
      emulatorConfig(emulator, {
        salesforce_object: 'Contact',
        field_mappings: [
          { source: 'email', destination: 'Emial' },
          { source: 'account', destination: 'Acount.External_ID__c' },
          { source: 'surname', destination: 'LastName' },
        ],
      }),
    );
    expect(status.status).toBe('FAILED');
    expect(status.message).toContain(
      'field_mappings sends column "email" to "Emial", but Contact has no field Emial (did you mean Email?).',
    );
    expect(status.message).toContain(
      'field_mappings sends column "account" to "Acount.External_ID__c", but Contact has no lookup relationship Acount.',
    );
    expect(status.message).not.toContain('surname');
  });

  it('fails a mirror whose matching field is not an External ID: on Email, records nobody synced would count as managed', async () => {
    const byDefault = await check(
      emulatorConfig(emulator, { salesforce_object: 'Contact', sync_mode: 'mirror' }),
    );
    expect(byDefault.status.status).toBe('FAILED');
    expect(byDefault.status.message).toContain('mirror on Contact needs a matching field');
    const onEmail = await check(
      emulatorConfig(emulator, {
        salesforce_object: 'Contact',
        sync_mode: 'mirror',
        external_id_field: 'Email',
      }),
    );
    expect(onEmail.status.status).toBe('FAILED');
    expect(onEmail.status.message).toContain(
      'so it needs an External ID field: Email is only an idLookup field',
    );
  });

  it('fails when the org has no API requests left, or is past the configured budget, since a sync would stop at once', async () => {
    emulator.resetStats();
    emulator.configure({ dailyApiLimit: 2 });
    try {
      const budget = await check(
        emulatorConfig(emulator, { salesforce_object: 'Contact', advanced: { api_budget_percent: 50 } }),
      );
      expect(budget.status.status).toBe('FAILED');
      expect(budget.status.message).toContain(
        'The org has used 1 of its 2 daily API requests (50.0 %), at or above advanced.api_budget_percent (50 %)',
      );
      const spent = await check(emulatorConfig(emulator, { salesforce_object: 'Contact' }));
      expect(spent.status.status).toBe('FAILED');
      expect(spent.status.message).toContain('The org has used all 2 of its daily API requests');
    } finally {
      emulator.configure({ dailyApiLimit: 5_000_000 });
      emulator.resetStats();
    }
  });

  it('fails a field mapping to a field no sync can set', async () => {
    const { status } = await check(
      emulatorConfig(emulator, {
        salesforce_object: 'Case',
        sync_mode: 'insert',
        field_mappings: [{ source: 'num', destination: 'CaseNumber' }],
      }),
    );
    expect(status.status).toBe('FAILED');
    expect(status.message).toContain('CaseNumber is an auto-number field and read-only');
  });

  it('names every config problem at once without calling Salesforce', async () => {
    const { result, status } = await check({
      credentials: { auth_type: 'oauth2_refresh_token' },
      login_url: 'http://example.com',
      sync_mode: 'merge',
    });
    expect(result.code).toBe(0);
    expect(status.status).toBe('FAILED');
    expect(status.message).toMatch(/^The config has \d problems/);
    expect(status.message).toContain('credentials.client_id is required');
    expect(status.message).toContain('login_url must use https');
  });

  it('gives a config_error TRACE, one FAILED status and exit 1 for an unreadable config file', async () => {
    const result = await runCli(['check', '--config', '/nonexistent/config.json']);
    expect(result.code).toBe(1);
    expectValidProtocol(result);
    expect(ofType(result, 'CONNECTION_STATUS')).toHaveLength(1);
    expect(ofType(result, 'TRACE')[0]!.trace.error.failure_type).toBe('config_error');
  });

  it('gives one FAILED status saying the file is not JSON for a malformed config', async () => {
    const files = tempFiles({ 'config.json': '{"credentials": ' });
    const result = await runCli(['check', '--config', files['config.json']!]);
    expect(result.code).toBe(1);
    expect(ofType(result, 'CONNECTION_STATUS')[0]!.connectionStatus.message).toContain('is not valid JSON');
  });

  it('fails transiently when Salesforce cannot be reached', async () => {
    const { status } = await check({
      ...emulatorConfig(emulator, { salesforce_object: 'Contact' }),
      login_url: 'http://127.0.0.1:1',
    });
    expect(status.status).toBe('FAILED');
    expect(status.message).toContain('Cannot reach Salesforce');
  });
});

describe('unknown commands', () => {
  it('answers with a config_error TRACE and exit 1', async () => {
    const result = await runCli(['read', '--config', 'x']);
    expect(result.code).toBe(1);
    expectValidProtocol(result);
    expect(result.messages).toHaveLength(1);
    expect(result.messages[0]!.trace.error).toMatchObject({
      failure_type: 'config_error',
      message: expect.stringContaining('Unknown command "read"'),
    });
  });
});
