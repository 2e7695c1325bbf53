/**
 * Single-record resources (reference §3.1, §3.3): create, read, update, delete, upsert by external ID,
 * and the server-set system fields.
 */
import { beforeEach, describe, expect, it } from '@jest/globals';
import { idSuffix, normalizeId } from './ids.js';
import { Api, useEmulator } from './test-support.js';
import type { Emulator } from './types.js';

let sf: Emulator;
let api: Api;

useEmulator((emulator, client) => {
  sf = emulator;
  api = client;
});

beforeEach(() => {
  sf.reset();
});

const READ_DATETIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}\+0000$/;

describe('ids', () => {
  it('computes the 18-character suffix like Salesforce (recorded ids)', () => {
    expect(idSuffix('0037e00001WZ30q')).toBe('AAD');
    expect(idSuffix('0015500001QdQWf')).toBe('AAN');
    expect(normalizeId('0035500001H9cak')).toBe('0035500001H9cakAAB');
  });

  it('restores the case of an 18-character id from its suffix and rejects malformed ones', () => {
    expect(normalizeId('0037E00001WZ30QAAD')).toBe('0037e00001WZ30qAAD');
    expect(normalizeId('001xx000003DGb2999')).toBeUndefined();
    expect(normalizeId('001xx00000')).toBeUndefined();
    expect(normalizeId('001xx000003DGb2!AA')).toBeUndefined();
  });
});

describe('create', () => {
  it('answers 201 {id, success, errors} and sets the system fields', async () => {
    const reply = await api.post('/sobjects/Contact/', { FirstName: 'Ada', LastName: 'Lovelace' });
    expect(reply.status).toBe(201);
    expect(Object.keys(reply.body)).toEqual(['id', 'success', 'errors']);
    expect(reply.body.success).toBe(true);
    expect(reply.body.errors).toEqual([]);
    const id = reply.body.id as string;
    expect(id).toMatch(/^003[0-9A-Za-z]{15}$/);
    expect(normalizeId(id)).toBe(id);
    const stored = sf.record('Contact', id)!;
    expect(stored.Name).toBe('Ada Lovelace');
    expect(stored.IsDeleted).toBe(false);
    expect(stored.OwnerId).toMatch(/^005/);
    expect(stored.CreatedById).toBe(stored.OwnerId);
    expect(stored.LastModifiedById).toBe(stored.OwnerId);
    for (const f of ['CreatedDate', 'LastModifiedDate', 'SystemModstamp'])
      expect(stored[f]).toMatch(READ_DATETIME);
  });

  it('uses each object key prefix and fills Case defaults and the auto-number', async () => {
    const prefixes: Record<string, [string, Record<string, unknown>]> = {
      Account: ['001', { Name: 'A' }],
      Lead: ['00Q', { LastName: 'L', Company: 'C' }],
      Case: ['500', { Subject: 'S' }],
      Custom__c: ['aB5', { Name: 'X' }],
      With_External_Id__c: ['a08', { Name: 'W' }],
    };
    for (const [object, [prefix, body]] of Object.entries(prefixes)) {
      const reply = await api.post(`/sobjects/${object}`, body);
      expect(reply.status).toBe(201);
      expect(reply.body.id.slice(0, 3)).toBe(prefix);
    }
    const c = sf.records('Case')[0]!;
    expect(c).toMatchObject({ Status: 'New', Priority: 'Medium', CaseNumber: '00001001', IsClosed: false });
    expect(sf.records('Lead')[0]!.Status).toBe('Open - Not Contacted');
  });

  it('answers 404 NOT_FOUND for an object that is not served', async () => {
    const reply = await api.post('/sobjects/Opportunity', { Name: 'x' });
    expect(reply.status).toBe(404);
  });
});

describe('read', () => {
  it('returns every field with attributes, null when unset, datetimes in read format', async () => {
    const id = (await api.post('/sobjects/Account', { Name: 'Acme', BillingCity: 'Paris' })).body.id;
    const reply = await api.get(`/sobjects/Account/${id}`);
    expect(reply.status).toBe(200);
    expect(reply.body.attributes).toEqual({
      type: 'Account',
      url: `/services/data/v61.0/sobjects/Account/${id}`,
    });
    expect(reply.body.Name).toBe('Acme');
    expect(reply.body.Phone).toBeNull();
    expect(reply.body.IsDeleted).toBe(false);
    expect(reply.body.CreatedDate).toMatch(READ_DATETIME);
    expect(reply.body.BillingAddress).toMatchObject({ city: 'Paris', street: null });
    expect(reply.body.External_ID__c).toBeNull();
  });

  it('returns only ?fields= and refuses an unknown one', async () => {
    const id = (await api.post('/sobjects/Account', { Name: 'Acme' })).body.id;
    const reply = await api.get(`/sobjects/Account/${id}?fields=name,Id`);
    expect(Object.keys(reply.body)).toEqual(['attributes', 'Name', 'Id']);
    const bad = await api.get(`/sobjects/Account/${id}?fields=Nope__c`);
    expect(bad.status).toBe(400);
    expect(bad.body[0].errorCode).toBe('INVALID_FIELD');
  });

  it('answers 404 for an unknown id and for a segment that is not an id', async () => {
    const unknown = await api.get(`/sobjects/Account/${normalizeId('001Em0000000zzz')}`);
    expect(unknown.status).toBe(404);
    expect(unknown.body[0].errorCode).toBe('NOT_FOUND');
    const notId = await api.get('/sobjects/Account/INVALID ID');
    expect(notId.status).toBe(404);
    expect(notId.body).toEqual([
      {
        errorCode: 'NOT_FOUND',
        message: 'Provided external ID field does not exist or is not accessible: INVALID ID',
      },
    ]);
  });
});

