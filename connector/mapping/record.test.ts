import { describe, expect, it } from '@jest/globals';
import type { DescribeField, DescribeSObject } from '../salesforce/types.js';
import { mapRecord, planStream, type MapResult, type PlanOptions } from './record.js';
import { loadDescribe } from './test-fixtures.js';

const contact = loadDescribe('Contact');
const lead = loadDescribe('Lead');
const caseObject = loadDescribe('Case');
const npsp = loadDescribe('Account-personaccount-npsp');
const withExternalId = loadDescribe('With_External_Id__c');

/** The Account fixture plus a text External ID field, as an org that keys accounts by a warehouse id has. */
const accountWithExternalId = (): DescribeSObject => {
  const account = loadDescribe('Account');
  const accountNumber = account.fields.find((f) => f.name === 'AccountNumber')!;
  const externalId: DescribeField = {
    ...accountNumber,
    name: 'External_ID__c',
    label: 'External ID',
    length: 20,
    externalId: true,
    idLookup: true,
    unique: true,
    custom: true,
  };
  return { ...account, fields: [...account.fields, externalId] };
};
const account = accountWithExternalId();
const describeParent = (name: string) => (name === 'Account' ? account : undefined);

const plan = (describe: DescribeSObject, overrides: Partial<PlanOptions> = {}) =>
  planStream(describe, { kind: 'create', columns: [], nullHandling: 'clear', ...overrides });

/** mapRecord on a record as the protocol reader gets it: parsed JSON text. */
const map = (p: ReturnType<typeof planStream>, json: string): MapResult =>
  mapRecord(p, JSON.parse(json) as Record<string, unknown>);

const payloadOf = (result: MapResult): Record<string, unknown> => {
  if (!result.ok) throw new Error(`rejected: ${JSON.stringify(result.error)}`);
  return result.payload;
};

const errorOf = (result: MapResult) => {
  if (result.ok) throw new Error(`accepted: ${JSON.stringify(result.payload)}`);
  return result.error;
};

describe('mapRecord builds payloads', () => {
  it('maps columns to API names case-insensitively and converts each value by type', () => {
    const p = plan(contact, { columns: ['lastname', 'firstname', 'email', 'birthdate', 'mailinglatitude'] });
    const result = mapRecord(p, {
      lastname: 'Johnson',
      firstname: 'Erica',
      email: 'erica@example.com',
      birthdate: '1990-04-22T00:00:00Z',
      mailinglatitude: '37.7749',
    });
    expect(result).toEqual({
      ok: true,
      payload: {
        LastName: 'Johnson',
        FirstName: 'Erica',
        Email: 'erica@example.com',
        Birthdate: '1990-04-22',
        MailingLatitude: 37.7749,
      },
    });
  });

  it('follows field_mappings', () => {
    const p = plan(lead, {
      fieldMappings: { surname: 'LastName', org: 'company', employees: 'NumberOfEmployees' },
    });
    expect(payloadOf(mapRecord(p, { surname: 'Ng', org: 'Acme', employees: '250' }))).toEqual({
      LastName: 'Ng',
      Company: 'Acme',
      NumberOfEmployees: 250,
    });
  });

  it('leaves out dropped columns: read-only, unknown and reserved', () => {
    const p = plan(caseObject, { columns: ['Subject', 'CaseNumber', 'shoe_size'] });
    expect(payloadOf(map(p, '{"Subject":"Printer on fire","CaseNumber":"00001026","shoe_size":44}'))).toEqual(
      {
        Subject: 'Printer on fire',
      },
    );
  });

  it('resolves columns first seen in records once, and lists the unmapped ones once', () => {
    const p = plan(contact);
    for (let i = 0; i < 3; i++) {
      expect(payloadOf(mapRecord(p, { LASTNAME: `L${i}`, shoe_size: i }))).toEqual({ LastName: `L${i}` });
    }
    expect(p.lateDropped).toEqual([
      { column: 'shoe_size', reason: 'unknown_field', note: 'Contact has no field shoe_size' },
    ]);
    expect(p.dropped).toEqual([]);
    expect([...p.columns.keys()]).toEqual(['LASTNAME', 'shoe_size']);
  });

  it('remembers at most 10,000 distinct columns, so records with ever-new keys keep memory flat', () => {
    const p = plan(contact);
    for (let i = 0; i < 10_005; i++) mapRecord(p, { LastName: 'Ng', [`junk_${i}`]: i });
    expect(p.columns.size).toBe(10_000);
    expect(p.lateDropped).toHaveLength(9_999);
    expect(payloadOf(mapRecord(p, { LastName: 'Ng', title: 'CTO' }))).toEqual({
      LastName: 'Ng',
      Title: 'CTO',
    });
  });

  it('converts datetimes to the form Salesforce parses', () => {
    const p = plan(contact, { kind: 'update', matchingField: 'Id' });
    const row = (value: string) => mapRecord(p, { Id: '003xx000004TmiQAAS', EmailBouncedDate: value });
    expect(payloadOf(row('2013-08-12T15:20:00+0000')).EmailBouncedDate).toBe('2013-08-12T15:20:00+00:00');
    expect(payloadOf(row('2024-05-22 10:00:00')).EmailBouncedDate).toBe('2024-05-22T10:00:00Z');
    expect(payloadOf(row('2024-05-22T10:00:00.123-07:00')).EmailBouncedDate).toBe(
      '2024-05-22T10:00:00.123-07:00',
    );
  });

  it('writes multi-select picklists from an array or a semicolon string, and currency and percent as numbers', () => {
    const p = plan(npsp, { kind: 'update', matchingField: 'Id' });
    const result = mapRecord(p, {
      Id: '001xx000003DGb2AAG',
      npsp__Funding_Focus__c: ['Education', 'Arts and Culture', 'Education'],
      npo02__Naming_Exclusions__pc: 'Household__c.Name; Household__c.Formal_Greeting__c',
      AnnualRevenue: '1500000',
      npsp__Matching_Gift_Percent__c: 50,
    });
    expect(payloadOf(result)).toEqual({
      Id: '001xx000003DGb2AAG',
      npsp__Funding_Focus__c: 'Education;Arts and Culture',
      npo02__Naming_Exclusions__pc: 'Household__c.Name;Household__c.Formal_Greeting__c',
      AnnualRevenue: 1500000,
      npsp__Matching_Gift_Percent__c: 50,
    });
  });
});

