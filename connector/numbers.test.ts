import { describe, expect, it } from '@jest/globals';
import { grouped } from './numbers.js';

describe('grouped', () => {
  it('writes whole numbers as en-US does', () => {
    const values = [
      0,
      -0,
      7,
      12,
      999,
      1000,
      -1000,
      12345,
      999999,
      1000000,
      -1234567,
      2 ** 31,
      Number.MAX_SAFE_INTEGER,
    ];
    for (let v = 1; v < 1e15; v = v * 7 + 3) values.push(v, -v);
    for (const v of values) expect(grouped(v)).toBe(v.toLocaleString('en-US'));
  });

  it('leaves other numbers to toLocaleString', () => {
    for (const v of [0.5, -1234.5678, 1e21, NaN, Infinity, -Infinity]) {
      expect(grouped(v)).toBe(v.toLocaleString('en-US'));
    }
  });
});
