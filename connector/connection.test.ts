import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import http from 'node:http';
import { connect as connectSocket, type AddressInfo, type Socket } from 'node:net';
import nock from 'nock';
import { parseConfig } from './config.js';
import { connect, toConnectorError } from './connection.js';
import { ConfigError } from './errors.js';
import type { Logger } from './logger.js';
import { Redactor } from './redact.js';
import { networkCode, NetworkError } from './salesforce/errors.js';

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
    const connection = connect(config(), { logger: logger(lines), redactor });

    const body = await connection.got('http://salesforce.example.test/services/data/').json();

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
    const connection = connect(config());
    const error = await connection
      .got('http://salesforce.example.test/services/data/')
      .catch((e: unknown) => e);
    expect(networkCode(error)).toBe('PROXY_HTTP_407');
    const failure = toConnectorError(
      new NetworkError(networkCode(error), { method: 'GET', path: '/x' }, false),
    );
    expect(failure).toBeInstanceOf(ConfigError);
    expect(failure.message).toContain('put the proxy user and password in the proxy URL of HTTPS_PROXY');
    expect(served).toEqual([]);
  });

  it('adds nothing when no proxy is set: a call goes straight to its host', async () => {
    delete process.env.HTTP_PROXY;
    const connection = connect(config());
    await connection.got(`http://${originHost}/services/data/`).json();
    expect(tunnels).toEqual([]);
    expect(served).toEqual([{ host: originHost, path: '/services/data/' }]);
  });
});
