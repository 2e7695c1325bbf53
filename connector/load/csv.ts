/**
 * A Salesforce payload (the REST form the mapping makes, PRODUCT.md section 6) as a Bulk API 2.0 CSV
 * row with the same meaning (PRODUCT.md section 7a; bulk2-ingest.md §1.3):
 * - columns are exact API names; a lookup by External ID `{"External_ID__c": "A-1"}` under
 *   `Account` is the column `Account.External_ID__c`, and a polymorphic one `User:Owner.Email`;
 * - an explicit null is `#N/A` (Bulk's way to clear a field); an absent column is an empty cell
 *   (Bulk's "leave unchanged"), as an absent key leaves the field alone on REST;
 * - numbers in plain decimals (no exponent), booleans `true`/`false`; dates, date-times and
 *   multi-select values are already in the forms Bulk takes (`yyyy-MM-dd`, ISO 8601 with `Z` or
 *   `±HH:mm`, `;`-joined), since the mapping made them so for REST.
 * Rows are written as papaparse writes them (LF, commas), as the job declares: a value holding a
 * comma, a quote, a line break or a leading or trailing space is quoted, quotes doubled.
 */
import Papa from 'papaparse';
import { plainDecimal } from '../salesforce/query.js';

/** Bulk's null: a cell that sets the field to null (an empty cell leaves it unchanged). */
export const BULK_NULL = '#N/A';

/**
 * What makes papaparse quote a value: a quote, a comma, a line break or a byte order mark in it, or a
 * space at either end. Such a cell is written as papaparse writes it (in quotes, quotes doubled: RFC
 * 4180 §2.6–2.7), any other as it is; csv.test.ts holds the line to papaparse's own output. Quoting
 * cell by cell spares the set-up papaparse's unparse pays on every call (this runs for every row, and
 * a free-text column makes most rows need a quoted cell).
 */
const QUOTED = /["\r\n,\ufeff]|^ | $/;

/** One CSV line (with its LF) of the given cells. */
export function csvLine(cells: readonly string[]): string {
  let line = '';
  for (let i = 0; i < cells.length; i += 1) {
    const cell = cells[i]!;
    if (i > 0) line += ',';
    line += QUOTED.test(cell) ? `"${cell.replaceAll('"', '""')}"` : cell;
  }
  return `${line}\n`;
}

/** The cells of one CSV line (the reverse of {@link csvLine}). */
export function csvCells(line: string): string[] {
  return Papa.parse<string[]>(line.endsWith('\n') ? line.slice(0, -1) : line).data[0] ?? [];
}

/** A cell that Bulk would read otherwise than REST reads the same value: the row goes through REST. */
export class NotExpressible extends Error {
  constructor(readonly column: string) {
    super(`the value of ${column} cannot be written the same way through Bulk API 2.0`);
  }
}

/**
 * The cells of one payload, placed by `columnOf` (which gives each column name its index in the job's
 * header, adding it when new). `attributes` (the REST record's type) is left out. Throws
 * NotExpressible for a value Bulk would read differently: the text `#N/A`, which Bulk takes for null.
 */
export function payloadCells(payload: Record<string, unknown>, columnOf: (name: string) => number): string[] {
  const cells: string[] = [];
  for (const key of Object.keys(payload)) {
    if (key === 'attributes') continue;
    const value = payload[key];
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      // A lookup by an External ID of the parent (REST relationship syntax, reference §3.3).
      const lookup = value as Record<string, unknown>;
      const type = (lookup.attributes as { type?: unknown } | undefined)?.type;
      for (const field of Object.keys(lookup)) {
        if (field === 'attributes') continue;
        const column = `${typeof type === 'string' ? `${type}:` : ''}${key}.${field}`;
        place(cells, columnOf(column), cellOf(lookup[field], column));
      }
      continue;
    }
    place(cells, columnOf(key), cellOf(value, key));
  }
  for (let i = 0; i < cells.length; i += 1) cells[i] ??= '';
  return cells;
}

function place(cells: string[], index: number, cell: string): void {
  while (cells.length < index) cells.push('');
  cells[index] = cell;
}

/** One value as a cell. */
function cellOf(value: unknown, column: string): string {
  if (value === null) return BULK_NULL;
  if (typeof value === 'string') {
    if (value === BULK_NULL) throw new NotExpressible(column);
    return value;
  }
  if (typeof value === 'number') return plainDecimal(value);
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  // The mapping sends nothing else; a value of another kind keeps its JSON text, as REST would send it.
  return JSON.stringify(value) ?? '';
}

/** Describe types whose values REST takes as JSON numbers. */
const NUMBER_TYPES = new Set(['int', 'long', 'double', 'currency', 'percent']);

/**
 * The payload a CSV row stands for (the reverse of {@link payloadCells}), for a row a Bulk job hands
 * back to REST: an empty cell is a field left out, `#N/A` a null, `[Type:]Relationship.Field` a
 * lookup by the parent's External ID, and a cell of a number or boolean field (by `typeOf`, the
 * field's Describe type) a JSON number or boolean, as the mapping made it. Numbers were written by
 * plainDecimal, so they read back to the same value.
 */
export function rowPayload(
  header: readonly string[],
  cells: readonly string[],
  typeOf: (field: string) => string | undefined,
): Record<string, unknown> {
  const payload: Record<string, unknown> = {};
  for (let i = 0; i < header.length; i += 1) {
    const cell = cells[i] ?? '';
    if (cell === '') continue;
    const column = header[i]!;
    const dot = column.indexOf('.');
    if (dot < 0) {
      payload[column] = cell === BULK_NULL ? null : cellValue(cell, typeOf(column));
      continue;
    }
    // A lookup: `Owner.Email`, or `User:Owner.Email` for a polymorphic one.
    const colon = column.indexOf(':');
    const relationship = column.slice(colon + 1, dot);
    const lookup = (payload[relationship] ??= {}) as Record<string, unknown>;
    if (colon >= 0) lookup.attributes = { type: column.slice(0, colon) };
    lookup[column.slice(dot + 1)] = cell === BULK_NULL ? null : cell;
  }
  return payload;
}

function cellValue(cell: string, type: string | undefined): unknown {
  if (type !== undefined && NUMBER_TYPES.has(type)) {
    const n = Number(cell);
    return Number.isFinite(n) ? n : cell;
  }
  if (type === 'boolean') return cell === 'true' ? true : cell === 'false' ? false : cell;
  return cell;
}
