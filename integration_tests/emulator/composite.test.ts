/**
 * Composite (reference §3.5): references, allOrNone, limits, header rules, one API request per call.
 */
import { beforeEach, describe, expect, it } from '@jest/globals';
import type { Api } from './test-support.js';
import { rec, useEmulator } from './test-support.js';
import type { Emulator } from './types.js';

let sf: Emulator;
let api: Api;
const V = '/services/data/v61.0';

useEmulator((emulator, client) => {
  sf = emulator;
  api = client;
});

beforeEach(() => {
  sf.reset();
});

const HALTED = {
  errorCode: 'PROCESSING_HALTED',
  message: 'The transaction was rolled back since another operation in the same transaction failed.',
};

function composite(compositeRequest: unknown[], allOrNone = false) {
  return api.post('/composite', { allOrNone, collateSubrequests: true, compositeRequest });
}

describe('references', () => {
  it('passes @{ref.id} and @{ref.records[0].Id} to later subrequests', async () => {
    sf.seed('Account', [{ Name: 'Seeded', External_ID__c: 'S-1' }]);
    const reply = await composite([
      { method: 'POST', url: `${V}/sobjects/Account`, referenceId: 'newAccount', body: { Name: 'Acme' } },
      {
        method: 'POST',
        url: `${V}/sobjects/Contact`,
        referenceId: 'newContact',
        body: { LastName: 'C', AccountId: '@{newAccount.id}' },
      },
      {
        method: 'GET',
        url: `${V}/query?q=SELECT Id FROM Account WHERE External_ID__c = 'S-1'`,
        referenceId: 'found',
      },
      {
        method: 'PATCH',
        url: `${V}/sobjects/Account/@{found.records[0].Id}`,
        referenceId: 'touch',
        body: { Phone: '42' },
      },
    ]);
    expect(reply.status).toBe(200);
    const [acc, con, found, touch] = reply.body.compositeResponse;
    expect(acc).toEqual({
      body: { id: acc.body.id, success: true, errors: [] },
      httpHeaders: { Location: `${V}/sobjects/Account/${acc.body.id}` },
      httpStatusCode: 201,
      referenceId: 'newAccount',
    });
    expect(sf.record('Contact', con.body.id)!.AccountId).toBe(acc.body.id);
    expect(found.httpStatusCode).toBe(200);
    expect(touch).toEqual({ body: null, httpHeaders: {}, httpStatusCode: 204, referenceId: 'touch' });
    expect(sf.records('Account').find((a) => a.External_ID__c === 'S-1')!.Phone).toBe('42');
  });

  it('without allOrNone, runs independent subrequests and halts the dependants of a failure', async () => {
    const reply = await composite([
      {
        method: 'POST',
        url: `${V}/sobjects/Contact`,
        referenceId: 'bad',
        body: { FirstName: 'no last name' },
      },
      {
        method: 'POST',
        url: `${V}/sobjects/Case`,
        referenceId: 'child',
        body: { Subject: 's', ContactId: '@{bad.id}' },
      },
      { method: 'POST', url: `${V}/sobjects/Account`, referenceId: 'independent', body: { Name: 'ok' } },
    ]);
    const [bad, child, independent] = reply.body.compositeResponse;
    expect(bad.httpStatusCode).toBe(400);
    expect(bad.body[0].errorCode).toBe('REQUIRED_FIELD_MISSING');
    expect(child.httpStatusCode).toBe(400);
    expect(child.body[0].errorCode).toBe('PROCESSING_HALTED');
    expect(child.body[0].message).toContain('Invalid reference specified. No value for bad.id found in bad.');
    expect(independent.httpStatusCode).toBe(201);
    expect(sf.count('Account')).toBe(1);
  });
});

