/**
 * Request size (reference §5.1): a URI over 16,384 bytes is 414 URI Too Long; a URI within it whose
 * headers take the request over 16,384 bytes is 431 Request Header Fields Too Large — both with the
 * request-level error body, before authentication and without using the daily allocation. A Composite
 * subrequest's url over 16,384 bytes is a 414 subrequest result.
 */
import { beforeEach, describe, expect, it } from '@jest/globals';
import type { Api } from './test-support.js';
import { rec, send, useEmulator } from './test-support.js';
import type { Emulator } from './types.js';

let sf: Emulator;
let api: Api;
const V = '/services/data/v61.0';
const LIMIT = 16_384;

useEmulator((emulator, client) => {
  sf = emulator;
  api = client;
});

beforeEach(() => {
  sf.reset();
  sf.resetStats();
});

const URI_TOO_LONG = [{ errorCode: 'URI_TOO_LONG', message: 'The request URI is longer than 16384 bytes.' }];
const HEADERS_TOO_LARGE = [
  {
    errorCode: 'REQUEST_HEADER_FIELDS_TOO_LARGE',
    message: 'The request URI and headers together are longer than 16384 bytes.',
  },
];

/** A SOQL query URI of exactly `bytes` bytes, as fetch sends it (already percent-encoded), padded inside a string literal. */
function queryUri(bytes: number): string {
  const head = `${V}/query?q=SELECT+Id+FROM+Account+WHERE+Name+!%3D+%27`;
  const uri = `${head}${'x'.repeat(bytes - head.length - 3)}%27`;
  expect(Buffer.byteLength(uri)).toBe(bytes);
  return uri;
}

describe('top-level requests', () => {
  it('serves a URI that, with its headers, stays within 16,384 bytes', async () => {
    const reply = await api.get(queryUri(15_500));
    expect(reply.status).toBe(200);
    expect(reply.body).toEqual({ totalSize: 0, done: true, records: [] });
  });

  it('answers 414 URI_TOO_LONG to a URI over 16,384 bytes, before authentication and without metering it', async () => {
    for (const bytes of [LIMIT + 1, 26_375]) {
      const reply = await send(`${sf.url}${queryUri(bytes)}`);
      expect(reply.status).toBe(414);
      expect(reply.headers.get('content-type')).toBe('application/json;charset=UTF-8');
      expect(reply.headers.get('sforce-limit-info')).toBeNull();
      expect(reply.body).toEqual(URI_TOO_LONG);
    }
    const authenticated = await api.get(queryUri(26_375));
    expect(authenticated.status).toBe(414);
    expect(sf.stats()).toMatchObject({ apiRequests: 3, byKind: { query: 3 }, apiUsed: 0 });
  });

  it('answers 431 when the URI is within 16,384 bytes but the URI and headers are not', async () => {
    const atLimit = await api.get(queryUri(LIMIT));
    expect(atLimit.status).toBe(431);
    expect(atLimit.body).toEqual(HEADERS_TOO_LARGE);
    const bigHeader = await api.get(queryUri(8_000), { 'x-padding': 'p'.repeat(9_000) });
    expect(bigHeader.status).toBe(431);
    expect(bigHeader.body).toEqual(HEADERS_TOO_LARGE);
    expect(sf.stats().apiUsed).toBe(0);
  });

  it('keeps the connection usable after a refusal', async () => {
    expect((await api.get(queryUri(20_000))).status).toBe(414);
    expect((await api.get('/limits/')).status).toBe(200);
  });

  it("refuses requests beyond node's own header limit the same way, with a JSON body", async () => {
    const uri = await send(`${sf.url}${queryUri(2_000_000)}`);
    expect(uri.status).toBe(414);
    expect(uri.body).toEqual(URI_TOO_LONG);
    const headers = await api.get('/limits/', { 'x-padding': 'p '.repeat(1_000_000) });
    expect(headers.status).toBe(431);
    expect(headers.body).toEqual(HEADERS_TOO_LARGE);
    expect((await api.get('/limits/')).status).toBe(200);
  });
});

describe('Composite subrequests', () => {
  it('answers a subrequest whose url is over 16,384 bytes with 414; the others run', async () => {
    const reply = await api.post('/composite', {
      allOrNone: false,
      compositeRequest: [
        { method: 'GET', url: queryUri(26_375), referenceId: 'longQuery' },
        { method: 'POST', url: `${V}/sobjects/Account`, referenceId: 'newAccount', body: { Name: 'Acme' } },
        { method: 'GET', url: queryUri(LIMIT), referenceId: 'atLimit' },
      ],
    });
    expect(reply.status).toBe(200);
    const [long, created, atLimit] = reply.body.compositeResponse;
    expect(long).toEqual({
      body: URI_TOO_LONG,
      httpHeaders: {},
      httpStatusCode: 414,
      referenceId: 'longQuery',
    });
    expect(created.httpStatusCode).toBe(201);
    // A subrequest has no headers of its own to count: a url of exactly 16,384 bytes runs.
    expect(atLimit.httpStatusCode).toBe(200);
    expect(sf.count('Account')).toBe(1);
    expect(sf.stats().apiUsed).toBe(1);
  });

  it('under allOrNone, a 414 subrequest rolls the others back', async () => {
    const reply = await api.post('/composite', {
      allOrNone: true,
      compositeRequest: [
        {
          method: 'POST',
          url: `${V}/composite/sobjects`,
          referenceId: 'accounts',
          body: {
            allOrNone: true,
            records: [rec('Account', { Name: 'A' }), rec('Account', { Name: 'B' })],
          },
        },
        { method: 'GET', url: queryUri(LIMIT + 1), referenceId: 'longQuery' },
      ],
    });
    const [accounts, long] = reply.body.compositeResponse;
    expect(long.httpStatusCode).toBe(414);
    expect(accounts.httpStatusCode).toBe(400);
    expect(accounts.body[0].errorCode).toBe('PROCESSING_HALTED');
    expect(sf.count('Account')).toBe(0);
  });
});
