import { describe, expect, it } from '@jest/globals';
import { toConnectorError } from './failure.js';
import { ConfigError, SystemError, TransientError, toErrorTrace } from './errors.js';
import {
  networkCode,
  NetworkError,
  OAuthError,
  RateLimitError,
  SalesforceApiError,
  UnknownOutcomeError,
} from './salesforce/errors.js';

const ctx = { method: 'POST', path: '/composite' };

describe('error → TRACE mapping', () => {
  it.each([
    [new ConfigError('fix it'), 'config_error', 'fix it'],
    [new TransientError('later'), 'transient_error', 'later'],
    [new SystemError('bug'), 'system_error', 'bug'],
  ])('maps %p to its failure type with its message', (error, failureType, message) => {
    const trace = toErrorTrace(error);
    expect(trace.failure_type).toBe(failureType);
    expect(trace.message).toBe(message);
    expect(trace.stack_trace).toContain('errors.test.ts');
  });

  it('treats an unknown error as a bug: generic message, its text as internal_message, no stack in the message', () => {
    const trace = toErrorTrace(new TypeError('x is undefined'));
    expect(trace.failure_type).toBe('system_error');
    expect(trace.message).not.toContain('x is undefined');
    expect(trace.message).not.toContain('\n    at ');
    expect(trace.internal_message).toBe('TypeError: x is undefined');
    expect(trace.stack_trace).toContain('TypeError');
  });

  it('carries the stream descriptor when the error names one', () => {
    expect(
      toErrorTrace(new ConfigError('bad', { stream: { name: 's', namespace: 'n' } })).stream_descriptor,
    ).toEqual({ name: 's', namespace: 'n' });
  });
});

describe('Salesforce errors → what the user should do', () => {
  it('asks to reconnect for an expired or revoked refresh token (config_error)', () => {
    const e = toConnectorError(
      new OAuthError(400, 'invalid_grant', 'expired access/refresh token', 'refresh_token'),
    );
    expect(e).toBeInstanceOf(ConfigError);
    expect(e.message).toMatch(/Reconnect/);
  });

  it.each([
    ['invalid_client', 'invalid client credentials', /Consumer Key and Consumer Secret/],
    ['invalid_client_id', 'client identifier invalid', /Consumer Key/],
    ['invalid_grant', "user hasn't approved this consumer", /pre-authorized/],
    ['invalid_grant', 'audience is invalid', /is_sandbox/],
    ['invalid_grant', 'request not supported on this domain', /My Domain/],
    ['invalid_grant', 'no client credentials user enabled', /Run As user/],
    ['invalid_grant', 'authentication failure', /deactivated/],
  ])('explains %s (%s)', (code, description, advice) => {
    const e = toConnectorError(new OAuthError(400, code, description, 'x'));
    expect(e).toBeInstanceOf(ConfigError);
    expect(e.message).toMatch(advice);
  });

  it('makes network failures, rate limits and unknown outcomes transient', () => {
    expect(toConnectorError(new NetworkError('ECONNREFUSED', ctx, false))).toBeInstanceOf(TransientError);
    expect(toConnectorError(new RateLimitError('limit', ctx))).toBeInstanceOf(TransientError);
    expect(toConnectorError(new UnknownOutcomeError(ctx, 'ECONNRESET'))).toBeInstanceOf(TransientError);
    expect(toConnectorError(new SalesforceApiError(503, 'SERVER_UNAVAILABLE', 'down', ctx))).toBeInstanceOf(
      TransientError,
    );
  });

  it('makes a refused TLS certificate a config problem with the way to trust a proxy, not a retry', () => {
    const e = toConnectorError(
      new NetworkError(
        'SELF_SIGNED_CERT_IN_CHAIN',
        { method: 'POST', path: '/services/oauth2/token' },
        false,
      ),
      'https://login.salesforce.com',
    );
    expect(e).toBeInstanceOf(ConfigError);
    expect(e.message).toBe(
      "The connector refused the TLS certificate of Salesforce at https://login.salesforce.com (SELF_SIGNED_CERT_IN_CHAIN on POST /services/oauth2/token). Usually a proxy inspects TLS traffic with its own certificate authority: give the connector that authority's certificate (NODE_EXTRA_CA_CERTS=/path/to/ca.pem in its environment), or exempt Salesforce from the inspection.",
    );
  });

  it.each([
    ['PROXY_HTTP_407', ConfigError, 'put the proxy user and password in the proxy URL of HTTPS_PROXY'],
    ['PROXY_HTTP_403', ConfigError, 'allow the login host and *.my.salesforce.com through it'],
    ['PROXY_HTTP_502', TransientError, 'The proxy could not reach Salesforce (HTTP 502'],
  ])('says what to do when the proxy answers the tunnel request with %s', (code, type, advice) => {
    const e = toConnectorError(
      new NetworkError(code, { method: 'POST', path: '/services/oauth2/token' }, false),
    );
    expect(e).toBeInstanceOf(type);
    expect(e.message).toContain(advice);
  });

  it('reads a proxy refusal out of the error hpagent raises, and other codes as they are', () => {
    expect(networkCode(new Error('Bad response: 407'))).toBe('PROXY_HTTP_407');
    expect(
      networkCode(Object.assign(new Error('Bad response: 502'), { code: 'ERR_GOT_REQUEST_ERROR' })),
    ).toBe('PROXY_HTTP_502');
    expect(networkCode(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }))).toBe(
      'ECONNRESET',
    );
    expect(networkCode(new Error('no code'))).toBe('ERR_NETWORK');
    expect(networkCode('not an error')).toBe('ERR_NETWORK');
    expect(networkCode(undefined)).toBe('ERR_NETWORK');
  });

  it('makes answers that could never be read a transient network problem, not a bug', () => {
    const e = toConnectorError(
      new SalesforceApiError(
        200,
        'UNREADABLE_RESPONSE',
        'HTTP 200 with an answer that is not JSON (text/html, 55 characters), 6 times',
        ctx,
      ),
    );
    expect(e).toBeInstanceOf(TransientError);
    expect(e.message).toBe(
      'Answers to POST /composite could not be read (HTTP 200 with an answer that is not JSON (text/html, 55 characters), 6 times): something between the connector and Salesforce, such as a proxy or TLS inspection, may be answering in its place. Check the network path to the instance, then retry; rows not acknowledged are sent again by the next sync.',
    );
  });

  it('makes a session refused after a fresh token a config problem, and an API refusal of our own call a bug', () => {
    expect(
      toConnectorError(new SalesforceApiError(401, 'INVALID_SESSION_ID', 'Session expired or invalid', ctx)),
    ).toBeInstanceOf(ConfigError);
    expect(
      toConnectorError(new SalesforceApiError(403, 'API_DISABLED_FOR_ORG', 'no API', ctx)),
    ).toBeInstanceOf(ConfigError);
    const bug = toConnectorError(new SalesforceApiError(400, 'MALFORMED_QUERY', 'bad', ctx));
    expect(bug).toBeInstanceOf(SystemError);
    expect(bug.internalMessage).toContain('POST /composite → 400 MALFORMED_QUERY');
  });
});
