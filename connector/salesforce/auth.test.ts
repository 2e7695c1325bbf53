import { describe, expect, it } from '@jest/globals';
import { generateKeyPairSync } from 'node:crypto';
import { jwtVerify } from 'jose';
import nock from 'nock';
import { TokenManager, type SalesforceCredentials } from './auth.js';
import { OAuthError } from './errors.js';
import { bareClient } from './test-client.js';

const LOGIN = 'https://login.salesforce.com';
const tokenBody = (extra: Record<string, unknown> = {}) => ({
  access_token: '00D000000000001!AQ4AQFakeAccessTokenValue',
  instance_url: 'https://acme.my.salesforce.com',
  id: 'https://login.salesforce.com/id/00D000000000001EAA/005000000000001AAA',
  token_type: 'Bearer',
  issued_at: '1700000000000',
  signature: 'sig',
  ...extra,
});

function manager(
  credentials: SalesforceCredentials,
  extra: Partial<ConstructorParameters<typeof TokenManager>[0]> = {},
) {
  return new TokenManager({ loginUrl: LOGIN, credentials, jwtAudience: LOGIN, http: bareClient(), ...extra });
}

describe('OAuth token grants', () => {
  it('refresh-token grant sends the client secret when there is one and reads the instance URL', async () => {
    const scope = nock(LOGIN)
      .post('/services/oauth2/token', {
        grant_type: 'refresh_token',
        client_id: 'cid',
        client_secret: 'csec',
        refresh_token: 'rt',
      })
      .reply(200, tokenBody());
    const seen: string[] = [];
    const token = await manager(
      { authType: 'oauth2_refresh_token', clientId: 'cid', clientSecret: 'csec', refreshToken: 'rt' },
      { onToken: (t) => seen.push(t) },
    ).get();
    expect(token).toEqual({
      accessToken: '00D000000000001!AQ4AQFakeAccessTokenValue',
      instanceUrl: 'https://acme.my.salesforce.com',
      id: 'https://login.salesforce.com/id/00D000000000001EAA/005000000000001AAA',
      issuedAt: '1700000000000',
    });
    expect(seen).toEqual([token.accessToken]);
    scope.done();
  });

  it('refresh-token grant works without a client secret (PKCE apps)', async () => {
    const scope = nock(LOGIN)
      .post('/services/oauth2/token', { grant_type: 'refresh_token', client_id: 'cid', refresh_token: 'rt' })
      .reply(200, tokenBody());
    await manager({ authType: 'oauth2_refresh_token', clientId: 'cid', refreshToken: 'rt' }).get();
    scope.done();
  });

  it('reports a rotated refresh token and uses it for the next grant', async () => {
    const scope = nock(LOGIN)
      .post('/services/oauth2/token', (b: Record<string, string>) => b.refresh_token === 'rt1')
      .reply(200, tokenBody({ refresh_token: 'rt2' }))
      .post('/services/oauth2/token', (b: Record<string, string>) => b.refresh_token === 'rt2')
      .reply(200, tokenBody({ access_token: '00D000000000001!second' }));
    const rotated: string[] = [];
    const m = manager(
      { authType: 'oauth2_refresh_token', clientId: 'cid', refreshToken: 'rt1' },
      { onRefreshTokenRotated: (t) => rotated.push(t) },
    );
    const first = await m.get();
    const second = await m.refresh(first.accessToken);
    expect(rotated).toEqual(['rt2']);
    expect(second.accessToken).toBe('00D000000000001!second');
    scope.done();
  });

  it('JWT bearer signs an RS256 assertion with iss, sub, aud and an exp at most 3 minutes ahead', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    let claims: Record<string, unknown> = {};
    const scope = nock(LOGIN)
      .post(
        '/services/oauth2/token',
        (body: Record<string, string>) =>
          body.grant_type === 'urn:ietf:params:oauth:grant-type:jwt-bearer' &&
          typeof body.assertion === 'string',
      )
      .reply(200, async (_uri, body) => {
        const assertion = new URLSearchParams(body as string).get('assertion')!;
        const { payload, protectedHeader } = await jwtVerify(assertion, publicKey);
        claims = { ...payload, alg: protectedHeader.alg };
        return tokenBody();
      });
    const now = Date.now();
    await manager(
      { authType: 'jwt_bearer', clientId: 'cid', username: 'integration@example.com', privateKey: pem },
      { now: () => now },
    ).get();
    expect(claims).toMatchObject({ iss: 'cid', sub: 'integration@example.com', aud: LOGIN, alg: 'RS256' });
    expect(claims.exp).toBe(Math.floor(now / 1000) + 180);
    scope.done();
  });

  it('client credentials sends id and secret', async () => {
    const scope = nock('https://acme.my.salesforce.com')
      .post('/services/oauth2/token', {
        grant_type: 'client_credentials',
        client_id: 'cid',
        client_secret: 'csec',
      })
      .reply(200, tokenBody());
    await new TokenManager({
      loginUrl: 'https://acme.my.salesforce.com',
      credentials: { authType: 'client_credentials', clientId: 'cid', clientSecret: 'csec' },
      jwtAudience: LOGIN,
      http: bareClient(),
    }).get();
    scope.done();
  });

  it('shares one refresh among concurrent callers, and skips it for a caller whose token was already replaced', async () => {
    const scope = nock(LOGIN)
      .post('/services/oauth2/token')
      .reply(200, tokenBody({ access_token: '00D000000000001!first' }))
      .post('/services/oauth2/token')
      .reply(200, tokenBody({ access_token: '00D000000000001!second' }));
    const m = manager({ authType: 'oauth2_refresh_token', clientId: 'cid', refreshToken: 'rt' });
    const first = await m.get();
    const results = await Promise.all([
      m.refresh(first.accessToken),
      m.refresh(first.accessToken),
      m.refresh(first.accessToken),
    ]);
    expect(results.map((r) => r.accessToken)).toEqual(Array(3).fill('00D000000000001!second'));
    expect((await m.refresh(first.accessToken)).accessToken).toBe('00D000000000001!second');
    expect(m.grants).toBe(2);
    scope.done();
  });

  it('turns a 400 {error, error_description} into an OAuthError carrying both', async () => {
    const scope = nock(LOGIN)
      .post('/services/oauth2/token')
      .reply(400, { error: 'invalid_grant', error_description: 'expired access/refresh token' });
    const error = await manager({ authType: 'oauth2_refresh_token', clientId: 'cid', refreshToken: 'rt' })
      .get()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OAuthError);
    expect(error).toMatchObject({
      status: 400,
      error: 'invalid_grant',
      description: 'expired access/refresh token',
    });
    expect(String((error as Error).message)).not.toContain('rt');
    scope.done();
  });

  it('refuses an instance URL the checker rejects (plain http off loopback)', async () => {
    const scope = nock(LOGIN)
      .post('/services/oauth2/token')
      .reply(200, tokenBody({ instance_url: 'http://evil.example.com' }));
    const m = manager(
      { authType: 'oauth2_refresh_token', clientId: 'cid', refreshToken: 'rt' },
      {
        checkInstanceUrl: (url) => {
          if (url.startsWith('http:')) throw new Error('instance_url must use https');
          return url;
        },
      },
    );
    await expect(m.get()).rejects.toThrow('instance_url must use https');
    scope.done();
  });
});
