/**
 * Value rules that the served fixtures cannot exercise through HTTP (no restricted multipicklist,
 * no time field): checked on fields of the Person Account fixture, which is loaded here only.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { type DescribeJson, resolveFixturesDir } from './fixtures.js';
import { type FieldInfo, Problem, compileSchema, convertCsv, convertJson } from './schema.js';

const npsp = JSON.parse(
  readFileSync(join(resolveFixturesDir(), 'describe-Account-personaccount-npsp.json'), 'utf8'),
) as DescribeJson;

function field(name: string, overrides: Record<string, unknown> = {}): FieldInfo {
  const raw = npsp.fields.find((f) => f.name === name)!;
  const schema = compileSchema({ ...npsp, fields: [{ ...raw, ...overrides }] }, false);
  return schema.fields[0]!;
}

function problem(v: unknown): { statusCode: string; message: string } | undefined {
  return v instanceof Problem
    ? { statusCode: v.problem.error.statusCode, message: v.problem.error.message }
    : undefined;
}

describe('restricted multipicklist', () => {
  const focus = field('npsp__Funding_Focus__c', { restrictedPicklist: true });

  it('accepts active values joined by semicolons', () => {
    expect(convertJson(focus, 'Education;Arts and Culture', false)).toBe('Education;Arts and Culture');
  });

  it('names the first value that is not allowed', () => {
    expect(problem(convertJson(focus, 'Education;Space', false))).toEqual({
      statusCode: 'INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST',
      message: 'Funding Focus: bad value for restricted picklist field: Space',
    });
  });
});

describe('percent and time values', () => {
  it('rounds a percent to its scale and refuses one beyond its precision', () => {
    const pct = field('npsp__Matching_Gift_Percent__c');
    expect(convertJson(pct, 12.345, false)).toBe(12.35);
    expect(problem(convertJson(pct, 1000, false))?.statusCode).toBe('NUMBER_OUTSIDE_VALID_RANGE');
  });

  it('normalizes a time to HH:mm:ss.SSSZ and refuses an impossible one', () => {
    const time = field('Name', { type: 'time', soapType: 'xsd:time' });
    expect(convertJson(time, '22:12:30Z', false)).toBe('22:12:30.000Z');
    expect(convertJson(time, '22:12:30.9Z', false)).toBe('22:12:30.900Z');
    expect(problem(convertJson(time, '25:00:00Z', false))?.statusCode).toBe('JSON_PARSER_ERROR');
  });
});

describe('Bulk CSV cells', () => {
  it('reads booleans as true/false/1/0 and reports a bad date in the Bulk wording', () => {
    const flag = field('IsDeleted');
    expect(convertCsv(flag, 'TRUE', 1)).toBe(true);
    expect(convertCsv(flag, '0', 1)).toBe(false);
    const date = field('PersonBirthdate');
    expect(problem(convertCsv(date, 'x', 3))).toEqual({
      statusCode: 'INVALID_FIELD',
      message: "Failed to deserialize field at col 3. Due to, 'x' is not a valid value for the type xsd:date",
    });
  });
});
