/**
 * The keys a mirror has seen in a sync, kept compact (mirror.ts deletes the managed records whose
 * key is not among them).
 */

/**
 * The keys a mirror stream has seen, kept compact: two independent 32-bit FNV-1a hashes per key
 * (64 bits) in an open-addressing table — 16 bytes per key at most, whatever the key's length,
 * so millions of keys fit in tens of megabytes. A hash collision can only make an absent key look
 * present, which keeps a record that should have been deleted: the safe direction.
 */
export class MirrorKeys {
  private hi = new Uint32Array(1 << 12);
  private lo = new Uint32Array(1 << 12);
  private used = new Uint8Array(1 << 12);
  /** Distinct keys stored. */
  size = 0;

  /** Adds a (normalised) key. */
  add(key: string): void {
    if ((this.size + 1) * 2 > this.used.length) this.grow();
    this.insert(hashA(key), hashB(key));
  }

  /** True when the (normalised) key was added. */
  has(key: string): boolean {
    const a = hashA(key);
    const b = hashB(key);
    const mask = this.used.length - 1;
    for (let i = a & mask; ; i = (i + 1) & mask) {
      if (this.used[i] === 0) return false;
      if (this.hi[i] === a && this.lo[i] === b) return true;
    }
  }

  /** Bytes held by the table. */
  get bytes(): number {
    return this.hi.byteLength + this.lo.byteLength + this.used.byteLength;
  }

  private insert(a: number, b: number): void {
    const mask = this.used.length - 1;
    for (let i = a & mask; ; i = (i + 1) & mask) {
      if (this.used[i] === 0) {
        this.used[i] = 1;
        this.hi[i] = a;
        this.lo[i] = b;
        this.size += 1;
        return;
      }
      if (this.hi[i] === a && this.lo[i] === b) return;
    }
  }

  private grow(): void {
    const { hi, lo, used } = this;
    const capacity = used.length * 2;
    this.hi = new Uint32Array(capacity);
    this.lo = new Uint32Array(capacity);
    this.used = new Uint8Array(capacity);
    this.size = 0;
    for (let i = 0; i < used.length; i += 1) if (used[i] === 1) this.insert(hi[i]!, lo[i]!);
  }
}

/** FNV-1a over UTF-16 code units. */
export function hashA(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i += 1) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** FNV-1a with another offset basis, over the code units in reverse, finished with a murmur mix. */
export function hashB(key: string): number {
  let h = 0x9747b28c;
  for (let i = key.length - 1; i >= 0; i -= 1) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
