/**
 * sObject Collections (reference §3.2): the four operations, the 200-record limit, allOrNone both
 * ways with the documented result shapes, and the upsert key rules of §3.3.
 */
import { beforeEach, describe, expect, it } from '@jest/globals';
import { normalizeId } from './ids.js';
import { Api, rec, useEmulator } from './test-support.js';
import type { Emulator } from './types.js';

let sf: Emulator;
let api: Api;

useEmulator((emulator, client) => {
  sf = emulator;
  api = client;
});

beforeEach(() => {
  sf.reset();
  sf.configure({ duplicateKeyRows: 'all', emailMatchCaseInsensitive: true });
});

const ROLLED_BACK = {
  statusCode: 'ALL_OR_NONE_OPERATION_ROLLED_BACK',
  message: 'Record rolled back because not all records were valid and the request was using AllOrNone header',
  fields: [],
};

describe('create', () => {
  it('creates records of several types, results in request order', async () => {
    const reply = await api.post('/composite/sobjects', {
      allOrNone: false,
      records: [
        rec('Account', { Name: 'example.com' }),
        rec('Contact', { LastName: 'Johnson' }),
        rec('Account', { Name: 'b' }),
      ],
    });
    expect(reply.status).toBe(200);
    expect(reply.body.map((r: { id: string }) => r.id.slice(0, 3))).toEqual(['001', '003', '001']);
    for (const r of reply.body) expect(Object.keys(r)).toEqual(['id', 'success', 'errors']);
    expect(sf.count('Account')).toBe(2);
  });

  it('allOrNone=false: a failed record has no id, the others are saved', async () => {
    const reply = await api.post('/composite/sobjects', {
      allOrNone: false,
      records: [rec('Contact', { FirstName: 'no last name' }), rec('Contact', { LastName: 'ok' })],
    });
    expect(reply.body[0]).toEqual({
      success: false,
      errors: [
        {
          statusCode: 'REQUIRED_FIELD_MISSING',
          message: 'Required fields are missing: [LastName]',
          fields: ['LastName'],
        },
      ],
    });
    expect(reply.body[1]).toMatchObject({ success: true, errors: [] });
    expect(sf.count('Contact')).toBe(1);
  });

  it('allOrNone=true: nothing is saved and the good record reports ALL_OR_NONE_OPERATION_ROLLED_BACK without id', async () => {
    const reply = await api.post('/composite/sobjects', {
      allOrNone: true,
      records: [rec('Contact', { FirstName: 'no last name' }), rec('Contact', { LastName: 'ok' })],
    });
    expect(reply.status).toBe(200);
    expect(reply.body[0].errors[0].statusCode).toBe('REQUIRED_FIELD_MISSING');
    expect(reply.body[1]).toEqual({ success: false, errors: [ROLLED_BACK] });
    expect(sf.count('Contact')).toBe(0);
  });

  it('refuses more than 200 records with EXCEEDED_ID_LIMIT', async () => {
    const records = Array.from({ length: 201 }, (_, i) => rec('Contact', { LastName: `n${i}` }));
    const reply = await api.post('/composite/sobjects', { records });
    expect(reply.status).toBe(400);
    expect(reply.body).toEqual([
      {
        message: 'record limit reached. cannot submit more than 200 records into this call',
        errorCode: 'EXCEEDED_ID_LIMIT',
      },
    ]);
    expect(sf.count('Contact')).toBe(0);
    const ok = await api.post('/composite/sobjects', { records: records.slice(0, 200) });
    expect(ok.body.filter((r: { success: boolean }) => r.success)).toHaveLength(200);
  });

  it('reports a record without attributes.type as a per-record INVALID_TYPE', async () => {
    const reply = await api.post('/composite/sobjects', {
      records: [{ LastName: 'x' }, rec('Contact', { LastName: 'y' })],
    });
    expect(reply.body[0]).toEqual({
      success: false,
      errors: [{ statusCode: 'INVALID_TYPE', message: 'Must send a concrete entity type.', fields: [] }],
    });
    expect(reply.body[1].success).toBe(true);
  });

  it('refuses more than 10 chunks of alternating types', async () => {
    const records = Array.from({ length: 11 }, (_, i) =>
      i % 2 === 0 ? rec('Account', { Name: `a${i}` }) : rec('Contact', { LastName: `c${i}` }),
    );
    const reply = await api.post('/composite/sobjects', { records });
    expect(reply.status).toBe(400);
    expect(reply.body[0].message).toContain('Cannot have more than 10 chunks');
  });

  it('does not exist before v42.0', async () => {
    const old = new Api(sf, api.token, '41.0');
    expect((await old.post('/composite/sobjects', { records: [] })).status).toBe(404);
  });
});