describe('mapRecord keeps records away from prototypes', () => {
  it('never maps a __proto__ key, and pollutes nothing', () => {
    const p = plan(contact, { columns: ['LastName', '__proto__'] });
    const result = map(
      p,
      '{"LastName":"Ng","__proto__":{"polluted":true,"LastName":"x"},"constructor":{"prototype":{"polluted":true}}}',
    );
    const payload = payloadOf(result);
    expect(payload).toEqual({ LastName: 'Ng' });
    expect(Object.getPrototypeOf(payload)).toBe(Object.prototype);
    expect(Object.hasOwn(payload, '__proto__')).toBe(false);
    expect(Object.hasOwn(payload, 'constructor')).toBe(false);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty('polluted');
    expect(p.dropped.map((d) => [d.column, d.reason])).toEqual([['__proto__', 'reserved']]);
    expect(p.lateDropped.map((d) => [d.column, d.reason])).toEqual([['constructor', 'reserved']]);
  });

  it('refuses a __proto__ key inside a lookup object', () => {
    const p = plan(contact, { describeParent });
    const error = errorOf(map(p, '{"LastName":"Ng","Account":{"__proto__":"A-1"}}'));
    expect(error).toEqual({
      statusCode: 'INVALID_FIELD',
      message: "No such column '__proto__' on sobject of type Account",
      fields: ['AccountId'],
    });
    expect(Object.prototype).not.toHaveProperty('polluted');
  });
});

