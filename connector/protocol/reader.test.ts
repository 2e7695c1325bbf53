import { describe, expect, it } from '@jest/globals';
import { Readable } from 'node:stream';
import { readMessageBatches, readMessages, type SkippedLine } from './reader.js';
import type { AirbyteMessage } from './messages.js';

async function collect(chunks: Array<string | Buffer>, maxLineLength?: number) {
  const skipped: SkippedLine[] = [];
  const messages: AirbyteMessage[] = [];
  const input = Readable.from(chunks, { objectMode: false });
  for await (const m of readMessages(input, {
    onSkip: (s) => skipped.push(s),
    ...(maxLineLength ? { maxLineLength } : {}),
  })) {
    messages.push(m);
  }
  return { messages, skipped };
}

const record = (i: number) =>
  JSON.stringify({ type: 'RECORD', record: { stream: 's', data: { i }, emitted_at: 1 } });

describe('stdin reader', () => {
  it('yields nothing and skips nothing for empty input', async () => {
    expect(await collect([])).toEqual({ messages: [], skipped: [] });
  });

  it('yields one message per line, in order, across chunk boundaries and without a final newline', async () => {
    const text = `${record(1)}\n${record(2)}\n${record(3)}`;
    const { messages, skipped } = await collect([text.slice(0, 10), text.slice(10, 70), text.slice(70)]);
    expect(messages.map((m) => (m.type === 'RECORD' ? m.record.data.i : null))).toEqual([1, 2, 3]);
    expect(skipped).toEqual([]);
  });

  it('decodes a multi-byte character split between two chunks', async () => {
    const line = Buffer.from(
      `${JSON.stringify({ type: 'RECORD', record: { stream: 's', data: { name: 'Zoë 🚀' }, emitted_at: 1 } })}\n`,
    );
    const at = line.indexOf(Buffer.from('🚀')) + 2;
    const { messages } = await collect([line.subarray(0, at), line.subarray(at)]);
    expect(messages[0]).toMatchObject({ record: { data: { name: 'Zoë 🚀' } } });
  });

  it('accepts CRLF line endings and ignores blank lines', async () => {
    const { messages, skipped } = await collect([`${record(1)}\r\n\r\n   \n${record(2)}\r\n`]);
    expect(messages).toHaveLength(2);
    expect(skipped).toEqual([]);
  });

  it('skips garbage lines with their line number and reason, and keeps reading', async () => {
    const { messages, skipped } = await collect([
      `not json at all\n${record(1)}\n[1,2]\n{"type":"NOPE"}\n{"type":"RECORD"}\n{"type":"RECORD","record":{"data":{}}}\n{"type":"STATE"}\n${record(2)}\n`,
    ]);
    expect(messages).toHaveLength(2);
    expect(skipped.map((s) => [s.line, s.reason.split(' (')[0]])).toEqual([
      [1, 'not JSON'],
      [3, 'not a JSON object'],
      [4, 'not an AirbyteMessage'],
      [5, 'RECORD without a "record" object'],
      [6, 'RECORD without a "stream" name'],
      [7, 'STATE without a "state" object'],
    ]);
    expect(skipped[0]!.excerpt).toBe('not json at all');
  });

  it('skips a STATE that breaks the protocol schema (it would be echoed as invalid output), and keeps valid ones', async () => {
    const states = [
      '{"type":"STATE","state":{"type":"BOGUS"}}',
      '{"type":"STATE","state":{"type":"STREAM"}}',
      '{"type":"STATE","state":{"type":"STREAM","stream":{"stream_state":{}}}}',
      '{"type":"STATE","state":{"type":"STREAM","stream":{"stream_descriptor":{"name":"s","namespace":7}}}}',
      '{"type":"STATE","state":{"type":"GLOBAL","global":{"shared_state":{}}}}',
      '{"type":"STATE","state":{"type":"GLOBAL","global":{"stream_states":[{"stream_descriptor":{}}]}}}',
      '{"type":"STATE","state":{"type":"LEGACY","data":[1]}}',
      '{"type":"STATE","state":{"type":"STREAM","stream":{"stream_descriptor":{"name":"s"}},"sourceStats":{"recordCount":"2"}}}',
      // Valid: nulls read as absent, unknown keys kept, a state without type (LEGACY).
      '{"type":"STATE","state":{"type":"STREAM","stream":{"stream_descriptor":{"name":"s","namespace":null},"stream_state":null},"id":3}}',
      '{"type":"STATE","state":{"type":"GLOBAL","global":{"shared_state":{"lsn":1},"stream_states":[{"stream_descriptor":{"name":"s"}}]},"sourceStats":{"recordCount":1.0}}}',
      '{"type":"STATE","state":{"data":{"cursor":1}}}',
    ];
    const { messages, skipped } = await collect([`${states.join('\n')}\n`]);
    expect(skipped.map((s) => [s.line, s.reason])).toEqual([
      [1, 'STATE whose "type" is not GLOBAL, STREAM or LEGACY'],
      [2, 'STREAM state without a "stream" object'],
      [3, 'STATE whose "stream" has no "stream_descriptor" with a "name"'],
      [4, 'STATE whose "stream" has a "stream_descriptor.namespace" that is not a string'],
      [5, 'STATE whose "global" has no "stream_states" array'],
      [6, 'STATE with a "global.stream_states" entry that has no "stream_descriptor" with a "name"'],
      [7, 'STATE whose "data" is not an object'],
      [8, 'STATE whose "sourceStats" is not an object of counts'],
    ]);
    expect(messages).toHaveLength(3);
    expect(messages[0]).toMatchObject({ state: { id: 3 } });
  });

  it('skips a line longer than the limit without buffering it, then goes on', async () => {
    const huge = 'x'.repeat(5000);
    const { messages, skipped } = await collect(
      [`${record(1)}\n${huge.slice(0, 2500)}`, huge.slice(2500), `\n${record(2)}\n`],
      1000,
    );
    expect(messages).toHaveLength(2);
    expect(skipped).toEqual([
      { line: 2, reason: 'line longer than 1000 characters', excerpt: 'x'.repeat(60) },
    ]);
  });

  it('parses a huge line below the limit (a 5 MB record)', async () => {
    const big = 'y'.repeat(5 * 1024 * 1024);
    const line = `${JSON.stringify({ type: 'RECORD', record: { stream: 's', data: { big }, emitted_at: 1 } })}\n`;
    const chunks: string[] = [];
    for (let i = 0; i < line.length; i += 65536) chunks.push(line.slice(i, i + 65536));
    const { messages } = await collect(chunks);
    expect(messages).toHaveLength(1);
    expect((messages[0] as unknown as { record: { data: { big: string } } }).record.data.big).toHaveLength(
      big.length,
    );
  });

  it('reads no further than the consumer asks (backpressure)', async () => {
    let produced = 0;
    const input = new Readable({
      highWaterMark: 16,
      read() {
        produced += 1;
        this.push(`${record(produced)}\n`);
        if (produced === 10_000) this.push(null);
      },
    });
    const iterator = readMessages(input)[Symbol.asyncIterator]();
    await iterator.next();
    // Turns of the event loop, not a span of time: a reader that does not wait for its consumer
    // has read all 10,000 lines well within them (a flowing stream does), on any machine.
    for (let turn = 0; turn < 100; turn += 1) await new Promise((r) => setImmediate(r));
    expect(produced).toBeLessThan(100);
    await iterator.return?.(undefined);
  });
});

