import { describe, expect, it } from '@jest/globals';
import { isSalesforceId, toId18 } from './ids.js';

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
});
