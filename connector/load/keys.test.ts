import { describe, expect, it } from '@jest/globals';
import { Hold, KeyLedger, normalizeKey, type KeyField } from './keys.js';

describe('normalizeKey', () => {
  it('gives every spelling of one record Id one key, so rows for the record keep their order', () => {
    const id: KeyField = { name: 'Id', type: 'id', caseInsensitive: false, isId: true };
    const keys = ['0037e00001WZ30q', '0037e00001WZ30qAAD', '0037e00001wz30qaad'].map((v) =>
      normalizeKey(v, id),
    );
    expect(new Set(keys).size).toBe(1);
  });

  it("compares numeric keys as the numbers Salesforce keeps, at the field's scale", () => {
    const field: KeyField = {
      name: 'External_Id__c',
      type: 'double',
      scale: 0,
      caseInsensitive: false,
      isId: false,
    };
    expect(normalizeKey('1.4', field)).toBe(normalizeKey('1', field));
    expect(normalizeKey('0.0000001', field)).toBe('0');
    expect(normalizeKey('007', field)).toBe('7');
  });
});

describe('KeyLedger', () => {
  it('hands each claim the previous holder, and frees a key once its last holder ends', () => {
    const ledger = new KeyLedger();
    const a = new Hold();
    const b = new Hold();
    expect(ledger.claim('k', a)).toBeUndefined();
    expect(ledger.claim('k', b)).toBe(a);
    a.finish();
    ledger.release('k', a); // b holds it now: nothing changes
    expect(ledger.size).toBe(1);
    b.finish();
    ledger.release('k', b);
    expect(ledger.size).toBe(0);
  });

  it('follows a key passed on to a later hold: a row waiting for the first waits for the successor', () => {
    const ledger = new KeyLedger();
    const first = new Hold();
    const after = new Hold();
    ledger.claim('k', first);
    first.passOn('k', after);
    first.finish();
    ledger.release('k', first);
    expect(first.successorFor('k')).toBe(after);
    expect(first.successorFor('other')).toBeUndefined();
    // A new claim waits for the successor directly.
    expect(ledger.claim('k', new Hold())).toBe(after);
  });
});