describe('stdin reader: a chunk is parsed a few lines at a time', () => {
  it('yields the 200 lines of one chunk in arrays of at most 16, numbered in order', async () => {
    const lines = Array.from({ length: 200 }, (_, i) =>
      i === 39 ? 'not json' : i === 120 ? '{}' : record(i + 1),
    );
    const input = Readable.from([`${lines.join('\n')}\n`], { objectMode: false });
    const sizes: number[] = [];
    const items = [];
    for await (const batch of readMessageBatches(input)) {
      sizes.push(batch.length);
      items.push(...batch);
    }
    // Parsed on demand: rows not taken yet are text, not objects (bench/: they outlived young
    // collections while the consumer waited for room).
    expect(Math.max(...sizes)).toBeLessThanOrEqual(16);
    expect(items).toHaveLength(200);
    const skipped = items.filter((i) => i.type === 'SKIPPED');
    expect(skipped.map((s) => [s.line, s.reason.split(' (')[0]])).toEqual([
      [40, 'not JSON'],
      [121, 'not an AirbyteMessage'],
    ]);
    const records = items.filter((i) => i.type === 'RECORD');
    expect(records.map((r) => (r.record.data as { i: number }).i)).toEqual(
      Array.from({ length: 200 }, (_, i) => i + 1).filter((i) => i !== 40 && i !== 121),
    );
  });
});

