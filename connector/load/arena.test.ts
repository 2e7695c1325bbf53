import { describe, expect, it } from '@jest/globals';
import { attributesKey, ByteArena, standalone, textOf } from './arena.js';

const contact = attributesKey('Contact');

/** Appends and returns where the record went. */
function put(arena: ByteArena, json: string) {
  arena.append(json, contact);
  return { chunk: arena.chunk, start: arena.start, end: arena.end };
}

describe('ByteArena', () => {
  it('stores each record with attributes as its last key, followed by a comma', () => {
    const arena = new ByteArena();
    const a = put(arena, '{"LastName":"Lovelace","Email":"ada@example.com"}');
    const b = put(arena, '{"LastName":"Hopper"}');
    expect(JSON.parse(textOf(a))).toEqual({
      LastName: 'Lovelace',
      Email: 'ada@example.com',
      attributes: { type: 'Contact' },
    });
    expect(Object.keys(JSON.parse(textOf(b)) as object).at(-1)).toBe('attributes');
    expect(a.chunk).toBe(b.chunk);
    expect(b.start).toBe(a.end + 1);
    expect(a.chunk.toString('utf8', a.end, a.end + 1)).toBe(',');
  });

  it('gives an empty record only its attributes', () => {
    const arena = new ByteArena();
    expect(JSON.parse(textOf(put(arena, '{}')))).toEqual({ attributes: { type: 'Contact' } });
  });

  it('keeps characters outside ASCII intact', () => {
    const arena = new ByteArena();
    const json = JSON.stringify({ LastName: 'Gödel 🧮', Title: 'Ünïcödé — "quoted" \\ back' });
    expect(JSON.parse(textOf(put(arena, json)))).toEqual({
      ...JSON.parse(json),
      attributes: { type: 'Contact' },
    });
  });

  it('starts a new chunk when a record may not fit, and the records already written stay intact', () => {
    const arena = new ByteArena(256);
    const written = Array.from({ length: 20 }, (_, i) =>
      put(arena, JSON.stringify({ LastName: `Row ${i}` })),
    );
    expect(new Set(written.map((w) => w.chunk)).size).toBeGreaterThan(1);
    written.forEach((w, i) => expect(JSON.parse(textOf(w))).toMatchObject({ LastName: `Row ${i}` }));
  });

  it('takes a record larger than a chunk in a chunk of its own', () => {
    const arena = new ByteArena(64);
    const big = JSON.stringify({ Description: 'x'.repeat(1000) });
    expect(JSON.parse(textOf(put(arena, big)))).toMatchObject({ Description: 'x'.repeat(1000) });
  });
});

describe('standalone', () => {
  it('holds one record with its trailing comma', () => {
    const r = standalone('{"Id":"003000000000001AAA"}');
    expect(textOf(r)).toBe('{"Id":"003000000000001AAA"}');
    expect(r.chunk.toString('utf8', r.end)).toBe(',');
  });
});
