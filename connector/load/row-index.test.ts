import { describe, expect, it } from '@jest/globals';
import { Column, RowIndex } from './row-index.js';

describe('RowIndex', () => {
  it('finds every key of a full 200,000-row job at its row, in 2^18 slots, and no key it was not given', () => {
    const index = new RowIndex();
    const rows = 200_000;
    for (let row = 0; row < rows; row += 1) index.add(`C-${row}`, row);
    // 12 bytes a slot: the job's index is 3 MB, not the 6 MB of the next power of two.
    expect(index.capacity).toBe(1 << 18);
    let wrong = 0;
    for (let row = 0; row < rows; row += 1) if (index.first(`C-${row}`) !== row) wrong += 1;
    expect(wrong).toBe(0);
    let found = 0;
    for (let i = rows; i < rows + 50_000; i += 1) if (index.has(`C-${i}`)) found += 1;
    expect(found).toBe(0);
  });

  it('keeps every row of a key it is given several times, in the order they came (identical inserts)', () => {
    const index = new RowIndex();
    const expected = new Map<string, number[]>();
    // Enough rows to grow the table several times while chains are open.
    for (let row = 0; row < 30_000; row += 1) {
      const key = `sig-${(row * 7919) % 9_000}`;
      index.add(key, row);
      expected.set(key, [...(expected.get(key) ?? []), row]);
    }
    for (const [key, rows] of expected) {
      const chain: number[] = [];
      for (let row = index.first(key); row >= 0; row = index.nextOf(row)) chain.push(row);
      expect(chain).toEqual(rows);
    }
  });
});

describe('Column', () => {
  it('reads back what was set across pages, and 0 where nothing was', () => {
    const column = new Column((n) => new Uint32Array(n));
    const at = [0, 1, 65_535, 65_536, 200_001];
    for (const i of at) column.set(i, i + 7);
    for (const i of at) expect(column.get(i)).toBe(i + 7);
    expect(column.get(2)).toBe(0);
    expect(column.get(10_000_000)).toBe(0);
  });
});