describe('mapRecord handles nulls', () => {
  const row = '{"Id":"003xx000004TmiQAAS","Title":null,"Department":"","Phone":"+1 415 555 0100"}';

  it('clears a field with null, and an empty string counts as null', () => {
    const p = plan(contact, { kind: 'update', matchingField: 'Id', nullHandling: 'clear' });
    expect(payloadOf(map(p, row))).toEqual({
      Id: '003xx000004TmiQAAS',
      Title: null,
      Department: null,
      Phone: '+1 415 555 0100',
    });
  });

  it('leaves null fields out with skip', () => {
    const p = plan(contact, { kind: 'update', matchingField: 'Id', nullHandling: 'skip' });
    expect(payloadOf(map(p, row))).toEqual({ Id: '003xx000004TmiQAAS', Phone: '+1 415 555 0100' });
  });

  it('leaves an absent column alone in both modes', () => {
    for (const nullHandling of ['clear', 'skip'] as const) {
      const p = plan(contact, {
        kind: 'update',
        matchingField: 'Id',
        columns: ['Id', 'Title'],
        nullHandling,
      });
      expect(payloadOf(mapRecord(p, { Id: '003xx000004TmiQAAS' }))).toEqual({ Id: '003xx000004TmiQAAS' });
    }
  });

  it('refuses to clear a checkbox, which Salesforce never holds as null, and skips it with skip', () => {
    const clear = plan(npsp, { kind: 'update', matchingField: 'Id' });
    expect(errorOf(mapRecord(clear, { Id: '001xx000003DGb2AAG', PersonDoNotCall: null }))).toEqual({
      statusCode: 'INVALID_TYPE_ON_FIELD_IN_RECORD',
      message: 'Do Not Call: value not of required type',
      fields: ['PersonDoNotCall'],
    });
    const skip = plan(npsp, { kind: 'update', matchingField: 'Id', nullHandling: 'skip' });
    expect(payloadOf(mapRecord(skip, { Id: '001xx000003DGb2AAG', PersonDoNotCall: null }))).toEqual({
      Id: '001xx000003DGb2AAG',
    });
  });

  it('refuses to clear a field that cannot be null', () => {
    const p = plan(contact, { kind: 'update', matchingField: 'Id' });
    expect(errorOf(mapRecord(p, { Id: '003xx000004TmiQAAS', LastName: null }))).toEqual({
      statusCode: 'REQUIRED_FIELD_MISSING',
      message: 'Required fields are missing: [LastName]',
      fields: ['LastName'],
    });
    expect(errorOf(mapRecord(p, { Id: '003xx000004TmiQAAS', OwnerId: '' })).message).toBe(
      'Required fields are missing: [OwnerId]',
    );
  });
});

describe('mapRecord checks required fields', () => {
  it('refuses a created row without a required value, naming every missing field in one error', () => {
    const p = plan(lead, { columns: ['LastName', 'Company', 'Email'] });
    expect(errorOf(mapRecord(p, { LastName: null, Company: '', Email: 'a@example.com' }))).toEqual({
      statusCode: 'REQUIRED_FIELD_MISSING',
      message: 'Required fields are missing: [Company, LastName]',
      fields: ['Company', 'LastName'],
    });
    expect(errorOf(mapRecord(p, { LastName: 'Ng' })).message).toBe('Required fields are missing: [Company]');
  });

  it('leaves an upserted row without a required column to Salesforce: it may update an existing record', () => {
    const p = plan(lead, { kind: 'upsert', matchingField: 'Email', nullHandling: 'clear' });
    expect(mapRecord(p, { Email: 'a@example.com', Title: 'CTO' })).toEqual({
      ok: true,
      payload: { Email: 'a@example.com', Title: 'CTO' },
      key: 'a@example.com',
    });
  });

  it('refuses an upserted row that nulls a required field, which fails whether it creates or updates', () => {
    const p = plan(lead, { kind: 'upsert', matchingField: 'Email', nullHandling: 'clear' });
    expect(errorOf(mapRecord(p, { Email: 'a@example.com', Company: null }))).toEqual({
      statusCode: 'REQUIRED_FIELD_MISSING',
      message: 'Required fields are missing: [Company]',
      fields: ['Company'],
    });
  });

  it('applies the service-object minimum of a Subject to created Cases', () => {
    const p = plan(caseObject);
    expect(errorOf(mapRecord(p, { Description: 'no subject' })).message).toBe(
      'Required fields are missing: [Subject]',
    );
  });

  it('asks for no required field on update', () => {
    const p = plan(lead, { kind: 'update', matchingField: 'Id' });
    expect(payloadOf(mapRecord(p, { Id: '00Qxx0000012345', Title: 'CTO' }))).toEqual({
      Id: '00Qxx0000012345',
      Title: 'CTO',
    });
  });
});

