import { describe, expect, it } from '@jest/globals';
import { stateLine } from './state-echo.js';

const stats = { recordCount: 3, rejectedRecordCount: 1 };
/** The echo of `line`, through the same path the write command takes. */
const echo = (line: string) =>
  stateLine(line, (JSON.parse(line) as { state: Record<string, unknown> }).state, stats);

describe('a STATE echoed as received', () => {
  it('keeps integers beyond 2^53, exotic numbers and key order byte for byte', () => {
    const line =
      '{"type":"STATE","state":{"type":"STREAM","stream":{"stream_descriptor":{"name":"s"},"stream_state":{"cursor":1234567890123456789,"big":1e400,"tiny":-0.0,"exp":1.50E+3,"z":1,"a":2}}}}';
    expect(echo(line)).toBe(
      '{"type":"STATE","state":{"type":"STREAM","stream":{"stream_descriptor":{"name":"s"},"stream_state":{"cursor":1234567890123456789,"big":1e400,"tiny":-0.0,"exp":1.50E+3,"z":1,"a":2}},"destinationStats":{"recordCount":3,"rejectedRecordCount":1}}}',
    );
  });

  it('keeps a LEGACY state with 9007199254740993 exact', () => {
    expect(echo('{"type":"STATE","state":{"data":{"cursor":9007199254740993}}}')).toBe(
      '{"type":"STATE","state":{"data":{"cursor":9007199254740993},"destinationStats":{"recordCount":3,"rejectedRecordCount":1}}}',
    );
  });

  it('replaces destinationStats already present, keeping its other keys, and touches nothing else', () => {
    const line =
      '{ "type" : "STATE", "state" : { "destinationStats" : {"recordCount": 99, "other": true} , "data":{"n":1.0} }, "id": 7 }';
    expect(echo(line)).toBe(
      '{ "type" : "STATE", "state" : { "destinationStats" : {"recordCount":3,"other":true,"rejectedRecordCount":1} , "data":{"n":1.0} }, "id": 7 }',
    );
  });

  it('writes into an empty state object, and into the last "state" when a key repeats (as JSON.parse reads it)', () => {
    expect(echo('{"type":"STATE","state":{}}')).toBe(
      '{"type":"STATE","state":{"destinationStats":{"recordCount":3,"rejectedRecordCount":1}}}',
    );
    expect(echo('{"type":"STATE","state":{"data":{"a":1}},"state":{"data":{"b":2}}}')).toBe(
      '{"type":"STATE","state":{"data":{"a":1}},"state":{"data":{"b":2},"destinationStats":{"recordCount":3,"rejectedRecordCount":1}}}',
    );
  });

  it('is not fooled by braces, quotes and escapes inside strings, nor by 10,000 levels of nesting', () => {
    const deep = '['.repeat(10_000) + ']'.repeat(10_000);
    const line = `{"type":"STATE","state":{"data":{"s":"} \\" { ] \\\\","deep":${deep}},"sourceStats":{"recordCount":2}}}`;
    const out = echo(line);
    expect(out).toBe(
      `{"type":"STATE","state":{"data":{"s":"} \\" { ] \\\\","deep":${deep}},"sourceStats":{"recordCount":2},"destinationStats":{"recordCount":3,"rejectedRecordCount":1}}}`,
    );
  });

  it('serialises a state it has no line for', () => {
    expect(stateLine(undefined, { data: { a: 1 } }, stats)).toBe(
      '{"type":"STATE","state":{"data":{"a":1},"destinationStats":{"recordCount":3,"rejectedRecordCount":1}}}',
    );
  });
});