describe('update', () => {
  it('updates by id or Id and keeps the id on failure', async () => {
    const [a, b] = sf.seed('Contact', [{ LastName: 'A' }, { LastName: 'B' }]);
    const reply = await api.patch('/composite/sobjects', {
      records: [rec('Contact', { id: a, Title: 'T1' }), rec('Contact', { Id: b, LastName: null })],
    });
    expect(reply.body[0]).toEqual({ id: a, success: true, errors: [] });
    expect(reply.body[1]).toEqual({
      id: b,
      success: false,
      errors: [
        {
          statusCode: 'REQUIRED_FIELD_MISSING',
          message: 'Required fields are missing: [LastName]',
          fields: ['LastName'],
        },
      ],
    });
    expect(sf.record('Contact', a!)!.Title).toBe('T1');
  });

  it('reports MISSING_ARGUMENT without an id and MALFORMED_ID for a bad or foreign one', async () => {
    const [accountId] = sf.seed('Account', [{ Name: 'A' }]);
    const reply = await api.patch('/composite/sobjects', {
      records: [
        rec('Contact', { Title: 'x' }),
        rec('Contact', { id: '001xx000003DGb2999', Title: 'x' }),
        rec('Contact', { id: accountId, Title: 'x' }),
      ],
    });
    expect(reply.body[0]).toEqual({
      success: false,
      errors: [{ statusCode: 'MISSING_ARGUMENT', message: 'Id not specified in an update call', fields: [] }],
    });
    expect(reply.body[1]).toEqual({
      success: false,
      errors: [
        {
          statusCode: 'MALFORMED_ID',
          message: 'Contact ID: id value of incorrect type: 001xx000003DGb2999',
          fields: ['Id'],
        },
      ],
    });
    expect(reply.body[2].errors[0].message).toBe(`Contact ID: id value of incorrect type: ${accountId}`);
  });

  it('allOrNone=true rolls back and the good record keeps its id', async () => {
    const [a, b] = sf.seed('Contact', [{ LastName: 'A' }, { LastName: 'B' }]);
    const reply = await api.patch('/composite/sobjects', {
      allOrNone: true,
      records: [rec('Contact', { id: a, Title: 'changed' }), rec('Contact', { id: b, Email: 'bad' })],
    });
    expect(reply.body[0]).toEqual({ id: a, success: false, errors: [ROLLED_BACK] });
    expect(reply.body[1].errors[0].statusCode).toBe('INVALID_EMAIL_ADDRESS');
    expect(sf.record('Contact', a!)!.Title).toBeUndefined();
  });

  it('reports INVALID_CROSS_REFERENCE_KEY for a well-formed id that does not exist', async () => {
    const id = normalizeId('003Em00000zzzzz')!;
    const reply = await api.patch('/composite/sobjects', { records: [rec('Contact', { id, Title: 'x' })] });
    expect(reply.body[0]).toEqual({
      id,
      success: false,
      errors: [
        { statusCode: 'INVALID_CROSS_REFERENCE_KEY', message: 'invalid cross reference id', fields: [] },
      ],
    });
  });
});

