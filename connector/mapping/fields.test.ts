import { describe, expect, it } from '@jest/globals';
import { canKeyUpsert, findField, isWritable, matchingFields, requiredOnCreate } from './fields.js';
import { loadDescribe } from './test-fixtures.js';

describe('field rules from Describe', () => {
  it('requires the documented fields on create for each service object', () => {
    expect(requiredOnCreate(loadDescribe('Contact'))).toEqual(['LastName']);
    expect(requiredOnCreate(loadDescribe('Lead'))).toEqual(['Company', 'LastName']);
    expect(requiredOnCreate(loadDescribe('Account'))).toEqual(['Name']);
    expect(requiredOnCreate(loadDescribe('Case'))).toEqual(['Subject']);
  });

  it('offers Email as a matching field on Contact and Lead, never Id', () => {
    expect(matchingFields(loadDescribe('Contact')).map((f) => f.name)).toEqual(['Email']);
    expect(matchingFields(loadDescribe('Lead')).map((f) => f.name)).toEqual(['Email']);
    expect(matchingFields(loadDescribe('Account')).map((f) => f.name)).toEqual([]);
  });

  it('never treats an auto-number or formula field as writable or as an upsert key', () => {
    const caseNumber = findField(loadDescribe('Case'), 'casenumber')!;
    expect(isWritable(caseNumber, 'create')).toBe(false);
    expect(isWritable(caseNumber, 'update')).toBe(false);
    expect(canKeyUpsert(caseNumber)).toBe(false);
  });

  it('finds fields case-insensitively', () => {
    expect(findField(loadDescribe('Contact'), 'lastname')?.name).toBe('LastName');
    expect(findField(loadDescribe('Contact'), 'nope')).toBeUndefined();
  });
});
