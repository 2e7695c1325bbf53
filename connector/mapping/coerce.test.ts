import { describe, expect, it } from '@jest/globals';
import type { DescribeField, DescribeSObject } from '../salesforce/types.js';
import { converterFor, echo, jsonPreview, Rejection } from './coerce.js';
import { findField } from './fields.js';
import { loadDescribe } from './test-fixtures.js';

const contact = loadDescribe('Contact');
const lead = loadDescribe('Lead');
const account = loadDescribe('Account');
const npsp = loadDescribe('Account-personaccount-npsp');
const withExternalId = loadDescribe('With_External_Id__c');

const field = (d: DescribeSObject, name: string): DescribeField => findField(d, name)!;

/** A field of a type no fixture has (time, long, base64, …), shaped like a real one. */
const synthetic = (overrides: Partial<DescribeField>): DescribeField => ({
  ...field(contact, 'Title'),
  length: 0,
  ...overrides,
});

/** Converts or fails the test with the rejection it got. */
const ok = (f: DescribeField, value: unknown): unknown => {
  const out = converterFor(f)(value);
  if (out instanceof Rejection) throw new Error(`rejected: ${out.error.message}`);
  return out;
};

const rejected = (f: DescribeField, value: unknown) => {
  const out = converterFor(f)(value);
  if (!(out instanceof Rejection)) throw new Error(`accepted: ${JSON.stringify(out)}`);
  return out.error;
};

describe('text fields', () => {
  it('sends strings as they are and stringifies numbers and booleans', () => {
    const title = field(contact, 'Title');
    expect(ok(title, 'Lead Engineer')).toBe('Lead Engineer');
    expect(ok(title, 42)).toBe('42');
    expect(ok(title, true)).toBe('true');
    expect(ok(field(contact, 'Phone'), 4155550100)).toBe('4155550100');
  });

  it('refuses objects and arrays with INVALID_TYPE_ON_FIELD_IN_RECORD', () => {
    expect(rejected(field(contact, 'Title'), { a: 1 })).toEqual({
      statusCode: 'INVALID_TYPE_ON_FIELD_IN_RECORD',
      message: 'Title: value not of required type: {"a":1}',
      fields: ['Title'],
    });
    expect(rejected(field(contact, 'Title'), ['a']).statusCode).toBe('INVALID_TYPE_ON_FIELD_IN_RECORD');
  });

  it('refuses a string longer than the field with STRING_TOO_LONG naming the label', () => {
    expect(rejected(field(contact, 'LastName'), 'x'.repeat(81))).toEqual({
      statusCode: 'STRING_TOO_LONG',
      message: `Last Name: data value too large: ${'x'.repeat(81)} (max length=80)`,
      fields: ['LastName'],
    });
    expect(rejected(field(contact, 'Title'), 'y'.repeat(500))).toEqual({
      statusCode: 'STRING_TOO_LONG',
      message: `Title: data value too large: ${'y'.repeat(100)}… (max length=128)`,
      fields: ['Title'],
    });
    expect(ok(field(contact, 'LastName'), 'x'.repeat(80))).toBe('x'.repeat(80));
  });

  it('counts an emoji as two characters, as Salesforce does', () => {
    expect(ok(field(contact, 'LastName'), '😀'.repeat(40))).toBe('😀'.repeat(40));
    expect(rejected(field(contact, 'LastName'), '😀'.repeat(41)).statusCode).toBe('STRING_TOO_LONG');
  });

  it('cuts long values in messages to 100 characters', () => {
    expect(echo('y'.repeat(5000))).toBe(`${'y'.repeat(100)}…`);
    expect(echo('short')).toBe('short');
  });
});

describe('picklists', () => {
  it('takes any value on an unrestricted picklist, within its length', () => {
    expect(ok(field(contact, 'LeadSource'), 'Somewhere new')).toBe('Somewhere new');
  });

  it('takes an active value of a restricted picklist, compared exactly', () => {
    expect(ok(field(contact, 'CleanStatus'), 'Matched')).toBe('Matched');
    expect(rejected(field(contact, 'CleanStatus'), 'matched')).toEqual({
      statusCode: 'INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST',
      message: 'Clean Status: bad value for restricted picklist field: matched',
      fields: ['CleanStatus'],
    });
  });

  it('refuses an inactive value of a restricted picklist', () => {
    const geocode = field(lead, 'GeocodeAccuracy');
    const withInactive = {
      ...geocode,
      picklistValues: geocode.picklistValues.map((p) => (p.value === 'Zip' ? { ...p, active: false } : p)),
    };
    expect(ok(withInactive, 'City')).toBe('City');
    expect(rejected(withInactive, 'Zip')).toEqual({
      statusCode: 'INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST',
      message: 'Geocode Accuracy: bad value for restricted picklist field: Zip',
      fields: ['GeocodeAccuracy'],
    });
  });
});

