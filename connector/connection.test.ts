import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { generateKeyPairSync } from 'node:crypto';
import { lookup } from 'node:dns/promises';
import http from 'node:http';
import { connect as connectSocket, type AddressInfo, type Socket } from 'node:net';
import nock from 'nock';
import { loadSpec, parseConfig } from './config.js';
import { connect, httpClient } from './connection.js';
import { toConnectorError } from './failure.js';
import { ConfigError, TransientError } from './errors.js';
import type { Logger } from './logger.js';
import { Redactor } from './redact.js';
import { InsecureUrlError, networkCode, NetworkError, OAuthError } from './salesforce/errors.js';

/** Where calls end up: it remembers the Host and path of each request it serves. */
const served: Array<{ host: string | undefined; path: string | undefined }> = [];
const origin = http.createServer((req, res) => {
  served.push({ host: req.headers.host, path: req.url });
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ ok: true }));
});
/** A CONNECT proxy that remembers each tunnel asked for, and runs every tunnel to `origin`. */
const tunnels: Array<{ target: string | undefined; auth: string | undefined }> = [];
const proxy = http.createServer((_req, res) => res.writeHead(405).end());
const GOOD_AUTH = `Basic ${Buffer.from('sync-user:pr0xy-secret').toString('base64')}`;
proxy.on('connect', (req: http.IncomingMessage, client: Socket, head: Buffer) => {
  tunnels.push({ target: req.url, auth: req.headers['proxy-authorization'] });
  if (req.headers['proxy-authorization'] !== GOOD_AUTH) {
    client.end('HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic\r\n\r\n');
    return;
  }
  const upstream = connectSocket((origin.address() as AddressInfo).port, '127.0.0.1', () => {
    client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
    upstream.write(head);
    upstream.pipe(client);
    client.pipe(upstream);
  });
  client.on('error', () => upstream.destroy());
  upstream.on('error', () => client.destroy());
});
let proxyHost = '';
let originHost = '';

const listen = (server: http.Server): Promise<string> =>
  new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve(`127.0.0.1:${(server.address() as AddressInfo).port}`)),
  );
const close = (server: http.Server): Promise<void> =>
  new Promise((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });

beforeAll(async () => {
  // nock's interception (jest.setup.ts) cannot carry a proxy agent's own connection: it is switched
  // off for this file, whose every connection goes to the loopback servers above.
  nock.restore();
  originHost = await listen(origin);
  proxyHost = await listen(proxy);
});
afterAll(async () => {
  await close(proxy);
  await close(origin);
  // Not re-activated: jest.setup.ts restores nock after every file, and each file's own nock
  // intercepts again when it loads; activating here would leave a stale interceptor behind.
});

const saved = process.env.HTTP_PROXY;
afterEach(() => {
  if (saved === undefined) delete process.env.HTTP_PROXY;
  else process.env.HTTP_PROXY = saved;
  served.length = 0;
  tunnels.length = 0;
});

const config = () =>
  parseConfig({
    credentials: {
      auth_type: 'oauth2_refresh_token',
      client_id: 'id',
      client_secret: 'cs',
      refresh_token: 'rt',
    },
    login_url: 'http://127.0.0.1:1',
    salesforce_object: 'Contact',
  });

function logger(lines: string[]): Logger {
  const log = (message: string) => void lines.push(message);
  return { error: log, warn: log, info: log, debug: log };
}

describe('connect() with a proxy in the environment', () => {
  it('sends calls through the proxy with its credentials, and logs the proxy without them', async () => {
    process.env.HTTP_PROXY = `http://sync-user:pr0xy-secret@${proxyHost}`;
    const lines: string[] = [];
    const redactor = new Redactor();
    // The transport under the one client (plain http to a test host: the client's own policy would
    // refuse it, which the test below proves; the proxy agents are what is tested here).
    const client = httpClient(2, { logger: logger(lines), redactor });

    const body = await client('http://salesforce.example.test/services/data/').json();

    expect(body).toEqual({ ok: true });
    expect(tunnels).toEqual([
      {
        target: 'salesforce.example.test:80',
        auth: GOOD_AUTH,
      },
    ]);
    expect(served).toEqual([{ host: 'salesforce.example.test', path: '/services/data/' }]);
    expect(lines).toEqual([
      `Calls to salesforce.example.test go through the proxy http://${proxyHost} (from the environment).`,
    ]);
    expect(redactor.redact('password pr0xy-secret')).not.toContain('pr0xy-secret');
  });

  it('names a proxy that refuses its credentials, and says where they go', async () => {
    process.env.HTTP_PROXY = `http://sync-user:wrong-password@${proxyHost}`;
    const error = await httpClient(2)('http://salesforce.example.test/services/data/').catch(
      (e: unknown) => e,
    );
    expect(networkCode(error)).toBe('PROXY_HTTP_407');
    const failure = toConnectorError(
      new NetworkError(networkCode(error), { method: 'GET', path: '/x' }, false),
    );
    expect(failure).toBeInstanceOf(ConfigError);
    expect(failure.message).toContain('put the proxy user and password in the proxy URL of HTTPS_PROXY');
    expect(served).toEqual([]);
  });

  it("connect()'s client refuses plain http off loopback before anything leaves, proxy or not", async () => {
    process.env.HTTP_PROXY = `http://sync-user:pr0xy-secret@${proxyHost}`;
    const connection = connect(config());
    const error = await connection.http
      .request({
        method: 'GET',
        url: 'http://salesforce.example.test/services/data/',
        idempotent: true,
        kind: 'versions',
      })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InsecureUrlError);
    expect(toConnectorError(error).message).toContain('refused to call http://salesforce.example.test');
    expect(tunnels).toEqual([]);
    expect(served).toEqual([]);
  });

  it('adds nothing when no proxy is set: a call goes straight to its host', async () => {
    delete process.env.HTTP_PROXY;
    await httpClient(2)(`http://${originHost}/services/data/`).json();
    expect(tunnels).toEqual([]);
    expect(served).toEqual([{ host: originHost, path: '/services/data/' }]);
  });
});

