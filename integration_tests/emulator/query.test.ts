/**
 * SOQL (reference §5.4): the subset, literal escapes, errors in Salesforce's caret format, paging.
 */
import { beforeEach, describe, expect, it } from '@jest/globals';
import type { Api } from './test-support.js';
import { useEmulator } from './test-support.js';
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

describe('results', () => {
  it('returns totalSize, done and records with attributes and the selected fields in canonical names', async () => {
    const [id] = sf.seed('Contact', [{ LastName: 'Smith', FirstName: 'John', External_ID__c: 'C-1' }]);
    const reply = await api.query(
      "select id, name, external_id__c from contact where External_ID__c = 'C-1'",
    );
    expect(reply.status).toBe(200);
    expect(reply.body).toEqual({
      totalSize: 1,
      done: true,
      records: [
        {
          attributes: { type: 'Contact', url: `/services/data/v61.0/sobjects/Contact/${id}` },
          Id: id,
          Name: 'John Smith',
          External_ID__c: 'C-1',
        },
      ],
    });
  });

  it('answers {totalSize: 0, done: true, records: []} for no match', async () => {
    const reply = await api.query("SELECT Id FROM Contact WHERE LastName = 'none'");
    expect(reply.body).toEqual({ totalSize: 0, done: true, records: [] });
  });

  it('supports IN, =, !=, = null, != null, AND, OR, NOT, LIKE and LIMIT', async () => {
    sf.seed('Contact', [
      { LastName: 'A', External_ID__c: 'K1', Email: 'a@x.com' },
      { LastName: 'B', External_ID__c: 'K2' },
      { LastName: 'C', External_ID__c: 'K3', Email: 'c@x.com' },
      { LastName: 'D' },
    ]);
    const names = async (where: string) =>
      (await api.query(`SELECT LastName FROM Contact WHERE ${where}`)).body.records.map(
        (r: { LastName: string }) => r.LastName,
      );
    expect(await names("External_ID__c IN ('K1', 'K3', 'K9')")).toEqual(['A', 'C']);
    expect(await names("External_ID__c NOT IN ('K1')")).toEqual(['B', 'C']);
    expect(await names('External_ID__c != null')).toEqual(['A', 'B', 'C']);
    expect(await names('External_ID__c = null')).toEqual(['D']);
    expect(await names("LastName != 'A'")).toEqual(['B', 'C', 'D']);
    expect(await names('External_ID__c != null AND Email = null')).toEqual(['B']);
    expect(await names("(LastName = 'A' OR LastName = 'D') AND NOT Email != null")).toEqual(['D']);
    expect(await names("Email LIKE '%@x.com'")).toEqual(['A', 'C']);
    expect((await api.query('SELECT Id FROM Contact LIMIT 2')).body.totalSize).toBe(2);
  });

  it('compares text case-insensitively, except on case-sensitive fields', async () => {
    sf.seed('Contact', [{ LastName: 'McDonald', External_ID__c: 'Abc' }]);
    expect((await api.query("SELECT Id FROM Contact WHERE LastName = 'MCDONALD'")).body.totalSize).toBe(1);
    expect((await api.query("SELECT Id FROM Contact WHERE External_ID__c = 'abc'")).body.totalSize).toBe(0);
    expect((await api.query("SELECT Id FROM Contact WHERE External_ID__c IN ('Abc')")).body.totalSize).toBe(
      1,
    );
  });

  it('reads string literals with every SOQL escape', async () => {
    const tricky = 'O\'Brien "Q" \\ back\nnew\rret\ttab\bbs\fff é';
    sf.seed('Account', [{ Name: tricky }]);
    const literal = "'O\\'Brien \\\"Q\\\" \\\\ back\\nnew\\rret\\ttab\\bbs\\fff \\u00e9'";
    const reply = await api.query(`SELECT Name FROM Account WHERE Name = ${literal}`);
    expect(reply.body.totalSize).toBe(1);
    expect(reply.body.records[0].Name).toBe(tricky);
  });

  it('filters numbers, booleans and dates with unquoted literals', async () => {
    sf.seed('Account', [
      { Name: 'small', NumberOfEmployees: 5 },
      { Name: 'big', NumberOfEmployees: 5000 },
    ]);
    sf.seed('Contact', [{ LastName: 'born', Birthdate: '1990-05-01' }]);
    sf.seed('Case', [{ Subject: 'esc', IsEscalated: true }, { Subject: 'calm' }]);
    expect(
      (await api.query('SELECT Name FROM Account WHERE NumberOfEmployees > 100')).body.records[0].Name,
    ).toBe('big');
    expect((await api.query('SELECT Id FROM Contact WHERE Birthdate < 2000-01-01')).body.totalSize).toBe(1);
    expect(
      (await api.query('SELECT Subject FROM Case WHERE IsEscalated = false')).body.records[0].Subject,
    ).toBe('calm');
  });

  it('returns parent fields nested under the relationship name', async () => {
    const [accountId] = sf.seed('Account', [{ Name: 'Parent Co' }]);
    sf.seed('Contact', [{ LastName: 'child', AccountId: accountId }, { LastName: 'orphan' }]);
    const reply = await api.query('SELECT LastName, Account.Name FROM Contact ORDER BY LastName');
    expect(reply.body.records[0].Account).toEqual({
      attributes: { type: 'Account', url: `/services/data/v61.0/sobjects/Account/${accountId}` },
      Name: 'Parent Co',
    });
    expect(reply.body.records[1].Account).toBeNull();
  });

  it('counts with SELECT COUNT()', async () => {
    sf.seed('Account', [{ Name: 'a' }, { Name: 'b' }]);
    const reply = await api.query('select count() from Account');
    expect(reply.body).toEqual({ totalSize: 2, done: true, records: [] });
  });

  it('orders, offsets and limits', async () => {
    sf.seed(
      'Account',
      ['c', 'a', 'b', 'd'].map((Name) => ({ Name })),
    );
    const reply = await api.query('SELECT Name FROM Account ORDER BY Name DESC LIMIT 2 OFFSET 1');
    expect(reply.body.records.map((r: { Name: string }) => r.Name)).toEqual(['c', 'b']);
  });

  it('excludes deleted records from query and includes them, IsDeleted true, in queryAll', async () => {
    const [gone] = sf.seed('Contact', [{ LastName: 'gone' }, { LastName: 'kept' }]);
    await api.delete(`/sobjects/Contact/${gone}`);
    expect((await api.query('SELECT Id FROM Contact')).body.totalSize).toBe(1);
    const all = await api.get(
      `/queryAll?q=${encodeURIComponent('SELECT Id, IsDeleted FROM Contact ORDER BY LastName')}`,
    );
    expect(all.body.totalSize).toBe(2);
    expect(all.body.records[0]).toMatchObject({ Id: gone, IsDeleted: true });
  });
});