describe('upsert', () => {
  const url = '/composite/sobjects/Contact/External_ID__c';

  it('answers created true/false in request order', async () => {
    const [existing] = sf.seed('Contact', [{ LastName: 'Old', External_ID__c: 'E-1' }]);
    const reply = await api.patch(url, {
      allOrNone: false,
      records: [
        rec('Contact', { LastName: 'New', External_ID__c: 'E-2' }),
        rec('Contact', { LastName: 'Upd', External_ID__c: 'E-1' }),
      ],
    });
    expect(reply.body[0]).toMatchObject({ success: true, errors: [], created: true });
    expect(reply.body[1]).toEqual({ id: existing, success: true, errors: [], created: false });
    expect(Object.keys(reply.body[0])).toEqual(['id', 'success', 'errors', 'created']);
    expect(sf.record('Contact', existing!)!.LastName).toBe('Upd');
  });

  it('fails every row sharing a key with DUPLICATE_VALUE (or only the later ones when configured)', async () => {
    const records = [
      rec('Contact', { LastName: 'a', External_ID__c: 'D-1' }),
      rec('Contact', { LastName: 'b', External_ID__c: 'D-1' }),
      rec('Contact', { LastName: 'c', External_ID__c: 'D-2' }),
    ];
    const all = await api.patch(url, { records });
    const dup = {
      statusCode: 'DUPLICATE_VALUE',
      message: 'Duplicate external id specified: D-1',
      fields: ['External_ID__c'],
    };
    expect(all.body[0]).toEqual({ success: false, errors: [dup] });
    expect(all.body[1]).toEqual({ success: false, errors: [dup] });
    expect(all.body[2].success).toBe(true);
    sf.reset();
    sf.configure({ duplicateKeyRows: 'later' });
    const later = await api.patch(url, { records });
    expect(later.body.map((r: { success: boolean }) => r.success)).toEqual([true, false, true]);
  });

  it('reports DUPLICATE_EXTERNAL_ID when the key matches several records', async () => {
    const ids = sf.seed('Contact', [
      { LastName: 'A', Email: 'same@example.com' },
      { LastName: 'B', Email: 'same@example.com' },
    ]);
    const reply = await api.patch('/composite/sobjects/Contact/Email', {
      records: [rec('Contact', { LastName: 'C', Email: 'same@example.com' })],
    });
    expect(reply.body[0]).toEqual({
      success: false,
      errors: [
        {
          statusCode: 'DUPLICATE_EXTERNAL_ID',
          message: `more than one record found for external id field: [${ids.join(', ')}]`,
          fields: [],
        },
      ],
    });
  });

  it('matches Email case-insensitively by default, exactly when configured', async () => {
    const [id] = sf.seed('Contact', [{ LastName: 'A', Email: 'Chloe.Myers@example.com' }]);
    const first = await api.patch('/composite/sobjects/Contact/Email', {
      records: [rec('Contact', { LastName: 'B', Email: 'chloe.myers@example.com' })],
    });
    expect(first.body[0]).toEqual({ id, success: true, errors: [], created: false });
    sf.configure({ emailMatchCaseInsensitive: false });
    const second = await api.patch('/composite/sobjects/Contact/Email', {
      records: [rec('Contact', { LastName: 'C', Email: 'CHLOE.MYERS@example.com' })],
    });
    expect(second.body[0].created).toBe(true);
  });

  it('refuses a key that is neither External ID nor idLookup with a request-level 400', async () => {
    const reply = await api.patch('/composite/sobjects/Contact/LastName', {
      records: [rec('Contact', { LastName: 'x' })],
    });
    expect(reply.status).toBe(400);
    expect(reply.body).toEqual([
      {
        message:
          'Invalid field for upsert, must be an External Id custom or standard indexed field: LastName',
        errorCode: 'INVALID_FIELD',
      },
    ]);
  });

  it('reports MISSING_ARGUMENT for a record without the key value', async () => {
    const reply = await api.patch(url, { records: [rec('Contact', { LastName: 'x' })] });
    expect(reply.body[0].errors[0]).toEqual({
      statusCode: 'MISSING_ARGUMENT',
      message: 'External_ID__c not specified',
      fields: [],
    });
  });

  it('creates when keyed by Id with a null Id', async () => {
    const reply = await api.patch('/composite/sobjects/Account/Id', {
      records: [rec('Account', { Name: 'n', Id: null })],
    });
    expect(reply.body[0]).toMatchObject({ success: true, created: true });
  });

  it('allOrNone=true: a matched record keeps its id, a new one has none, neither has created', async () => {
    const [existing] = sf.seed('Contact', [{ LastName: 'Old', External_ID__c: 'E-1' }]);
    const reply = await api.patch(url, {
      allOrNone: true,
      records: [
        rec('Contact', { LastName: 'Upd', External_ID__c: 'E-1' }),
        rec('Contact', { LastName: 'New', External_ID__c: 'E-2' }),
        rec('Contact', { External_ID__c: 'E-3' }),
      ],
    });
    expect(reply.body[0]).toEqual({ id: existing, success: false, errors: [ROLLED_BACK] });
    expect(reply.body[1]).toEqual({ success: false, errors: [ROLLED_BACK] });
    expect(reply.body[2].errors[0].statusCode).toBe('REQUIRED_FIELD_MISSING');
    expect(sf.count('Contact')).toBe(1);
    expect(sf.record('Contact', existing!)!.LastName).toBe('Old');
  });

  it('does not exist before v46.0', async () => {
    const old = new Api(sf, api.token, '45.0');
    expect((await old.patch(url, { records: [] })).status).toBe(404);
  });
});

