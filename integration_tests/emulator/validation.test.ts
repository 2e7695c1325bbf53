/**
 * Salesforce's own per-record validation (reference §3, §5.2, §6), through single-record calls (a
 * request-level 400 with errorCode) and sObject Collections (a per-record error with statusCode).
 */
import { beforeEach, describe, expect, it } from '@jest/globals';
import { normalizeId } from './ids.js';
import { startEmulator } from './index.js';
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
  sf.configure({ coerceStringsToScalars: false, collectionsDeserializationErrors: 'record' });
});

/** Create one record through POST /sobjects and through a collection; both errors, in their two forms. */
async function createBoth(object: string, fields: Record<string, unknown>) {
  const single = await api.post(`/sobjects/${object}`, fields);
  const collection = await api.post('/composite/sobjects', {
    allOrNone: false,
    records: [rec(object, fields)],
  });
  expect(collection.status).toBe(200);
  return { single, record: collection.body[0] };
}

describe('field names', () => {
  it('refuses an unknown field with INVALID_FIELD "No such column"', async () => {
    const { single, record } = await createBoth('Contact', { LastName: 'x', Foo__c: 1 });
    expect(single.status).toBe(400);
    expect(single.body).toEqual([
      { message: "No such column 'Foo__c' on sobject of type Contact", errorCode: 'INVALID_FIELD' },
    ]);
    expect(record).toEqual({
      success: false,
      errors: [
        {
          statusCode: 'INVALID_FIELD',
          message: "No such column 'Foo__c' on sobject of type Contact",
          fields: [],
        },
      ],
    });
    expect(sf.count('Contact')).toBe(0);
  });

  it('fails the whole collection request instead when configured so', async () => {
    sf.configure({ collectionsDeserializationErrors: 'request' });
    const reply = await api.post('/composite/sobjects', {
      records: [rec('Contact', { LastName: 'ok' }), rec('Contact', { LastName: 'x', Foo__c: 1 })],
    });
    expect(reply.status).toBe(400);
    expect(reply.body[0].errorCode).toBe('INVALID_FIELD');
    expect(sf.count('Contact')).toBe(0);
  });

  it('resolves field names case-insensitively', async () => {
    const reply = await api.post('/sobjects/Contact', { lastname: 'lower' });
    expect(reply.status).toBe(201);
    expect(sf.record('Contact', reply.body.id)!.LastName).toBe('lower');
  });

  it('refuses read-only fields with INVALID_FIELD_FOR_INSERT_UPDATE naming all of them', async () => {
    const { single, record } = await createBoth('Case', { Subject: 's', CaseNumber: '1', IsClosed: true });
    const message =
      'Unable to create/update fields: CaseNumber, IsClosed. Please check the security settings of this field and verify that it is read/write for your profile or permission set.';
    expect(single.body).toEqual([
      { message, errorCode: 'INVALID_FIELD_FOR_INSERT_UPDATE', fields: ['CaseNumber', 'IsClosed'] },
    ]);
    expect(record.errors).toEqual([
      { statusCode: 'INVALID_FIELD_FOR_INSERT_UPDATE', message, fields: ['CaseNumber', 'IsClosed'] },
    ]);
  });

  it('refuses a non-updateable field on update (createable-only IsConverted)', async () => {
    const [id] = sf.seed('Lead', [{ LastName: 'L', Company: 'C' }]);
    const reply = await api.patch(`/sobjects/Lead/${id}`, { IsConverted: true });
    expect(reply.status).toBe(400);
    expect(reply.body[0].errorCode).toBe('INVALID_FIELD_FOR_INSERT_UPDATE');
    expect(reply.body[0].fields).toEqual(['IsConverted']);
  });
});

