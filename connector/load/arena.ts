/**
 * Serialised records, kept as UTF-8 bytes in shared off-heap chunks until Salesforce has answered
 * for them.
 *
 * Thousands of records are in flight at once (a batch being filled, and one per Composite call on
 * the wire). Kept as JavaScript strings they survive several young-generation collections, are
 * copied by each, promoted, and collected again by the old generation: bench/ measured that
 * garbage-collector work as a large share of the connector's CPU per row. Bytes in a chunk cost the
 * collector nothing, and a Composite body is assembled from them with a few memory copies instead
 * of joining and re-encoding strings.
 *
 * Each record is followed by a comma in its chunk, so records appended one after the other form a
 * run that goes into a collection's `records` array with one copy (composite.ts).
 */
import type { RecordBytes } from '../salesforce/composite.js';

const DEFAULT_CHUNK_BYTES = 1024 * 1024;
/** Most UTF-8 bytes one UTF-16 code unit can take. */
const MAX_BYTES_PER_UNIT = 3;
/** Free chunks an arena keeps for reuse; more are left to the garbage collector. */
const MAX_FREE_CHUNKS = 8;
/** The generation of a record whose bytes were released. */
const RELEASED = -1;

/**
 * A chunk of an arena: its bytes, and how many records written in it have not ended. Once the arena
 * has moved on to another chunk and every record in this one has ended, the chunk is written again
 * from the start: fresh memory costs a page fault per 4 KB the first time it is written, which
 * bench/ measured as ~1 µs a row when every chunk was new.
 */
export class ArenaChunk {
  /** Records written here whose bytes are still in use. */
  live = 0;
  /** How many times the chunk has been reused: a record remembers the generation it was written in. */
  generation = 0;
  /** The arena writes elsewhere now. */
  sealed = false;

  constructor(
    readonly bytes: Buffer,
    /** The arena that reuses this chunk (none for a chunk sized for one large record). */
    readonly arena: ByteArena | undefined,
  ) {}
}

/** A record's bytes, and the arena chunk they are in (none for a record standing alone). */
export interface ArenaBytes extends RecordBytes {
  home: ArenaChunk | undefined;
  /** The chunk's generation when the record was written; {@link RELEASED} once released. */
  generation: number;
}

/**
 * Appends records to chunks, and reuses a chunk once every record in it has been released
 * ({@link releaseBytes}). A record nobody releases only keeps its chunk from being reused.
 */
export class ByteArena implements ArenaBytes {
  /** The chunk the last record was written to. */
  home: ArenaChunk;
  chunk: Buffer;
  /** Where the last record starts and ends in `chunk` (end excludes its comma). */
  start = 0;
  end = 0;
  generation = 0;
  private used = 0;
  private readonly free: ArenaChunk[] = [];

  constructor(private readonly chunkBytes = DEFAULT_CHUNK_BYTES) {
    this.home = new ArenaChunk(Buffer.allocUnsafeSlow(chunkBytes), this);
    this.chunk = this.home.bytes;
  }

  /**
   * Writes one record: `json` (a JSON object) with `lastKey` (from {@link attributesKey}) added as
   * its last member, then sets `chunk`, `start`, `end` and `home` to where it went. Adding the bytes
   * here spares a copy of the payload object just to give it `attributes`.
   */
  append(json: string, lastKey: Buffer): void {
    const worst = json.length * MAX_BYTES_PER_UNIT + lastKey.length + 2;
    if (worst > this.chunk.length - this.used) this.moveOn(worst);
    const chunk = this.chunk;
    this.start = this.used;
    // Over the object's closing brace: `,` + lastKey (which ends with the brace again).
    let at = this.start + chunk.write(json, this.start, 'utf8') - 1;
    if (json.length > 2) chunk[at++] = 0x2c;
    for (let i = 0; i < lastKey.length; i += 1) chunk[at++] = lastKey[i]!;
    this.end = at;
    chunk[at] = 0x2c; // ','
    this.used = at + 1;
    this.home.live += 1;
  }

  /** A chunk whose records have all been released, for reuse. */
  recycle(chunk: ArenaChunk): void {
    if (this.free.length < MAX_FREE_CHUNKS) this.free.push(chunk);
  }

  /** Writes from now on into a free chunk, or a new one with room for `bytes`. */
  private moveOn(bytes: number): void {
    const old = this.home;
    old.sealed = true;
    if (old.live === 0 && old.arena === this) this.recycle(old);
    let next = bytes <= this.chunkBytes ? this.free.pop() : undefined;
    if (next === undefined) {
      next = new ArenaChunk(
        Buffer.allocUnsafeSlow(Math.max(this.chunkBytes, bytes)),
        bytes <= this.chunkBytes ? this : undefined,
      );
    } else {
      next.generation += 1;
      next.sealed = false;
    }
    this.home = next;
    this.chunk = next.bytes;
    this.generation = next.generation;
    this.used = 0;
  }
}

/**
 * Ends a record's use of its bytes (its row ended, or they were copied elsewhere). Releasing twice
 * is harmless; a record whose chunk was reused while it was in use is a defect, and stops the run
 * rather than let another row's bytes be read as this one's.
 */
export function releaseBytes(record: ArenaBytes): void {
  const home = record.home;
  if (home === undefined || record.generation === RELEASED) return;
  checkBytes(record);
  record.generation = RELEASED;
  home.live -= 1;
  if (home.live === 0 && home.sealed && home.arena !== undefined) home.arena.recycle(home);
}

/** Throws when a record's bytes are no longer its own (released, or the chunk reused). */
export function checkBytes(record: ArenaBytes): void {
  if (record.home !== undefined && record.generation !== record.home.generation) {
    throw new Error(
      `internal error: a record's bytes were used after ${record.generation === RELEASED ? 'they were released (or before they were written)' : 'their chunk was reused'}`,
    );
  }
}

/** The bytes {@link ByteArena.append} adds to every record of an object: `"attributes":{"type":"…"}}`. */
export function attributesKey(object: string): Buffer {
  return Buffer.from(`"attributes":${JSON.stringify({ type: object })}}`, 'utf8');
}

/**
 * Where an item's bytes are until it has some: a row bound for a Bulk job is written as CSV from its
 * payload, and gets JSON bytes only if it goes to REST after all (stream.ts `withBytes`). Reading
 * them is refused like reading released bytes.
 */
export const NO_BYTES: Readonly<ArenaBytes> = Object.freeze({
  chunk: Buffer.alloc(0),
  start: 0,
  end: 0,
  home: new ArenaChunk(Buffer.alloc(0), undefined),
  generation: RELEASED,
});

/** A record's bytes standing alone (a merged row, a record with an Id put in front). */
export function standalone(json: string): ArenaBytes {
  const chunk = Buffer.from(`${json},`, 'utf8');
  return { chunk, start: 0, end: chunk.length - 1, home: undefined, generation: 0 };
}

/** A record's JSON text. */
export function textOf(record: RecordBytes | ArenaBytes): string {
  if ('home' in record) checkBytes(record);
  return record.chunk.toString('utf8', record.start, record.end);
}
