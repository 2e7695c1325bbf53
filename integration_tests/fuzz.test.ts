/**
 * Hostile input, generated: a seeded, bounded fuzz run of the built CLI. RECORD, STATE and TRACE
 * lines with deep nesting, huge strings, odd numbers, unknown streams, prototype keys, invalid
 * UTF-8, byte-order marks and garbage are fed to `write` against the emulator, and the run must
 * keep the promise (PRODUCT.md section 7): it ends normally, every state it echoes is the received
 * line byte for byte plus destinationStats, and every row is accounted for as committed or rejected.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startEmulator, type Emulator } from './emulator/index.js';
import { prng } from './emulator/server.js';
import { ofType } from './helpers/cli.js';
import { catalog, configuredStream } from './helpers/messages.js';
import { CONTACT_COLUMNS } from './helpers/rows.js';
import { emulatorConfig, runWrite } from './helpers/setup.js';

let emulator: Emulator;
beforeAll(async () => {
  emulator = await startEmulator();
});
afterAll(async () => emulator.close());

/** What the generator produced. */
interface Generated {
  lines: Buffer[];
  /** Lines that carry a row the connector must count (committed or rejected). */
  rows: number;
  /** The STATE lines expected back, as received (without BOM or CR), in order. */
  states: string[];
}

const STREAM = 'contacts';
const ODD_NUMBERS = [
  '1e400',
  '-0',
  '-0.0',
  '1e-400',
  '12345678901234567890',
  '9007199254740993',
  '0.1e2',
  '-1E+3',
  '3.0',
];
const PROTO_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty'];

function generate(seed: number, count: number): Generated {
  const random = prng(seed);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
  const chance = (p: number): boolean => random() < p;
  const text = (n: number): string => {
    let s = '';
    for (let i = 0; i < n; i += 1) s += pick(['a', 'é', '€', '𝄞', '"', '\\', '\n', '\u0000', '}', ' ', 'Z']);
    return s;
  };
  const deep = (depth: number): string =>
    chance(0.5) ? '['.repeat(depth) + ']'.repeat(depth) : '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
  const value = (): string => {
    const r = random();
    if (r < 0.3) return JSON.stringify(text(1 + Math.floor(random() * 20)));
    if (r < 0.45) return pick(ODD_NUMBERS);
    if (r < 0.5) return deep(50 + Math.floor(random() * 6000));
    if (r < 0.53) return JSON.stringify('x'.repeat(50_000 + Math.floor(random() * 200_000)));
    if (r < 0.6) return pick(['null', 'true', 'false', '[]', '{}', '""']);
    if (r < 0.65) return `{"External_ID__c":${JSON.stringify(text(3))}}`;
    return JSON.stringify(`${Math.floor(random() * 1e6)}`);
  };
  const data = (): string => {
    const members: string[] = [];
    if (!chance(0.1))
      members.push(
        `"External_ID__c":${chance(0.9) ? JSON.stringify(`F-${Math.floor(random() * 500)}`) : value()}`,
      );
    if (chance(0.8))
      members.push(
        `"LastName":${chance(0.8) ? JSON.stringify(`Last ${Math.floor(random() * 1000)}`) : value()}`,
      );
    const extra = Math.floor(random() * 5);
    for (let i = 0; i < extra; i += 1) {
      const column = chance(0.2)
        ? pick(PROTO_KEYS)
        : chance(0.7)
          ? pick(CONTACT_COLUMNS)
          : `Col_${Math.floor(random() * 50)}`;
      members.push(`${JSON.stringify(column)}:${value()}`);
    }
    return `{${members.join(',')}}`;
  };
  const lines: Buffer[] = [];
  const states: string[] = [];
  let rows = 0;
  let stateId = 0;
  for (let n = 0; n < count; n += 1) {
    const r = random();
    const bom = chance(0.02) ? '\uFEFF' : '';
    const cr = chance(0.05) ? '\r' : '';
    if (r < 0.6) {
      // A RECORD: mostly the configured stream, sometimes an unknown one; data of any shape.
      const stream = chance(0.85)
        ? STREAM
        : chance(0.5)
          ? `ghost_${Math.floor(random() * 100_000)}`
          : text(5);
      const body = chance(0.95) ? data() : pick(['null', '[]', '"text"', '42']);
      const line = `{"type":"RECORD","record":{"stream":${JSON.stringify(stream)},"data":${body},"emitted_at":${Math.floor(random() * 1e13)}}}`;
      rows += 1;
      if (chance(0.03)) {
        // Bytes that are not UTF-8 inside a value.
        const at = line.indexOf('"data":') + 8;
        lines.push(
          Buffer.concat([
            Buffer.from(bom + line.slice(0, at)),
            Buffer.from([0xc3, 0x28, 0xff]),
            Buffer.from(line.slice(at) + cr + '\n'),
          ]),
        );
      } else lines.push(Buffer.from(`${bom}${line}${cr}\n`));
    } else if (r < 0.72) {
      // A STATE, of any type, with exotic numbers and key orders (never destinationStats of its own).
      stateId += 1;
      const cursor = chance(0.5) ? pick(ODD_NUMBERS) : JSON.stringify(text(6));
      const kind = random();
      const state =
        kind < 0.4
          ? `{"type":"STREAM","stream":{"stream_descriptor":{"name":"${STREAM}"},"stream_state":{"z":${cursor},"a":${pick(ODD_NUMBERS)}}},"id":${stateId}}`
          : kind < 0.7
            ? `{"type":"GLOBAL","global":{"shared_state":{"c":${cursor}},"stream_states":[{"stream_descriptor":{"name":"${STREAM}"},"stream_state":{"d":${deep(20)}}}]},"id":${stateId},"sourceStats":{"recordCount":${Math.floor(random() * 100)}.0}}`
            : `{"data":{"cursor":${cursor},"nested":${deep(30)}}}`;
      const line = `{"type":"STATE","state":${state}}`;
      states.push(line);
      lines.push(Buffer.from(`${bom}${line}${cr}\n`));
    } else if (r < 0.8) {
      const status = pick(['STARTED', 'RUNNING', 'COMPLETE', 'INCOMPLETE']);
      const stream = chance(0.3) ? STREAM : `ghost_${Math.floor(random() * 10)}`;
      lines.push(
        Buffer.from(
          `{"type":"TRACE","trace":{"type":"STREAM_STATUS","emitted_at":1,"stream_status":{"stream_descriptor":{"name":"${stream}"},"status":"${status}"}}}\n`,
        ),
      );
    } else if (r < 0.85) {
      lines.push(
        Buffer.from(`{"type":"TRACE","trace":{"type":${JSON.stringify(text(4))},"x":${value()}}}\n`),
      );
    } else if (r < 0.9) {
      // A RECORD cut short: counted as a rejected row, not dropped.
      const line = `{"type":"RECORD","record":{"stream":"${STREAM}","data":{"LastName":"cut`;
      rows += 1;
      lines.push(Buffer.from(`${line}\n`));
    } else {
      lines.push(
        Buffer.from(
          `${pick(['', '   ', 'garbage', '[1,2', '{"type":"LOG"}', '{"type":"NOPE","x":1}', '42', 'null'])}\n`,
        ),
      );
    }
  }
  // A last LEGACY state flushes every count that earlier states did not report.
  const last = '{"type":"STATE","state":{"data":{"final":12345678901234567891}}}';
  states.push(last);
  lines.push(Buffer.from(`${last}\n`));
  return { lines, rows, states };
}

