/**
 * The built CLI's discover against the emulator (PRODUCT.md section 8): exactly one
 * DESTINATION_CATALOG, valid against the official protocol schema, covering the four service objects
 * and the org's custom objects, and equal to the golden file kept under version control.
 * UPDATE_GOLDEN=1 rewrites integration_tests/golden/discover-catalog.json after an intended change.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readFileSync, writeFileSync } from 'node:fs';
import { startEmulator, type Emulator } from './emulator/index.js';
import { ofType, runCli, tempFiles } from './helpers/cli.js';
import { emulatorConfig, expectValidProtocol } from './helpers/setup.js';

const GOLDEN = new URL('./golden/discover-catalog.json', import.meta.url);

let emulator: Emulator;
beforeAll(async () => {
  emulator = await startEmulator();
});
afterAll(async () => emulator.close());

describe('discover against the emulator', () => {
  it('prints exactly one valid DESTINATION_CATALOG covering the service objects and the custom objects, equal to the golden file', async () => {
    const files = tempFiles({ 'config.json': emulatorConfig(emulator) });
    emulator.resetStats();
    const result = await runCli(['discover', '--config', files['config.json']!]);
    expect(result.code).toBe(0);
    expectValidProtocol(result, [emulator.credentials.clientSecret, emulator.credentials.refreshToken]);
    const catalogs = ofType(result, 'DESTINATION_CATALOG');
    expect(catalogs).toHaveLength(1);
    expect(result.messages.filter((m) => m.type !== 'LOG')).toHaveLength(1);
    const catalog = catalogs[0]!.destination_catalog as {
      operations: Array<{
        object_name: string;
        sync_mode: string;
        matching_keys?: string[][];
        json_schema: { required?: string[]; properties: Record<string, unknown> };
      }>;
    };
    const objects = [...new Set(catalog.operations.map((o) => o.object_name))].sort();
    expect(objects).toEqual(['Account', 'Case', 'Contact', 'Custom__c', 'Lead', 'With_External_Id__c']);

    const op = (object: string, mode: string) =>
      catalog.operations.find((o) => o.object_name === object && o.sync_mode === mode);
    expect(op('Contact', 'append_dedup')!.matching_keys).toEqual(
      expect.arrayContaining([['Email'], ['External_ID__c']]),
    );
    expect(op('Contact', 'append')!.json_schema.required).toContain('LastName');
    expect(op('Lead', 'append')!.json_schema.required).toEqual(
      expect.arrayContaining(['Company', 'LastName']),
    );
    expect(op('Case', 'append')!.json_schema.properties).not.toHaveProperty('CaseNumber');
    expect(op('Account', 'append_dedup')!.matching_keys).toEqual([['External_ID__c']]);
    expect(op('With_External_Id__c', 'append_dedup')!.matching_keys).toEqual(
      expect.arrayContaining([['External_Id__c']]),
    );

    // Describes ride in Composite calls: the whole discover costs a handful of API requests.
    expect(emulator.stats().apiUsed).toBeLessThanOrEqual(3);

    if (process.env.UPDATE_GOLDEN === '1') writeFileSync(GOLDEN, `${JSON.stringify(catalog, null, 2)}\n`);
    expect(catalog).toEqual(JSON.parse(readFileSync(GOLDEN, 'utf8')));
  });

  it('names the API version as the problem when the org does not offer it (every call is NOT_FOUND)', async () => {
    const files = tempFiles({ 'config.json': emulatorConfig(emulator, { api_version: 'v99.0' }) });
    const result = await runCli(['discover', '--config', files['config.json']!]);
    expect(result.code).toBe(1);
    expectValidProtocol(result);
    const trace = ofType(result, 'TRACE').at(-1)!.trace.error;
    expect(trace.failure_type).toBe('config_error');
    expect(trace.message).toMatch(/^API version v99\.0 is not offered by this org \(its newest is v\d+\.0\)/);
  });

  it('skips an object that cannot be described with a warning, and still prints the catalog', async () => {
    const files = tempFiles({
      'config.json': emulatorConfig(emulator, {
        streams: [
          { stream_name: 'tickets', salesforce_object: 'Custom Object', custom_object_api_name: 'Ghost__c' },
        ],
      }),
    });
    const result = await runCli(['discover', '--config', files['config.json']!]);
    expect(result.code).toBe(0);
    expectValidProtocol(result);
    const warnings = ofType(result, 'LOG').filter((m) => m.log.level === 'WARN');
    expect(warnings.map((m) => m.log.message)).toEqual([
      'Skipping Ghost__c: the object does not exist in this org or the user cannot see it.',
    ]);
    const catalog = ofType(result, 'DESTINATION_CATALOG')[0]!.destination_catalog;
    expect(new Set(catalog.operations.map((o: { object_name: string }) => o.object_name)).size).toBe(6);
  });

  it('ends with a config_error TRACE and no catalog when the credentials are refused', async () => {
    const config = emulatorConfig(emulator);
    (config.credentials as Record<string, string>).refresh_token = 'nope';
    const files = tempFiles({ 'config.json': config });
    const result = await runCli(['discover', '--config', files['config.json']!]);
    expect(result.code).toBe(1);
    expectValidProtocol(result);
    expect(ofType(result, 'DESTINATION_CATALOG')).toHaveLength(0);
    expect(ofType(result, 'TRACE')[0]!.trace.error).toMatchObject({
      failure_type: 'config_error',
      message: expect.stringMatching(/Reconnect/),
    });
  });

  it('ends with a transient_error TRACE when Salesforce is unreachable', async () => {
    const files = tempFiles({
      'config.json': { ...emulatorConfig(emulator), login_url: 'http://127.0.0.1:1' },
    });
    const result = await runCli(['discover', '--config', files['config.json']!]);
    expect(result.code).toBe(1);
    expect(ofType(result, 'TRACE')[0]!.trace.error.failure_type).toBe('transient_error');
  });
});
