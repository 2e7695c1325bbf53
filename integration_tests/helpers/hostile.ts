/**
 * Hostile hosts for the trust tests: a "front" on loopback that passes calls to the emulator and
 * answers chosen ones with a redirect instead, and a "collector" that records whatever reaches it.
 *
 * The collector listens on 127.0.0.2: still this machine, but not a loopback *name* the connector
 * allows plain http to (127.0.0.1, localhost, ::1), so it stands for a plain-http host across a
 * network. The front rewrites `instance_url` in token answers to itself, so that every later call
 * (versions, Describe, query, Composite, Bulk) passes through it too.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** What reached the collector. */
export interface Collected {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** A server that records every request and answers 200 {}. */
export interface Collector {
  url: string;
  requests: Collected[];
  close(): Promise<void>;
}

/** Starts the collector on 127.0.0.2. */
export async function startCollector(): Promise<Collector> {
  const requests: Collected[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.2', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.2:${port}`, requests, close: () => closeServer(server) };
}

/** The front: passes calls to `target`, but redirects those `redirect` picks. */
export interface Front {
  url: string;
  /** Which calls to answer with a redirect, and where to; undefined passes everything. */
  redirect: ((method: string, path: string) => { status: number; location: string } | undefined) | undefined;
  /** Every call the front saw (method and path without the query). */
  seen: string[];
  /** The instance_url its token answers name (default: the front itself). */
  instanceUrl: string | undefined;
  close(): Promise<void>;
}

/** Starts the front before `target` (the emulator's URL). */
export async function startFront(target: string): Promise<Front> {
  const front: Front = {
    url: '',
    redirect: undefined,
    seen: [],
    instanceUrl: undefined,
    close: () => Promise.resolve(),
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const path = (req.url ?? '/').split('?')[0]!;
      front.seen.push(`${req.method} ${path}`);
      const to = front.redirect?.(req.method ?? 'GET', req.url ?? '/');
      if (to !== undefined) {
        res.writeHead(to.status, { location: to.location, 'content-length': '0' });
        res.end();
        return;
      }
      const headers = { ...req.headers, host: new URL(target).host };
      const upstream = http.request(
        `${target}${req.url ?? '/'}`,
        { method: req.method, headers },
        (answer) => {
          const parts: Buffer[] = [];
          answer.on('data', (chunk: Buffer) => parts.push(chunk));
          answer.on('end', () => {
            let body = Buffer.concat(parts);
            if (path === '/services/oauth2/token' && answer.statusCode === 200) {
              // Every later call comes back through the front.
              const token = JSON.parse(body.toString()) as Record<string, unknown>;
              token.instance_url = front.instanceUrl ?? front.url;
              body = Buffer.from(JSON.stringify(token));
            }
            const out = { ...answer.headers, 'content-length': String(body.length) };
            delete out['transfer-encoding'];
            res.writeHead(answer.statusCode ?? 502, out);
            res.end(body);
          });
        },
      );
      upstream.on('error', () => {
        res.writeHead(502);
        res.end();
      });
      upstream.end(Buffer.concat(chunks));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  front.url = `http://127.0.0.1:${port}`;
  front.close = () => closeServer(server);
  return front;
}

function closeServer(server: http.Server): Promise<void> {
  return new Promise((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
}
