import { describe, expect, it } from '@jest/globals';
import { plainDecimal, soqlLiteral } from './query.js';

describe('plainDecimal', () => {
  it('writes numbers in plain decimal notation, never with an exponent SOQL would refuse', () => {
    expect(plainDecimal(1e-7)).toBe('0.0000001');
    expect(plainDecimal(1e21)).toBe('1000000000000000000000');
    expect(plainDecimal(123456789012345680)).toBe('123456789012345680');
    expect(plainDecimal(-0)).toBe('0');
    expect(plainDecimal(42)).toBe('42');
    expect(plainDecimal(-1.5e-25)).toBe('-0.00000000000000000000000015');
    expect(plainDecimal(1.2345e22)).toBe('12345000000000000000000');
  });

  it("rounds to the field's scale, as Salesforce stores the value, without trailing zeros", () => {
    expect(plainDecimal(1.4, 0)).toBe('1');
    expect(plainDecimal(2.5, 0)).toBe('3');
    expect(plainDecimal(1.5, 2)).toBe('1.5');
    expect(plainDecimal(1e-7, 18)).toBe('0.0000001');
    expect(plainDecimal(-0.4, 0)).toBe('0');
    expect(plainDecimal(-2.5, 0)).toBe('-3');
    expect(plainDecimal(9.995, 2)).toBe('10');
  });

  it('rounds the decimal that was sent, never the binary value behind it', () => {
    expect(plainDecimal(1234567890.12, 8)).toBe('1234567890.12');
    expect(plainDecimal(0.1, 17)).toBe('0.1');
    expect(plainDecimal(1.005, 2)).toBe('1.01');
    expect(plainDecimal(0.0005, 3)).toBe('0.001');
  });
});

describe('soqlLiteral', () => {
  it('writes a numeric key as a plain, rounded number, and refuses what is no number', () => {
    expect(soqlLiteral('1e-7', { type: 'double', scale: 18 })).toBe('0.0000001');
    expect(soqlLiteral(' 1.4 ', { type: 'double', scale: 0 })).toBe('1');
    expect(soqlLiteral('abc', { type: 'double', scale: 0 })).toBeUndefined();
    expect(soqlLiteral('', { type: 'int' })).toBeUndefined();
  });

  it('quotes text, escaping what SOQL would read as syntax', () => {
    expect(soqlLiteral("O'Brien", { type: 'string' })).toBe("'O\\'Brien'");
    expect(soqlLiteral('back\\slash', { type: 'email' })).toBe("'back\\\\slash'");
  });
});