describe('stdin reader: what the source got wrong', () => {
  it('reads a line that starts with a byte-order mark (at the start of stdin or of any line)', async () => {
    const { messages, skipped } = await collect([`\uFEFF${record(1)}\n\uFEFF${record(2)}\n`]);
    expect(messages).toHaveLength(2);
    expect(skipped).toEqual([]);
  });

  it('keeps the exact line of a STATE, for an echo byte for byte', async () => {
    const line = '{"type":"STATE","state":{"data":{"cursor":1234567890123456789}}}';
    const { messages } = await collect([`${line}\r\n`]);
    expect(messages[0]).toMatchObject({ type: 'STATE', raw: line });
  });

  it('marks a RECORD whose line is not UTF-8, and only that one, also when the bad byte ends a chunk', async () => {
    const good = Buffer.from(`${record(1)}\n`);
    const bad = Buffer.concat([
      Buffer.from('{"type":"RECORD","record":{"stream":"s","data":{"name":"caf'),
      Buffer.from([0xe9]), // Latin-1 é: not UTF-8
      Buffer.from('"},"emitted_at":1}}\n'),
    ]);
    const after = Buffer.from(`${record(3)}\n`);
    const all = Buffer.concat([good, bad, after]);
    const cut = good.length + bad.indexOf(0xe9) + 1;
    const { messages } = await collect([all.subarray(0, cut), all.subarray(cut)]);
    expect(messages.map((m) => (m as { invalidUtf8?: boolean }).invalidUtf8 === true)).toEqual([
      false,
      true,
      false,
    ]);
  });

  it('does not mark a valid multi-byte character split across chunks', async () => {
    const line = Buffer.from(
      `${JSON.stringify({ type: 'RECORD', record: { stream: 's', data: { n: '€€' }, emitted_at: 1 } })}\n`,
    );
    const at = line.indexOf(Buffer.from('€')) + 1;
    const { messages } = await collect([line.subarray(0, at), line.subarray(at)]);
    expect((messages[0] as { invalidUtf8?: boolean }).invalidUtf8).toBeUndefined();
    expect(messages[0]).toMatchObject({ record: { data: { n: '€€' } } });
  });

  it('skips a STATE whose line is not UTF-8 (it could not be echoed as received)', async () => {
    const bad = Buffer.concat([
      Buffer.from('{"type":"STATE","state":{"data":{"c":"'),
      Buffer.from([0xff]),
      Buffer.from('"}}}\n'),
    ]);
    const { messages, skipped } = await collect([bad]);
    expect(messages).toEqual([]);
    expect(skipped[0]!.reason).toContain('not UTF-8');
  });

  it('says which stream an unreadable RECORD line belonged to, so its row can be counted', async () => {
    const { skipped } = await collect([
      '{"type":"RECORD","record":{"stream":"contacts","namespace":"crm","data":{"a":\n',
    ]);
    expect(skipped[0]).toMatchObject({ line: 1, record: { stream: 'contacts', namespace: 'crm' } });
  });

  it('keeps only the head of an overlong line and tells its stream', async () => {
    const head = '{"type":"RECORD","record":{"stream":"big","data":{"x":"';
    const { skipped } = await collect([head, 'y'.repeat(5000), '"}}}\n', `${record(1)}\n`], 1000);
    expect(skipped[0]).toMatchObject({ line: 1, record: { stream: 'big' } });
  });
});
