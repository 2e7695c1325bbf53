/**
 * The CSV of Bulk API 2.0 ingest (reference §4.3; bulk2-ingest.md §1.3): reading an upload by
 * Salesforce's rules, and writing result files.
 *
 * Why not csv-parse (which the tests use as the reference for well-formed input): Salesforce's rules
 * are the thing emulated here, and a general CSV library cannot express them. A malformed row ("a space
 * before or after a double quote generates an error for the row") fails that row only, where csv-parse
 * fails the whole input or, told to skip errors, reports one row twice and swallows everything after
 * an unterminated quote; and the job's line ending is checked at every record, where csv-parse keeps a
 * stray `\r` as data.
 *
 * The reader works on the upload's bytes: a first pass ({@link RowScanner}) finds each row's byte range
 * (no strings, so a 100 MB upload is held once), then each row's cells are decoded when its internal
 * batch is processed ({@link readCells}).
 */

const QUOTE = 0x22;
const LF = 0x0a;
const CR = 0x0d;

/** Why a row cannot be read (it fails alone; the rows around it are read normally), and at which column (1-based). */
export interface RowProblem {
  kind: 'quote' | 'text-after-quote' | 'unterminated';
  column: number;
}

/**
 * Row boundaries of one upload. Row 0 is the header. Blank lines are skipped (they hold no record).
 * After {@link scan} has returned true for the last time, either `lineEndingMismatch` is set (the job
 * fails before any row is processed) or every row has its byte range `[starts[i], ends[i])` without
 * its line ending, and `problems` names the rows that cannot be read.
 */
export class RowScanner {
  /** Row count so far. */
  count = 0;
  starts = new Uint32Array(1024);
  ends = new Uint32Array(1024);
  /** Row index → why it cannot be read. */
  readonly problems = new Map<number, RowProblem>();
  /** A record ended with the other line ending than the job's (reference §4.3: the job fails). */
  lineEndingMismatch = false;
  private pos: number;
  /** Position of the next double quote at or after `pos` (-1: none left), so lines are not searched twice. */
  private nextQuote = -2;

  constructor(
    private readonly data: Buffer,
    private readonly delimiter: number,
    private readonly crlf: boolean,
  ) {
    // A UTF-8 byte-order mark is not part of the first header name.
    this.pos = data.length >= 3 && data[0] === 0xef && data[1] === 0xbb && data[2] === 0xbf ? 3 : 0;
  }

  /** True once every row is found (or the line ending is wrong). */
  get done(): boolean {
    return this.lineEndingMismatch || this.pos >= this.data.length;
  }

  /** Find up to `maxRows` more rows; returns whether rows remain. */
  scan(maxRows: number): boolean {
    for (let n = 0; n < maxRows && !this.done; n++) this.scanRow();
    return !this.done;
  }

  /**
   * The row content's end for a line feed at `lf`, checking the job's line ending; -1 on a mismatch.
   * `from` is where the row's content starts (a `\r` before it is not the row's).
   */
  private lineEnd(lf: number, from: number): number {
    const cr = lf > from && this.data[lf - 1] === CR;
    if (cr !== this.crlf) {
      this.lineEndingMismatch = true;
      return -1;
    }
    return cr ? lf - 1 : lf;
  }

  private push(start: number, end: number, problem?: RowProblem): void {
    if (this.count === this.starts.length) {
      const starts = new Uint32Array(this.count * 2);
      starts.set(this.starts);
      this.starts = starts;
      const ends = new Uint32Array(this.count * 2);
      ends.set(this.ends);
      this.ends = ends;
    }
    this.starts[this.count] = start;
    this.ends[this.count] = end;
    if (problem !== undefined) this.problems.set(this.count, problem);
    this.count++;
  }

  /** A malformed row from `start`: it runs to the next line feed after `from` (its physical line). */
  private resync(start: number, from: number, kind: RowProblem['kind'], column: number): void {
    const problem = { kind, column };
    const data = this.data;
    const lf = data.indexOf(LF, from);
    if (lf < 0) {
      this.push(start, data.length, problem);
      this.pos = data.length;
      return;
    }
    const end = this.lineEnd(lf, start);
    if (end < 0) return;
    this.push(start, end, problem);
    this.pos = lf + 1;
  }

  private scanRow(): void {
    const data = this.data;
    const len = data.length;
    const start = this.pos;
    let lf = data.indexOf(LF, start);
    if (lf < 0) lf = len;
    // Fast path: a line without quotes is one row of unquoted values.
    if (this.nextQuote !== -1 && this.nextQuote < start) this.nextQuote = data.indexOf(QUOTE, start);
    if (this.nextQuote < 0 || this.nextQuote > lf) {
      let end = lf;
      if (lf < len) {
        end = this.lineEnd(lf, start);
        if (end < 0) return;
      }
      if (end > start) this.push(start, end);
      this.pos = lf + 1;
      return;
    }
    // Field by field: a quote may only open a field, and a closing quote must end it.
    let p = start;
    let column = 1;
    for (;;) {
      if (data[p] === QUOTE) {
        const opening = p;
        let q = p + 1;
        for (;;) {
          const close = data.indexOf(QUOTE, q);
          if (close < 0) {
            // Unterminated: the row is its physical line (the rest of the upload is not swallowed).
            this.resync(start, p + 1, 'unterminated', column);
            return;
          }
          if (data[close + 1] === QUOTE) {
            q = close + 2;
            continue;
          }
          p = close + 1;
          break;
        }
        if (p >= len) {
          this.push(start, len);
          this.pos = len;
          return;
        }
        const c = data[p];
        if (c === this.delimiter) {
          p++;
          column++;
          continue;
        }
        if (c === LF || (c === CR && data[p + 1] === LF)) {
          const at = c === LF ? p : p + 1;
          const end = this.lineEnd(at, start);
          if (end < 0) return;
          this.push(start, end);
          this.pos = at + 1;
          return;
        }
        const openingLineEnd = data.indexOf(LF, opening);
        if (openingLineEnd >= 0 && openingLineEnd < p) {
          // The "closing" quote is on a later line: the quote that opened the value was never closed
          // on its own line, and a later row's quote paired with it. The row is its opening line.
          this.resync(start, opening + 1, 'unterminated', column);
          return;
        }
        // e.g. `"John" ,Smith`: a space (or anything) after the closing quote.
        this.resync(start, p, 'text-after-quote', column);
        return;
      }
      // An unquoted value: up to the delimiter or the line feed; a quote inside it is an error
      // (e.g. `John, "Smith"`, where the value would start with a space).
      for (;;) {
        if (p >= len) {
          this.push(start, len);
          this.pos = len;
          return;
        }
        const c = data[p];
        if (c === this.delimiter) {
          p++;
          column++;
          break;
        }
        if (c === LF) {
          const end = this.lineEnd(p, start);
          if (end < 0) return;
          this.push(start, end);
          this.pos = p + 1;
          return;
        }
        if (c === QUOTE) {
          this.resync(start, p, 'quote', column);
          return;
        }
        p++;
      }
    }
  }
}

