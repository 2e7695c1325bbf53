/**
 * The DESTINATION_CATALOG mapping over every real Describe fixture.
 *
 * Golden files: connector/mapping/golden/<fixture>.catalog.json hold the catalog of each fixture
 * and any difference fails the test. After an intended change, regenerate them with
 *   UPDATE_GOLDEN=1 npm run jest -- connector/mapping/catalog
 * and review the diff before committing.
 */
import { describe, expect, it } from '@jest/globals';
import { Ajv } from 'ajv';
import ajvFormats from 'ajv-formats';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { parse } from 'yaml';
import type { DescribeField, DescribeSObject } from '../salesforce/types.js';
import {
  buildDestinationCatalog,
  describeToOperations,
  type DestinationOperation,
  type DestinationSyncMode,
} from './catalog.js';
import { findField } from './fields.js';
import { FIXTURES, loadDescribe } from './test-fixtures.js';

const golden = new URL('./golden/', import.meta.url);
const protocolYaml = new URL('../../../shared/airbyte-protocol/airbyte_protocol.yaml', import.meta.url);

/** Every sObject Describe fixture, by the part of its file name after `describe-`. */
const fixtureNames = readdirSync(FIXTURES)
  .filter((f) => /^describe-.+\.json$/.test(f) && f !== 'describe-global.json')
  .map((f) => f.slice('describe-'.length, -'.json'.length))
  .sort();
const all = fixtureNames.map((name) => ({ name, describe: loadDescribe(name) }));

const CREATING: readonly DestinationSyncMode[] = ['append', 'append_dedup', 'overwrite'];
const ORDER: readonly DestinationSyncMode[] = [
  'append',
  'update',
  'append_dedup',
  'overwrite',
  'soft_delete',
];

const op = (describe: DescribeSObject, mode: DestinationSyncMode): DestinationOperation | undefined =>
  describeToOperations(describe).find((o) => o.sync_mode === mode);
const propertyNames = (o: DestinationOperation | undefined): string[] =>
  Object.keys(o?.json_schema.properties ?? {});
const keyNames = (o: DestinationOperation | undefined): string[] =>
  (o?.matching_keys ?? []).map((k) => k.join('.'));

/** Contact as the emulator serves it: with a unique External ID field, as an org set up for the connector has. */
function contactWithExternalId(): DescribeSObject {
  const contact = loadDescribe('Contact');
  const email = findField(contact, 'Email')!;
  const externalId: DescribeField = {
    ...email,
    name: 'External_ID__c',
    label: 'External ID',
    type: 'string',
    length: 255,
    custom: true,
    externalId: true,
    idLookup: true,
    unique: true,
    caseSensitive: false,
  };
  return { ...contact, fields: [...contact.fields, externalId] };
}

/** ajv over the protocol YAML's definitions, which use draft-07 `definitions` and Airbyte's own keywords. */
function protocolValidator(definition: string): ReturnType<Ajv['compile']> {
  const protocol = parse(readFileSync(protocolYaml, 'utf8')) as { definitions: Record<string, unknown> };
  const ajv = new Ajv({ strict: false, allErrors: true });
  ajvFormats.default(ajv);
  return ajv.compile({ $ref: `#/definitions/${definition}`, definitions: protocol.definitions });
}

