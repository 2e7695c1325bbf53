import { describe, expect, it } from '@jest/globals';
import { Batcher, type BatchItem } from './batcher.js';

interface Row extends BatchItem {
  id: string;
  rows: string[];
}
const row = (id: string, bytes = 10, key?: string): Row => ({
  id,
  bytes,
  ...(key ? { key } : {}),
  rows: [id],
});
const merge = (a: Row, b: Row): Row => ({
  id: b.id,
  bytes: a.bytes + b.bytes,
  key: b.key,
  rows: [...a.rows, ...b.rows],
});

describe('batcher', () => {
  it('completes a batch when it reaches the record count', () => {
    const b = new Batcher<Row>({ maxRecords: 3, maxBytes: 1e9, maxAgeMs: 1e9 });
    expect(b.add(row('a'))).toBeUndefined();
    expect(b.add(row('b'))).toBeUndefined();
    expect(b.add(row('c'))?.map((r) => r.id)).toEqual(['a', 'b', 'c']);
    expect(b.size).toBe(0);
  });

  it('completes the open batch before an item that would overflow it by bytes', () => {
    const b = new Batcher<Row>({ maxRecords: 100, maxBytes: 25, maxAgeMs: 1e9 });
    b.add(row('a', 10));
    b.add(row('b', 10));
    expect(b.add(row('c', 10))?.map((r) => r.id)).toEqual(['a', 'b']);
    expect(b.take()?.map((r) => r.id)).toEqual(['c']);
  });

  it('sends a lone item bigger than the byte limit on its own', () => {
    const b = new Batcher<Row>({ maxRecords: 100, maxBytes: 25, maxAgeMs: 1e9 });
    expect(b.add(row('big', 100))).toBeUndefined();
    expect(b.add(row('next', 1))?.map((r) => r.id)).toEqual(['big']);
  });

  it('is due once the open batch is older than the age limit', () => {
    let now = 1000;
    const b = new Batcher<Row>({ maxRecords: 100, maxBytes: 1e9, maxAgeMs: 500, now: () => now });
    expect(b.due()).toBe(false);
    b.add(row('a'));
    now = 1400;
    expect(b.due()).toBe(false);
    now = 1500;
    expect(b.due()).toBe(true);
  });

  it('merges rows sharing a key into one item, keeping both rows', () => {
    const b = new Batcher<Row>({ maxRecords: 3, maxBytes: 1e9, maxAgeMs: 1e9, merge });
    b.add(row('a1', 10, 'A'));
    b.add(row('b', 10, 'B'));
    expect(b.add(row('a2', 10, 'A'))).toBeUndefined();
    const batch = b.take()!;
    expect(batch.map((r) => r.rows)).toEqual([['a1', 'a2'], ['b']]);
    expect(batch[0]!.id).toBe('a2');
  });

  it('is also full when the items of a limited kind reach their own maximum', () => {
    const b = new Batcher<Row>({
      maxRecords: 5,
      maxBytes: 1e9,
      maxAgeMs: 1e9,
      limitOf: { max: 2, counts: (r) => r.id.startsWith('u') },
    });
    b.add(row('s1'));
    b.add(row('u1'));
    expect(b.add(row('u2'))?.map((r) => r.id)).toEqual(['s1', 'u1', 'u2']);
  });

  it('forgets keys once a batch is taken', () => {
    const b = new Batcher<Row>({ maxRecords: 10, maxBytes: 1e9, maxAgeMs: 1e9, merge });
    b.add(row('a1', 10, 'A'));
    b.take();
    b.add(row('a2', 10, 'A'));
    expect(b.take()!.map((r) => r.rows)).toEqual([['a2']]);
  });

  it('merges exactly the rows a map of keys would, over many batches, repeated keys and a lowered limit', () => {
    // Seeded: 20,000 rows over 700 keys (many repeats within and across batches), batches of 64
    // lowered to 40 midway; a plain Map per batch is the reference.
    let seed = 7;
    const next = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0);
    const b = new Batcher<Row>({ maxRecords: 64, maxBytes: 1e9, maxAgeMs: 1e9, merge });
    const got: string[][][] = [];
    const want: string[][][] = [];
    let open: Row[] = [];
    let index = new Map<string, number>();
    let limit = 64;
    const cut = () => {
      want.push(open.map((r) => r.rows));
      open = [];
      index = new Map();
    };
    for (let i = 0; i < 20_000; i += 1) {
      if (i === 10_000) {
        b.maxRecords = 40;
        limit = 40;
      }
      const r = row(`r${i}`, 10, `K-${next() % 700}`);
      const done = b.add(r);
      if (done) got.push(done.map((x) => x.rows));
      const at = index.get(r.key!);
      if (at !== undefined) open[at] = merge(open[at]!, r);
      else {
        index.set(r.key!, open.length);
        open.push(r);
        if (open.length >= limit) cut();
      }
    }
    got.push(b.take()?.map((x) => x.rows) ?? []);
    if (open.length > 0) cut();
    expect(got).toEqual(want);
    expect(got.length).toBeGreaterThan(300);
  });
});
