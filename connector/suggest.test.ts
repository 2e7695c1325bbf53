import { describe, expect, it } from '@jest/globals';
import { nearestName } from './suggest.js';

describe('nearestName', () => {
  it('suggests the closest key: case, underscores and dashes ignored, then a small edit distance', () => {
    const known = ['records_per_request', 'parallel_requests', 'dry_run', 'null_handling'];
    expect(nearestName('RECORDS-PER-REQUEST', known)).toBe('records_per_request');
    expect(nearestName('recods_per_request', known)).toBe('records_per_request');
    expect(nearestName('paralel_requets', known)).toBe('parallel_requests');
    expect(nearestName('dyr_run', known)).toBe('dry_run');
    expect(nearestName('run', known)).toBeUndefined();
    expect(nearestName('nul', known)).toBeUndefined();
  });

  it('suggests object and field API names: a missing __c, a dropped letter', () => {
    const fields = ['Email', 'LastName', 'External_ID__c', 'AccountId'];
    expect(nearestName('Emial', fields)).toBe('Email');
    expect(nearestName('External_ID', fields)).toBe('External_ID__c');
    expect(nearestName('Phone', fields)).toBeUndefined();
    expect(nearestName('Lastname', fields)).toBe('LastName');
    expect(nearestName('Support_Ticket', ['Support_Ticket__c', 'Case'], ['__c'])).toBe('Support_Ticket__c');
  });
});