describe('describeToOperations', () => {
  it('maps every Describe fixture, the Person Account / NPSP one included', () => {
    expect(fixtureNames).toEqual([
      'Account',
      'Account-personaccount-npsp',
      'Case',
      'Contact',
      'Custom__c',
      'Lead',
      'With_External_Id__c',
    ]);
    for (const { describe } of all) expect(describeToOperations(describe).length).toBeGreaterThan(0);
    const npsp = describeToOperations(loadDescribe('Account-personaccount-npsp'));
    expect(npsp.map((o) => o.sync_mode)).toEqual(['append', 'update', 'soft_delete']);
    expect(propertyNames(npsp[0])).toContain('PersonEmail');
  });

  it('offers Email and any External ID field as Contact upsert keys, but only an External ID as a mirror key', () => {
    const contact = loadDescribe('Contact');
    expect(keyNames(op(contact, 'append_dedup'))).toEqual(['Email']);
    // Mirror deletes what did not arrive: on Email, every contact with an email would count as managed.
    expect(op(contact, 'overwrite')).toBeUndefined();

    const withExternalId = contactWithExternalId();
    expect(keyNames(op(withExternalId, 'append_dedup'))).toEqual(['Email', 'External_ID__c']);
    expect(keyNames(op(withExternalId, 'overwrite'))).toEqual(['External_ID__c']);
    for (const mode of ['append_dedup', 'overwrite'] as const) {
      expect(propertyNames(op(withExternalId, mode))).toEqual(
        expect.arrayContaining(['Email', 'External_ID__c']),
      );
    }
    expect(keyNames(op(withExternalId, 'update'))).toEqual(['Id', 'Email', 'External_ID__c']);
    expect(keyNames(op(withExternalId, 'soft_delete'))).toEqual(['Id', 'Email', 'External_ID__c']);
    expect(propertyNames(op(withExternalId, 'soft_delete'))).toEqual(['Id', 'Email', 'External_ID__c']);
  });

  it('requires the service-object minimums in every operation that may create', () => {
    const requiredBy = (name: string, mode: DestinationSyncMode): string[] | undefined =>
      op(loadDescribe(name), mode)?.json_schema.required;
    for (const mode of CREATING) {
      // The raw fixtures have no External ID field on Contact or Lead, so no mirror (overwrite) there.
      if (mode === 'overwrite') continue;
      expect(requiredBy('Contact', mode)).toEqual(['LastName']);
      expect(requiredBy('Lead', mode)).toEqual(['Company', 'LastName']);
    }
    expect(op(contactWithExternalId(), 'overwrite')?.json_schema.required).toEqual(['LastName']);
    expect(requiredBy('Account', 'append')).toEqual(['Name']);
    expect(requiredBy('Case', 'append')).toEqual(['Subject']);
    // Account and Case have no field that can key an upsert.
    expect(op(loadDescribe('Account'), 'append_dedup')).toBeUndefined();
    expect(op(loadDescribe('Case'), 'append_dedup')).toBeUndefined();
  });

  it('requires no field in update or remove, whose matching key is chosen per run', () => {
    for (const { describe } of all) {
      expect(op(describe, 'update')?.json_schema).not.toHaveProperty('required');
      expect(op(describe, 'soft_delete')?.json_schema).not.toHaveProperty('required');
    }
  });

  it('never lets a creating operation write a formula, auto-number, hidden, compound or non-createable field', () => {
    for (const { describe } of all) {
      for (const mode of CREATING) {
        for (const name of propertyNames(op(describe, mode))) {
          const f = findField(describe, name)!;
          expect({ object: describe.name, mode, name, calculated: f.calculated }).toMatchObject({
            calculated: false,
          });
          expect({ object: describe.name, mode, name, autoNumber: f.autoNumber }).toMatchObject({
            autoNumber: false,
          });
          expect({ object: describe.name, mode, name, createable: f.createable }).toMatchObject({
            createable: true,
          });
          expect(f.deprecatedAndHidden).not.toBe(true);
          expect(['address', 'location']).not.toContain(f.type);
        }
      }
    }
    const kase = loadDescribe('Case');
    for (const mode of CREATING) expect(propertyNames(op(kase, mode))).not.toContain('CaseNumber');
  });

  it('lists in update only updateable fields, Id and the matching keys', () => {
    for (const { describe } of all) {
      const update = op(describe, 'update');
      const keys = keyNames(update);
      for (const name of propertyNames(update)) {
        const f = findField(describe, name)!;
        const updateable = f.updateable && !f.calculated && !f.autoNumber;
        expect({ object: describe.name, name, ok: updateable || keys.includes(name) }).toMatchObject({
          ok: true,
        });
      }
    }
    // Case.CaseNumber cannot be written but finds the Case to update.
    const update = op(loadDescribe('Case'), 'update');
    expect(keyNames(update)).toEqual(['Id', 'CaseNumber']);
    expect(propertyNames(update).slice(0, 2)).toEqual(['Id', 'CaseNumber']);
  });

  it('matches update and remove by Id first', () => {
    for (const { describe } of all) {
      expect(op(describe, 'update')?.matching_keys?.[0]).toEqual(['Id']);
      expect(op(describe, 'soft_delete')?.matching_keys?.[0]).toEqual(['Id']);
      expect(op(describe, 'append')).not.toHaveProperty('matching_keys');
    }
  });

  it('shapes every operation as the protocol and the product describe it', () => {
    for (const { describe } of all) {
      const ops = describeToOperations(describe);
      const modes = ops.map((o) => o.sync_mode);
      expect(modes).toEqual(ORDER.filter((m) => modes.includes(m)));
      for (const o of ops) {
        expect(o.object_name).toBe(describe.name);
        expect(o.json_schema.type).toBe('object');
        expect(o.json_schema.additionalProperties).toBe(true);
        const names = propertyNames(o);
        expect(names.length).toBeGreaterThan(0);
        // Describe order.
        const order = describe.fields.map((f) => f.name);
        expect(names).toEqual([...names].sort((a, b) => order.indexOf(a) - order.indexOf(b)));
        for (const name of o.json_schema.required ?? []) expect(names).toContain(name);
        if (o.json_schema.required) expect(o.json_schema.required.length).toBeGreaterThan(0);
        for (const key of o.matching_keys ?? []) {
          expect(key).toHaveLength(1);
          expect(names).toContain(key[0]);
        }
      }
    }
  });

  it('offers only what the object allows, and drops an operation with nothing to write', () => {
    const contact = loadDescribe('Contact');
    const readOnly: DescribeSObject = { ...contact, createable: false, updateable: false, deletable: false };
    expect(describeToOperations(readOnly)).toEqual([]);

    const notDeletable = describeToOperations({ ...contact, deletable: false }).map((o) => o.sync_mode);
    expect(notDeletable).toEqual(['append', 'update', 'append_dedup']);

    const noWritableField: DescribeSObject = {
      ...contact,
      fields: contact.fields.map((f) => ({ ...f, createable: false, updateable: false })),
    };
    expect(describeToOperations(noWritableField).map((o) => o.sync_mode)).toEqual(['update', 'soft_delete']);
    expect(propertyNames(op(noWritableField, 'update'))).toEqual(['Id', 'Email']);
  });
});

