/**
 * The CPU floor the connector is compared with (PRODUCT.md section 11: "CPU time per row ≤ 2× a bare
 * parse-and-serialize of the same rows"): reads AirbyteMessages from stdin line by line, parses each,
 * serializes each RECORD's `data` again and discards it. No mapping, no validation, no network.
 *
 * It prints one JSON line, {lines, records, bytes}, so the benchmark can check it saw every row; the
 * running total of serialized bytes also keeps the stringify from being optimised away.
 */
import { createInterface } from 'node:readline';

let lines = 0;
let records = 0;
let bytes = 0;
for await (const line of createInterface({ input: process.stdin, crlfDelay: Infinity })) {
  if (line === '') continue;
  lines += 1;
  const message = JSON.parse(line) as { type?: unknown; record?: { data?: unknown } };
  if (message.type === 'RECORD') {
    records += 1;
    bytes += JSON.stringify(message.record?.data).length;
  }
}
process.stdout.write(`${JSON.stringify({ lines, records, bytes })}\n`);
