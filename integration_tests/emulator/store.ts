/**
 * In-memory record store. Per object: a Map id → record (only the fields that were set, plus the
 * system fields), and per indexed field (unique, External ID, idLookup) a Map key → id or id[] kept
 * up to date on every write, so upsert matching, unique checks and lookups never scan.
 *
 * Writes inside a transaction record an undo step, which is how allOrNone (collections, composite)
 * rolls back (reference §3.2, §3.5).
 */
import { IdGenerator } from './ids.js';
import { type FieldInfo, type ObjectSchema, type StoredValue, indexKey } from './schema.js';

/** A stored record: field API name → stored value. Never mutated in place once stored (copy on write). */
export type Row = Record<string, StoredValue>;

const NO_IDS: readonly string[] = Object.freeze([]);

/** Value → id(s) index of one field. Keys are {@link indexKey}s. */
export class FieldIndex {
  private readonly map = new Map<string, string | string[]>();

  constructor(readonly field: FieldInfo) {}

  add(key: string, id: string): void {
    const cur = this.map.get(key);
    if (cur === undefined) this.map.set(key, id);
    else if (typeof cur === 'string') {
      if (cur !== id) this.map.set(key, [cur, id]);
    } else if (!cur.includes(id)) cur.push(id);
  }

  remove(key: string, id: string): void {
    const cur = this.map.get(key);
    if (cur === undefined) return;
    if (typeof cur === 'string') {
      if (cur === id) this.map.delete(key);
      return;
    }
    const i = cur.indexOf(id);
    if (i >= 0) cur.splice(i, 1);
    if (cur.length === 1) this.map.set(key, cur[0]!);
    else if (cur.length === 0) this.map.delete(key);
  }

  get(key: string): readonly string[] {
    const cur = this.map.get(key);
    if (cur === undefined) return NO_IDS;
    return typeof cur === 'string' ? [cur] : cur;
  }

  /** The raw entry: one id, several, or none (no allocation; the hot path of upsert matching). */
  raw(key: string): string | readonly string[] | undefined {
    return this.map.get(key);
  }

  clear(): void {
    this.map.clear();
  }
}

/** An undo log; a write made within it can be rolled back. */
export class Transaction {
  private readonly steps: Array<() => void> = [];

  record(step: () => void): void {
    this.steps.push(step);
  }

  /** Undo every write, newest first. */
  rollback(): void {
    for (let i = this.steps.length - 1; i >= 0; i--) this.steps[i]!();
    this.steps.length = 0;
  }

  /** Number of writes so far (a savepoint). */
  get size(): number {
    return this.steps.length;
  }

  /** Undo the writes made after a savepoint. */
  rollbackTo(savepoint: number): void {
    for (let i = this.steps.length - 1; i >= savepoint; i--) this.steps[i]!();
    this.steps.length = savepoint;
  }
}

/** The records of one object. */
export class Table {
  readonly rows = new Map<string, Row>();
  readonly indexes = new Map<string, FieldIndex>();
  live = 0;
  /** Next auto-number (Case.CaseNumber). */
  autoNumber = 1001;

  constructor(readonly schema: ObjectSchema) {
    for (const f of schema.indexedFields) this.indexes.set(f.name, new FieldIndex(f));
  }

  /** Live record by canonical 18-character id. */
  getLive(id: string): Row | undefined {
    const row = this.rows.get(id);
    return row === undefined || row.IsDeleted === true ? undefined : row;
  }

  /** Live ids whose indexed field has this key. */
  lookup(field: FieldInfo, key: string): readonly string[] {
    return this.indexes.get(field.name)?.get(key) ?? NO_IDS;
  }

  private indexRow(row: Row, id: string, add: boolean): void {
    for (const index of this.indexes.values()) {
      const key = indexKey(index.field, row[index.field.name] ?? null);
      if (key === undefined) continue;
      if (add) index.add(key, id);
      else index.remove(key, id);
    }
  }

  insert(row: Row, txn?: Transaction): void {
    const id = row.Id as string;
    this.rows.set(id, row);
    this.live++;
    this.indexRow(row, id, true);
    txn?.record(() => {
      this.indexRow(row, id, false);
      this.rows.delete(id);
      this.live--;
    });
  }

  /** Replace a live record by a new version (copy on write). */
  replace(id: string, next: Row, txn?: Transaction): void {
    const prev = this.rows.get(id);
    if (prev === undefined) return;
    this.swap(id, prev, next);
    txn?.record(() => this.swap(id, next, prev));
  }

  private swap(id: string, from: Row, to: Row): void {
    for (const index of this.indexes.values()) {
      const name = index.field.name;
      const a = from[name] ?? null;
      const b = to[name] ?? null;
      if (a === b) continue;
      const ka = indexKey(index.field, a);
      const kb = indexKey(index.field, b);
      if (ka === kb) continue;
      if (ka !== undefined) index.remove(ka, id);
      if (kb !== undefined) index.add(kb, id);
    }
    this.rows.set(id, to);
  }

  /** Soft delete: the record goes to the "recycle bin" (IsDeleted true, still visible to queryAll). */
  softDelete(id: string, deleted: Row, txn?: Transaction): void {
    const prev = this.rows.get(id);
    if (prev === undefined || prev.IsDeleted === true) return;
    this.indexRow(prev, id, false);
    this.rows.set(id, deleted);
    this.live--;
    txn?.record(() => {
      this.rows.set(id, prev);
      this.indexRow(prev, id, true);
      this.live++;
    });
  }

  /** Hard delete (Bulk hardDelete): gone for queryAll too. */
  hardDelete(id: string, txn?: Transaction): void {
    const prev = this.rows.get(id);
    if (prev === undefined) return;
    const wasLive = prev.IsDeleted !== true;
    if (wasLive) {
      this.indexRow(prev, id, false);
      this.live--;
    }
    this.rows.delete(id);
    txn?.record(() => {
      this.rows.set(id, prev);
      if (wasLive) {
        this.indexRow(prev, id, true);
        this.live++;
      }
    });
  }

  clear(): void {
    this.rows.clear();
    for (const index of this.indexes.values()) index.clear();
    this.live = 0;
  }
}

/** All tables, by canonical object name and by key prefix. */
export class Store {
  readonly tables = new Map<string, Table>();
  private readonly byLower = new Map<string, Table>();
  private readonly byPrefix = new Map<string, Table>();
  readonly ids = new IdGenerator();

  add(schema: ObjectSchema): Table {
    const table = new Table(schema);
    this.tables.set(schema.name, table);
    this.byLower.set(schema.name.toLowerCase(), table);
    if (schema.keyPrefix !== '') this.byPrefix.set(schema.keyPrefix, table);
    return table;
  }

  /** Table by object name, case-insensitively (Salesforce resolves API names case-insensitively). */
  table(name: string): Table | undefined {
    return this.byLower.get(name.toLowerCase());
  }

  /** Table owning an id (by its key prefix). */
  tableOfId(id: string): Table | undefined {
    return this.byPrefix.get(id.slice(0, 3));
  }

  clear(): void {
    for (const t of this.tables.values()) t.clear();
  }
}
