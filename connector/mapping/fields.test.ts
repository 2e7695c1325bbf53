import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import type { DescribeSObject } from '../salesforce/types.js';
import { canKeyUpsert, findField, isWritable, matchingFields, requiredOnCreate } from './fields.js';

const fixtures = new URL('../../../shared/salesforce-fixtures/', import.meta.url);
const load = (name: string): DescribeSObject =>
  JSON.parse(readFileSync(new URL(`describe-${name}.json`, fixtures), 'utf8')) as DescribeSObject;

describe('field rules from Describe', () => {
  it('requires the documented fields on create for each service object', () => {
    expect(requiredOnCreate(load('Contact'))).toEqual(['LastName']);
    expect(requiredOnCreate(load('Lead'))).toEqual(['Company', 'LastName']);
    expect(requiredOnCreate(load('Account'))).toEqual(['Name']);
    expect(requiredOnCreate(load('Case'))).toEqual(['Subject']);
  });

  it('offers Email as a matching field on Contact and Lead, never Id', () => {
    expect(matchingFields(load('Contact')).map((f) => f.name)).toEqual(['Email']);
    expect(matchingFields(load('Lead')).map((f) => f.name)).toEqual(['Email']);
    expect(matchingFields(load('Account')).map((f) => f.name)).toEqual([]);
  });

  it('never treats an auto-number or formula field as writable or as an upsert key', () => {
    const caseNumber = findField(load('Case'), 'casenumber')!;
    expect(isWritable(caseNumber, 'create')).toBe(false);
    expect(isWritable(caseNumber, 'update')).toBe(false);
    expect(canKeyUpsert(caseNumber)).toBe(false);
  });

  it('finds fields case-insensitively', () => {
    expect(findField(load('Contact'), 'lastname')?.name).toBe('LastName');
    expect(findField(load('Contact'), 'nope')).toBeUndefined();
  });
});
