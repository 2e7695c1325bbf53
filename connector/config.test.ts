import { describe, expect, it } from '@jest/globals';
import { ConfigError } from './errors.js';
import { DEFAULT_API_VERSION, parseConfig } from './config.js';

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
      parallelRequests: 4,
      nullHandling: 'clear',
      assignmentRule: 'default',
      duplicateRuleAllowSave: false,
      mirrorMaxDeletePercent: 20,
      mirrorAllowEmptySource: false,
      dryRun: false,
      apiBudgetPercent: 95,
      rateLimitMaxWaitSeconds: 300,
      requestTimeoutSeconds: 120,
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
      'sync_mode must be one of "upsert", "insert", "update", "add", "remove", "mirror"',
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
      'advanced.parallel_requests must be >= 1',
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