describe('required fields', () => {
  it('lists every missing required field on create', async () => {
    const { single, record } = await createBoth('Lead', { FirstName: 'x' });
    expect(single.body).toEqual([
      {
        message: 'Required fields are missing: [LastName, Company]',
        errorCode: 'REQUIRED_FIELD_MISSING',
        fields: ['LastName', 'Company'],
      },
    ]);
    expect(record.errors[0]).toEqual({
      statusCode: 'REQUIRED_FIELD_MISSING',
      message: 'Required fields are missing: [LastName, Company]',
      fields: ['LastName', 'Company'],
    });
  });

  it('treats an empty string as missing, and nulling a required field on update', async () => {
    const empty = await api.post('/sobjects/Contact', { LastName: '' });
    expect(empty.body[0].errorCode).toBe('REQUIRED_FIELD_MISSING');
    const [id] = sf.seed('Contact', [{ LastName: 'A' }]);
    const nulled = await api.patch(`/sobjects/Contact/${id}`, { LastName: null });
    expect(nulled.status).toBe(400);
    expect(nulled.body[0]).toEqual({
      message: 'Required fields are missing: [LastName]',
      errorCode: 'REQUIRED_FIELD_MISSING',
      fields: ['LastName'],
    });
  });

  it('nulling a defaulted non-nillable picklist (Lead.Status) is also missing', async () => {
    const reply = await api.post('/sobjects/Lead', { LastName: 'L', Company: 'C', Status: null });
    expect(reply.body[0].errorCode).toBe('REQUIRED_FIELD_MISSING');
    expect(reply.body[0].fields).toEqual(['Status']);
  });
});

describe('values', () => {
  it('refuses a too long string with STRING_TOO_LONG using the field label', async () => {
    const long = 'x'.repeat(256);
    const { single, record } = await createBoth('Account', { Name: long });
    const message = `Account Name: data value too large: ${long} (max length=255)`;
    expect(single.body).toEqual([{ message, errorCode: 'STRING_TOO_LONG', fields: ['Name'] }]);
    expect(record.errors).toEqual([{ statusCode: 'STRING_TOO_LONG', message, fields: ['Name'] }]);
    expect((await api.post('/sobjects/Account', { Name: 'x'.repeat(255) })).status).toBe(201);
  });

  it('counts UTF-16 units for the length: an emoji is two characters, as in Salesforce', async () => {
    expect((await api.post('/sobjects/Account', { Name: '😀'.repeat(127) })).status).toBe(201);
    const { single } = await createBoth('Account', { Name: '😀'.repeat(128) });
    expect(single.body[0].errorCode).toBe('STRING_TOO_LONG');
  });

  it('refuses a value outside a restricted picklist (active values only, exact)', async () => {
    const { single } = await createBoth('Account', { Name: 'A', CleanStatus: 'matched' });
    expect(single.body).toEqual([
      {
        message: 'Clean Status: bad value for restricted picklist field: matched',
        errorCode: 'INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST',
        fields: ['CleanStatus'],
      },
    ]);
    expect((await api.post('/sobjects/Account', { Name: 'A', CleanStatus: 'Matched' })).status).toBe(201);
    // Unrestricted picklists take any value.
    expect((await api.post('/sobjects/Account', { Name: 'A', Industry: 'Space Mining' })).status).toBe(201);
  });

  it('refuses a malformed e-mail address', async () => {
    const { single, record } = await createBoth('Contact', {
      LastName: 'x',
      Email: 'Not a real email address',
    });
    expect(single.body).toEqual([
      {
        message: 'Email: invalid email address: Not a real email address',
        errorCode: 'INVALID_EMAIL_ADDRESS',
        fields: ['Email'],
      },
    ]);
    expect(record.errors[0].statusCode).toBe('INVALID_EMAIL_ADDRESS');
    expect(
      (await api.post('/sobjects/Contact', { LastName: 'x', Email: 'first.last+tag@sub.example.co.uk' }))
        .status,
    ).toBe(201);
  });

  it('refuses bad dates and datetimes: JSON_PARSER_ERROR alone, a per-record error in a collection', async () => {
    const { single, record } = await createBoth('Contact', { LastName: 'x', Birthdate: '2024-02-30' });
    expect(single.status).toBe(400);
    expect(single.body).toEqual([
      {
        message:
          'Cannot deserialize instance of date from VALUE_STRING value "2024-02-30" at [line:1, column:41]',
        errorCode: 'JSON_PARSER_ERROR',
      },
    ]);
    expect(record.success).toBe(false);
    expect(record.errors[0].statusCode).toBe('INVALID_FIELD');
    expect(record.errors[0].message).toContain("Json Deserialization failed on token '2024-02-30'");
    const noColon = await api.post('/sobjects/Lead', {
      LastName: 'L',
      Company: 'C',
      EmailBouncedDate: '2013-08-12T15:20:00+0000',
    });
    expect(noColon.body[0].errorCode).toBe('JSON_PARSER_ERROR');
    expect(noColon.body[0].message).toContain(
      'Cannot deserialize instance of datetime from VALUE_STRING value "2013-08-12T15:20:00+0000"',
    );
  });

  it('accepts datetimes with Z or ±HH:mm and stores them in read format (UTC)', async () => {
    const [id] = sf.seed('Lead', [{ LastName: 'L', Company: 'C' }]);
    // EmailBouncedDate is updateable but not createable on Lead.
    expect(
      (await api.patch(`/sobjects/Lead/${id}`, { EmailBouncedDate: '2024-05-22T10:00:00+02:00' })).status,
    ).toBe(204);
    expect(sf.record('Lead', id!)!.EmailBouncedDate).toBe('2024-05-22T08:00:00.000+0000');
    expect(
      (await api.patch(`/sobjects/Lead/${id}`, { EmailBouncedDate: '2024-05-22T10:00:00.123Z' })).status,
    ).toBe(204);
    expect(sf.record('Lead', id!)!.EmailBouncedDate).toBe('2024-05-22T10:00:00.123+0000');
  });

  it('refuses numbers and booleans of the wrong JSON type unless coercion is configured', async () => {
    const text = await api.post('/sobjects/Account', { Name: 'A', NumberOfEmployees: '50' });
    expect(text.body[0].errorCode).toBe('JSON_PARSER_ERROR');
    expect(text.body[0].message).toContain('Cannot deserialize instance of int from VALUE_STRING value "50"');
    const fraction = await api.post('/sobjects/Account', { Name: 'A', NumberOfEmployees: 1.5 });
    expect(fraction.body[0].errorCode).toBe('JSON_PARSER_ERROR');
    const flag = await api.post('/sobjects/Case', { Subject: 's', IsEscalated: 'yes' });
    expect(flag.body[0].message).toContain(
      'Cannot deserialize instance of boolean from VALUE_STRING value "yes"',
    );
    sf.configure({ coerceStringsToScalars: true });
    const coerced = await api.post('/sobjects/Account', { Name: 'A', NumberOfEmployees: '50' });
    expect(coerced.status).toBe(201);
    expect(sf.record('Account', coerced.body.id)!.NumberOfEmployees).toBe(50);
  });

  it('refuses numbers beyond precision/digits with NUMBER_OUTSIDE_VALID_RANGE and rounds to the scale', async () => {
    const big = await api.post('/sobjects/Account', { Name: 'A', NumberOfEmployees: 100_000_000 });
    expect(big.body[0]).toEqual({
      message: 'Employees: value outside of valid range on numeric field: 100000000',
      errorCode: 'NUMBER_OUTSIDE_VALID_RANGE',
      fields: ['NumberOfEmployees'],
    });
    const rounded = await api.post('/sobjects/Account', { Name: 'A', AnnualRevenue: 12.6 });
    expect(sf.record('Account', rounded.body.id)!.AnnualRevenue).toBe(13);
  });

  it('refuses null for a checkbox with INVALID_TYPE_ON_FIELD_IN_RECORD', async () => {
    const reply = await api.post('/sobjects/Case', { Subject: 's', IsEscalated: null });
    expect(reply.body[0]).toEqual({
      message: 'Escalated: value not of required type',
      errorCode: 'INVALID_TYPE_ON_FIELD_IN_RECORD',
      fields: ['IsEscalated'],
    });
  });
});

