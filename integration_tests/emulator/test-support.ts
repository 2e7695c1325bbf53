/**
 * A tiny HTTP client for the emulator's own tests: real HTTP calls with node's fetch, replies with
 * status, headers and the parsed body. Deliberately independent of the connector's client.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll } from '@jest/globals';
import { startEmulator } from './index.js';
import type { Emulator } from './types.js';

/** A reply: status, headers, raw text and the JSON body when there is one. */
export interface Reply {
  status: number;
  headers: Headers;
  text: string;
  body: any;
}

/** Send one request; `body` objects are sent as JSON unless a content-type says otherwise. */
export async function send(
  url: string,
  init: { method?: string; body?: unknown; headers?: Record<string, string>; signal?: AbortSignal } = {},
): Promise<Reply> {
  const headers: Record<string, string> = { ...init.headers };
  let body: string | Buffer | undefined;
  if (typeof init.body === 'string' || Buffer.isBuffer(init.body)) body = init.body;
  else if (init.body !== undefined) {
    body = JSON.stringify(init.body);
    headers['content-type'] ??= 'application/json';
  }
  const request: RequestInit = { method: init.method ?? 'GET', headers, redirect: 'manual' };
  if (body !== undefined) request.body = body;
  if (init.signal !== undefined) request.signal = init.signal;
  const res = await fetch(url, request);
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = text === '' ? undefined : JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  return { status: res.status, headers: res.headers, text, body: parsed };
}

/** POST a form to the token endpoint. */
export function tokenRequest(
  emulator: Emulator,
  form: Record<string, string>,
  headers?: Record<string, string>,
): Promise<Reply> {
  return send(`${emulator.url}/services/oauth2/token`, {
    method: 'POST',
    body: new URLSearchParams(form).toString(),
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
  });
}

/** An access token for the default app via the refresh-token grant. */
export async function accessToken(emulator: Emulator): Promise<string> {
  const { clientId, clientSecret, refreshToken } = emulator.credentials;
  const reply = await tokenRequest(emulator, {
    grant_type: 'refresh_token',
    client_id: clientId,
    client_secret: clientSecret,
    refresh_token: refreshToken,
  });
  if (reply.status !== 200) throw new Error(`token request failed: ${reply.text}`);
  return (reply.body as { access_token: string }).access_token;
}

/** An authenticated REST client for /services/data/v{version}. */
export class Api {
  constructor(
    readonly emulator: Emulator,
    public token: string,
    readonly version = '61.0',
  ) {}

  static async connect(emulator: Emulator, version = '61.0'): Promise<Api> {
    return new Api(emulator, await accessToken(emulator), version);
  }

  /**
   * `path` is relative to /services/data/vNN.N (starts with '/'), or absolute when it starts with
   * /services. `signal` aborts the call (the client goes away).
   */
  call(
    method: string,
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
    signal?: AbortSignal,
  ): Promise<Reply> {
    const full = path.startsWith('/services/') ? path : `/services/data/v${this.version}${path}`;
    const init: Parameters<typeof send>[1] = {
      method,
      body,
      headers: { authorization: `Bearer ${this.token}`, ...headers },
    };
    if (signal !== undefined) init.signal = signal;
    return send(`${this.emulator.url}${full}`, init);
  }

  get(path: string, headers?: Record<string, string>): Promise<Reply> {
    return this.call('GET', path, undefined, headers);
  }

  post(path: string, body?: unknown, headers?: Record<string, string>): Promise<Reply> {
    return this.call('POST', path, body, headers);
  }

  patch(path: string, body?: unknown, headers?: Record<string, string>): Promise<Reply> {
    return this.call('PATCH', path, body, headers);
  }

  delete(path: string, headers?: Record<string, string>): Promise<Reply> {
    return this.call('DELETE', path, undefined, headers);
  }

  /** GET /query?q=… */
  query(soql: string, headers?: Record<string, string>): Promise<Reply> {
    return this.get(`/query?q=${encodeURIComponent(soql)}`, headers);
  }
}

/** `{attributes: {type}}` + fields. */
export function rec(type: string, fields: Record<string, unknown>): Record<string, unknown> {
  return { attributes: { type }, ...fields };
}

/**
 * One emulator for a test file: started with a signed-in client before the file's tests (`ready`
 * receives both, and may seed records), closed after them.
 */
export function useEmulator(ready: (emulator: Emulator, api: Api) => void): void {
  let emulator: Emulator | undefined;
  beforeAll(async () => {
    emulator = await startEmulator();
    ready(emulator, await Api.connect(emulator));
  });
  afterAll(async () => {
    await emulator?.close();
  });
}

/**
 * Wait until `condition` holds, checking every few milliseconds: tests wait for an event the emulator
 * reports (a request held, a client gone), never for a fixed time. Jest's test timeout bounds it.
 */
export async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await sleep(5);
}