describe('errors', () => {
  it('answers MALFORMED_QUERY with the caret message', async () => {
    const reply = await api.query('SELECT Id FRM Contact');
    expect(reply.status).toBe(400);
    expect(reply.body).toEqual([
      {
        message: '\nSELECT Id FRM Contact\n          ^\nERROR at Row:1:Column:11\nunexpected token: FRM',
        errorCode: 'MALFORMED_QUERY',
      },
    ]);
    const badEscape = await api.query("SELECT Id FROM Contact WHERE LastName = 'a\\qb'");
    expect(badEscape.body[0].errorCode).toBe('MALFORMED_QUERY');
    const unterminated = await api.query("SELECT Id FROM Contact WHERE LastName = 'abc");
    expect(unterminated.body[0].errorCode).toBe('MALFORMED_QUERY');
  });

  it("answers INVALID_FIELD \"No such column 'X' on entity 'Y'\" for an unknown field", async () => {
    const reply = await api.query('SELECT Id, Nope__c FROM Contact');
    expect(reply.status).toBe(400);
    expect(reply.body[0].errorCode).toBe('INVALID_FIELD');
    expect(reply.body[0].message).toBe(
      "\nSELECT Id, Nope__c FROM Contact\n           ^\nERROR at Row:1:Column:12\nNo such column 'Nope__c' on entity 'Contact'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names.",
    );
  });

  it('answers INVALID_TYPE for an unknown object, as recorded', async () => {
    const reply = await api.query('select count() from XYZZY');
    expect(reply.body).toEqual([
      {
        message:
          "\nselect count() from XYZZY\n                    ^\nERROR at Row:1:Column:21\nsObject type 'XYZZY' is not supported. If you are attempting to use a custom object, be sure to append the '__c' after the entity name. Please reference your WSDL or the describe call for the appropriate names.",
        errorCode: 'INVALID_TYPE',
      },
    ]);
  });

  it('refuses a quoted number, an unquoted text and a malformed id in filters', async () => {
    const quoted = await api.query("SELECT Id FROM Account WHERE NumberOfEmployees = '5'");
    expect(quoted.body[0].errorCode).toBe('INVALID_FIELD');
    expect(quoted.body[0].message).toContain(
      "value of filter criterion for field 'NumberOfEmployees' must be of type integer and should not be enclosed in quotes",
    );
    const unquoted = await api.query('SELECT Id FROM Account WHERE Name = 5');
    expect(unquoted.body[0].message).toContain('must be of type string and should be enclosed in quotes');
    const badId = await api.query("SELECT Id FROM Account WHERE Id = 'xyz'");
    expect(badId.body[0]).toMatchObject({ errorCode: 'INVALID_QUERY_FILTER_OPERATOR' });
    expect(badId.body[0].message).toContain('invalid ID field: xyz');
  });
});

