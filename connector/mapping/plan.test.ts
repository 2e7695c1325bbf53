import { describe, expect, it } from '@jest/globals';
import { planStream, mappingTargetProblems, type PlanOptions } from './plan.js';
import { loadDescribe } from './test-fixtures.js';

const contact = loadDescribe('Contact');
const lead = loadDescribe('Lead');
const caseObject = loadDescribe('Case');

const options = (overrides: Partial<PlanOptions>): PlanOptions => ({
  kind: 'create',
  columns: [],
  nullHandling: 'clear',
  ...overrides,
});

/** The payload key each written column goes to. */
const targets = (plan: ReturnType<typeof planStream>): Record<string, string> =>
  Object.fromEntries(
    [...plan.columns].flatMap(([column, col]) => (col === null ? [] : [[column, col.target]])),
  );

describe('planStream resolves columns', () => {
  it('matches column names to field names case-insensitively', () => {
    const plan = planStream(contact, options({ columns: ['lastname', 'FIRSTNAME', 'Email'] }));
    expect(targets(plan)).toEqual({ lastname: 'LastName', FIRSTNAME: 'FirstName', Email: 'Email' });
    expect(plan.dropped).toEqual([]);
  });

  it('follows field_mappings first, with exact source columns and case-insensitive targets', () => {
    const plan = planStream(
      contact,
      options({
        columns: ['surname', 'Surname', 'mail'],
        fieldMappings: { surname: 'LASTNAME', mail: 'email' },
      }),
    );
    expect(targets(plan)).toEqual({ surname: 'LastName', mail: 'Email' });
    expect(plan.dropped).toEqual([
      { column: 'Surname', reason: 'unknown_field', note: 'Contact has no field Surname' },
    ]);
  });

  it('lets an explicit mapping win over a column that only shares the field name', () => {
    const plan = planStream(
      contact,
      options({ columns: ['LastName', 'family_name'], fieldMappings: { family_name: 'LastName' } }),
    );
    expect(targets(plan)).toEqual({ family_name: 'LastName' });
    expect(plan.dropped).toEqual([
      { column: 'LastName', reason: 'duplicate', note: 'LastName is written from column family_name' },
    ]);
  });

  it('writes a field from the first of two columns that differ only in case', () => {
    const plan = planStream(contact, options({ columns: ['LastName', 'lastname'] }));
    expect(targets(plan)).toEqual({ LastName: 'LastName' });
    expect(plan.dropped.map((d) => [d.column, d.reason])).toEqual([['lastname', 'duplicate']]);
  });

  it('drops read-only, unknown and reserved columns and lists each once', () => {
    const plan = planStream(
      caseObject,
      options({ columns: ['Subject', 'CaseNumber', 'IsClosed', 'shoe_size', '__proto__', 'constructor'] }),
    );
    expect(targets(plan)).toEqual({ Subject: 'Subject' });
    expect(plan.dropped).toEqual([
      { column: 'CaseNumber', reason: 'read_only', note: 'CaseNumber is an auto-number field and read-only' },
      { column: 'IsClosed', reason: 'read_only', note: 'IsClosed is read-only' },
      { column: 'shoe_size', reason: 'unknown_field', note: 'Case has no field shoe_size' },
      { column: '__proto__', reason: 'reserved', note: '__proto__ is a reserved name and never mapped' },
      { column: 'constructor', reason: 'reserved', note: 'constructor is a reserved name and never mapped' },
    ]);
  });

  it('drops compound address fields, which are read-only, and keeps their components', () => {
    const plan = planStream(contact, options({ columns: ['MailingAddress', 'MailingCity'] }));
    expect(targets(plan)).toEqual({ MailingCity: 'MailingCity' });
    expect(plan.dropped[0]).toMatchObject({ column: 'MailingAddress', reason: 'read_only' });
  });

  it('decides writability by the kind of write', () => {
    // Lead.IsConverted is createable but not updateable; EmailBouncedDate is updateable but not createable.
    const columns = ['LastName', 'Company', 'IsConverted', 'EmailBouncedDate'];
    const reasons = (kind: PlanOptions['kind']) =>
      planStream(lead, options({ kind, columns })).dropped.map((d) => [d.column, d.reason]);
    expect(reasons('create')).toEqual([['EmailBouncedDate', 'not_createable']]);
    expect(reasons('update')).toEqual([['IsConverted', 'not_updateable']]);
    expect(reasons('upsert')).toEqual([
      ['IsConverted', 'not_updateable'],
      ['EmailBouncedDate', 'not_createable'],
    ]);
  });

  it('keeps the matching field even when it is not writable for the kind', () => {
    const plan = planStream(
      contact,
      options({ kind: 'update', columns: ['id', 'Title'], matchingField: 'Id' }),
    );
    expect(targets(plan)).toEqual({ id: 'Id', Title: 'Title' });
    expect(plan.matchingField).toBe('Id');
    expect(plan.missingKey).toBe(false);
  });

  it('says when no column feeds the matching field', () => {
    const plan = planStream(
      contact,
      options({ kind: 'upsert', columns: ['LastName'], matchingField: 'email' }),
    );
    expect(plan.matchingField).toBe('Email');
    expect(plan.missingKey).toBe(true);
  });

  it('refuses a matching field the object does not have', () => {
    expect(() => planStream(contact, options({ matchingField: 'External_Id__c' }))).toThrow(
      'Matching field External_Id__c does not exist on Contact',
    );
  });
});