describe('mapRecord keys rows', () => {
  it('keeps the upsert key in the payload and returns it as a string', () => {
    const p = plan(contact, { kind: 'upsert', matchingField: 'email' });
    expect(mapRecord(p, { LastName: 'Ng', EMAIL: 'ng@example.com' })).toEqual({
      ok: true,
      payload: { LastName: 'Ng', Email: 'ng@example.com' },
      key: 'ng@example.com',
    });
  });

  it('stringifies a numeric External ID key', () => {
    const p = plan(withExternalId, { kind: 'upsert', matchingField: 'External_Id__c' });
    expect(mapRecord(p, { External_Id__c: '42', Name: 'x' })).toEqual({
      ok: true,
      payload: { External_Id__c: 42, Name: 'x' },
      key: '42',
    });
  });

  it.each([
    ['absent', { LastName: 'Ng' }],
    ['null', { LastName: 'Ng', Email: null }],
    ['empty', { LastName: 'Ng', Email: '' }],
  ])('refuses a row whose key is %s with MISSING_ARGUMENT', (_, data) => {
    const p = plan(contact, { kind: 'upsert', matchingField: 'Email' });
    expect(errorOf(mapRecord(p, data))).toEqual({
      statusCode: 'MISSING_ARGUMENT',
      message: 'Email not specified',
      fields: ['Email'],
    });
  });

  it('updates by Id, which goes out as Id', () => {
    const p = plan(contact, { kind: 'update', matchingField: 'Id', columns: ['id', 'title'] });
    expect(mapRecord(p, { id: '003xx000004TmiQAAS', title: 'CTO' })).toEqual({
      ok: true,
      payload: { Id: '003xx000004TmiQAAS', Title: 'CTO' },
      key: '003xx000004TmiQAAS',
    });
  });

  it("refuses an update without Id in Salesforce's words", () => {
    const p = plan(contact, { kind: 'update', matchingField: 'Id' });
    expect(errorOf(mapRecord(p, { Title: 'CTO' }))).toEqual({
      statusCode: 'MISSING_ARGUMENT',
      message: 'Id not specified in an update call',
      fields: [],
    });
  });

  it('refuses an update whose Id is malformed with MALFORMED_ID', () => {
    const p = plan(contact, { kind: 'update', matchingField: 'Id' });
    expect(errorOf(mapRecord(p, { Id: '001xx000003DGb2999', Title: 'CTO' }))).toEqual({
      statusCode: 'MALFORMED_ID',
      message: 'Contact ID: id value of incorrect type: 001xx000003DGb2999',
      fields: ['Id'],
    });
  });

  it('keeps an update key that is not updateable, since it names the record', () => {
    const p = plan(caseObject, {
      kind: 'update',
      matchingField: 'CaseNumber',
      columns: ['CaseNumber', 'Status'],
    });
    expect(p.dropped).toEqual([]);
    expect(mapRecord(p, { CaseNumber: '00001026', Status: 'Closed' })).toEqual({
      ok: true,
      payload: { CaseNumber: '00001026', Status: 'Closed' },
      key: '00001026',
    });
  });
});

describe('mapRecord reports the first problem', () => {
  it('reports a bad value before a missing key, and a missing key before missing required fields', () => {
    const p = plan(lead, { kind: 'upsert', matchingField: 'Email' });
    expect(errorOf(mapRecord(p, { Title: 'x'.repeat(200), NumberOfEmployees: 'many' })).statusCode).toBe(
      'STRING_TOO_LONG',
    );
    expect(errorOf(mapRecord(p, { Title: 'CTO' })).statusCode).toBe('MISSING_ARGUMENT');
    const created = plan(lead, { kind: 'create', matchingField: 'Email' });
    expect(errorOf(mapRecord(created, { Email: 'a@example.com' })).statusCode).toBe('REQUIRED_FIELD_MISSING');
  });

  it('hands out a fresh error each time', () => {
    const p = plan(contact, { kind: 'update', matchingField: 'Id' });
    const first = errorOf(mapRecord(p, { Title: 'CTO' }));
    first.fields.push('mutated');
    expect(errorOf(mapRecord(p, { Title: 'CTO' })).fields).toEqual([]);
  });
});

