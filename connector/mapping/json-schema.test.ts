import { describe, expect, it } from '@jest/globals';
import { Ajv } from 'ajv';
import ajvFormats from 'ajv-formats';
import { readdirSync } from 'node:fs';
import type { DescribeField, DescribeSObject, SalesforceFieldType } from '../salesforce/types.js';
import { findField } from './fields.js';
import { fieldJsonSchema, SALESFORCE_ID_PATTERN, type JsonSchema } from './json-schema.js';
import { FIXTURES, loadDescribe } from './test-fixtures.js';

const allFixtures = (): DescribeSObject[] =>
  readdirSync(FIXTURES)
    .filter((f) => /^describe-.+\.json$/.test(f) && f !== 'describe-global.json')
    .map((f) => loadDescribe(f.slice('describe-'.length, -'.json'.length)));
const fieldOf = (object: string, name: string): DescribeField => {
  const f = findField(loadDescribe(object), name);
  if (!f) throw new Error(`${object}.${name} is not in the fixture`);
  return f;
};

/** Every SalesforceFieldType; the type below fails to compile if types.ts gains one not listed here. */
const ALL_TYPES = [
  'id',
  'string',
  'textarea',
  'email',
  'phone',
  'url',
  'picklist',
  'multipicklist',
  'combobox',
  'boolean',
  'int',
  'long',
  'double',
  'currency',
  'percent',
  'date',
  'datetime',
  'time',
  'reference',
  'address',
  'location',
  'base64',
  'encryptedstring',
  'anyType',
  'datacategorygroupreference',
  'complexvalue',
  'json',
] as const satisfies readonly SalesforceFieldType[];
const everyTypeListed: Exclude<SalesforceFieldType, (typeof ALL_TYPES)[number]> extends never ? true : false =
  true;

/** A writable, nillable field of the given type, shaped like a Describe entry. */
function field(overrides: Partial<DescribeField> & Pick<DescribeField, 'type'>): DescribeField {
  return {
    name: 'Field__c',
    label: 'Field',
    length: 0,
    precision: 0,
    scale: 0,
    digits: 0,
    nillable: true,
    createable: true,
    updateable: true,
    defaultedOnCreate: false,
    externalId: false,
    idLookup: false,
    unique: false,
    calculated: false,
    autoNumber: false,
    deprecatedAndHidden: false,
    restrictedPicklist: false,
    picklistValues: [],
    referenceTo: [],
    relationshipName: null,
    ...overrides,
  };
}

/** Strict ajv with Airbyte's one extra keyword: a typo'd or unknown keyword fails to compile. */
function strictAjv(): Ajv {
  const ajv = new Ajv({ strict: true, allErrors: true });
  // Under node16 resolution the default import is the CommonJS module object; its `default` is the plugin.
  ajvFormats.default(ajv);
  ajv.addKeyword({ keyword: 'airbyte_type', schemaType: 'string' });
  return ajv;
}

const ajv = strictAjv();
const accepts = (schema: JsonSchema, value: unknown): boolean => ajv.validate(schema, value);
const typeOf = (schema: JsonSchema | undefined): unknown => schema?.type;

