import { describe, expect, it } from '@jest/globals';
import nock from 'nock';
import {
  InsecureUrlError,
  NetworkError,
  RateLimitError,
  RedirectError,
  SalesforceApiError,
  UnknownOutcomeError,
} from './errors.js';
import type { SalesforceHttpOptions, SalesforceRequest } from './http.js';
import { bareClient, INSTANCE, LOGIN, testClient, tokenOnce } from './test-client.js';

const token = (n: number) => ({
  access_token: `00D000000000001!token${n}`,
  instance_url: INSTANCE,
  id: 'x',
  issued_at: '1',
});

function client(sleeps: number[], options: Partial<SalesforceHttpOptions> = {}) {
  return testClient({
    sleep: (ms) => {
      sleeps.push(ms);
      return Promise.resolve();
    },
    random: () => 0.5,
    ...options,
  });
}
/** An empty Composite call: an insert when not idempotent. */
const compositeCall = (idempotent: boolean): SalesforceRequest => ({
  method: 'POST',
  path: '/composite',
  body: {},
  idempotent,
  kind: 'composite',
});
const limits = { 'Sforce-Limit-Info': 'api-usage=10/1000' };

describe('Salesforce HTTP client', () => {
  it('sends the bearer token to the instance under /services/data/<version> and reads Sforce-Limit-Info', async () => {
    const auth = nock(LOGIN).post('/services/oauth2/token').reply(200, token(1));
    const api = nock(INSTANCE, { reqheaders: { authorization: 'Bearer 00D000000000001!token1' } })
      .get('/services/data/v61.0/limits/')
      .reply(200, { DailyApiRequests: { Max: 1000, Remaining: 990 } }, limits);
    const http = client([]);
    const r = await http.request({ method: 'GET', path: '/limits/', idempotent: true, kind: 'limits' });
    expect(r.body).toEqual({ DailyApiRequests: { Max: 1000, Remaining: 990 } });
    expect(http.usage).toEqual({ used: 10, max: 1000 });
    expect(http.remaining).toBe(990);
    expect(http.counts.get('limits')).toBe(1);
    auth.done();
    api.done();
  });

  it('refreshes the token once on 401 INVALID_SESSION_ID and sends the call again', async () => {
    const auth = nock(LOGIN)
      .post('/services/oauth2/token')
      .reply(200, token(1))
      .post('/services/oauth2/token')
      .reply(200, token(2));
    const api = nock(INSTANCE)
      .post('/services/data/v61.0/composite')
      .matchHeader('authorization', 'Bearer 00D000000000001!token1')
      .reply(401, [{ message: 'Session expired or invalid', errorCode: 'INVALID_SESSION_ID' }])
      .post('/services/data/v61.0/composite')
      .matchHeader('authorization', 'Bearer 00D000000000001!token2')
      .reply(200, { compositeResponse: [] });
    const r = await client([]).request(compositeCall(false));
    expect(r.status).toBe(200);
    auth.done();
    api.done();
  });

  it('gives up after one refresh when the session is refused again', async () => {
    nock(LOGIN).post('/services/oauth2/token').times(2).reply(200, token(1));
    nock(INSTANCE)
      .get('/services/data/v61.0/sobjects/')
      .times(2)
      .reply(401, [{ message: 'Session expired or invalid', errorCode: 'INVALID_SESSION_ID' }]);
    const error = await client([])
      .request({ method: 'GET', path: '/sobjects/', idempotent: true, kind: 'describe' })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SalesforceApiError);
    expect(error).toMatchObject({ status: 401, errorCode: 'INVALID_SESSION_ID' });
  });

  it('retries a 503 with backoff, honouring Retry-After, even for an insert (it was never applied)', async () => {
    nock(LOGIN).post('/services/oauth2/token').reply(200, token(1));
    const api = nock(INSTANCE)
      .post('/services/data/v61.0/composite')
      .reply(503, 'unavailable', { 'Retry-After': '3' })
      .post('/services/data/v61.0/composite')
      .reply(503, 'unavailable')
      .post('/services/data/v61.0/composite')
      .reply(200, { compositeResponse: [] });
    const sleeps: number[] = [];
    const http = client(sleeps);
    await http.request(compositeCall(false));
    expect(sleeps).toEqual([3000, 750]);
    expect(http.retries).toBe(2);
    expect(http.counts.get('composite')).toBe(3);
    api.done();
  });

  it('does not re-send an insert after a 500 or a dropped connection: the outcome is unknown', async () => {
    nock(LOGIN).post('/services/oauth2/token').reply(200, token(1));
    nock(INSTANCE)
      .post('/services/data/v61.0/composite')
      .reply(500, [{ errorCode: 'UNKNOWN_EXCEPTION', message: 'x' }]);
    nock(INSTANCE)
      .post('/services/data/v61.0/composite')
      .replyWithError(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }));
    const http = client([]);
    const req = compositeCall(false);
    await expect(http.request(req)).rejects.toBeInstanceOf(UnknownOutcomeError);
    await expect(http.request(req)).rejects.toBeInstanceOf(UnknownOutcomeError);
    expect(http.counts.get('composite')).toBe(2);
  });

  it('re-sends an insert refused at the TLS handshake (nothing was sent), then reports a network error', async () => {
    nock(LOGIN).post('/services/oauth2/token').reply(200, token(1));
    const api = nock(INSTANCE)
      .post('/services/data/v61.0/composite')
      .times(2)
      .replyWithError(
        Object.assign(new Error('self-signed certificate in certificate chain'), {
          code: 'SELF_SIGNED_CERT_IN_CHAIN',
        }),
      );
    const error = await client([], { maxAttempts: 2 })
      .request(compositeCall(false))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NetworkError);
    expect(error).toMatchObject({ code: 'SELF_SIGNED_CERT_IN_CHAIN', sent: false });
    api.done();
  });

  it('re-sends an idempotent call after a dropped connection', async () => {
    nock(LOGIN).post('/services/oauth2/token').reply(200, token(1));
    const api = nock(INSTANCE)
      .post('/services/data/v61.0/composite')
      .replyWithError(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }))
      .post('/services/data/v61.0/composite')
      .reply(200, { compositeResponse: [] });
    await client([]).request(compositeCall(true));
    api.done();
  });

  it('treats a success status with a body that is not JSON as an unknown outcome: an insert is not re-sent', async () => {
    nock(LOGIN).post('/services/oauth2/token').reply(200, token(1));
    const api = nock(INSTANCE)
      .post('/services/data/v61.0/composite')
      .reply(200, '<html>Proxy says hello to 00D000000000001!token1</html>', { 'Content-Type': 'text/html' });
    const http = client([]);
    const error = await http.request(compositeCall(false)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnknownOutcomeError);
    expect((error as UnknownOutcomeError).reason).toBe(
      'HTTP 200 with an answer that is not JSON (text/html, 55 characters)',
    );
    // What the answer said stays out of the error: it may echo anything back.
    expect(String(error)).not.toContain('token1');
    expect(http.counts.get('composite')).toBe(1);
    api.done();
  });

  it('re-sends an idempotent call whose success answer was not JSON, and gives up after the attempts', async () => {
    nock(LOGIN).post('/services/oauth2/token').reply(200, token(1));
    const api = nock(INSTANCE)
      .post('/services/data/v61.0/composite')
      .reply(200, '{"compositeResponse": [', { 'Content-Type': 'application/json' })
      .post('/services/data/v61.0/composite')
      .reply(200, { compositeResponse: [] });
    const sleeps: number[] = [];
    const r = await client(sleeps).request(compositeCall(true));
    expect(r.body).toEqual({ compositeResponse: [] });
    expect(sleeps).toHaveLength(1);
    api.done();

    nock(LOGIN).post('/services/oauth2/token').reply(200, token(2));
    const always = nock(INSTANCE)
      .post('/services/data/v61.0/composite')
      .times(2)
      .reply(200, 'not json', { 'Content-Type': 'text/plain' });
    const error = await client([], { maxAttempts: 2 })
      .request(compositeCall(true))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SalesforceApiError);
    expect((error as SalesforceApiError).errorCode).toBe('UNREADABLE_RESPONSE');
    always.done();
  });

  it('pauses on REQUEST_LIMIT_EXCEEDED and carries on when the limit frees up', async () => {
    nock(LOGIN).post('/services/oauth2/token').reply(200, token(1));
    const api = nock(INSTANCE)
      .post('/services/data/v61.0/composite')
      .times(2)
      .reply(403, [{ message: 'TotalRequests Limit exceeded.', errorCode: 'REQUEST_LIMIT_EXCEEDED' }])
      .post('/services/data/v61.0/composite')
      .reply(200, { compositeResponse: [] });
    const sleeps: number[] = [];
    const http = client(sleeps);
    await http.request(compositeCall(false));
    expect(sleeps).toEqual([375, 750]);
    expect(http.rateLimitedMs).toBe(1125);
    api.done();
  });

  it('stops with RateLimitError once the pauses would exceed the configured wait', async () => {
    nock(LOGIN).post('/services/oauth2/token').reply(200, token(1));
    // Pauses of 375 and 750 ms (random 0.5) fit in 2 s; the third, 1,500 ms, would not: three calls,
    // two pauses, then the error. A fourth call would find no reply and fail otherwise.
    nock(INSTANCE)
      .post('/services/data/v61.0/composite')
      .times(3)
      .reply(403, [{ message: 'TotalRequests Limit exceeded.', errorCode: 'REQUEST_LIMIT_EXCEEDED' }]);
    const sleeps: number[] = [];
    const error = await client(sleeps, { rateLimitMaxWaitMs: 2000 })
      .request({ method: 'POST', path: '/composite', body: {}, idempotent: false, kind: 'composite' })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RateLimitError);
    expect(sleeps).toEqual([375, 750]);
  });

  it("stops before a call once the org's usage reaches the API budget", async () => {
    nock(LOGIN).post('/services/oauth2/token').reply(200, token(1));
    nock(INSTANCE)
      .get('/services/data/v61.0/limits/')
      .reply(200, {}, { 'Sforce-Limit-Info': 'api-usage=960/1000' });
    const http = client([], { apiBudgetPercent: 95 });
    await http.request({ method: 'GET', path: '/limits/', idempotent: true, kind: 'limits' });
    await expect(
      http.request({ method: 'GET', path: '/limits/', idempotent: true, kind: 'limits' }),
    ).rejects.toBeInstanceOf(RateLimitError);
  });

  it('returns other error statuses as SalesforceApiError with the errorCode and fields', async () => {
    nock(LOGIN).post('/services/oauth2/token').reply(200, token(1));
    nock(INSTANCE)
      .patch('/services/data/v61.0/sobjects/Account/001000000000001AAA')
      .reply(400, [
        { fields: ['Id'], message: 'Account ID: id value of incorrect type', errorCode: 'MALFORMED_ID' },
      ]);
    const error = await client([])
      .request({
        method: 'PATCH',
        path: '/sobjects/Account/001000000000001AAA',
        body: {},
        idempotent: true,
        kind: 'sobject',
      })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ status: 400, errorCode: 'MALFORMED_ID', fields: ['Id'] });
    expect((error as Error).message).toBe(
      'PATCH /sobjects/Account/001000000000001AAA → 400 MALFORMED_ID: Account ID: id value of incorrect type',
    );
  });
});

