/**
 * The Bulk CSV reader and writer (reference §4.3): well-formed input reads exactly as csv-parse reads
 * it; a malformed row fails alone; a record with the other line ending is caught; numbers are echoed
 * as Java prints doubles.
 */
import { describe, expect, it } from '@jest/globals';
import { parse } from 'csv-parse/sync';
import { ColumnReader, RowScanner, javaDouble, looseSplit, readCells } from './bulk-csv.js';
import { prng } from './server.js';

/** Every row of an upload as cells, plus the scanner for its flags. */
function read(
  csv: string | Buffer,
  delimiter = ',',
  crlf = false,
): { rows: string[][]; scanner: RowScanner } {
  const data = Buffer.isBuffer(csv) ? csv : Buffer.from(csv, 'utf8');
  const scanner = new RowScanner(data, delimiter.charCodeAt(0), crlf);
  // Small steps, so that resuming a scan is exercised too.
  while (scanner.scan(3));
  const rows: string[][] = [];
  for (let r = 0; r < scanner.count; r++) {
    const text = data.toString('utf8', scanner.starts[r], scanner.ends[r]);
    if (scanner.problems.has(r)) {
      rows.push(looseSplit(text, delimiter));
      continue;
    }
    rows.push(readCells(data, scanner.starts[r]!, scanner.ends[r]!, delimiter.charCodeAt(0)));
  }
  return { rows, scanner };
}

const ALPHABET = [
  'a',
  'b',
  'Z',
  '0',
  '9',
  ' ',
  '"',
  ',',
  '|',
  ';',
  '\t',
  '^',
  '`',
  '\n',
  '\r\n',
  'é',
  '𠮟',
  '#N/A',
];

