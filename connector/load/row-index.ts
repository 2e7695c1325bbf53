/**
 * Per-row bookkeeping of a Bulk job in typed arrays (bulk-loader.ts): numbers in pages, and the index
 * that joins a result row back to its input row by key. A job of 200,000 rows costs bytes, not
 * objects: no garbage for the collector to trace, and memory that does not grow with the rows' size.
 */
import { hashA, hashB } from './mirror-keys.js';

/**
 * A growable array of numbers in typed-array pages: per-row facts of a job cost bytes, not objects,
 * and growing never copies (a doubled array would hold twice the memory while it grows).
 */
export class Column<T extends Uint32Array | Uint16Array | Uint8Array | Int32Array> {
  private readonly pages: T[] = [];

  constructor(private readonly make: (n: number) => T) {}

  set(i: number, value: number): void {
    const page = i >>> PAGE_BITS;
    while (this.pages.length <= page) this.pages.push(this.make(PAGE));
    this.pages[page]![i & (PAGE - 1)] = value;
  }

  get(i: number): number {
    const page = this.pages[i >>> PAGE_BITS];
    return page === undefined ? 0 : page[i & (PAGE - 1)]!;
  }
}

const PAGE_BITS = 16;
const PAGE = 1 << PAGE_BITS;

export const u32 = (): Column<Uint32Array> => new Column((n) => new Uint32Array(n));
export const u16 = (): Column<Uint16Array> => new Column((n) => new Uint16Array(n));
export const u8 = (): Column<Uint8Array> => new Column((n) => new Uint8Array(n));

/**
 * Join keys → rows, as two 32-bit hashes per key (16 to 32 bytes a row, whatever the key). Rows of one
 * key chain through `next` (identical inserted rows, matched by multiplicity).
 */
export class RowIndex {
  private hi = new Uint32Array(1 << 12);
  private lo = new Uint32Array(1 << 12);
  private head = new Int32Array(1 << 12).fill(-1);
  /** Chains of rows with one key (identical inserts only); +1 so that a fresh page's 0 means none. */
  private readonly next = new Column((n) => new Int32Array(n));
  private size = 0;

  /** Slots in the table now (a power of two): 12 bytes each. */
  get capacity(): number {
    return this.head.length;
  }

  /** Whether a row with this key is in the index. */
  has(key: string): boolean {
    return this.first(key) >= 0;
  }

  add(key: string, row: number): void {
    // Linear probing stays quick up to about four fifths full (a 64-bit hash compare per probe), and a
    // job of 200,000 rows (sinks.ts) then fits 2^18 slots (3 MB) instead of 2^19.
    if ((this.size + 1) * 5 > this.head.length * 4) this.grow();
    const a = hashA(key);
    const b = hashB(key);
    const mask = this.head.length - 1;
    for (let i = a & mask; ; i = (i + 1) & mask) {
      if (this.head[i] === -1) {
        this.hi[i] = a;
        this.lo[i] = b;
        this.head[i] = row;
        this.size += 1;
        return;
      }
      if (this.hi[i] === a && this.lo[i] === b) {
        // Append to the chain, keeping input order.
        let at = this.head[i]!;
        while (this.next.get(at) > 0) at = this.next.get(at) - 1;
        this.next.set(at, row + 1);
        return;
      }
    }
  }

  /** The next row of the same key after `row`, or -1 (rows of a key come in input order). */
  nextOf(row: number): number {
    return this.next.get(row) - 1;
  }

  /** The first row of a key, or -1. */
  first(key: string): number {
    const a = hashA(key);
    const b = hashB(key);
    const mask = this.head.length - 1;
    for (let i = a & mask; ; i = (i + 1) & mask) {
      if (this.head[i] === -1) return -1;
      if (this.hi[i] === a && this.lo[i] === b) return this.head[i]!;
    }
  }

  private grow(): void {
    const { hi, lo, head } = this;
    const capacity = head.length * 2;
    this.hi = new Uint32Array(capacity);
    this.lo = new Uint32Array(capacity);
    this.head = new Int32Array(capacity).fill(-1);
    const mask = capacity - 1;
    for (let j = 0; j < head.length; j += 1) {
      if (head[j] === -1) continue;
      for (let i = hi[j]! & mask; ; i = (i + 1) & mask) {
        if (this.head[i] === -1) {
          this.hi[i] = hi[j]!;
          this.lo[i] = lo[j]!;
          this.head[i] = head[j]!;
          break;
        }
      }
    }
  }
}