describe('the one policy for every call', () => {
  const form = { grant_type: 'refresh_token', client_id: 'cid', refresh_token: 'the-refresh-token' };

  it.each([302, 307, 301, 308])(
    'follows no %i redirect of a sign-in: the error names where it pointed, and nothing is re-sent',
    async (status) => {
      const login = nock(LOGIN)
        .post('/services/oauth2/token')
        .reply(status, '', { Location: 'http://collector.example.net:8080/steal?x=1' });
      const error = await bareClient()
        .request({
          method: 'POST',
          url: `${LOGIN}/services/oauth2/token`,
          form,
          idempotent: true,
          kind: 'oauth',
          anyAnswer: true,
        })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(RedirectError);
      expect(error).toMatchObject({ status, location: 'http://collector.example.net:8080' });
      expect((error as Error).message).not.toContain('the-refresh-token');
      expect((error as Error).message).not.toContain('steal');
      login.done();
    },
  );

  it('follows no redirect of a REST call either (the access token stays with the instance)', async () => {
    tokenOnce();
    const api = nock(INSTANCE)
      .get('/services/data/v61.0/sobjects/')
      .reply(302, '', { Location: 'https://other.example.com/services/data/v61.0/sobjects/' });
    const error = await client([])
      .request({ method: 'GET', path: '/sobjects/', idempotent: true, kind: 'describe' })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RedirectError);
    expect(error).toMatchObject({ status: 302, location: 'https://other.example.com' });
    api.done();
  });

  it('refuses plain http off loopback before anything is sent, and allows it on loopback', async () => {
    const error = await bareClient()
      .request({
        method: 'POST',
        url: 'http://login.example.com/services/oauth2/token',
        form,
        idempotent: true,
        kind: 'oauth',
      })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InsecureUrlError);
    expect(error).toMatchObject({ origin: 'http://login.example.com' });
    const local = nock('http://127.0.0.1:4555')
      .get('/services/data/')
      .reply(200, [{ version: '61.0' }]);
    const ok = await bareClient().request({
      method: 'GET',
      url: 'http://127.0.0.1:4555/services/data/',
      idempotent: true,
      kind: 'versions',
    });
    expect(ok.body).toEqual([{ version: '61.0' }]);
    local.done();
  });

  it('tells the caller when an idempotent call timed out after it was sent, then re-sends it', async () => {
    tokenOnce();
    const api = nock(INSTANCE)
      .post('/services/data/v61.0/composite')
      .delay(200)
      .reply(200, { compositeResponse: [] })
      .post('/services/data/v61.0/composite')
      .reply(200, { compositeResponse: [] });
    const doubts: number[] = [];
    const r = await client([], { timeoutMs: 50, now: () => 1234 }).request({
      ...compositeCall(true),
      onDoubt: (sentAt) => doubts.push(sentAt),
    });
    expect(r.status).toBe(200);
    expect(doubts).toEqual([1234]);
    api.done();
  });

  it('does not call an answered 500 a doubt (Salesforce finished it), but a gateway 504 is one', async () => {
    tokenOnce();
    const api = nock(INSTANCE)
      .post('/services/data/v61.0/composite')
      .reply(500, [{ errorCode: 'UNKNOWN_EXCEPTION', message: 'boom' }])
      .post('/services/data/v61.0/composite')
      .reply(504, 'gateway timeout')
      .post('/services/data/v61.0/composite')
      .reply(200, { compositeResponse: [] });
    const doubts: number[] = [];
    await client([], { now: () => 7 }).request({ ...compositeCall(true), onDoubt: (t) => doubts.push(t) });
    expect(doubts).toEqual([7]);
    api.done();
  });
});