/** The received line the connector echoed: the echo with the destinationStats it wrote taken out. */
function withoutStats(line: string): { original: string; committed: number; rejected: number } {
  const match = /,"destinationStats":\{"recordCount":(\d+),"rejectedRecordCount":(\d+)\}(\}+)$/.exec(line);
  if (match === null)
    throw new Error(`no destinationStats at the end of the state object: ${line.slice(0, 200)}`);
  return {
    original: line.slice(0, match.index) + match[3],
    committed: Number(match[1]),
    rejected: Number(match[2]),
  };
}

describe('fuzzed hostile input', () => {
  it.each([[1], [2]])(
    'seed %i: the run ends normally, states come back byte for byte, and every row is accounted for',
    async (seed) => {
      emulator.reset();
      const { lines, rows, states } = generate(seed, 1_500);
      const result = await runWrite(
        emulator,
        emulatorConfig(emulator, { salesforce_object: 'Contact', external_id_field: 'External_ID__c' }),
        catalog(configuredStream(STREAM, [...CONTACT_COLUMNS, ...PROTO_KEYS])),
        // Bytes as generated (invalid UTF-8 included): the child's stdin takes Buffers as they are.
        { stdin: lines as unknown as string[] },
      );
      expect(ofType(result, 'TRACE').filter((m) => m.trace.type === 'ERROR')).toEqual([]);
      expect(result.code).toBe(0);

      const echoed = result.stdout.split('\n').filter((l) => l.startsWith('{"type":"STATE"'));
      const taken = echoed.map(withoutStats);
      // In order, each echo is one of the states received, byte for byte; none is invented or altered.
      let at = 0;
      for (const { original } of taken) {
        const from = at;
        while (at < states.length && states[at] !== original) at += 1;
        // On a mismatch, show the echo beside the state it should have been.
        if (at >= states.length) expect(original).toBe(states[from]);
        at += 1;
      }
      // The last state is always echoed, and with it the count of every row.
      expect(taken[taken.length - 1]!.original).toBe(states[states.length - 1]);
      const accounted = taken.reduce((n, s) => n + s.committed + s.rejected, 0);
      expect(accounted).toBe(rows);
      const summary = ofType(result, 'LOG').find((m) => String(m.log.message).startsWith('Summary'))!;
      expect(summary.log.message).not.toContain('not finished');
    },
    120_000,
  );
});
