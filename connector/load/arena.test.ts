import { describe, expect, it } from '@jest/globals';
import {
  attributesKey,
  ByteArena,
  checkBytes,
  releaseBytes,
  standalone,
  textOf,
  type ArenaBytes,
} from './arena.js';

const contact = attributesKey('Contact');

/** Appends and returns where the record went. */
function put(arena: ByteArena, json: string): ArenaBytes {
  arena.append(json, contact);
  return {
    chunk: arena.chunk,
    start: arena.start,
    end: arena.end,
    home: arena.home,
    generation: arena.generation,
  };
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

describe('ByteArena chunk reuse', () => {
  // 77 characters: a worst case of 266 bytes, so a 1,024-byte chunk takes a few of them.
  const row = (i: number) => JSON.stringify({ LastName: `Row ${i}`, Description: 'x'.repeat(40) });
  /** Writes and releases rows until the arena has moved to another chunk `times` times. */
  const churn = (arena: ByteArena, times = 1) => {
    for (let moves = 0, home = arena.home, gen = arena.generation; moves < times;) {
      releaseBytes(put(arena, row(9)));
      if (arena.home !== home || arena.generation !== gen) {
        moves += 1;
        home = arena.home;
        gen = arena.generation;
      }
    }
  };

  it('never writes into a chunk while a record in it is still in use', () => {
    const arena = new ByteArena(1024);
    const first = put(arena, row(0));
    churn(arena, 10);
    expect(arena.home).not.toBe(first.home);
    expect(JSON.parse(textOf(first))).toMatchObject({ LastName: 'Row 0' });
    expect(first.home!.generation).toBe(0);
  });

  it('writes a chunk again once the arena moved on and every record in it was released', () => {
    const arena = new ByteArena(1024);
    const a = put(arena, row(0));
    releaseBytes(a);
    churn(arena);
    expect(arena.home).toBe(a.home);
    expect(arena.generation).toBe(1);
  });

  it('refuses the bytes of a released record, or of one whose chunk was reused', () => {
    const arena = new ByteArena(1024);
    const a = put(arena, row(0));
    const stale = { ...a };
    releaseBytes(a);
    releaseBytes(a); // twice is harmless
    expect(() => textOf(a)).toThrow(/used after they were released/);
    churn(arena);
    expect(() => checkBytes(stale)).toThrow(/chunk was reused/);
  });

  it('does not keep a chunk sized for one large record', () => {
    const arena = new ByteArena(1024);
    const big = put(arena, JSON.stringify({ Description: 'x'.repeat(3000) }));
    expect(big.home!.arena).toBeUndefined();
    releaseBytes(big);
    churn(arena, 5);
    expect(arena.chunk).not.toBe(big.chunk);
    expect(arena.chunk.length).toBe(1024);
  });
});

describe('standalone', () => {
  it('holds one record with its trailing comma', () => {
    const r = standalone('{"Id":"003000000000001AAA"}');
    expect(textOf(r)).toBe('{"Id":"003000000000001AAA"}');
    expect(r.chunk.toString('utf8', r.end)).toBe(',');
  });
});
