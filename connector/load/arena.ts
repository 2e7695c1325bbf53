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

/** Appends records to chunks; a chunk is freed when no record in it is referenced any more. */
export class ByteArena {
  /** The chunk the last record was written to. */
  chunk: Buffer;
  /** Where the last record starts and ends in `chunk` (end excludes its comma). */
  start = 0;
  end = 0;
  private used = 0;

  constructor(private readonly chunkBytes = DEFAULT_CHUNK_BYTES) {
    this.chunk = Buffer.allocUnsafeSlow(chunkBytes);
  }

  /**
   * Writes one record: `json` (a JSON object) with `lastKey` (from {@link attributesKey}) added as
   * its last member, then sets `chunk`, `start` and `end` to where it went. Adding the bytes here
   * spares a copy of the payload object just to give it `attributes`.
   */
  append(json: string, lastKey: Buffer): void {
    const worst = json.length * MAX_BYTES_PER_UNIT + lastKey.length + 2;
    if (worst > this.chunk.length - this.used) {
      // Every byte written stays valid: the old chunk lives on while records in it are in flight.
      this.chunk = Buffer.allocUnsafeSlow(Math.max(this.chunkBytes, worst));
      this.used = 0;
    }
    const chunk = this.chunk;
    this.start = this.used;
    // Over the object's closing brace: `,` + lastKey (which ends with the brace again).
    let at = this.start + chunk.write(json, this.start, 'utf8') - 1;
    if (json.length > 2) chunk[at++] = 0x2c;
    for (let i = 0; i < lastKey.length; i += 1) chunk[at++] = lastKey[i]!;
    this.end = at;
    chunk[at] = 0x2c; // ','
    this.used = at + 1;
  }
}

/** The bytes {@link ByteArena.append} adds to every record of an object: `"attributes":{"type":"…"}}`. */
export function attributesKey(object: string): Buffer {
  return Buffer.from(`"attributes":${JSON.stringify({ type: object })}}`, 'utf8');
}

/** A record's bytes standing alone (a merged row, a record with an Id put in front). */
export function standalone(json: string): RecordBytes {
  const chunk = Buffer.from(`${json},`, 'utf8');
  return { chunk, start: 0, end: chunk.length - 1 };
}

/** A record's JSON text. */
export function textOf(record: RecordBytes): string {
  return record.chunk.toString('utf8', record.start, record.end);
}