describe('allOrNone', () => {
  it('rolls everything back; the failed subrequest keeps its error, every other one is PROCESSING_HALTED', async () => {
    const reply = await composite(
      [
        { method: 'POST', url: `${V}/sobjects/Account`, referenceId: 'refAccount', body: { Name: 'Acme' } },
        {
          method: 'POST',
          url: `${V}/sobjects/Contact`,
          referenceId: 'badContact',
          body: { LastName: 'x', Email: 'Not a real email address' },
        },
        { method: 'POST', url: `${V}/sobjects/Account`, referenceId: 'later', body: { Name: 'never' } },
      ],
      true,
    );
    expect(reply.status).toBe(200);
    const [first, failed, later] = reply.body.compositeResponse;
    expect(first).toEqual({
      body: [HALTED],
      httpHeaders: {},
      httpStatusCode: 400,
      referenceId: 'refAccount',
    });
    expect(failed).toEqual({
      body: [
        {
          message: 'Email: invalid email address: Not a real email address',
          errorCode: 'INVALID_EMAIL_ADDRESS',
          fields: ['Email'],
        },
      ],
      httpHeaders: {},
      httpStatusCode: 400,
      referenceId: 'badContact',
    });
    expect(later).toEqual({ body: [HALTED], httpHeaders: {}, httpStatusCode: 400, referenceId: 'later' });
    expect(sf.count('Account')).toBe(0);
  });

  it('makes collections inside it all-or-none too', async () => {
    const reply = await composite(
      [
        {
          method: 'POST',
          url: `${V}/composite/sobjects`,
          referenceId: 'batch',
          body: {
            allOrNone: false,
            records: [rec('Contact', { LastName: 'ok' }), rec('Contact', { FirstName: 'bad' })],
          },
        },
        { method: 'POST', url: `${V}/sobjects/Account`, referenceId: 'acc', body: { Name: 'A' } },
      ],
      true,
    );
    const [batch, acc] = reply.body.compositeResponse;
    expect(batch.httpStatusCode).toBe(200);
    expect(batch.body[0].errors[0].statusCode).toBe('ALL_OR_NONE_OPERATION_ROLLED_BACK');
    expect(acc.body).toEqual([HALTED]);
    expect(sf.count('Contact')).toBe(0);
    expect(sf.count('Account')).toBe(0);
  });

  it('commits everything when every subrequest succeeds', async () => {
    const reply = await composite(
      [
        { method: 'POST', url: `${V}/sobjects/Account`, referenceId: 'a', body: { Name: 'A' } },
        {
          method: 'POST',
          url: `${V}/composite/sobjects`,
          referenceId: 'b',
          body: { records: [rec('Contact', { LastName: 'x' })] },
        },
      ],
      true,
    );
    expect(reply.body.compositeResponse.map((r: { httpStatusCode: number }) => r.httpStatusCode)).toEqual([
      201, 200,
    ]);
    expect(sf.count('Account') + sf.count('Contact')).toBe(2);
  });
});

describe('limits and request rules', () => {
  it('takes 25 subrequests and refuses 26', async () => {
    const sub = (i: number) => ({ method: 'GET', url: `${V}/limits`, referenceId: `r${i}` });
    const ok = await composite(Array.from({ length: 25 }, (_, i) => sub(i)));
    expect(ok.status).toBe(200);
    const tooMany = await composite(Array.from({ length: 26 }, (_, i) => sub(i)));
    expect(tooMany.status).toBe(400);
    expect(tooMany.body[0].errorCode).toBe('LIMIT_EXCEEDED');
  });

  it('takes 5 collections or query subrequests and refuses 6', async () => {
    const q = (i: number) => ({
      method: 'GET',
      url: `${V}/query?q=SELECT Id FROM Account`,
      referenceId: `q${i}`,
    });
    const c = (i: number) => ({
      method: 'POST',
      url: `${V}/composite/sobjects`,
      referenceId: `c${i}`,
      body: { records: [] },
    });
    expect((await composite([q(1), q(2), c(3), c(4), q(5)])).status).toBe(200);
    const six = await composite([q(1), q(2), c(3), c(4), q(5), c(6)]);
    expect(six.status).toBe(400);
    expect(six.body[0].errorCode).toBe('LIMIT_EXCEEDED');
  });

  it('refuses Authorization, Accept or Content-Type in httpHeaders', async () => {
    for (const header of ['Authorization', 'Accept', 'Content-Type']) {
      const reply = await composite([
        { method: 'GET', url: `${V}/limits`, referenceId: 'r', httpHeaders: { [header]: 'x' } },
      ]);
      expect(reply.status).toBe(400);
    }
  });

  it('passes other httpHeaders: If-Modified-Since gives a 304 result with a null body', async () => {
    const reply = await composite([
      {
        method: 'GET',
        url: `${V}/sobjects`,
        referenceId: 'r',
        httpHeaders: { 'If-Modified-Since': 'Thu, 03 Sep 2020 21:35:07 GMT' },
      },
    ]);
    const [r] = reply.body.compositeResponse;
    expect(r.httpStatusCode).toBe(304);
    expect(r.body).toBeNull();
    expect(Object.keys(r.httpHeaders).sort()).toEqual(['ETag', 'Last-Modified']);
  });

  it('refuses a url outside /services/data/vNN.N/, a lower-case method and a bad referenceId', async () => {
    expect((await composite([{ method: 'GET', url: '/limits', referenceId: 'r' }])).status).toBe(400);
    expect((await composite([{ method: 'get', url: `${V}/limits`, referenceId: 'r' }])).status).toBe(400);
    expect((await composite([{ method: 'GET', url: `${V}/limits`, referenceId: 'bad-id' }])).status).toBe(
      400,
    );
  });

  it('counts the whole call as one API request', async () => {
    sf.resetStats();
    await composite([
      { method: 'POST', url: `${V}/sobjects/Account`, referenceId: 'a', body: { Name: 'A' } },
      { method: 'GET', url: `${V}/sobjects/Account/@{a.id}`, referenceId: 'b' },
    ]);
    expect(sf.stats().apiUsed).toBe(1);
    expect(sf.stats().byKind).toEqual({ composite: 1 });
  });
});