describe('buildDestinationCatalog', () => {
  it('lists objects sorted by name, each with its operations in order', () => {
    const catalog = buildDestinationCatalog([
      loadDescribe('Lead'),
      loadDescribe('Case'),
      contactWithExternalId(),
      loadDescribe('Account'),
    ]);
    const objects = [...new Set(catalog.operations.map((o) => o.object_name))];
    expect(objects).toEqual(['Account', 'Case', 'Contact', 'Lead']);
    expect(catalog.operations.filter((o) => o.object_name === 'Contact').map((o) => o.sync_mode)).toEqual(
      ORDER,
    );
  });

  it('validates against DestinationCatalog and AirbyteMessage in the protocol YAML', () => {
    const validateCatalog = protocolValidator('DestinationCatalog');
    const validateMessage = protocolValidator('AirbyteMessage');
    const catalogs = [
      buildDestinationCatalog(all.map((f) => f.describe)),
      buildDestinationCatalog([contactWithExternalId()]),
      ...all.map((f) => buildDestinationCatalog([f.describe])),
    ];
    for (const catalog of catalogs) {
      expect(validateCatalog(catalog) ? [] : validateCatalog.errors).toEqual([]);
      const message = { type: 'DESTINATION_CATALOG', destination_catalog: catalog };
      expect(validateMessage(message) ? [] : validateMessage.errors).toEqual([]);
    }
    // The validator does bite.
    expect(
      validateCatalog({ operations: [{ object_name: 'Case', sync_mode: 'upsert', json_schema: {} }] }),
    ).toBe(false);
  });

  it('gives every operation a json_schema that is itself valid JSON Schema', () => {
    const ajv = new Ajv({ strict: false });
    ajvFormats.default(ajv);
    for (const o of buildDestinationCatalog([...all.map((f) => f.describe), contactWithExternalId()])
      .operations) {
      expect(ajv.validateSchema(o.json_schema) ? [] : ajv.errors).toEqual([]);
      expect(() => ajv.compile(o.json_schema)).not.toThrow();
    }
  });

  it('accepts a typical Contact row and refuses one without LastName', () => {
    const ajv = new Ajv({ strict: false });
    ajvFormats.default(ajv);
    const validate = ajv.compile(op(loadDescribe('Contact'), 'append_dedup')!.json_schema);
    const row = {
      LastName: 'Lovelace',
      Email: 'ada@example.com',
      Birthdate: '1815-12-10',
      lastname_extra: 1,
    };
    expect(validate(row)).toBe(true);
    expect(validate({ Email: 'ada@example.com' })).toBe(false);
  });
});

describe('golden catalogs', () => {
  const update = process.env['UPDATE_GOLDEN'] === '1';
  it.each(fixtureNames)('%s maps to its golden catalog, golden/<name>.catalog.json', (name) => {
    const file = new URL(`${name}.catalog.json`, golden);
    const actual = buildDestinationCatalog([loadDescribe(name)]);
    const text = `${JSON.stringify(actual, null, 2)}\n`;
    if (update) writeFileSync(file, text);
    expect(existsSync(file)).toBe(true);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual(actual);
    expect(readFileSync(file, 'utf8')).toBe(text);
  });
});