describe('mapRecord writes lookups by External ID', () => {
  it('turns a Relationship.Field column into a relationship object, with the parent field as Describe spells it', () => {
    const p = plan(contact, { columns: ['LastName', 'account.external_id__c'], describeParent });
    expect(payloadOf(mapRecord(p, { LastName: 'Ng', 'account.external_id__c': 'A-1' }))).toEqual({
      LastName: 'Ng',
      Account: { External_ID__c: 'A-1' },
    });
  });

  it('turns an object value in the relationship column or the reference field column into the same lookup', () => {
    const p = plan(contact, { describeParent });
    expect(payloadOf(map(p, '{"LastName":"Ng","Account":{"External_ID__c":"A-1"}}'))).toEqual({
      LastName: 'Ng',
      Account: { External_ID__c: 'A-1' },
    });
    const q = plan(contact, { describeParent });
    expect(payloadOf(map(q, '{"LastName":"Ng","AccountId":{"external_id__c":"A-2"}}'))).toEqual({
      LastName: 'Ng',
      Account: { External_ID__c: 'A-2' },
    });
  });

  it('still takes a plain Id in a reference column', () => {
    const p = plan(contact, { describeParent });
    expect(payloadOf(mapRecord(p, { LastName: 'Ng', AccountId: '001xx000003DGb2AAG' }))).toEqual({
      LastName: 'Ng',
      AccountId: '001xx000003DGb2AAG',
    });
  });

  it('clears the reference when the lookup value is null, in either form', () => {
    const p = plan(contact, { kind: 'update', matchingField: 'Id', describeParent });
    expect(payloadOf(mapRecord(p, { Id: '003xx000004TmiQAAS', 'Account.External_ID__c': null }))).toEqual({
      Id: '003xx000004TmiQAAS',
      AccountId: null,
    });
    const q = plan(contact, { kind: 'update', matchingField: 'Id', describeParent });
    expect(payloadOf(map(q, '{"Id":"003xx000004TmiQAAS","Account":{"External_ID__c":null}}'))).toEqual({
      Id: '003xx000004TmiQAAS',
      AccountId: null,
    });
  });

  it("refuses rows whose lookup names a parent field that is not an External ID, in Salesforce's words", () => {
    const p = plan(contact, { columns: ['LastName', 'Account.Name'], describeParent });
    expect(errorOf(mapRecord(p, { LastName: 'Ng', 'Account.Name': 'Acme' }))).toEqual({
      statusCode: 'INVALID_FIELD',
      message: 'Name is not an External ID or indexed field for Account',
      fields: ['AccountId'],
    });
    expect(
      errorOf(map(plan(contact, { describeParent }), '{"Account":{"Website":"acme.com"}}')).message,
    ).toBe('Website is not an External ID or indexed field for Account');
  });

  it('refuses rows whose lookup names a field the parent does not have', () => {
    const p = plan(contact, { describeParent });
    expect(errorOf(map(p, '{"LastName":"Ng","Account.Nope__c":"x"}'))).toEqual({
      statusCode: 'INVALID_FIELD',
      message: "No such column 'Nope__c' on sobject of type Account",
      fields: ['AccountId'],
    });
  });

  it("converts the lookup value by the parent field's type", () => {
    const p = plan(contact, { describeParent });
    const error = errorOf(mapRecord(p, { LastName: 'Ng', 'Account.External_ID__c': 'A'.repeat(21) }));
    expect(error).toEqual({
      statusCode: 'STRING_TOO_LONG',
      message: `External ID: data value too large: ${'A'.repeat(21)} (max length=20)`,
      fields: ['AccountId'],
    });
  });

  it("passes the parent field on as named when the parent's Describe is unknown", () => {
    const p = plan(contact, { columns: ['LastName', 'ReportsTo.Email'] });
    expect(payloadOf(mapRecord(p, { LastName: 'Ng', 'ReportsTo.Email': 'boss@example.com' }))).toEqual({
      LastName: 'Ng',
      ReportsTo: { Email: 'boss@example.com' },
    });
  });

  it('refuses a lookup object that names no field or several', () => {
    const p = plan(contact, { describeParent });
    expect(errorOf(map(p, '{"LastName":"Ng","Account":{}}')).statusCode).toBe(
      'INVALID_TYPE_ON_FIELD_IN_RECORD',
    );
    expect(errorOf(map(p, '{"LastName":"Ng","Account":{"External_ID__c":"A","Name":"B"}}'))).toEqual({
      statusCode: 'INVALID_TYPE_ON_FIELD_IN_RECORD',
      message: 'Account ID: value not of required type: {"External_ID__c":"A","Name":"B"}',
      fields: ['AccountId'],
    });
  });

  it('types a polymorphic lookup by its Type: prefix or its attributes', () => {
    const p = plan(caseObject, { columns: ['Subject', 'User:Owner.Username'] });
    expect(payloadOf(mapRecord(p, { Subject: 's', 'User:Owner.Username': 'agent@example.com' }))).toEqual({
      Subject: 's',
      Owner: { attributes: { type: 'User' }, Username: 'agent@example.com' },
    });
    const q = plan(caseObject);
    expect(
      payloadOf(map(q, '{"Subject":"s","Owner":{"attributes":{"type":"group"},"DeveloperName":"Tier2"}}')),
    ).toEqual({ Subject: 's', Owner: { attributes: { type: 'Group' }, DeveloperName: 'Tier2' } });
    // A fresh plan: in q the Owner column already writes OwnerId, so an OwnerId column would be a duplicate.
    const r = plan(caseObject);
    expect(errorOf(map(r, '{"Subject":"s","OwnerId":{"Username":"agent@example.com"}}'))).toEqual({
      statusCode: 'INVALID_FIELD',
      message: 'Owner ID can refer to Group or User: add "attributes": {"type": "<object>"}',
      fields: ['OwnerId'],
    });
  });
});