describe('fieldJsonSchema', () => {
  it('gives every documented Describe type a schema, except the read-only address and location compounds', () => {
    expect(everyTypeListed).toBe(true);
    for (const type of ALL_TYPES) {
      const schema = fieldJsonSchema(field({ type, length: 10 }));
      if (type === 'address' || type === 'location') {
        expect(schema).toBeUndefined();
        continue;
      }
      expect(schema).toBeDefined();
      expect(schema?.title).toBe('Field');
      // Compiles under strict ajv: only known keywords and formats.
      expect(() => ajv.compile(schema!)).not.toThrow();
      expect(ajv.validateSchema(schema!)).toBe(true);
    }
  });

  it('covers every Describe type present in the FIXTURES', () => {
    const seen = new Set(allFixtures().flatMap((d) => d.fields.map((f) => f.type)));
    expect(seen.size).toBeGreaterThan(10);
    for (const type of seen) expect(ALL_TYPES).toContain(type);
    for (const d of allFixtures()) {
      for (const f of d.fields) {
        if (f.type === 'address' || f.type === 'location') expect(fieldJsonSchema(f)).toBeUndefined();
        else expect(fieldJsonSchema(f)).toBeDefined();
      }
    }
  });

  it('maps Describe types to Airbyte types', () => {
    const expected: Partial<Record<SalesforceFieldType, unknown>> = {
      id: 'string',
      string: 'string',
      textarea: 'string',
      email: 'string',
      phone: 'string',
      url: 'string',
      picklist: 'string',
      combobox: 'string',
      boolean: 'boolean',
      int: 'integer',
      long: 'integer',
      double: 'number',
      currency: 'number',
      percent: 'number',
      date: 'string',
      datetime: 'string',
      time: 'string',
      reference: 'string',
      base64: 'string',
      encryptedstring: 'string',
      anyType: 'string',
      datacategorygroupreference: 'string',
      complexvalue: 'string',
      json: 'string',
    };
    for (const [type, airbyteType] of Object.entries(expected)) {
      expect([type, typeOf(fieldJsonSchema(field({ type, nillable: false })))]).toEqual([type, airbyteType]);
    }
  });

  it('makes a nillable field ["null", type] and a non-nillable one a single type', () => {
    expect(typeOf(fieldJsonSchema(fieldOf('Contact', 'FirstName')))).toEqual(['null', 'string']);
    expect(typeOf(fieldJsonSchema(fieldOf('Contact', 'LastName')))).toBe('string');
    expect(typeOf(fieldJsonSchema(fieldOf('Contact', 'OwnerId')))).toBe('string');
    expect(typeOf(fieldJsonSchema(fieldOf('Account', 'NumberOfEmployees')))).toEqual(['null', 'integer']);
    expect(typeOf(fieldJsonSchema(fieldOf('Case', 'IsEscalated')))).toBe('boolean');
    expect(accepts(fieldJsonSchema(fieldOf('Contact', 'FirstName'))!, null)).toBe(true);
    expect(accepts(fieldJsonSchema(fieldOf('Contact', 'LastName'))!, null)).toBe(false);
  });

  it('bounds string-like fields by their Describe length', () => {
    const description = fieldOf('Case', 'Description');
    expect(description.length).toBe(32000);
    expect(fieldJsonSchema(description)?.maxLength).toBe(32000);
    for (const d of allFixtures()) {
      for (const f of d.fields) {
        const textual = ['string', 'textarea', 'email', 'phone', 'url', 'picklist', 'combobox'];
        if (textual.includes(f.type) && f.length > 0) {
          expect([f.name, fieldJsonSchema(f)?.maxLength]).toEqual([f.name, f.length]);
        }
      }
    }
    expect(fieldJsonSchema(field({ type: 'string', length: 0 }))).not.toHaveProperty('maxLength');
    // base64 `length` counts decoded bytes, not characters of the encoded text.
    expect(fieldJsonSchema(field({ type: 'base64', length: 100 }))).not.toHaveProperty('maxLength');
  });

  it('gives dates, datetimes, times and emails their formats', () => {
    expect(fieldJsonSchema(fieldOf('Contact', 'Birthdate'))).toMatchObject({ format: 'date' });
    expect(fieldJsonSchema(fieldOf('Contact', 'Email'))).toMatchObject({ format: 'email', maxLength: 80 });
    expect(fieldJsonSchema(fieldOf('Case', 'SuppliedEmail'))).toMatchObject({ format: 'email' });
    expect(fieldJsonSchema(fieldOf('Contact', 'EmailBouncedDate'))).toMatchObject({
      format: 'date-time',
      airbyte_type: 'timestamp_with_timezone',
    });
    expect(fieldJsonSchema(field({ type: 'time' }))).toMatchObject({
      type: ['null', 'string'],
      format: 'time',
      airbyte_type: 'time_without_timezone',
    });
    const birthdate = fieldJsonSchema(fieldOf('Contact', 'Birthdate'))!;
    expect(accepts(birthdate, '2024-05-22')).toBe(true);
    expect(accepts(birthdate, '22/05/2024')).toBe(false);
    expect(accepts(fieldJsonSchema(fieldOf('Contact', 'Email'))!, 'not an email')).toBe(false);
  });

  it('turns a restricted picklist into an enum of its active values only', () => {
    const cleanStatus = fieldOf('Contact', 'CleanStatus');
    expect(cleanStatus.restrictedPicklist).toBe(true);
    const active = cleanStatus.picklistValues.filter((v) => v.active).map((v) => v.value);
    expect(fieldJsonSchema(cleanStatus)?.enum).toEqual([...active, null]);

    const withInactive: DescribeField = {
      ...cleanStatus,
      picklistValues: [
        ...cleanStatus.picklistValues,
        { active: false, defaultValue: false, label: 'Retired', value: 'Retired', validFor: null },
      ],
    };
    const schema = fieldJsonSchema(withInactive)!;
    expect(schema.enum).toEqual([...active, null]);
    expect(schema.enum).not.toContain('Retired');
    expect(accepts(schema, 'Retired')).toBe(false);
    expect(accepts(schema, active[0])).toBe(true);
    expect(accepts(schema, null)).toBe(true);
    expect(fieldJsonSchema({ ...withInactive, nillable: false })?.enum).toEqual(active);
  });

  it('offers an unrestricted picklist’s active values as examples, accepting any text', () => {
    const status = fieldOf('Case', 'Status');
    expect(status.restrictedPicklist).toBe(false);
    const schema = fieldJsonSchema(status)!;
    expect(schema.enum).toBeUndefined();
    expect(schema.examples).toEqual(['New', 'Working', 'Escalated', 'Closed']);
    expect(accepts(schema, 'Waiting on customer')).toBe(true);
  });

  it('accepts a multi-select picklist as a ;-separated string or an array of values', () => {
    const multi = loadDescribe('Account-personaccount-npsp').fields.find((f) => f.type === 'multipicklist')!;
    const schema = fieldJsonSchema(multi)!;
    expect(schema.type).toBeUndefined();
    expect(schema.oneOf?.[0]).toEqual({ type: 'null' });
    expect(schema.oneOf?.[1]).toEqual({ type: 'string', maxLength: multi.length });
    expect(accepts(schema, 'A;B')).toBe(true);
    expect(accepts(schema, ['A', 'B'])).toBe(true);
    expect(accepts(schema, null)).toBe(true);
    expect(accepts(schema, [1])).toBe(false);

    const restricted = fieldJsonSchema(
      field({
        type: 'multipicklist',
        nillable: false,
        restrictedPicklist: true,
        picklistValues: [
          { active: true, defaultValue: false, label: 'A', value: 'A' },
          { active: false, defaultValue: false, label: 'Old', value: 'Old' },
        ],
      }),
    )!;
    expect(restricted.oneOf).toHaveLength(2);
    expect(accepts(restricted, ['A'])).toBe(true);
    expect(accepts(restricted, ['Old'])).toBe(false);
  });

  it('bounds numbers by digits, precision and scale', () => {
    expect(fieldJsonSchema(fieldOf('Account', 'NumberOfEmployees'))).toMatchObject({
      minimum: -99_999_999,
      maximum: 99_999_999,
    });
    expect(fieldJsonSchema(fieldOf('Account', 'BillingLatitude'))).toMatchObject({
      type: ['null', 'number'],
      exclusiveMinimum: -1000,
      exclusiveMaximum: 1000,
    });
    expect(fieldJsonSchema(fieldOf('Account-personaccount-npsp', 'npo02__AverageAmount__c'))).toMatchObject({
      exclusiveMaximum: 1e14,
    });
    const percent = fieldJsonSchema(field({ type: 'percent', precision: 5, scale: 2 }))!;
    expect(percent.exclusiveMaximum).toBe(1000);
    expect(accepts(percent, 999.99)).toBe(true);
    expect(accepts(percent, 1000)).toBe(false);
    // Beyond 15 digits a JavaScript number rounds: no bound rather than a wrong one.
    expect(fieldJsonSchema(field({ type: 'long', digits: 18 }))).not.toHaveProperty('maximum');
    expect(fieldJsonSchema(fieldOf('Account', 'AnnualRevenue'))).not.toHaveProperty('exclusiveMaximum');
  });

  it('describes Ids and lookups as 15- or 18-character Ids', () => {
    const id = fieldJsonSchema(fieldOf('Contact', 'Id'))!;
    expect(id).toMatchObject({
      type: 'string',
      minLength: 15,
      maxLength: 18,
      pattern: SALESFORCE_ID_PATTERN,
    });
    expect(accepts(id, '0035e00000AbCdE')).toBe(true);
    expect(accepts(id, '0035e00000AbCdEAAX')).toBe(true);
    expect(accepts(id, '0035e00000AbCdEA')).toBe(false);
    expect(accepts(id, '0035e00000AbCd-AAX')).toBe(false);

    const account = fieldJsonSchema(fieldOf('Case', 'AccountId'))!;
    expect(account.description).toBe(
      'Lookup to Account: its record Id, or {"<External ID field>": value} under "Account"',
    );
    expect(account.pattern).toBe(SALESFORCE_ID_PATTERN);
    expect(fieldJsonSchema(fieldOf('Case', 'OwnerId'))?.description).toBe(
      'Lookup to Group or User (record Id)',
    );
  });

  it('keeps a type Salesforce adds later mappable, as text', () => {
    expect(fieldJsonSchema(field({ type: 'vector', length: 5 }))).toEqual({
      title: 'Field',
      description: 'Salesforce type vector',
      type: ['null', 'string'],
      maxLength: 5,
    });
  });
});