describe('multi-select picklists', () => {
  const focus = field(npsp, 'npsp__Funding_Focus__c');

  it('joins an array with semicolons', () => {
    expect(ok(focus, ['Education', 'Health Services'])).toBe('Education;Health Services');
  });

  it('trims, drops empty items and repeats from a semicolon string', () => {
    expect(ok(focus, ' Education ;; Health Services;Education; ')).toBe('Education;Health Services');
  });

  it('reads an empty list as no value', () => {
    expect(ok(focus, [])).toBeNull();
    expect(ok(focus, ' ; ')).toBeNull();
  });

  it('checks each value of a restricted multi-select', () => {
    const restricted = { ...focus, restrictedPicklist: true };
    expect(ok(restricted, 'Education;Environmental')).toBe('Education;Environmental');
    expect(rejected(restricted, ['Education', 'Space'])).toEqual({
      statusCode: 'INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST',
      message: 'Funding Focus: bad value for restricted picklist field: Space',
      fields: ['npsp__Funding_Focus__c'],
    });
  });

  it('refuses objects inside the list', () => {
    expect(rejected(focus, ['Education', { x: 1 }]).statusCode).toBe('INVALID_TYPE_ON_FIELD_IN_RECORD');
  });
});

describe('email fields', () => {
  const email = field(contact, 'Email');

  it('accepts ordinary addresses', () => {
    expect(ok(email, 'erica.johnson+crm@mail.example.co.uk')).toBe('erica.johnson+crm@mail.example.co.uk');
  });

  it.each(['Not a real email address', 'a@b', 'a@@b.com', '@b.com', 'a.@b.com', 'a@b..com', 'a b@c.com'])(
    'refuses %p with INVALID_EMAIL_ADDRESS',
    (value) => {
      expect(rejected(email, value)).toEqual({
        statusCode: 'INVALID_EMAIL_ADDRESS',
        message: `Email: invalid email address: ${value}`,
        fields: ['Email'],
      });
    },
  );

  it('refuses a valid address longer than the field', () => {
    expect(rejected(email, `${'a'.repeat(75)}@b.com`).statusCode).toBe('STRING_TOO_LONG');
  });
});

describe('checkboxes', () => {
  const optOut = field(npsp, 'PersonHasOptedOutOfEmail');

  it.each([
    [true, true],
    [false, false],
    [1, true],
    [0, false],
    ['true', true],
    ['FALSE', false],
    ['Yes', true],
    ['no', false],
    ['1', true],
    [' 0 ', false],
  ])('reads %p as %p', (value, expected) => {
    expect(ok(optOut, value)).toBe(expected);
  });

  it.each(['maybe', 2, ['true'], { value: true }])('refuses %p', (value) => {
    expect(rejected(optOut, value)).toEqual({
      statusCode: 'INVALID_TYPE_ON_FIELD_IN_RECORD',
      message: `Email Opt Out: value not of required type: ${echo(value)}`,
      fields: ['PersonHasOptedOutOfEmail'],
    });
  });
});

describe('integer fields', () => {
  const employees = field(lead, 'NumberOfEmployees'); // digits 8

  it('accepts whole numbers and whole numeric strings', () => {
    expect(ok(employees, 250)).toBe(250);
    expect(ok(employees, ' 250 ')).toBe(250);
    expect(ok(employees, '1e3')).toBe(1000);
    expect(ok(employees, '12.0')).toBe(12);
    expect(ok(employees, -99999999)).toBe(-99999999);
  });

  it('refuses values beyond 10^digits − 1 with NUMBER_OUTSIDE_VALID_RANGE', () => {
    expect(rejected(employees, 100000000)).toEqual({
      statusCode: 'NUMBER_OUTSIDE_VALID_RANGE',
      message: 'Employees: value outside of valid range on numeric field: 100000000',
      fields: ['NumberOfEmployees'],
    });
    expect(rejected(employees, '1e400').statusCode).toBe('NUMBER_OUTSIDE_VALID_RANGE');
  });

  it('refuses fractions and non-numbers with INVALID_TYPE_ON_FIELD_IN_RECORD', () => {
    expect(rejected(employees, 2.5)).toEqual({
      statusCode: 'INVALID_TYPE_ON_FIELD_IN_RECORD',
      message: 'Employees: value not of required type: 2.5',
      fields: ['NumberOfEmployees'],
    });
    for (const value of ['lots', '1,000', '0x10', 'Infinity', true, [1]]) {
      expect(rejected(employees, value).statusCode).toBe('INVALID_TYPE_ON_FIELD_IN_RECORD');
    }
  });

  it('keeps a long within safe integers', () => {
    const long = synthetic({ name: 'Big__c', label: 'Big', type: 'long', digits: 18 });
    expect(ok(long, '9007199254740991')).toBe(9007199254740991);
    expect(rejected(long, '9007199254740993').statusCode).toBe('NUMBER_OUTSIDE_VALID_RANGE');
  });
});