describe('references', () => {
  it('refuses a malformed reference id with MALFORMED_ID and the field label', async () => {
    const { single, record } = await createBoth('Contact', { LastName: 'x', AccountId: 'abc' });
    expect(single.body).toEqual([
      {
        message: 'Account ID: id value of incorrect type: abc',
        errorCode: 'MALFORMED_ID',
        fields: ['AccountId'],
      },
    ]);
    expect(record.errors[0].statusCode).toBe('MALFORMED_ID');
  });

  it('refuses an unknown id, or an id of the wrong object, with INVALID_CROSS_REFERENCE_KEY', async () => {
    const unknown = normalizeId('001Em00000zzzzz')!;
    const [contactId] = sf.seed('Contact', [{ LastName: 'C' }]);
    for (const AccountId of [unknown, contactId]) {
      const reply = await api.post('/sobjects/Contact', { LastName: 'x', AccountId });
      expect(reply.status).toBe(400);
      expect(reply.body).toEqual([
        { message: 'invalid cross reference id', errorCode: 'INVALID_CROSS_REFERENCE_KEY', fields: [] },
      ]);
    }
    const [accountId] = sf.seed('Account', [{ Name: 'A' }]);
    expect(
      (await api.post('/sobjects/Contact', { LastName: 'x', AccountId: accountId!.slice(0, 15) })).status,
    ).toBe(201);
  });

  it('accepts the integration user as OwnerId and a recordTypeInfos id as RecordTypeId', async () => {
    const owner = sf.records('User')[0]!.Id;
    expect((await api.post('/sobjects/Case', { Subject: 's', OwnerId: owner })).status).toBe(201);
    expect(
      (await api.post('/sobjects/Account', { Name: 'A', RecordTypeId: '012000000000000AAA' })).status,
    ).toBe(201);
  });

  it('resolves a relationship by external ID in the body to the parent Id', async () => {
    const [accountId] = sf.seed('Account', [{ Name: 'Parent', External_ID__c: 'A-1' }]);
    const reply = await api.post('/sobjects/Contact', { LastName: 'x', Account: { External_ID__c: 'A-1' } });
    expect(reply.status).toBe(201);
    expect(sf.record('Contact', reply.body.id)!.AccountId).toBe(accountId);
  });

  it('refuses an unknown parent key, a parent field that is not a key, and a key matching several parents', async () => {
    const missing = await api.post('/sobjects/Contact', {
      LastName: 'x',
      Account: { External_ID__c: 'nope' },
    });
    expect(missing.body).toEqual([
      {
        message: 'Foreign key external ID: nope not found for field External_ID__c in entity Account',
        errorCode: 'INVALID_FIELD',
        fields: [],
      },
    ]);
    const notKey = await api.post('/sobjects/Contact', { LastName: 'x', Account: { Name: 'Parent' } });
    expect(notKey.body[0]).toMatchObject({
      errorCode: 'INVALID_FIELD',
      message: 'Name is not an External ID or indexed field for Account',
    });
    // seed bypasses the unique constraint, which is how an org ends up with duplicate keys.
    const ids = sf.seed('Account', [
      { Name: 'A', External_ID__c: 'DUP' },
      { Name: 'B', External_ID__c: 'DUP' },
    ]);
    const several = await api.post('/sobjects/Contact', {
      LastName: 'x',
      Account: { External_ID__c: 'DUP' },
    });
    expect(several.body[0]).toMatchObject({
      errorCode: 'DUPLICATE_EXTERNAL_ID',
      message: `more than one record found for external id field: [${ids.join(', ')}]`,
    });
  });
});

