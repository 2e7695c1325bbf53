/**
 * OAuth 2.0 as in reference §1: every grant, PKCE, rotation, revocation and the error bodies.
 */
import { createHash, createHmac, generateKeyPairSync, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { SignJWT, generateKeyPair, importPKCS8 } from 'jose';
import { startEmulator } from './index.js';
import { Api, send, tokenRequest } from './test-support.js';
import type { Emulator } from './types.js';

const keys = generateKeyPairSync('rsa', {
  modulusLength: 2048,
  publicKeyEncoding: { type: 'spki', format: 'pem' },
  privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
});
const otherKeys = generateKeyPairSync('rsa', {
  modulusLength: 2048,
  publicKeyEncoding: { type: 'spki', format: 'pem' },
  privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
});
const CALLBACK = 'http://127.0.0.1:7777/callback';

let sf: Emulator;

beforeAll(async () => {
  sf = await startEmulator({
    users: [{ username: 'other@example.com' }],
    clients: [
      { clientId: 'public-app', redirectUris: [CALLBACK] },
      { clientId: 'rotating-app', clientSecret: 'rot-secret', rotateRefreshTokens: true },
      { clientId: 'jwt-app', jwtPublicKey: keys.publicKey, approvedUsers: ['integration@example.com'] },
      { clientId: 'cc-app', clientSecret: 'cc-secret', runAsUser: 'integration@example.com' },
    ],
    refreshTokens: [{ token: 'rotating-refresh', clientId: 'rotating-app' }],
  });
});

afterAll(async () => {
  await sf.close();
});

beforeEach(() => {
  sf.reset();
});

function refresh(form: Partial<Record<string, string>> = {}) {
  const { clientId, clientSecret, refreshToken } = sf.credentials;
  const base: Record<string, string> = {
    grant_type: 'refresh_token',
    client_id: clientId,
    client_secret: clientSecret,
    refresh_token: refreshToken,
  };
  for (const [k, v] of Object.entries(form)) {
    if (v === undefined) delete base[k];
    else base[k] = v;
  }
  return tokenRequest(sf, base);
}

async function apiStatus(token: string): Promise<number> {
  return (await new Api(sf, token).get('/limits')).status;
}

describe('refresh-token grant', () => {
  it('returns the documented body: string issued_at, HMAC signature, own instance_url, no expires_in', async () => {
    const reply = await refresh();
    expect(reply.status).toBe(200);
    const body = reply.body;
    expect(Object.keys(body)).toEqual([
      'access_token',
      'signature',
      'scope',
      'instance_url',
      'id',
      'token_type',
      'issued_at',
    ]);
    expect(body.access_token).toMatch(/^00D[0-9A-Za-z]{12}!/);
    expect(body.instance_url).toBe(sf.url);
    expect(body.id).toMatch(new RegExp(`^${sf.url}/id/00D[0-9A-Za-z]{15}/005[0-9A-Za-z]{15}$`));
    expect(body.token_type).toBe('Bearer');
    expect(typeof body.issued_at).toBe('string');
    expect(body.issued_at).toMatch(/^\d{13}$/);
    const expected = createHmac('sha256', sf.credentials.clientSecret)
      .update(body.id + body.issued_at)
      .digest('base64');
    expect(body.signature).toBe(expected);
    expect(await apiStatus(body.access_token)).toBe(200);
  });

  it('refuses a wrong secret with invalid_client', async () => {
    const reply = await refresh({ client_secret: 'nope' });
    expect(reply.status).toBe(400);
    expect(reply.body).toEqual({ error: 'invalid_client', error_description: 'invalid client credentials' });
  });

  it('refuses a missing secret when the app requires it', async () => {
    const reply = await refresh({ client_secret: undefined });
    expect(reply.status).toBe(400);
    expect(reply.body.error).toBe('invalid_client');
  });

  it('refuses an unknown client with invalid_client_id', async () => {
    const reply = await refresh({ client_id: 'who' });
    expect(reply.status).toBe(400);
    expect(reply.body).toEqual({
      error: 'invalid_client_id',
      error_description: 'client identifier invalid',
    });
  });

  it('refuses an unknown refresh token with invalid_grant "expired access/refresh token"', async () => {
    const reply = await refresh({ refresh_token: 'not-a-token' });
    expect(reply.status).toBe(400);
    expect(reply.body).toEqual({ error: 'invalid_grant', error_description: 'expired access/refresh token' });
  });

  it('refuses a misspelt grant type with unsupported_grant_type', async () => {
    const reply = await refresh({ grant_type: 'refresh-token' });
    expect(reply.status).toBe(400);
    expect(reply.body).toEqual({
      error: 'unsupported_grant_type',
      error_description: 'grant type not supported',
    });
  });

  it('rotates: a new refresh token is returned and the old one stops working', async () => {
    const first = await tokenRequest(sf, {
      grant_type: 'refresh_token',
      client_id: 'rotating-app',
      client_secret: 'rot-secret',
      refresh_token: 'rotating-refresh',
    });
    expect(first.status).toBe(200);
    expect(typeof first.body.refresh_token).toBe('string');
    expect(first.body.refresh_token).not.toBe('rotating-refresh');
    const reuse = await tokenRequest(sf, {
      grant_type: 'refresh_token',
      client_id: 'rotating-app',
      client_secret: 'rot-secret',
      refresh_token: 'rotating-refresh',
    });
    expect(reuse.body.error).toBe('invalid_grant');
    const next = await tokenRequest(sf, {
      grant_type: 'refresh_token',
      client_id: 'rotating-app',
      client_secret: 'rot-secret',
      refresh_token: first.body.refresh_token,
    });
    expect(next.status).toBe(200);
    expect(next.body.refresh_token).not.toBe(first.body.refresh_token);
  });

  it('counts token calls by kind without consuming the daily API allocation', async () => {
    sf.resetStats();
    await refresh();
    expect(sf.stats().byKind.oauth).toBe(1);
    expect(sf.stats().apiUsed).toBe(0);
  });
});

describe('API calls need a valid bearer token', () => {
  it('answers 401 INVALID_SESSION_ID without a token or with an unknown one', async () => {
    for (const headers of [{}, { authorization: 'Bearer 00Dxx!nope' }]) {
      const reply = await send(`${sf.url}/services/data/v61.0/limits`, { headers });
      expect(reply.status).toBe(401);
      expect(reply.body).toEqual([
        { message: 'Session expired or invalid', errorCode: 'INVALID_SESSION_ID' },
      ]);
    }
  });
});

describe('revocation', () => {
  it('revoking a refresh token revokes it and its access tokens', async () => {
    const access = (await refresh()).body.access_token as string;
    const revoke = await send(`${sf.url}/services/oauth2/revoke`, {
      method: 'POST',
      body: `token=${encodeURIComponent(sf.credentials.refreshToken)}`,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(revoke.status).toBe(200);
    expect((await refresh()).body.error).toBe('invalid_grant');
    expect(await apiStatus(access)).toBe(401);
  });

  it('revoking an access token makes it invalid and leaves the refresh token working', async () => {
    const access = (await refresh()).body.access_token as string;
    const revoke = await send(`${sf.url}/services/oauth2/revoke?token=${encodeURIComponent(access)}`);
    expect(revoke.status).toBe(200);
    expect(await apiStatus(access)).toBe(401);
    expect((await refresh()).status).toBe(200);
  });

  it('answers 400 invalid_token for an unknown token and unsupported_token_type without one', async () => {
    const form = { 'content-type': 'application/x-www-form-urlencoded' };
    const unknown = await send(`${sf.url}/services/oauth2/revoke`, {
      method: 'POST',
      body: 'token=zzz',
      headers: form,
    });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error).toBe('invalid_token');
    const missing = await send(`${sf.url}/services/oauth2/revoke`, {
      method: 'POST',
      body: '',
      headers: form,
    });
    expect(missing.status).toBe(400);
    expect(missing.body.error).toBe('unsupported_token_type');
  });
});

describe('JWT bearer grant', () => {
  async function assertion(claims: Record<string, unknown>, privateKey = keys.privateKey): Promise<string> {
    const key = await importPKCS8(privateKey, 'RS256');
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({
      iss: 'jwt-app',
      sub: 'integration@example.com',
      aud: 'https://login.salesforce.com',
      exp: now + 120,
      ...claims,
    })
      .setProtectedHeader({ alg: 'RS256' })
      .sign(key);
  }

  async function jwt(claims: Record<string, unknown> = {}, privateKey?: string) {
    return tokenRequest(sf, {
      grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer',
      assertion: await assertion(claims, privateKey),
    });
  }

  it('issues an access token without a refresh token', async () => {
    const reply = await jwt();
    expect(reply.status).toBe(200);
    expect(Object.keys(reply.body)).toEqual(['access_token', 'scope', 'instance_url', 'id', 'token_type']);
    expect(await apiStatus(reply.body.access_token)).toBe(200);
  });

  it('accepts test.salesforce.com and the emulator URL as audience', async () => {
    expect((await jwt({ aud: 'https://test.salesforce.com' })).status).toBe(200);
    expect((await jwt({ aud: sf.url })).status).toBe(200);
  });

  it('refuses another audience with "audience is invalid"', async () => {
    const reply = await jwt({ aud: 'https://example.com' });
    expect(reply.status).toBe(400);
    expect(reply.body).toEqual({ error: 'invalid_grant', error_description: 'audience is invalid' });
  });

  it('refuses an expired assertion and one expiring more than 3 minutes ahead', async () => {
    const now = Math.floor(Date.now() / 1000);
    const expired = await jwt({ exp: now - 600 });
    expect(expired.body).toEqual({ error: 'invalid_grant', error_description: 'expired authorization code' });
    const distant = await jwt({ exp: now + 3600 });
    expect(distant.body).toEqual({ error: 'invalid_grant', error_description: 'invalid assertion' });
  });

  it('refuses an assertion signed with another key', async () => {
    const reply = await jwt({}, otherKeys.privateKey);
    expect(reply.status).toBe(400);
    expect(reply.body).toEqual({ error: 'invalid_grant', error_description: 'invalid assertion' });
  });

  it("refuses a user who hasn't approved the app, and an unknown user", async () => {
    for (const sub of ['other@example.com', 'nobody@example.com']) {
      const reply = await jwt({ sub });
      expect(reply.status).toBe(400);
      expect(reply.body).toEqual({
        error: 'invalid_grant',
        error_description: "user hasn't approved this consumer",
      });
    }
  });

  it('accepts a WebCrypto key (jose KeyLike) as the app public key', async () => {
    const pair = await generateKeyPair('RS256');
    const other = await startEmulator({
      clients: [{ clientId: 'webcrypto-app', jwtPublicKey: pair.publicKey }],
    });
    try {
      const signed = await new SignJWT({
        iss: 'webcrypto-app',
        sub: 'integration@example.com',
        aud: other.url,
        exp: Math.floor(Date.now() / 1000) + 60,
      })
        .setProtectedHeader({ alg: 'RS256' })
        .sign(pair.privateKey);
      const reply = await tokenRequest(other, {
        grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer',
        assertion: signed,
      });
      expect(reply.status).toBe(200);
    } finally {
      await other.close();
    }
  });

  it('refuses an unknown issuer with invalid_client_id', async () => {
    const reply = await jwt({ iss: 'unknown-app' });
    expect(reply.body.error).toBe('invalid_client_id');
  });
});

describe('client-credentials grant', () => {
  it('issues a token for the run-as user with the secret in the body or in HTTP Basic', async () => {
    const inBody = await tokenRequest(sf, {
      grant_type: 'client_credentials',
      client_id: 'cc-app',
      client_secret: 'cc-secret',
    });
    expect(inBody.status).toBe(200);
    expect(inBody.body.token_format).toBe('opaque');
    expect(inBody.body.refresh_token).toBeUndefined();
    const basic = await tokenRequest(
      sf,
      { grant_type: 'client_credentials' },
      { authorization: `Basic ${Buffer.from('cc-app:cc-secret').toString('base64')}` },
    );
    expect(basic.status).toBe(200);
    expect(await apiStatus(basic.body.access_token)).toBe(200);
  });

  it('refuses a wrong secret and an app without a run-as user', async () => {
    const wrong = await tokenRequest(sf, {
      grant_type: 'client_credentials',
      client_id: 'cc-app',
      client_secret: 'x',
    });
    expect(wrong.body).toEqual({ error: 'invalid_client', error_description: 'invalid client credentials' });
    const noUser = await tokenRequest(sf, {
      grant_type: 'client_credentials',
      client_id: sf.credentials.clientId,
      client_secret: sf.credentials.clientSecret,
    });
    expect(noUser.status).toBe(400);
    expect(noUser.body).toEqual({
      error: 'invalid_grant',
      error_description: 'no client credentials user enabled',
    });
  });
});

describe('authorization code with PKCE', () => {
  const verifier = randomBytes(32).toString('base64url');
  const challenge = createHash('sha256').update(verifier).digest('base64url');

  async function authorize(params: Record<string, string>) {
    const query = new URLSearchParams({
      response_type: 'code',
      client_id: 'public-app',
      redirect_uri: CALLBACK,
      code_challenge: challenge,
      code_challenge_method: 'S256',
      state: 'xyz',
      ...params,
    });
    return send(`${sf.url}/services/oauth2/authorize?${query.toString()}`);
  }

  async function code(params: Record<string, string> = {}): Promise<string> {
    const reply = await authorize(params);
    expect(reply.status).toBe(302);
    const location = new URL(reply.headers.get('location')!);
    return location.searchParams.get('code')!;
  }

  function exchange(codeValue: string, form: Record<string, string> = {}) {
    return tokenRequest(sf, {
      grant_type: 'authorization_code',
      code: codeValue,
      client_id: 'public-app',
      redirect_uri: CALLBACK,
      code_verifier: verifier,
      ...form,
    });
  }

  it('redirects to the callback with a code and the state', async () => {
    const reply = await authorize({});
    expect(reply.status).toBe(302);
    const location = new URL(reply.headers.get('location')!);
    expect(`${location.origin}${location.pathname}`).toBe(CALLBACK);
    expect(location.searchParams.get('state')).toBe('xyz');
    expect(location.searchParams.get('code')).toMatch(/.{20,}/);
  });

  it('exchanges the code and the right verifier for an access and a refresh token', async () => {
    const reply = await exchange(await code());
    expect(reply.status).toBe(200);
    expect(typeof reply.body.access_token).toBe('string');
    expect(typeof reply.body.refresh_token).toBe('string');
    expect(reply.body.signature).toBeUndefined();
    const refreshed = await tokenRequest(sf, {
      grant_type: 'refresh_token',
      client_id: 'public-app',
      refresh_token: reply.body.refresh_token,
    });
    expect(refreshed.status).toBe(200);
  });

  it('refuses a wrong or missing code verifier', async () => {
    const wrong = await exchange(await code(), { code_verifier: 'x'.repeat(43) });
    expect(wrong.body).toEqual({ error: 'invalid_grant', error_description: 'invalid code verifier' });
    const c = await code();
    const missing = await tokenRequest(sf, {
      grant_type: 'authorization_code',
      code: c,
      client_id: 'public-app',
      redirect_uri: CALLBACK,
    });
    expect(missing.body.error_description).toBe('invalid code verifier');
  });

  it('accepts a code once', async () => {
    const c = await code();
    expect((await exchange(c)).status).toBe(200);
    const again = await exchange(c);
    expect(again.status).toBe(400);
    expect(again.body).toEqual({ error: 'invalid_grant', error_description: 'expired authorization code' });
  });

  it('binds the code to its redirect_uri', async () => {
    const reply = await exchange(await code(), { redirect_uri: 'http://127.0.0.1:7777/other' });
    expect(reply.body.error).toBe('redirect_uri_mismatch');
  });

  it('issues no refresh token when the scope lacks refresh_token', async () => {
    const reply = await exchange(await code({ scope: 'api' }));
    expect(reply.status).toBe(200);
    expect(reply.body.refresh_token).toBeUndefined();
  });

  it('answers an error page, not a redirect, for an unknown client or an unregistered redirect_uri', async () => {
    const unknown = await authorize({ client_id: 'nope' });
    expect(unknown.status).toBe(400);
    expect(unknown.headers.get('location')).toBeNull();
    const mismatch = await authorize({ redirect_uri: 'http://127.0.0.1:9999/evil' });
    expect(mismatch.status).toBe(400);
    expect(mismatch.headers.get('location')).toBeNull();
    expect(mismatch.text).toContain('redirect_uri_mismatch');
  });

  it('redirects with unsupported_response_type for another response type', async () => {
    const reply = await authorize({ response_type: 'token' });
    expect(reply.status).toBe(302);
    expect(new URL(reply.headers.get('location')!).searchParams.get('error')).toBe(
      'unsupported_response_type',
    );
  });
});
