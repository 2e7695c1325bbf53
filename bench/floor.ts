/**
 * The CPU floor the connector is compared with (PRODUCT.md section 11: "an honest parse-and-serialize
 * floor — same line splitter, UTF-8 encoding, same Node flags"). It reads stdin with the connector's own
 * reader (`readMessageBatches` of connector/protocol/reader.ts, compiled by tsc into build/: Buffer
 * chunks, the isUtf8 check, one string per chunk, split on '\n', JSON.parse per line and the envelope
 * checks), serializes each RECORD's `data` again with JSON.stringify and encodes it to UTF-8 bytes, as
 * the connector must before it sends a record. The bytes are discarded: no mapping, no validation of
 * values, no network. The benchmark starts it with the connector's Node flags (NODE_FLAGS).
 *
 * It prints one JSON line, {lines, records, bytes}, so the benchmark can check it saw every row; the
 * running total of encoded bytes also keeps the work from being optimised away.
 */
import { readMessageBatches } from '../connector/protocol/reader.js';

/** Reused for every record, as the connector's arena reuses its chunks: encoding, not allocating, is measured. */
const out = Buffer.allocUnsafe(1 << 16);
/** A UTF-8 character takes at most 3 bytes per UTF-16 unit: a text this short always fits in `out`. */
const FITS = Math.floor(out.length / 3);

let lines = 0;
let records = 0;
let bytes = 0;
for await (const batch of readMessageBatches(process.stdin)) {
  for (const item of batch) {
    lines += 1;
    if (item.type !== 'RECORD') continue;
    records += 1;
    const text = JSON.stringify(item.record.data);
    bytes += text.length <= FITS ? out.write(text, 0, 'utf8') : Buffer.from(text, 'utf8').length;
  }
}
process.stdout.write(`${JSON.stringify({ lines, records, bytes })}\n`);
