import { describe, expect, it } from '@jest/globals';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../integration_tests/helpers/temp.js';
import { ConfigError } from './errors.js';
import {
  DEFAULT_API_VERSION,
  jsonSyntaxFault,
  parseConfig,
  readJsonFile,
  unknownConfigKeys,
} from './config.js';

const good = {
  credentials: {
    auth_type: 'oauth2_refresh_token',
    client_id: 'cid',
    client_secret: 'csecret',
    refresh_token: 'rtoken',
  },
  salesforce_object: 'Contact',
};

function problems(config: unknown): string {
  try {
    parseConfig(config);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('config validation', () => {
  it('accepts a minimal config and fills every default', () => {
    const config = parseConfig(good);
    expect(config.apiVersion).toBe(DEFAULT_API_VERSION);
    expect(config.loginUrl).toBe('https://login.salesforce.com');
    expect(config.defaults).toEqual({ salesforceObject: 'Contact', syncMode: 'upsert' });
    expect(config.advanced).toEqual({
      recordsPerRequest: 1020,
      parallelRequests: 'auto',
      maxParallelRequests: 10,
      writeApi: 'auto',
      bulkThresholdRows: 10_000,
      nullHandling: 'clear',
      assignmentRule: 'default',
      duplicateRuleAllowSave: false,
      mirrorMaxDeletePercent: 20,
      mirrorAllowEmptySource: false,
      dryRun: false,
      apiBudgetPercent: 95,
      rateLimitMaxWaitSeconds: 300,
      requestTimeoutSeconds: 120,
      lostAnswerWaitSeconds: 600,
    });
    expect(config.credentials).toEqual({
      authType: 'oauth2_refresh_token',
      clientId: 'cid',
      clientSecret: 'csecret',
      refreshToken: 'rtoken',
    });
  });

  it('keeps the config exactly as read, without defaults, for the CONTROL message', () => {
    expect(parseConfig(good).raw).toEqual(good);
  });

  it('uses the sandbox login host when is_sandbox is set, and an explicit login_url over both', () => {
    expect(parseConfig({ ...good, is_sandbox: true }).loginUrl).toBe('https://test.salesforce.com');
    expect(
      parseConfig({ ...good, is_sandbox: true, login_url: 'https://acme.my.salesforce.com/' }).loginUrl,
    ).toBe('https://acme.my.salesforce.com');
  });

  it('resolves Custom Object to its API name and reads field mappings and stream overrides', () => {
    const config = parseConfig({
      ...good,
      salesforce_object: 'Custom Object',
      custom_object_api_name: 'Ticket__c',
      external_id_field: 'Ext__c',
      field_mappings: [{ source: 'email_address', destination: 'Email__c' }],
      streams: [{ stream_name: 'leads', salesforce_object: 'Lead', sync_mode: 'insert' }],
    });
    expect(config.defaults.salesforceObject).toBe('Ticket__c');
    expect(config.defaults.fieldMappings).toEqual({ email_address: 'Email__c' });
    expect(config.streams).toEqual([{ streamName: 'leads', salesforceObject: 'Lead', syncMode: 'insert' }]);
  });

  it.each([
    ['a non-object config', [], 'The config must be a JSON object'],
    ['missing credentials', { salesforce_object: 'Case' }, 'credentials is required'],
    ['no auth_type', { credentials: { client_id: 'x' } }, 'credentials.auth_type is required'],
    [
      'an unknown auth_type',
      { credentials: { auth_type: 'password' } },
      'credentials.auth_type must be one of',
    ],
    [
      'a refresh-token config without the token',
      { credentials: { auth_type: 'oauth2_refresh_token', client_id: 'x' } },
      'credentials.refresh_token is required',
    ],
    [
      'a JWT config without the key',
      { credentials: { auth_type: 'jwt_bearer', client_id: 'x', username: 'u' } },
      'credentials.private_key is required',
    ],
    [
      'a JWT key that is not PEM',
      { credentials: { auth_type: 'jwt_bearer', client_id: 'x', username: 'u', private_key: 'abc' } },
      'must be a PEM private key',
    ],
    [
      'client credentials on the production login host',
      { credentials: { auth_type: 'client_credentials', client_id: 'x', client_secret: 'y' } },
      'client credentials work only on your My Domain host',
    ],
    [
      'an unknown object',
      { ...good, salesforce_object: 'Opportunity' },
      'salesforce_object must be one of "Case", "Contact", "Account", "Lead", "Custom Object"',
    ],
    [
      'Custom Object without its name',
      { ...good, salesforce_object: 'Custom Object' },
      'custom_object_api_name is required when salesforce_object is "Custom Object"',
    ],
    [
      'a custom object name without __c',
      { ...good, salesforce_object: 'Custom Object', custom_object_api_name: 'Ticket' },
      'add the __c suffix',
    ],
    [
      'an unknown sync mode',
      { ...good, sync_mode: 'merge' },
      'sync_mode must be one of "upsert", "insert", "update", "add", "remove", "mirror" (got "merge")',
    ],
    ['a malformed API version', { ...good, api_version: '61' }, 'api_version must look like v61.0'],
    [
      'an API version older than v59.0',
      { ...good, api_version: 'v40.0' },
      'api_version v40.0 is older than v59.0',
    ],
    [
      'plain http to a remote host',
      { ...good, login_url: 'http://login.salesforce.com' },
      'login_url must use https',
    ],
    [
      'too many records per request',
      { ...good, advanced: { records_per_request: 5000 } },
      'advanced.records_per_request must be <= 1020',
    ],
    [
      'zero parallel requests',
      { ...good, advanced: { parallel_requests: 0 } },
      'advanced.parallel_requests must be a whole number from 1 to 25 or "auto" (got 0)',
    ],
    [
      'an unknown null handling',
      { ...good, advanced: { null_handling: 'ignore' } },
      'advanced.null_handling must be one of "clear", "skip"',
    ],
    [
      'a bad assignment rule',
      { ...good, advanced: { assignment_rule: 'yes' } },
      'advanced.assignment_rule must be "default", "none"',
    ],
    [
      'a mirror guard above 100 %',
      { ...good, advanced: { mirror_max_delete_percent: 150 } },
      'advanced.mirror_max_delete_percent must be <= 100',
    ],
    [
      'a field mapping without destination',
      { ...good, field_mappings: [{ source: 'a' }] },
      'field_mappings[0].destination is required',
    ],
    [
      'a stream override without its name',
      { ...good, streams: [{ sync_mode: 'insert' }] },
      'streams[0].stream_name is required',
    ],
    [
      'a stream override given twice',
      { ...good, streams: [{ stream_name: 's' }, { stream_name: 's' }] },
      'streams[1] repeats stream "s"',
    ],
  ])('names the problem in %s', (_what, config, expected) => {
    expect(problems(config)).toContain(expected);
  });

  it('names every problem at once, numbered', () => {
    const message = problems({
      credentials: { auth_type: 'oauth2_refresh_token' },
      sync_mode: 'merge',
      advanced: { records_per_request: 0 },
    });
    expect(message).toMatch(/^The config has 4 problems: \(1\)/);
    expect(message).toContain('credentials.client_id is required');
    expect(message).toContain('credentials.refresh_token is required');
    expect(message).toContain('sync_mode must be one of');
    expect(message).toContain('advanced.records_per_request must be >= 1');
  });

  it('accepts plain http only on loopback, for the emulator', () => {
    expect(parseConfig({ ...good, login_url: 'http://127.0.0.1:8080' }).loginUrl).toBe(
      'http://127.0.0.1:8080',
    );
    expect(parseConfig({ ...good, login_url: 'http://localhost:8080' }).loginUrl).toBe(
      'http://localhost:8080',
    );
  });

  it('never echoes a secret value in its messages', () => {
    const message = problems({
      credentials: { auth_type: 'oauth2_refresh_token', client_id: 'x', refresh_token: 'super-secret-token' },
      sync_mode: 'nope',
    });
    expect(message).not.toContain('super-secret-token');
  });
});

/** V8's message for text JSON.parse refuses (fails the test when it parses). */
function v8MessageOf(text: string): string {
  try {
    JSON.parse(text);
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error(`JSON.parse accepted ${JSON.stringify(text)}`);
}

describe('reading a JSON file', () => {
  // Removed when this file's tests end (the shared setup), like every folder tempDir() makes.
  const dir = tempDir();
  const readError = (text: string): Error => {
    const path = join(dir, 'config.json');
    writeFileSync(path, text, { mode: 0o600 });
    try {
      readJsonFile(path, 'config');
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      return error as Error;
    }
    throw new Error('expected a ConfigError');
  };

  it('names the line and column of malformed JSON and quotes none of the text (it may be a secret)', () => {
    const error = readError('{"refresh_token":Aep861SUPERSECRETTOKEN}');
    expect(error.message).toBe(
      `The config file ${join(dir, 'config.json')} is not valid JSON: unexpected character at line 1, column 18.`,
    );
  });

  it('never echoes the text around the fault, wherever it is', () => {
    const secret = 'Aep861SUPERSECRETTOKEN';
    for (const text of [
      `{\n  "credentials": {\n    "refresh_token": "${secret}\n  }\n}`,
      `{"client_secret": ${secret}}`,
      `{"client_secret": "${secret}",}`,
      `{"client_secret": "${secret}"`,
      `{"client_secret": "${secret}" "x": 1}`,
      `["${secret}"] ${secret}`,
    ]) {
      const message = readError(text).message;
      for (let i = 0; i + 4 <= secret.length; i++) expect(message).not.toContain(secret.slice(i, i + 4));
      expect(message).toMatch(/at line \d+, column \d+\.$/);
    }
  });

  it.each([
    ['a bare word', '{"a":Aep}', { line: 1, column: 6, reason: 'unexpected character' }],
    ['a cut-off object', '{"a": "b"', { line: 1, column: 10, reason: 'unexpected end of file' }],
    ['a cut-off string', '{"a": "b', { line: 1, column: 9, reason: 'unexpected end of file' }],
    ['an empty file', '', { line: 1, column: 1, reason: 'unexpected end of file' }],
    ['a trailing comma', '{\n  "a": 1,\n}', { line: 3, column: 1, reason: 'unexpected character' }],
    ['a missing comma', '{"a": 1\n "b": 2}', { line: 2, column: 2, reason: 'unexpected character' }],
    ['single quotes', "{'a': 1}", { line: 1, column: 2, reason: 'unexpected character' }],
    [
      'a line break inside a string',
      '{"a": "x\ny"}',
      { line: 1, column: 9, reason: 'unexpected control character (such as a line break) inside a string' },
    ],
    ['a bad escape', '{"a": "\\q"}', { line: 1, column: 9, reason: 'invalid escape sequence in a string' }],
    ['a leading zero', '[01]', { line: 1, column: 3, reason: 'unexpected character' }],
    ['a number without digits after the point', '[1.]', { line: 1, column: 4, reason: 'malformed number' }],
    ['a misspelt literal', '[tru]', { line: 1, column: 2, reason: 'unexpected character' }],
    ['text after the value', '{} x', { line: 1, column: 4, reason: 'unexpected character' }],
    ['a byte-order mark', '\uFEFF{}', { line: 1, column: 1, reason: 'unexpected character' }],
  ])('locates %s', (_what, text, expected) => {
    expect(jsonSyntaxFault(text, v8MessageOf(text))).toEqual(expected);
  });

  it('finds no fault in text JSON.parse accepts, nested however deep', () => {
    for (const text of [
      '{"a": [1, -2.5e+3, 0, true, false, null, "\\u00e9\\n", {}], "b": {"c": []}}\r\n',
      `${'['.repeat(100_000)}${']'.repeat(100_000)}`,
    ]) {
      expect(() => JSON.parse(text) as unknown).not.toThrow();
      expect(jsonSyntaxFault(text)).toBeUndefined();
    }
  });

  it('agrees with the position V8 reports, when it reports one', () => {
    let compared = 0;
    for (const text of ['{"a" 1}', '{"a": 1 "b"}', '[1,,2]', '{"a": "x\ty"}', '[1] 2', '{,}']) {
      let message = '';
      try {
        JSON.parse(text);
      } catch (error) {
        message = (error as Error).message;
      }
      const position = /at position (\d+)/.exec(message);
      if (position === null) continue;
      expect(jsonSyntaxFault(text, message)?.column).toBe(Number(position[1]) + 1);
      compared += 1;
    }
    expect(compared).toBeGreaterThan(0);
  });
});

describe('unknown config keys', () => {
  it('finds none in a config that uses only known keys', () => {
    expect(
      unknownConfigKeys({
        ...good,
        is_sandbox: false,
        advanced: { dry_run: true },
        field_mappings: [{ source: 'a', destination: 'B' }],
        streams: [{ stream_name: 's', field_mappings: [{ source: 'a', destination: 'B' }] }],
      }),
    ).toEqual([]);
  });

  it('names a typo in advanced with the key it most likely meant', () => {
    expect(unknownConfigKeys({ ...good, advanced: { dryRun: true } })).toEqual([
      'The config key `advanced.dryRun` is not a setting of this connector and is ignored; did you mean `dry_run`?',
    ]);
  });

  it('names a top-level key that differs only in case or underscores', () => {
    expect(unknownConfigKeys({ ...good, syncmode: 'insert', 'Is-Sandbox': true })).toEqual([
      'The config key `syncmode` is not a setting of this connector and is ignored; did you mean `sync_mode`?',
      'The config key `Is-Sandbox` is not a setting of this connector and is ignored; did you mean `is_sandbox`?',
    ]);
  });

  it('walks stream entries and their field mappings, with their index in the path', () => {
    expect(
      unknownConfigKeys({
        ...good,
        streams: [
          { stream_name: 'a' },
          { stream_name: 'b', sync_mod: 'insert', field_mappings: [{ source: 'x', destnation: 'Y' }] },
        ],
      }),
    ).toEqual([
      'The config key `streams[1].sync_mod` is not a setting of this connector and is ignored; did you mean `sync_mode`?',
      'The config key `streams[1].field_mappings[0].destnation` is not a setting of this connector and is ignored; did you mean `destination`?',
    ]);
  });

  it('judges credentials against the variant its auth_type selects', () => {
    expect(
      unknownConfigKeys({
        credentials: {
          auth_type: 'jwt_bearer',
          client_id: 'x',
          username: 'u',
          privateKey: 'k',
          refresh_token: 'r',
        },
      }),
    ).toEqual([
      'The config key `credentials.privateKey` is not a setting of this connector and is ignored; did you mean `private_key`?',
      'The config key `credentials.refresh_token` is not a setting of this connector and is ignored',
    ]);
  });

  it('without a known auth_type, counts only keys that no credentials variant knows', () => {
    expect(
      unknownConfigKeys({ credentials: { refresh_token: 'r', private_key: 'k', clientid: 'x' } }),
    ).toEqual([
      'The config key `credentials.clientid` is not a setting of this connector and is ignored; did you mean `client_id`?',
    ]);
  });

  it('gives no hint when no known key is close', () => {
    expect(unknownConfigKeys({ ...good, colour: 'blue' })).toEqual([
      'The config key `colour` is not a setting of this connector and is ignored',
    ]);
  });

  it('never includes a value, which may be a secret', () => {
    const messages = unknownConfigKeys({
      credentials: { ...good.credentials, refreshToken: 'super-secret-token' },
      advanced: { dryRun: 'another-secret' },
    }).join(' ');
    expect(messages).toContain('credentials.refreshToken');
    expect(messages).not.toContain('super-secret-token');
    expect(messages).not.toContain('another-secret');
  });

  it('ignores values that are not objects where the spec expects one (validation reports them)', () => {
    expect(unknownConfigKeys({ ...good, advanced: 'x', streams: 'y', credentials: null })).toEqual([]);
    expect(unknownConfigKeys('not an object')).toEqual([]);
  });
});