/**
 * The cells of a well-formed row `[start, end)` (as {@link RowScanner} found it), each decoded from the
 * bytes on its own: a slice of a decoded row would keep the whole row's text alive in every stored
 * record that holds one of its values.
 */
export function readCells(data: Buffer, start: number, end: number, delimiter: number): string[] {
  const cells: string[] = [];
  let at = start;
  for (;;) {
    if (at < end && data[at] === QUOTE) {
      let close = data.indexOf(QUOTE, at + 1);
      let escaped = false;
      while (close >= 0 && close + 1 < end && data[close + 1] === QUOTE) {
        escaped = true;
        close = data.indexOf(QUOTE, close + 2);
      }
      if (close < 0 || close >= end) close = end; // not reached for a scanned row
      const value = data.toString('utf8', at + 1, close);
      cells.push(escaped ? value.replace(/""/g, '"') : value);
      at = close + 1;
    } else {
      let next = data.indexOf(delimiter, at);
      if (next < 0 || next > end) next = end;
      cells.push(data.toString('utf8', at, next));
      at = next;
    }
    if (at >= end) return cells;
    at++; // the delimiter
    if (at === end) {
      cells.push('');
      return cells;
    }
  }
}

/**
 * One column of consecutive well-formed rows, read straight from the bytes: each value is a string of
 * its own (a slice of a decoded row would keep the whole row alive while a job's keys are collected).
 * Rows must be read in upload order.
 */
export class ColumnReader {
  private nextQuote = -2;

  constructor(
    private readonly data: Buffer,
    private readonly delimiter: number,
    private readonly column: number,
  ) {}

  /** The cell of this column in the row `[start, end)`; '' when the row is shorter. */
  read(start: number, end: number): string {
    const data = this.data;
    if (this.nextQuote !== -1 && this.nextQuote < start) this.nextQuote = data.indexOf(QUOTE, start);
    if (this.nextQuote >= 0 && this.nextQuote < end)
      return readCells(data, start, end, this.delimiter)[this.column] ?? '';
    let from = start;
    for (let k = 0; k < this.column; k++) {
      const d = data.indexOf(this.delimiter, from);
      if (d < 0 || d >= end) return '';
      from = d + 1;
    }
    let to = data.indexOf(this.delimiter, from);
    if (to < 0 || to > end) to = end;
    return data.toString('utf8', from, to);
  }
}

/**
 * Best-effort cells of a malformed row, for echoing it in failedResults: split at every delimiter,
 * and a piece wrapped in quotes loses them. The key column usually survives (e.g. `C-3, "x"`).
 */
export function looseSplit(text: string, delimiter: string): string[] {
  return text
    .split(delimiter)
    .map((piece) =>
      piece.length >= 2 && piece.startsWith('"') && piece.endsWith('"')
        ? piece.slice(1, -1).replace(/""/g, '"')
        : piece,
    );
}

const NEEDS_ESCAPE = /"/g;

/** One result line: every value quoted, as Salesforce writes results (reference §4.1 step 5). */
export function csvLine(values: readonly string[]): string {
  let line = '';
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    line += `${i === 0 ? '' : ','}"${v.includes('"') ? v.replace(NEEDS_ESCAPE, '""') : v}"`;
  }
  return line + '\n';
}

/**
 * A number as Java's `Double.toString` prints it, which is how Bulk results echo double, currency and
 * percent values ("Values can be stored in scientific notation", bulk2-ingest.md §1.3; reference §4.1
 * step 5 shows `9.12260031E8`): the shortest digits that identify the double, at least one digit after
 * the point, and computerized scientific notation below 10^-3 and from 10^7 on: `3` → `3.0`, `12.5` →
 * `12.5`, `10000000` → `1.0E7`, `0.0001` → `1.0E-4`.
 */
export function javaDouble(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (!Number.isFinite(n)) return n > 0 ? 'Infinity' : '-Infinity';
  if (n === 0) return Object.is(n, -0) ? '-0.0' : '0.0';
  const abs = Math.abs(n);
  if (abs >= 1e-3 && abs < 1e7) {
    // JavaScript also prints the shortest digits, and without an exponent in this range.
    const s = String(n);
    return s.includes('.') ? s : `${s}.0`;
  }
  const [mantissa = '', exponent = '0'] = n.toExponential().split('e');
  return `${mantissa.includes('.') ? mantissa : `${mantissa}.0`}E${Number(exponent)}`;
}
