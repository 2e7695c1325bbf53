import { describe, expect, it } from '@jest/globals';
import Papa from 'papaparse';
import { BULK_NULL, csvCells, csvLine, NotExpressible, payloadCells, rowPayload } from './csv.js';

/** Cells of a payload with the header they were placed by. */
function cellsOf(payload: Record<string, unknown>): { header: string[]; cells: string[] } {
  const header: string[] = [];
  const cells = payloadCells(payload, (name) => {
    const at = header.indexOf(name);
    if (at >= 0) return at;
    header.push(name);
    return header.length - 1;
  });
  return { header, cells };
}

describe('payloadCells: a REST payload as a Bulk row with the same meaning', () => {
  it('writes an explicit null as #N/A, numbers in plain decimals, booleans as true/false', () => {
    const { header, cells } = cellsOf({
      attributes: { type: 'Contact' },
      LastName: 'Smith',
      Title: null,
      Amount__c: 1e21,
      Small__c: 0.0000001,
      DoNotCall: false,
    });
    expect(header).toEqual(['LastName', 'Title', 'Amount__c', 'Small__c', 'DoNotCall']);
    expect(cells).toEqual(['Smith', BULK_NULL, '1000000000000000000000', '0.0000001', 'false']);
  });

  it('writes a lookup by External ID as a relationship column, a polymorphic one with its type', () => {
    const { header, cells } = cellsOf({
      Account: { External_ID__c: 'A-1' },
      Owner: { attributes: { type: 'User' }, Email: 'owner@example.com' },
    });
    expect(header).toEqual(['Account.External_ID__c', 'User:Owner.Email']);
    expect(cells).toEqual(['A-1', 'owner@example.com']);
  });

  it('fills the columns a row does not bring with empty cells (Bulk: unchanged)', () => {
    const header = ['LastName', 'Title', 'Email'];
    const cells = payloadCells({ Email: 'a@example.com' }, (name) => header.indexOf(name));
    expect(cells).toEqual(['', '', 'a@example.com']);
  });

  it('refuses the text #N/A, which Bulk would read as null (the row goes through REST)', () => {
    expect(() => cellsOf({ Title: '#N/A' })).toThrow(NotExpressible);
  });
});

describe('csvLine', () => {
  const awkward = [
    'plain',
    '',
    'a,b',
    'say "hi"',
    'two\nlines',
    'cr\rhere',
    ' leading',
    'trailing ',
    '\ufeffbom',
    'naïve café ✓',
    '#N/A',
    '=1+1',
  ];

  it('writes exactly what papaparse writes, for plain and awkward values alike', () => {
    for (const a of awkward) {
      for (const b of awkward) {
        const cells = [a, 'x', b];
        expect(csvLine(cells)).toBe(`${Papa.unparse([cells], { newline: '\n' })}\n`);
      }
    }
  });

  it('writes exactly what papaparse writes for seeded random cells of quotes, commas, breaks and spaces', () => {
    const alphabet = ['a', 'Z', ' ', ',', '"', '\n', '\r', '\ufeff', 'é', '#', ';', '\t'];
    let seed = 7;
    const next = (n: number): number => {
      seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
      return seed % n;
    };
    for (let row = 0; row < 2_000; row += 1) {
      const cells = Array.from({ length: 1 + next(5) }, () =>
        Array.from({ length: next(6) }, () => alphabet[next(alphabet.length)]).join(''),
      );
      expect(csvLine(cells)).toBe(`${Papa.unparse([cells], { newline: '\n' })}\n`);
    }
  });

  it('reads back as the same cells', () => {
    for (const a of awkward) {
      const cells = ['k', a, 'z'];
      expect(csvCells(csvLine(cells))).toEqual(cells);
    }
  });
});

describe('rowPayload: a CSV row read back as the REST payload it was written from', () => {
  const types: Record<string, string> = {
    LastName: 'string',
    Title: 'string',
    Phone: 'phone',
    NumberOfEmployees: 'int',
    AnnualRevenue: 'currency',
    Probability__c: 'percent',
    Score__c: 'double',
    Big__c: 'long',
    HasOptedOutOfEmail: 'boolean',
    Birthdate: 'date',
    Next_Call__c: 'datetime',
    Interests__c: 'multipicklist',
  };
  const payloads: Array<Record<string, unknown>> = [
    { LastName: 'Lovelace', Title: null, NumberOfEmployees: 12, HasOptedOutOfEmail: false },
    { LastName: 'a, "quoted"\nline ', Title: 'true', Phone: '0012', Score__c: 0.1 + 0.2 },
    { LastName: 'Gödel 🧮', AnnualRevenue: 1e21, Probability__c: -0.000001, Big__c: 9007199254740991 },
    { Birthdate: '1906-04-28', Next_Call__c: '2026-12-03T10:00:00.000Z', Interests__c: 'Logic;Sets' },
    {
      LastName: 'X',
      Account: { External_ID__c: 'A-1' },
      Owner: { attributes: { type: 'User' }, Email: 'o@example.com' },
    },
    { LastName: 'Y', Account: { External_ID__c: null }, HasOptedOutOfEmail: true, Score__c: 1e-7 },
    { Title: '123', AnnualRevenue: 0, NumberOfEmployees: null },
  ];

  it('gives back every payload, nulls, lookups, numbers and text that looks like a number included', () => {
    const header: string[] = [];
    const columnOf = (name: string): number => {
      const at = header.indexOf(name);
      return at >= 0 ? at : header.push(name) - 1;
    };
    const lines = payloads.map((p) => csvLine(payloadCells(p, columnOf)));
    lines.forEach((line, i) => {
      expect(rowPayload(header, csvCells(line), (f) => types[f])).toEqual(payloads[i]);
    });
  });

  it('leaves out the columns a row did not bring (empty cells, and cells past its end)', () => {
    expect(rowPayload(['LastName', 'Title', 'Phone'], ['Hopper'], (f) => types[f])).toEqual({
      LastName: 'Hopper',
    });
    expect(rowPayload(['LastName', 'Title'], ['', BULK_NULL], (f) => types[f])).toEqual({ Title: null });
  });
});