describe('decimal fields', () => {
  it('accepts numbers and numeric strings as JSON numbers', () => {
    expect(ok(field(lead, 'AnnualRevenue'), '1250000')).toBe(1250000);
    expect(ok(field(contact, 'MailingLatitude'), ' 37.7749 ')).toBe(37.7749);
    expect(ok(field(npsp, 'npsp__Matching_Gift_Percent__c'), 12.5)).toBe(12.5);
  });

  it('refuses an integer part wider than precision − scale', () => {
    // npsp__Matching_Gift_Percent__c: precision 5, scale 2 → at most 3 integer digits.
    expect(ok(field(npsp, 'npsp__Matching_Gift_Percent__c'), 999.99)).toBe(999.99);
    expect(rejected(field(npsp, 'npsp__Matching_Gift_Percent__c'), 1000)).toEqual({
      statusCode: 'NUMBER_OUTSIDE_VALID_RANGE',
      message: 'Matching Gift Percent: value outside of valid range on numeric field: 1000',
      fields: ['npsp__Matching_Gift_Percent__c'],
    });
    // Currency with precision 16, scale 2.
    expect(rejected(field(npsp, 'npo02__AverageAmount__c'), '1e14').statusCode).toBe(
      'NUMBER_OUTSIDE_VALID_RANGE',
    );
  });

  it('refuses currency symbols, separators, NaN and Infinity', () => {
    const revenue = field(account, 'AnnualRevenue');
    expect(rejected(revenue, '$1,000').statusCode).toBe('INVALID_TYPE_ON_FIELD_IN_RECORD');
    expect(rejected(revenue, 'NaN').statusCode).toBe('INVALID_TYPE_ON_FIELD_IN_RECORD');
    expect(rejected(revenue, NaN).statusCode).toBe('INVALID_TYPE_ON_FIELD_IN_RECORD');
    expect(rejected(revenue, Infinity).statusCode).toBe('NUMBER_OUTSIDE_VALID_RANGE');
  });

  it('checks an External ID number like any double', () => {
    expect(ok(field(withExternalId, 'External_Id__c'), '42')).toBe(42);
  });
});

describe('date fields', () => {
  const birthdate = field(contact, 'Birthdate');

  it('accepts yyyy-MM-dd and a date-time at exactly midnight UTC', () => {
    expect(ok(birthdate, '1990-04-22')).toBe('1990-04-22');
    expect(ok(birthdate, '2024-02-29')).toBe('2024-02-29');
    expect(ok(birthdate, '1990-04-22T00:00:00')).toBe('1990-04-22');
    expect(ok(birthdate, '1990-04-22T00:00:00.000Z')).toBe('1990-04-22');
    expect(ok(birthdate, '1990-04-22T00:00:00+00:00')).toBe('1990-04-22');
  });

  it.each(['2023-02-29', '1990-13-01', '1990-04-31', '1990-4-2', '22/04/1990', '1990-04-22T10:00:00Z'])(
    'refuses %p with INVALID_TYPE_ON_FIELD_IN_RECORD',
    (value) => {
      expect(rejected(birthdate, value)).toEqual({
        statusCode: 'INVALID_TYPE_ON_FIELD_IN_RECORD',
        message: `Birthdate: value not of required type: ${value}`,
        fields: ['Birthdate'],
      });
    },
  );

  it('refuses a midnight in another offset, whose date depends on the time zone', () => {
    expect(rejected(birthdate, '1990-04-22T00:00:00+02:00').statusCode).toBe(
      'INVALID_TYPE_ON_FIELD_IN_RECORD',
    );
  });

  it('refuses numbers', () => {
    expect(rejected(birthdate, 19900422).statusCode).toBe('INVALID_TYPE_ON_FIELD_IN_RECORD');
  });
});