describe('paging', () => {
  it('pages by 2000 with nextRecordsUrl until done', async () => {
    sf.seed(
      'Account',
      Array.from({ length: 4500 }, (_, i) => ({ Name: `a${i}` })),
    );
    const first = await api.query('SELECT Id, Name FROM Account');
    expect(first.body.totalSize).toBe(4500);
    expect(first.body.done).toBe(false);
    expect(first.body.records).toHaveLength(2000);
    expect(first.body.nextRecordsUrl).toMatch(/^\/services\/data\/v61\.0\/query\/01g[0-9A-Za-z]{15}-2000$/);
    const second = await api.get(first.body.nextRecordsUrl);
    expect(second.body.records).toHaveLength(2000);
    expect(second.body.records[0].Name).toBe('a2000');
    const third = await api.get(second.body.nextRecordsUrl);
    expect(third.body).toMatchObject({ totalSize: 4500, done: true });
    expect(third.body.records).toHaveLength(500);
    expect(third.body.nextRecordsUrl).toBeUndefined();
    // The cursor is closed after its last page.
    const closed = await api.get(second.body.nextRecordsUrl);
    expect(closed.status).toBe(400);
    expect(closed.body[0].errorCode).toBe('INVALID_QUERY_LOCATOR');
  });

  it('honours Sforce-Query-Options batchSize within 200..2000', async () => {
    sf.seed(
      'Account',
      Array.from({ length: 450 }, (_, i) => ({ Name: `a${i}` })),
    );
    const small = await api.query('SELECT Id FROM Account', { 'Sforce-Query-Options': 'batchSize=100' });
    expect(small.body.records).toHaveLength(200);
    const mid = await api.query('SELECT Id FROM Account', { 'Sforce-Query-Options': 'batchSize=300' });
    expect(mid.body.records).toHaveLength(300);
    expect(mid.body.nextRecordsUrl).toMatch(/-300$/);
  });
});