/** A login host on loopback: answers every token request with `answer`, and keeps each form sent. */
let answer: { status: number; body: Record<string, unknown> } = { status: 500, body: {} };
const forms: URLSearchParams[] = [];
const login = http.createServer((req, res) => {
  let body = '';
  req.on('data', (chunk: Buffer) => (body += chunk.toString()));
  req.on('end', () => {
    forms.push(new URLSearchParams(body));
    res.writeHead(answer.status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(answer.body));
  });
});
let loginUrl = '';
beforeAll(async () => {
  loginUrl = `http://${await listen(login)}`;
});
afterAll(() => close(login));
afterEach(() => {
  forms.length = 0;
});

const refusal = (error: string, description: string) => ({
  status: 400,
  body: { error, error_description: description },
});
const PEM = generateKeyPairSync('rsa', { modulusLength: 2048 })
  .privateKey.export({ type: 'pkcs8', format: 'pem' })
  .toString();
const SECRETS = ['cid-3MVG9-value', 'refresh-5Aep861-value', 'secret-8C1F-value', 'jwt-user@example.com'];

/** A config signing in at the loopback login host, with `credentials` and any other settings. */
const configWith = (credentials: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
  parseConfig({ credentials, login_url: loginUrl, salesforce_object: 'Contact', ...extra });
const refreshConfig = (clientSecret?: string) =>
  configWith({
    auth_type: 'oauth2_refresh_token',
    client_id: SECRETS[0],
    refresh_token: SECRETS[1],
    ...(clientSecret === undefined ? {} : { client_secret: clientSecret }),
  });
const jwtConfig = (extra: Record<string, unknown> = {}) =>
  configWith(
    { auth_type: 'jwt_bearer', client_id: SECRETS[0], username: SECRETS[3], private_key: PEM },
    extra,
  );

/** The ConfigError a sign-in ends with; its message must hold none of the credentials. */
async function signInFailure(config: ReturnType<typeof parseConfig>): Promise<ConfigError> {
  delete process.env.HTTP_PROXY;
  const error = await connect(config)
    .tokens.get()
    .then(
      () => undefined,
      (e: unknown) => e,
    );
  expect(error).toBeInstanceOf(ConfigError);
  const message = (error as ConfigError).message;
  for (const secret of [...SECRETS, PEM]) expect(message).not.toContain(secret);
  return error as ConfigError;
}

describe('sign-in refusals, explained with the config in hand', () => {
  it('says client_secret is empty when an app that requires one refuses the refresh-token grant', async () => {
    answer = refusal('invalid_client', 'invalid client credentials');
    for (const config of [refreshConfig(''), refreshConfig()]) {
      const error = await signInFailure(config);
      expect(error.message).toContain('client_secret is empty');
      expect(error.message).toContain('Require Secret for Refresh Token Flow');
    }
    expect(forms.map((form) => form.has('client_secret'))).toEqual([false, false]);
  });

  it('says client_secret is empty for client credentials sent without one', async () => {
    answer = refusal('invalid_client', 'invalid client credentials');
    const error = await signInFailure(
      configWith({ auth_type: 'client_credentials', client_id: SECRETS[0], client_secret: '' }),
    );
    expect(error.message).toContain('client_secret is empty');
  });

  it('blames the client_id / client_secret pair when a secret was given', async () => {
    answer = refusal('invalid_client', 'invalid client credentials');
    const error = await signInFailure(refreshConfig(SECRETS[2]));
    expect(error.message).toContain('refused the client_id / client_secret pair');
    expect(error.message).not.toContain('empty');
  });

  it('tells to re-authenticate this destination, not a source, when the refresh token is revoked', async () => {
    answer = refusal('invalid_grant', 'expired access/refresh token');
    const error = await signInFailure(refreshConfig(SECRETS[2]));
    expect(error.message).toContain('re-authenticate this destination in Airbyte');
    expect(error.message).not.toMatch(/source/i);
  });

  it('gives the JWT checklist, not the login command (which makes refresh tokens), for an invalid assertion', async () => {
    answer = refusal('invalid_grant', 'invalid assertion');
    const error = await signInFailure(jwtConfig());
    for (const part of [
      'certificate uploaded to the connected app',
      'matches private_key',
      'username',
      'Consumer Key',
      'pre-authorized',
    ]) {
      expect(error.message).toContain(part);
    }
    expect(error.message).not.toContain('login command');
    // The grant type alone is enough where the config is not at hand (main.ts).
    const bare = toConnectorError(
      new OAuthError(
        400,
        'invalid_grant',
        'invalid assertion',
        'urn:ietf:params:oauth:grant-type:jwt-bearer',
      ),
    );
    expect(bare.message).toBe(error.message);
  });
});

describe('what is_sandbox and instance_url do, as the spec says', () => {
  const properties = loadSpec().connectionSpecification.properties as Record<string, { description: string }>;

  it('JWT bearer takes its audience from is_sandbox even when login_url is set', async () => {
    delete process.env.HTTP_PROXY;
    answer = { status: 200, body: { access_token: 'tok', instance_url: `http://${originHost}` } };
    for (const is_sandbox of [true, false]) await connect(jwtConfig({ is_sandbox })).tokens.get();
    const audiences = forms.map((form) => {
      const payload = form.get('assertion')!.split('.')[1]!;
      return (JSON.parse(Buffer.from(payload, 'base64url').toString()) as { aud: string }).aud;
    });
    expect(audiences).toEqual(['https://test.salesforce.com', 'https://login.salesforce.com']);
    expect(properties.is_sandbox!.description).not.toContain('Ignored when Login URL is set');
    expect(properties.is_sandbox!.description).toContain(
      'JWT bearer still uses this to choose the token audience',
    );
  });

  it('uses the instance the token names, whatever instance_url the config holds', async () => {
    delete process.env.HTTP_PROXY;
    answer = { status: 200, body: { access_token: 'tok', instance_url: `http://${originHost}` } };
    const config = refreshConfig(SECRETS[2]);
    const token = await connect({
      ...config,
      instanceUrl: 'https://elsewhere.my.salesforce.com',
    }).tokens.get();
    expect(token.instanceUrl).toBe(`http://${originHost}`);
    expect(properties.instance_url!.description).not.toContain('check');
    expect(properties.instance_url!.description).toContain('The connector does not use it');
  });
});

describe('a login host that does not exist', () => {
  const tokenCall = { method: 'POST', path: '/services/oauth2/token' };

  it('is a config error naming the host when DNS says it does not exist (ENOTFOUND)', () => {
    const error = toConnectorError(
      new NetworkError('ENOTFOUND', tokenCall, false),
      'https://acme-typo.my.salesforce.com',
    );
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toContain('The login host acme-typo.my.salesforce.com does not exist');
    expect(error.message).toContain('check login_url');
    expect(error.message).toContain('My Domain');
  });

  it('stays transient when DNS could not answer (EAI_AGAIN), and for hosts other than the login host', () => {
    const url = 'https://acme.my.salesforce.com';
    expect(toConnectorError(new NetworkError('EAI_AGAIN', tokenCall, false), url)).toBeInstanceOf(
      TransientError,
    );
    expect(toConnectorError(new NetworkError('ECONNREFUSED', tokenCall, false), url)).toBeInstanceOf(
      TransientError,
    );
    expect(
      toConnectorError(new NetworkError('ENOTFOUND', { method: 'GET', path: '/services/data/' }, false), url),
    ).toBeInstanceOf(TransientError);
  });

  it('fails the sign-in as a config error on a real lookup of a reserved .invalid name', async () => {
    // RFC 2606 reserves .invalid: it never resolves, so the lookup fails without reaching any host.
    await expect(lookup('acme-typo.invalid')).rejects.toMatchObject({ code: 'ENOTFOUND' });
    const saved = { HTTP_PROXY: process.env.HTTP_PROXY, HTTPS_PROXY: process.env.HTTPS_PROXY };
    delete process.env.HTTP_PROXY;
    delete process.env.HTTPS_PROXY;
    try {
      const config = parseConfig({
        credentials: { auth_type: 'oauth2_refresh_token', client_id: SECRETS[0], refresh_token: SECRETS[1] },
        login_url: 'https://acme-typo.invalid',
        salesforce_object: 'Contact',
      });
      const error = await signInFailure(config);
      expect(error.message).toMatch(/^The login host acme-typo\.invalid does not exist \(ENOTFOUND on POST/);
    } finally {
      if (saved.HTTPS_PROXY !== undefined) process.env.HTTPS_PROXY = saved.HTTPS_PROXY;
    }
  });
});
