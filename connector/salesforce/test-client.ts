/**
 * For unit tests only (nothing in the connector imports it): a REST client against a fake org that
 * nock answers — login host, instance, and a token call every test expects once.
 */
import got from 'got';
import nock from 'nock';
import { TokenManager } from './auth.js';
import { SalesforceHttp, type SalesforceHttpOptions } from './http.js';

/** The login host the test client signs in at. */
export const LOGIN = 'https://login.salesforce.com';
/** The instance its token names. */
export const INSTANCE = 'https://acme.my.salesforce.com';

/** A client with a refresh-token login; `options` override the defaults (concurrency, sleep, …). */
export function testClient(options: Partial<SalesforceHttpOptions> = {}): SalesforceHttp {
  const http = new SalesforceHttp({
    apiVersion: 'v61.0',
    got,
    maxConcurrent: 2,
    timeoutMs: 5000,
    rateLimitMaxWaitMs: 60_000,
    ...options,
  });
  http.useTokens(
    new TokenManager({
      loginUrl: LOGIN,
      credentials: { authType: 'oauth2_refresh_token', clientId: 'cid', refreshToken: 'rt' },
      jwtAudience: LOGIN,
      http,
    }),
  );
  return http;
}

/** A client with no token source, for calls to absolute URLs (sign-in). */
export function bareClient(options: Partial<SalesforceHttpOptions> = {}): SalesforceHttp {
  return new SalesforceHttp({
    apiVersion: 'v61.0',
    got,
    maxConcurrent: 2,
    timeoutMs: 5000,
    rateLimitMaxWaitMs: 60_000,
    sleep: () => Promise.resolve(),
    ...options,
  });
}

/** Answers one token call with an access token for {@link INSTANCE}. */
export function tokenOnce(): nock.Scope {
  return nock(LOGIN)
    .post('/services/oauth2/token')
    .reply(200, { access_token: 'tok', instance_url: INSTANCE, id: 'x', issued_at: '1' });
}