/** A random well-formed CSV: a value is quoted when it must be, and sometimes when it need not. */
function randomCsv(random: () => number, delimiter: string, eol: string): { text: string; rows: string[][] } {
  const rows: string[][] = [];
  const columns = 1 + Math.floor(random() * 5);
  const count = 1 + Math.floor(random() * 30);
  for (let r = 0; r < count; r++) {
    const row: string[] = [];
    for (let c = 0; c < columns; c++) {
      let cell = c === 0 ? 'k' : '';
      const length = Math.floor(random() * 6);
      for (let i = 0; i < length; i++) cell += ALPHABET[Math.floor(random() * ALPHABET.length)];
      row.push(cell);
    }
    rows.push(row);
  }
  const encode = (cell: string): string => {
    const must = cell.includes(delimiter) || /["\r\n]/.test(cell);
    return must || random() < 0.2 ? `"${cell.replace(/"/g, '""')}"` : cell;
  };
  const text = rows.map((row) => row.map(encode).join(delimiter)).join(eol) + (random() < 0.5 ? eol : '');
  return { text, rows };
}

describe('well-formed CSV', () => {
  it.each([
    [',', false],
    ['|', false],
    [';', true],
    ['\t', true],
    ['^', false],
    ['`', true],
  ])('reads as csv-parse does (delimiter %j, CRLF %s)', (delimiter, crlf) => {
    const random = prng(delimiter.charCodeAt(0) * 7 + (crlf ? 1 : 0));
    const eol = crlf ? '\r\n' : '\n';
    for (let n = 0; n < 200; n++) {
      const { text, rows } = randomCsv(random, delimiter, eol);
      const reference: string[][] = parse(text, {
        delimiter,
        record_delimiter: eol,
        relax_column_count: true,
        skip_empty_lines: true,
      });
      expect(reference).toEqual(rows);
      const { rows: mine, scanner } = read(text, delimiter, crlf);
      expect(scanner.lineEndingMismatch).toBe(false);
      expect(scanner.problems.size).toBe(0);
      expect(mine).toEqual(reference);
    }
  });

  it('skips a byte-order mark and blank lines, and keeps a trailing empty cell', () => {
    const { rows } = read('\uFEFFName,Title\n\nA,\n"B",""\n\n');
    expect(rows).toEqual([
      ['Name', 'Title'],
      ['A', ''],
      ['B', ''],
    ]);
  });

  it('keeps a carriage return inside quotes in an LF job, and a line feed inside quotes in a CRLF job', () => {
    expect(read('A,B\n"x\r\ny",z\n').rows).toEqual([
      ['A', 'B'],
      ['x\r\ny', 'z'],
    ]);
    expect(read('A,B\r\n"x\ny",z\r\n', ',', true).rows).toEqual([
      ['A', 'B'],
      ['x\ny', 'z'],
    ]);
  });

  it('reads one column straight from the bytes, quoted or not', () => {
    const data = Buffer.from('K,V\nk1,v1\n"k,2",v2\nk3,"v""3"\nk4\n');
    const scanner = new RowScanner(data, 44, false);
    scanner.scan(100);
    const values = new ColumnReader(data, 44, 1);
    const keys = new ColumnReader(data, 44, 0);
    const cells = [];
    for (let r = 1; r < scanner.count; r++)
      cells.push([
        keys.read(scanner.starts[r]!, scanner.ends[r]!),
        values.read(scanner.starts[r]!, scanner.ends[r]!),
      ]);
    expect(cells).toEqual([
      ['k1', 'v1'],
      ['k,2', 'v2'],
      ['k3', 'v"3'],
      ['k4', ''],
    ]);
  });
});

describe('malformed rows fail alone', () => {
  it('flags a space before an opening quote, and reads the rows around it', () => {
    const { rows, scanner } = read('Id,Name\n1,"a"\n2, "b"\n3,c\n');
    expect([...scanner.problems]).toEqual([[2, { kind: 'quote', column: 2 }]]);
    expect(rows).toEqual([
      ['Id', 'Name'],
      ['1', 'a'],
      ['2', ' "b"'],
      ['3', 'c'],
    ]);
  });

  it('flags text after a closing quote', () => {
    const { rows, scanner } = read('Id,Name\n1,"a" ,x\n2,b\n');
    expect([...scanner.problems]).toEqual([[1, { kind: 'text-after-quote', column: 2 }]]);
    expect(rows[2]).toEqual(['2', 'b']);
  });

  it('ends an unterminated quote at its line, so the rest of the upload is still read', () => {
    const { rows, scanner } = read('Id,Name\n1,"never closed\n2,b\n3,"c"\n');
    expect([...scanner.problems]).toEqual([[1, { kind: 'unterminated', column: 2 }]]);
    expect(rows.slice(1)).toEqual([
      ['1', '"never closed'],
      ['2', 'b'],
      ['3', 'c'],
    ]);
  });

  it('ends an unterminated quote at its line when it is the last quote of the upload', () => {
    const { rows, scanner } = read('Id,Name\n1,a\n2,"never closed\n3,b\n');
    expect([...scanner.problems]).toEqual([[2, { kind: 'unterminated', column: 2 }]]);
    expect(rows.slice(2)).toEqual([
      ['2', '"never closed'],
      ['3', 'b'],
    ]);
  });

  it('fails a closing quote followed by text on the same line as text after the quote', () => {
    const { scanner } = read('Id,Name\n1,"John" x\n2,b\n');
    expect(scanner.count).toBe(3);
    expect(scanner.problems.get(1)).toEqual({ kind: 'text-after-quote', column: 2 });
  });

  it('flags a quote in the middle of an unquoted value', () => {
    const { scanner } = read('Id,Name\n1,5" screen\n');
    expect(scanner.problems.get(1)).toEqual({ kind: 'quote', column: 2 });
  });
});

describe('line endings (reference §4.3)', () => {
  it('catches CRLF data in an LF job, at the first record or a later one', () => {
    expect(read('A,B\r\n1,2\r\n').scanner.lineEndingMismatch).toBe(true);
    expect(read('A,B\n1,2\n3,4\r\n5,6\n').scanner.lineEndingMismatch).toBe(true);
    expect(read('A,B\n1,"2"\r\n').scanner.lineEndingMismatch).toBe(true);
  });

  it('catches LF data in a CRLF job', () => {
    expect(read('A,B\n1,2\n', ',', true).scanner.lineEndingMismatch).toBe(true);
    expect(read('A,B\r\n1,2\r\n3,4\n', ',', true).scanner.lineEndingMismatch).toBe(true);
  });

  it('accepts a last record without a line ending', () => {
    expect(read('A,B\n1,2').rows).toEqual([
      ['A', 'B'],
      ['1', '2'],
    ]);
    expect(read('A,B\r\n1,2', ',', true).rows).toEqual([
      ['A', 'B'],
      ['1', '2'],
    ]);
  });
});

describe('javaDouble', () => {
  it.each([
    [10_000_000, '1.0E7'],
    [12.5, '12.5'],
    [3, '3.0'],
    [912260031, '9.12260031E8'],
    [1234567, '1234567.0'],
    [0.001, '0.001'],
    [0.0001, '1.0E-4'],
    [-1.5e-7, '-1.5E-7'],
    [123456789012, '1.23456789012E11'],
    [0, '0.0'],
    [-2.25, '-2.25'],
  ])('prints %p as %s', (n, text) => {
    expect(javaDouble(n)).toBe(text);
  });
});