describe('unique fields', () => {
  it('refuses a duplicate External_ID__c on insert and on update with DUPLICATE_VALUE', async () => {
    const [first] = sf.seed('Contact', [{ LastName: 'A', External_ID__c: 'K-1' }]);
    const insert = await api.post('/sobjects/Contact', { LastName: 'B', External_ID__c: 'K-1' });
    expect(insert.body).toEqual([
      {
        message: `duplicate value found: External_ID__c duplicates value on record with id: ${first}`,
        errorCode: 'DUPLICATE_VALUE',
        fields: [],
      },
    ]);
    const [second] = sf.seed('Contact', [{ LastName: 'C', External_ID__c: 'K-2' }]);
    const update = await api.patch(`/sobjects/Contact/${second}`, { External_ID__c: 'K-1' });
    expect(update.body[0].errorCode).toBe('DUPLICATE_VALUE');
    // Case-sensitive unique: another case is another value.
    expect((await api.post('/sobjects/Contact', { LastName: 'D', External_ID__c: 'k-1' })).status).toBe(201);
  });

  it('frees the value of a deleted record', async () => {
    const [id] = sf.seed('Contact', [{ LastName: 'A', External_ID__c: 'K-3' }]);
    await api.delete(`/sobjects/Contact/${id}`);
    expect((await api.post('/sobjects/Contact', { LastName: 'B', External_ID__c: 'K-3' })).status).toBe(201);
  });
});

describe('beforeSave hook', () => {
  it('stands in for a validation rule', async () => {
    const hooked = await startEmulator({
      beforeSave: ({ record }) =>
        record.Title === 'forbidden'
          ? { statusCode: 'FIELD_CUSTOM_VALIDATION_EXCEPTION', message: 'No.', fields: ['Title'] }
          : undefined,
    });
    try {
      const client = await Api.connect(hooked);
      const reply = await client.post('/sobjects/Contact', { LastName: 'x', Title: 'forbidden' });
      expect(reply.body).toEqual([
        { message: 'No.', errorCode: 'FIELD_CUSTOM_VALIDATION_EXCEPTION', fields: ['Title'] },
      ]);
    } finally {
      await hooked.close();
    }
  });
});