describe('delete', () => {
  it('deletes by ids and reports malformed and already deleted ids', async () => {
    const [a, b] = sf.seed('Contact', [{ LastName: 'A' }, { LastName: 'B' }]);
    await api.delete(`/sobjects/Contact/${b}`);
    const reply = await api.delete(`/composite/sobjects?ids=${a},001RM000003oLrB000,${b}&allOrNone=false`);
    expect(reply.body[0]).toEqual({ id: a, success: true, errors: [] });
    expect(reply.body[1]).toEqual({
      success: false,
      errors: [{ statusCode: 'MALFORMED_ID', message: 'malformed id 001RM000003oLrB000', fields: [] }],
    });
    expect(reply.body[2]).toEqual({
      id: b,
      success: false,
      errors: [{ statusCode: 'ENTITY_IS_DELETED', message: 'entity is deleted', fields: [] }],
    });
    expect(sf.count('Contact')).toBe(0);
  });

  it('allOrNone=true keeps everything and reports the good id as rolled back', async () => {
    const [a] = sf.seed('Contact', [{ LastName: 'A' }]);
    const reply = await api.delete(`/composite/sobjects?ids=${a},bad&allOrNone=true`);
    expect(reply.body[0]).toEqual({ id: a, success: false, errors: [ROLLED_BACK] });
    expect(sf.count('Contact')).toBe(1);
  });

  it('refuses no ids with REQUIRED_FIELD_MISSING and more than 200 with EXCEEDED_ID_LIMIT', async () => {
    const none = await api.delete('/composite/sobjects?ids=');
    expect(none.status).toBe(400);
    expect(none.body).toEqual([
      { message: 'At least 1 Id is required.', errorCode: 'REQUIRED_FIELD_MISSING' },
    ]);
    const ids = Array.from({ length: 201 }, () => '003Em0000000001IAA').join(',');
    const many = await api.delete(`/composite/sobjects?ids=${ids}`);
    expect(many.body[0].errorCode).toBe('EXCEEDED_ID_LIMIT');
  });
});