describe('date-time fields', () => {
  const bounced = field(contact, 'EmailBouncedDate');

  it.each([
    ['2024-05-22T10:00:00Z', '2024-05-22T10:00:00Z'],
    ['2024-05-22T10:00:00.123+05:30', '2024-05-22T10:00:00.123+05:30'],
    ['2013-08-12T15:20:00+0000', '2013-08-12T15:20:00+00:00'],
    ['2013-08-12T15:20:00-0700', '2013-08-12T15:20:00-07:00'],
    ['2013-08-12T15:20:00+02', '2013-08-12T15:20:00+02:00'],
    ['2024-05-22 10:00:00', '2024-05-22T10:00:00Z'],
    ['2024-05-22T10:00:00', '2024-05-22T10:00:00Z'],
    ['2024-05-22T10:00', '2024-05-22T10:00:00Z'],
    ['2024-05-22T10:00:00.123456Z', '2024-05-22T10:00:00.123Z'],
    ['2024-05-22T10:00:00.5z', '2024-05-22T10:00:00.500Z'],
  ])('sends %p as %p', (value, expected) => {
    expect(ok(bounced, value)).toBe(expected);
  });

  it.each([
    '2024-02-30T10:00:00Z',
    '2024-05-22T24:00:00Z',
    '2024-05-22T10:60:00Z',
    '2024-05-22T10:00:00+19:00',
    '2024-05-22',
    'yesterday',
  ])('refuses %p with INVALID_TYPE_ON_FIELD_IN_RECORD', (value) => {
    expect(rejected(bounced, value)).toEqual({
      statusCode: 'INVALID_TYPE_ON_FIELD_IN_RECORD',
      message: `Email Bounced Date: value not of required type: ${value}`,
      fields: ['EmailBouncedDate'],
    });
  });

  it('refuses epoch numbers, which cannot say seconds or milliseconds', () => {
    expect(rejected(bounced, 1716372000).statusCode).toBe('INVALID_TYPE_ON_FIELD_IN_RECORD');
  });
});

describe('time fields', () => {
  const opens = synthetic({ name: 'Opens__c', label: 'Opens', type: 'time' });

  it.each([
    ['09:30', '09:30:00.000Z'],
    ['09:30:15', '09:30:15.000Z'],
    ['09:30:15.5', '09:30:15.500Z'],
    ['09:30:15.123Z', '09:30:15.123Z'],
    ['23:59:59.999999', '23:59:59.999Z'],
  ])('sends %p as %p', (value, expected) => {
    expect(ok(opens, value)).toBe(expected);
  });

  it.each(['24:00', '9:30', '09:30+02:00', '09:61:00'])('refuses %p', (value) => {
    expect(rejected(opens, value).message).toBe(`Opens: value not of required type: ${value}`);
  });
});

describe('ids and references', () => {
  const accountId = field(contact, 'AccountId');

  it('accepts 15-character ids and 18-character ids whose suffix matches', () => {
    expect(ok(accountId, '001xx000003DGb2')).toBe('001xx000003DGb2');
    expect(ok(accountId, '001xx000003DGb2AAG')).toBe('001xx000003DGb2AAG');
    expect(ok(field(contact, 'Id'), '003xx000004TmiQAAS')).toBe('003xx000004TmiQAAS');
  });

  it('accepts an 18-character id whose case was lost, as Salesforce restores it from the suffix', () => {
    expect(ok(accountId, '001xx000003dgb2aag')).toBe('001xx000003dgb2aag');
  });

  it.each([
    '001xx000003DGb2999',
    '001900K0001pPuOAAU',
    '001xx000003DGb',
    '001xx000003DGb2AA',
    'not-an-id-at-all!',
  ])('refuses %p with MALFORMED_ID', (value) => {
    expect(rejected(accountId, value)).toEqual({
      statusCode: 'MALFORMED_ID',
      message: `Account ID: id value of incorrect type: ${value}`,
      fields: ['AccountId'],
    });
  });

  it('refuses a suffix that flags a digit as upper case, whatever the case', () => {
    // Suffix B flags character 0 of the first chunk, which is the digit 0.
    expect(rejected(accountId, '001xx000003dgb2bag').statusCode).toBe('MALFORMED_ID');
  });
});

describe('other types', () => {
  it('accepts standard base64 and refuses anything else', () => {
    const body = synthetic({ name: 'Body', label: 'Body', type: 'base64' });
    expect(ok(body, 'SGVsbG8=')).toBe('SGVsbG8=');
    expect(rejected(body, 'SGVsbG8').statusCode).toBe('INVALID_TYPE_ON_FIELD_IN_RECORD');
    expect(rejected(body, 'SGV sbG8=').statusCode).toBe('INVALID_TYPE_ON_FIELD_IN_RECORD');
  });

  it('passes values of types it does not model on to Salesforce', () => {
    const json = synthetic({ name: 'Data__c', label: 'Data', type: 'json' });
    expect(ok(json, { a: [1] })).toEqual({ a: [1] });
  });
});

describe('jsonPreview and echo of hostile values', () => {
  it('quote a value nested 100,000 deep without recursing, cut to length', () => {
    let deep: unknown = 'x';
    for (let i = 0; i < 100_000; i += 1) deep = [deep];
    expect(echo(deep)).toBe(`${'['.repeat(100)}…`);
    expect(jsonPreview({ a: [1, { b: 'c' }], d: null, e: undefined }, 1000)).toBe(
      '{"a":[1,{"b":"c"}],"d":null,"e":null}',
    );
  });

  it('stop early on a huge array', () => {
    const big = new Array(1_000_000).fill(7);
    expect(jsonPreview(big, 10)).toBe('[7,7,7,7,7');
  });
});