describe('update and delete', () => {
  it('PATCH answers 204, changes the fields and LastModifiedDate; JSON null clears a field', async () => {
    const id = (await api.post('/sobjects/Contact', { LastName: 'A', Title: 'CTO', Email: 'a@example.com' }))
      .body.id;
    const reply = await api.patch(`/sobjects/Contact/${id}`, { Title: 'CEO', Email: null });
    expect(reply.status).toBe(204);
    expect(reply.text).toBe('');
    const stored = sf.record('Contact', id)!;
    expect(stored.Title).toBe('CEO');
    expect(stored.Email).toBeNull();
  });

  it('accepts POST ?_HttpMethod=PATCH as an update', async () => {
    const id = (await api.post('/sobjects/Contact', { LastName: 'A' })).body.id;
    const reply = await api.post(`/sobjects/Contact/${id}?_HttpMethod=PATCH`, { LastName: 'B' });
    expect(reply.status).toBe(204);
    expect(sf.record('Contact', id)!.LastName).toBe('B');
  });

  it('DELETE answers 204; the record is gone for reads and a second delete says ENTITY_IS_DELETED', async () => {
    const id = (await api.post('/sobjects/Contact', { LastName: 'A' })).body.id;
    expect((await api.delete(`/sobjects/Contact/${id}`)).status).toBe(204);
    expect(sf.count('Contact')).toBe(0);
    expect(sf.record('Contact', id)!.IsDeleted).toBe(true);
    const again = await api.delete(`/sobjects/Contact/${id}`);
    expect(again.status).toBe(404);
    expect(again.body).toEqual([
      { message: 'entity is deleted', errorCode: 'ENTITY_IS_DELETED', fields: [] },
    ]);
    const read = await api.get(`/sobjects/Contact/${id}`);
    expect(read.status).toBe(404);
    expect(read.body[0].errorCode).toBe('ENTITY_IS_DELETED');
  });

  it('answers 404 when the id in the URL belongs to another object', async () => {
    const accountId = (await api.post('/sobjects/Account', { Name: 'A' })).body.id;
    const reply = await api.patch(`/sobjects/Contact/${accountId}`, { LastName: 'x' });
    expect(reply.status).toBe(404);
  });
});

describe('upsert by external ID', () => {
  it('creates with 201 {…, created: true} then updates with 200 {…, created: false}', async () => {
    const created = await api.patch('/sobjects/Account/External_ID__c/A-1', { Name: 'One' });
    expect(created.status).toBe(201);
    expect(created.body).toEqual({ id: created.body.id, success: true, errors: [], created: true });
    expect(sf.record('Account', created.body.id)!.External_ID__c).toBe('A-1');
    const updated = await api.patch('/sobjects/Account/External_ID__c/A-1', { Name: 'Uno' });
    expect(updated.status).toBe(200);
    expect(updated.body).toEqual({ id: created.body.id, success: true, errors: [], created: false });
    expect(sf.record('Account', created.body.id)!.Name).toBe('Uno');
  });

  it('answers 204 without a body for an update before v46.0', async () => {
    const old = new Api(sf, api.token, '45.0');
    await old.patch('/sobjects/Account/External_ID__c/A-2', { Name: 'One' });
    const updated = await old.patch('/sobjects/Account/External_ID__c/A-2', { Name: 'Two' });
    expect(updated.status).toBe(204);
  });

  it('answers 300 with the record URLs when the key matches several records (Email is not unique)', async () => {
    const ids = sf.seed('Lead', [
      { LastName: 'A', Company: 'C', Email: 'dup@example.com' },
      { LastName: 'B', Company: 'C', Email: 'dup@example.com' },
    ]);
    const reply = await api.patch('/sobjects/Lead/Email/dup@example.com', { LastName: 'Z' });
    expect(reply.status).toBe(300);
    expect(reply.body).toEqual(ids.map((id) => `/services/data/v61.0/sobjects/Lead/${id}`));
  });

  it('reads and deletes by external ID', async () => {
    const [id] = sf.seed('Contact', [{ LastName: 'A', External_ID__c: 'C-9' }]);
    const read = await api.get('/sobjects/Contact/External_ID__c/C-9');
    expect(read.body.Id).toBe(id);
    expect((await api.delete('/sobjects/Contact/External_ID__c/C-9')).status).toBe(204);
    expect(sf.count('Contact')).toBe(0);
  });

  it('creates with POST /sobjects/{O}/Id (null Id as key)', async () => {
    const reply = await api.post('/sobjects/Account/Id', { Name: 'Via Id' });
    expect(reply.status).toBe(201);
    expect(reply.body.created).toBe(true);
  });

  it('refuses a key field that is neither External ID nor idLookup, and an unknown one', async () => {
    const notKey = await api.patch('/sobjects/Account/Name/x', { Phone: '1' });
    expect(notKey.status).toBe(400);
    expect(notKey.body).toEqual([
      {
        message: 'Invalid field for upsert, must be an External Id custom or standard indexed field: Name',
        errorCode: 'INVALID_FIELD',
      },
    ]);
    const unknown = await api.patch('/sobjects/Account/Namez/x', { Phone: '1' });
    expect(unknown.status).toBe(404);
    expect(unknown.body[0].message).toBe(
      'Provided external ID field does not exist or is not accessible: Namez',
    );
  });

  it('matches the case-sensitive External_ID__c exactly', async () => {
    sf.seed('Account', [{ Name: 'Upper', External_ID__c: 'ABC' }]);
    const reply = await api.patch('/sobjects/Account/External_ID__c/abc', { Name: 'Lower' });
    expect(reply.status).toBe(201);
    expect(sf.count('Account')).toBe(2);
  });
});