describe('planStream finds required fields no column feeds', () => {
  it('reports LastName for a Contact stream without it', () => {
    expect(planStream(contact, options({ columns: ['FirstName', 'Email'] })).missingRequired).toEqual([
      'LastName',
    ]);
    expect(planStream(contact, options({ columns: ['lastname'] })).missingRequired).toEqual([]);
  });

  it('reports Company for a Lead stream without it, also for upsert', () => {
    const columns = ['LastName', 'Email'];
    expect(planStream(lead, options({ columns })).missingRequired).toEqual(['Company']);
    expect(
      planStream(lead, options({ kind: 'upsert', columns, matchingField: 'Email' })).missingRequired,
    ).toEqual(['Company']);
  });

  it('counts a field mapped under another column name', () => {
    const plan = planStream(
      lead,
      options({ columns: ['org', 'LastName'], fieldMappings: { org: 'Company' } }),
    );
    expect(plan.missingRequired).toEqual([]);
  });

  it('asks for nothing on update, or when the schema is unknown', () => {
    expect(planStream(lead, options({ kind: 'update', columns: ['Email'] })).missingRequired).toEqual([]);
    expect(planStream(lead, options({ columns: [] })).missingRequired).toEqual([]);
  });
});

describe('planStream resolves lookup columns', () => {
  it('writes Relationship.Field columns under the relationship name', () => {
    const plan = planStream(contact, options({ columns: ['account.External_ID__c', 'ReportsTo.Email'] }));
    expect(targets(plan)).toEqual({ 'account.External_ID__c': 'Account', 'ReportsTo.Email': 'ReportsTo' });
  });

  it('drops a lookup through a relationship the object does not have, or through two relationships', () => {
    const plan = planStream(contact, options({ columns: ['Boss.Email', 'Account.Owner.Email'] }));
    expect(plan.dropped.map((d) => [d.column, d.reason])).toEqual([
      ['Boss.Email', 'unknown_field'],
      ['Account.Owner.Email', 'unknown_field'],
    ]);
  });

  it('drops a polymorphic lookup that does not name its object, and takes one that does', () => {
    const plan = planStream(caseObject, options({ columns: ['Owner.Username', 'user:Owner.Username'] }));
    expect(targets(plan)).toEqual({ 'user:Owner.Username': 'Owner' });
    expect(plan.dropped).toEqual([
      {
        column: 'Owner.Username',
        reason: 'ambiguous_reference',
        note: 'Owner can refer to Group or User; name the object first, as in User:Owner.Username',
      },
    ]);
  });

  it('treats a lookup column and the reference field as the same field', () => {
    const plan = planStream(contact, options({ columns: ['Account.External_ID__c', 'AccountId'] }));
    expect(plan.dropped.map((d) => [d.column, d.reason])).toEqual([['AccountId', 'duplicate']]);
  });
});

describe('mappingTargetProblems', () => {
  it('names each field mapping whose destination is no field or lookup of the object, and only those', () => {
    expect(
      mappingTargetProblems(contact, {
        mail: 'Emial',
        account: 'Acount.External_ID__c',
        owner: 'Owner.Email',
        surname: 'lastname',
        parent: 'Account.Name',
      }),
    ).toEqual([
      'field_mappings sends column "mail" to "Emial", but Contact has no field Emial (did you mean Email?).',
      'field_mappings sends column "account" to "Acount.External_ID__c", but Contact has no lookup relationship Acount.',
    ]);
  });

  it('names a lookup of a polymorphic relationship without its type', () => {
    const [problem] = mappingTargetProblems(caseObject, { owner: 'Owner.Email' });
    expect(problem).toMatch(
      /^field_mappings sends column "owner" to "Owner.Email", but Owner can refer to .+; name the object first/,
    );
  });

  it('names a mapping to a field no sync can set, unless that field is the matching key', () => {
    expect(mappingTargetProblems(caseObject, { num: 'CaseNumber', subject: 'Subject' })).toEqual([
      'field_mappings sends column "num" to "CaseNumber", but CaseNumber is an auto-number field and read-only: Salesforce sets it, never a sync.',
    ]);
    expect(mappingTargetProblems(caseObject, { num: 'CaseNumber' }, 'CaseNumber')).toEqual([]);
  });

  it('is empty without mappings', () => {
    expect(mappingTargetProblems(lead, {})).toEqual([]);
  });
});