describe('mapRecord copies a record only when it must', () => {
  const p = () => plan(contact, { kind: 'upsert', matchingField: 'Email' });
  const frozen = (json: string) => Object.freeze(JSON.parse(json) as Record<string, unknown>);

  it('uses the record itself when every column is an API name and every value passes unchanged', () => {
    const data = frozen(
      '{"Email":"ada@example.com","LastName":"Lovelace","Birthdate":"1815-12-10","MailingLatitude":51.5,"Title":null}',
    );
    const result = mapRecord(p(), data);
    expect(payloadOf(result)).toBe(data);
    expect(result.ok && result.key).toBe('ada@example.com');
  });

  it.each([
    [
      'a column in another case',
      '{"Email":"a@example.com","lastname":"Lovelace"}',
      { Email: 'a@example.com', LastName: 'Lovelace' },
    ],
    [
      'a converted value',
      '{"Email":"a@example.com","MailingLatitude":"51.5"}',
      { Email: 'a@example.com', MailingLatitude: 51.5 },
    ],
    [
      'a dropped column',
      '{"Email":"a@example.com","Name":"x","Title":"CTO"}',
      { Email: 'a@example.com', Title: 'CTO' },
    ],
    [
      'an empty string cleared to null',
      '{"Email":"a@example.com","Title":""}',
      { Email: 'a@example.com', Title: null },
    ],
  ])('builds a new payload for %s, and leaves the record as it was', (_, json, expected) => {
    const data = frozen(json);
    const payload = payloadOf(mapRecord(p(), data));
    expect(payload).not.toBe(data);
    expect(payload).toEqual(expected);
    expect(data).toEqual(JSON.parse(json));
  });

  it('leaves a null out with skip without touching the record', () => {
    const data = frozen('{"Email":"a@example.com","Title":null,"Department":"Ops"}');
    const skip = plan(contact, { kind: 'upsert', matchingField: 'Email', nullHandling: 'skip' });
    expect(payloadOf(mapRecord(skip, data))).toEqual({ Email: 'a@example.com', Department: 'Ops' });
  });
});

describe("an Id of another object (Describe's keyPrefix)", () => {
  it('is refused MALFORMED_ID for update and remove by Id, before any call; the object’s own Ids pass in any spelling', () => {
    for (const keyOnly of [false, true]) {
      const p = plan(contact, { kind: 'update', matchingField: 'Id', keyOnly });
      const account = mapRecord(p, { Id: '001xx000003DGb2AAG' });
      expect(account).toEqual({
        ok: false,
        error: {
          statusCode: 'MALFORMED_ID',
          message: 'Contact ID: id value of incorrect type: 001xx000003DGb2AAG',
          fields: ['Id'],
        },
      });
      expect(mapRecord(p, { Id: '003xx000004TmiQAAS' }).ok).toBe(true);
      expect(mapRecord(p, { Id: '003xx000004TmiQ' }).ok).toBe(true);
      // An 18-character Id whose letters lost their case (a case-insensitive warehouse).
      expect(mapRecord(p, { Id: '003XX000004TMIQAAS' }).ok).toBe(true);
    }
  });
});
