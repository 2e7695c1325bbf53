import { describe, expect, it } from '@jest/globals';
import { canonicalId, isSalesforceId, toId18 } from './ids.js';

describe('Salesforce Ids', () => {
  it('adds the case-encoding suffix that Salesforce documents to a 15-character Id', () => {
    // Real pairs: recorded ids from the fixtures end in AAD/AA3 for all-lower/digit tails.
    expect(toId18('0037e00001WZ30q')).toBe('0037e00001WZ30qAAD');
    expect(toId18('0017e00001W4GYR')).toBe('0017e00001W4GYRAA3');
  });

  it('leaves an 18-character Id unchanged', () => {
    expect(toId18('0037e00001WZ30qAAD')).toBe('0037e00001WZ30qAAD');
  });

  it('accepts only 15 or 18 alphanumeric characters', () => {
    expect(isSalesforceId('0037e00001WZ30q')).toBe(true);
    expect(isSalesforceId('0037e00001WZ30qAAD')).toBe(true);
    expect(isSalesforceId('0037e00001WZ30qA')).toBe(false);
    expect(isSalesforceId("0037e00001WZ30q'")).toBe(false);
  });

  it('gives every spelling of one record the same canonical Id: 15 characters, 18, and 18 with its case lost', () => {
    for (const spelling of [
      '0037e00001WZ30q',
      '0037e00001WZ30qAAD',
      '0037E00001wz30QAAD',
      '0037e00001wz30qaad',
    ]) {
      expect(canonicalId(spelling)).toBe('0037e00001WZ30qAAD');
    }
    expect(canonicalId('0017e00001w4gyraa3')).toBe('0017e00001W4GYRAA3');
    // Another record whose Id differs only in case stays another record.
    expect(canonicalId('0037e00001wz30q')).not.toBe(canonicalId('0037e00001WZ30q'));
    expect(canonicalId('not-an-id')).toBe('not-an-id');
  });
});
