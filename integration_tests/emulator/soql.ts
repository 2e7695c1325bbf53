/**
 * The SOQL subset a destination connector uses (reference §5.4):
 *
 *   SELECT f1, f2, Parent.f3 | COUNT() FROM Obj
 *     [WHERE cond {AND|OR cond} with parentheses and NOT]
 *     [ORDER BY f [ASC|DESC] [NULLS FIRST|LAST], …] [LIMIT n] [OFFSET n]
 *
 * conditions: `f = v`, `f != v`, `f <> v`, `<`, `<=`, `>`, `>=`, `f [NOT] IN (v, …)`, `f LIKE 'p%'`;
 * literals: strings with SOQL escapes (\' \" \\ \n \r \t \b \f \uXXXX, and \_ \% in LIKE), numbers,
 * true/false, null, date and datetime literals. Keywords are case-insensitive.
 *
 * Text comparisons are case-insensitive, as in SOQL, except on fields with caseSensitive true.
 * Errors carry Salesforce's caret format: "\n<query>\n   ^\nERROR at Row:1:Column:N\n<text>".
 */
import { normalizeId } from './ids.js';
import {
  type FieldInfo,
  type ObjectSchema,
  formatDateTime,
  indexKey,
  isValidDate,
  parseDateTime,
} from './schema.js';
import { readValue, attributes } from './read.js';
import type { Row, Store, Table } from './store.js';

/** A SOQL error: errorCode + full message. */
export class SoqlError extends Error {
  constructor(
    readonly errorCode: string,
    message: string,
  ) {
    super(message);
  }
}

type TokenType = 'ident' | 'string' | 'number' | 'date' | 'datetime' | 'punct' | 'eof';

interface Token {
  type: TokenType;
  /** Identifier / punctuation text, or the decoded string / literal text. */
  value: string;
  pos: number;
  /** Source text of the token (for messages). */
  text: string;
}

type Literal =
  | { type: 'string'; value: string }
  | { type: 'number'; value: number }
  | { type: 'boolean'; value: boolean }
  | { type: 'null' }
  | { type: 'date'; value: string }
  | { type: 'datetime'; value: string };

interface FieldPath {
  /** As written. */
  text: string;
  pos: number;
  /** Relationship field (for Parent.Field), else undefined. */
  rel: FieldInfo | undefined;
  relSchema: ObjectSchema | undefined;
  field: FieldInfo;
}

type Expr =
  | { kind: 'and' | 'or'; items: Expr[] }
  | { kind: 'not'; item: Expr }
  | { kind: 'cmp'; path: FieldPath; op: string; value: Literal }
  | { kind: 'in'; path: FieldPath; negated: boolean; values: Literal[] }
  | { kind: 'like'; path: FieldPath; pattern: RegExp };

interface OrderItem {
  path: FieldPath;
  desc: boolean;
  nullsLast: boolean;
}

/** A parsed, validated query. */
export interface ParsedQuery {
  table: Table;
  count: boolean;
  select: FieldPath[];
  where: Expr | undefined;
  order: OrderItem[];
  limit: number | undefined;
  offset: number;
}

const KEYWORDS = new Set([
  'select',
  'from',
  'where',
  'and',
  'or',
  'not',
  'in',
  'limit',
  'offset',
  'order',
  'by',
  'asc',
  'desc',
  'nulls',
  'first',
  'last',
  'like',
  'true',
  'false',
  'null',
]);

const DATETIME_LIT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?(Z|[+-]\d{2}:\d{2})/;
const DATE_LIT = /^\d{4}-\d{2}-\d{2}(?![\dT])/;
const NUMBER_LIT = /^-?\d+(\.\d+)?/;
const IDENT = /^[A-Za-z_][A-Za-z0-9_.]*/;

/** Salesforce's caret message: the query line, a caret under the column, "ERROR at Row:r:Column:c", the text. */
function caret(query: string, pos: number, text: string): string {
  const before = query.slice(0, pos);
  const row = before.split('\n').length;
  const lineStart = before.lastIndexOf('\n') + 1;
  const lineEnd = query.indexOf('\n', pos) < 0 ? query.length : query.indexOf('\n', pos);
  const column = pos - lineStart + 1;
  return `\n${query.slice(lineStart, lineEnd)}\n${' '.repeat(column - 1)}^\nERROR at Row:${row}:Column:${column}\n${text}`;
}

function tokenize(query: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const malformed = (pos: number, text: string): SoqlError =>
    new SoqlError('MALFORMED_QUERY', caret(query, pos, text));
  while (i < query.length) {
    const ch = query[i]!;
    if (/\s/.test(ch)) {
      i++;
      continue;
    }
    const rest = query.slice(i, i + 64);
    if (ch === "'") {
      let value = '';
      let j = i + 1;
      let closed = false;
      while (j < query.length) {
        const c = query[j]!;
        if (c === "'") {
          closed = true;
          j++;
          break;
        }
        if (c === '\\') {
          const e = query[j + 1];
          switch (e) {
            case "'":
            case '"':
            case '\\':
              value += e;
              break;
            case 'n':
              value += '\n';
              break;
            case 'r':
              value += '\r';
              break;
            case 't':
              value += '\t';
              break;
            case 'b':
              value += '\b';
              break;
            case 'f':
              value += '\f';
              break;
            case '_':
            case '%':
              // Only meaningful in LIKE patterns; kept escaped for the pattern compiler.
              value += '\\' + e;
              break;
            case 'u': {
              const hex = query.slice(j + 2, j + 6);
              if (!/^[0-9a-fA-F]{4}$/.test(hex))
                throw malformed(
                  j,
                  `Invalid string literal '${query.slice(i, j + 6)}'. Illegal unicode escape sequence.`,
                );
              value += String.fromCharCode(parseInt(hex, 16));
              j += 4;
              break;
            }
            default:
              throw malformed(
                j,
                `Invalid string literal '${query.slice(i, j + 2)}'. Illegal character sequence '\\${e ?? ''}' in string literal.`,
              );
          }
          j += 2;
          continue;
        }
        value += c;
        j++;
      }
      if (!closed) throw malformed(i, `line 1:${i} mismatched character '<EOF>' expecting '''`);
      tokens.push({ type: 'string', value, pos: i, text: query.slice(i, j) });
      i = j;
      continue;
    }
    let m = DATETIME_LIT.exec(rest);
    if (m !== null) {
      tokens.push({ type: 'datetime', value: m[0], pos: i, text: m[0] });
      i += m[0].length;
      continue;
    }
    m = DATE_LIT.exec(rest);
    if (m !== null) {
      tokens.push({ type: 'date', value: m[0], pos: i, text: m[0] });
      i += m[0].length;
      continue;
    }
    m = NUMBER_LIT.exec(rest);
    if (m !== null && (ch !== '-' || /\d/.test(query[i + 1] ?? ''))) {
      tokens.push({ type: 'number', value: m[0], pos: i, text: m[0] });
      i += m[0].length;
      continue;
    }
    m = IDENT.exec(query.slice(i));
    if (m !== null) {
      tokens.push({ type: 'ident', value: m[0], pos: i, text: m[0] });
      i += m[0].length;
      continue;
    }
    const two = query.slice(i, i + 2);
    if (two === '!=' || two === '<>' || two === '<=' || two === '>=') {
      tokens.push({ type: 'punct', value: two === '<>' ? '!=' : two, pos: i, text: two });
      i += 2;
      continue;
    }
    if ('(),=<>'.includes(ch)) {
      tokens.push({ type: 'punct', value: ch, pos: i, text: ch });
      i++;
      continue;
    }
    throw malformed(i, `unexpected token: '${ch}'`);
  }
  tokens.push({ type: 'eof', value: '', pos: query.length, text: '<EOF>' });
  return tokens;
}

const NO_SUCH_COLUMN_HINT =
  "If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names.";

/** Parser + validator over the store's schemas. */
class Parser {
  private i = 0;
  private readonly tokens: Token[];
  private schema: ObjectSchema | undefined;

  constructor(
    private readonly query: string,
    private readonly store: Store,
  ) {
    this.tokens = tokenize(query);
  }

  private peek(): Token {
    return this.tokens[this.i]!;
  }

  private next(): Token {
    const t = this.tokens[this.i]!;
    if (t.type !== 'eof') this.i++;
    return t;
  }

  private isKeyword(t: Token, kw: string): boolean {
    return t.type === 'ident' && t.value.toLowerCase() === kw;
  }

  private fail(t: Token, text?: string): never {
    throw new SoqlError('MALFORMED_QUERY', caret(this.query, t.pos, text ?? `unexpected token: ${t.text}`));
  }

  private expectKeyword(kw: string): Token {
    const t = this.next();
    if (!this.isKeyword(t, kw)) this.fail(t);
    return t;
  }

  private expectPunct(p: string): Token {
    const t = this.next();
    if (t.type !== 'punct' || t.value !== p) this.fail(t);
    return t;
  }

  parse(): ParsedQuery {
    this.expectKeyword('select');
    const rawSelect: Token[] = [];
    let count = false;
    const first = this.peek();
    const afterFirst = this.tokens[this.i + 1];
    if (first.type === 'ident' && first.value.toLowerCase() === 'count' && afterFirst?.value === '(') {
      this.next();
      this.expectPunct('(');
      this.expectPunct(')');
      count = true;
    } else {
      for (;;) {
        const t = this.next();
        if (t.type !== 'ident' || KEYWORDS.has(t.value.toLowerCase())) this.fail(t);
        rawSelect.push(t);
        if (this.peek().type === 'punct' && this.peek().value === ',') {
          this.next();
          continue;
        }
        break;
      }
    }
    this.expectKeyword('from');
    const objectToken = this.next();
    if (objectToken.type !== 'ident' || KEYWORDS.has(objectToken.value.toLowerCase())) this.fail(objectToken);
    const table = this.store.table(objectToken.value);
    if (table === undefined || objectToken.value.includes('.')) {
      // Recorded message (reference §3.5, CumulusCI cassette TestCountSObjects).
      throw new SoqlError(
        'INVALID_TYPE',
        caret(
          this.query,
          objectToken.pos,
          `sObject type '${objectToken.value}' is not supported. If you are attempting to use a custom object, be sure to append the '__c' after the entity name. Please reference your WSDL or the describe call for the appropriate names.`,
        ),
      );
    }
    this.schema = table.schema;
    const select = rawSelect.map((t) => this.path(t));
    let where: Expr | undefined;
    if (this.isKeyword(this.peek(), 'where')) {
      this.next();
      where = this.orExpr();
    }
    const order: OrderItem[] = [];
    if (this.isKeyword(this.peek(), 'order')) {
      this.next();
      this.expectKeyword('by');
      for (;;) {
        const t = this.next();
        if (t.type !== 'ident') this.fail(t);
        const item: OrderItem = { path: this.path(t), desc: false, nullsLast: false };
        if (this.isKeyword(this.peek(), 'asc')) this.next();
        else if (this.isKeyword(this.peek(), 'desc')) {
          this.next();
          item.desc = true;
        }
        // SOQL default: nulls first for ASC, last for DESC.
        item.nullsLast = item.desc;
        if (this.isKeyword(this.peek(), 'nulls')) {
          this.next();
          const which = this.next();
          if (this.isKeyword(which, 'last')) item.nullsLast = true;
          else if (this.isKeyword(which, 'first')) item.nullsLast = false;
          else this.fail(which);
        }
        order.push(item);
        if (this.peek().type === 'punct' && this.peek().value === ',') {
          this.next();
          continue;
        }
        break;
      }
    }
    let limit: number | undefined;
    let offset = 0;
    if (this.isKeyword(this.peek(), 'limit')) {
      this.next();
      const t = this.next();
      if (t.type !== 'number' || !/^\d+$/.test(t.value)) this.fail(t);
      limit = Number(t.value);
    }
    if (this.isKeyword(this.peek(), 'offset')) {
      this.next();
      const t = this.next();
      if (t.type !== 'number' || !/^\d+$/.test(t.value)) this.fail(t);
      offset = Number(t.value);
    }
    const end = this.peek();
    if (end.type !== 'eof') this.fail(end);
    return { table, count, select, where, order, limit, offset };
  }

  private path(t: Token): FieldPath {
    const schema = this.schema!;
    const parts = t.value.split('.');
    if (parts.length === 1) {
      const field = schema.byLower.get(t.value.toLowerCase());
      if (field === undefined) this.noSuchColumn(t, t.value, schema.name);
      return { text: t.value, pos: t.pos, rel: undefined, relSchema: undefined, field };
    }
    // Parent.Field (one level): the relationship name of a reference field.
    const [relName, fieldName] = parts as [string, string];
    const rel = schema.relByLower.get(relName.toLowerCase());
    const target =
      rel === undefined
        ? undefined
        : rel.referenceTo.map((r) => this.store.table(r)).find((x) => x !== undefined);
    if (rel === undefined || target === undefined || parts.length !== 2) {
      throw new SoqlError(
        'INVALID_FIELD',
        caret(
          this.query,
          t.pos,
          `Didn't understand relationship '${relName}' in field path. If you are attempting to use a custom relationship, be sure to append the '__r' after the custom relationship name. Please reference your WSDL or the describe call for the appropriate names.`,
        ),
      );
    }
    const field = target.schema.byLower.get(fieldName.toLowerCase());
    if (field === undefined) this.noSuchColumn(t, t.value, schema.name);
    return { text: t.value, pos: t.pos, rel, relSchema: target.schema, field };
  }

  private noSuchColumn(t: Token, name: string, entity: string): never {
    throw new SoqlError(
      'INVALID_FIELD',
      caret(this.query, t.pos, `No such column '${name}' on entity '${entity}'. ${NO_SUCH_COLUMN_HINT}`),
    );
  }

  private orExpr(): Expr {
    const items = [this.andExpr()];
    while (this.isKeyword(this.peek(), 'or')) {
      this.next();
      items.push(this.andExpr());
    }
    return items.length === 1 ? items[0]! : { kind: 'or', items };
  }

  private andExpr(): Expr {
    const items = [this.notExpr()];
    while (this.isKeyword(this.peek(), 'and')) {
      this.next();
      items.push(this.notExpr());
    }
    return items.length === 1 ? items[0]! : { kind: 'and', items };
  }

  private notExpr(): Expr {
    const t = this.peek();
    if (this.isKeyword(t, 'not')) {
      this.next();
      return { kind: 'not', item: this.notExpr() };
    }
    if (t.type === 'punct' && t.value === '(') {
      this.next();
      const e = this.orExpr();
      this.expectPunct(')');
      return e;
    }
    return this.condition();
  }

  private condition(): Expr {
    const ft = this.next();
    if (ft.type !== 'ident' || KEYWORDS.has(ft.value.toLowerCase())) this.fail(ft);
    const path = this.path(ft);
    const opTok = this.next();
    if (this.isKeyword(opTok, 'not')) {
      this.expectKeyword('in');
      return { kind: 'in', path, negated: true, values: this.list(path) };
    }
    if (this.isKeyword(opTok, 'in')) return { kind: 'in', path, negated: false, values: this.list(path) };
    if (this.isKeyword(opTok, 'like')) {
      const p = this.next();
      if (p.type !== 'string') this.fail(p);
      return { kind: 'like', path, pattern: likePattern(p.value) };
    }
    if (opTok.type !== 'punct' || !['=', '!=', '<', '<=', '>', '>='].includes(opTok.value)) this.fail(opTok);
    const value = this.literal(path);
    return { kind: 'cmp', path, op: opTok.value, value };
  }

  private list(path: FieldPath): Literal[] {
    this.expectPunct('(');
    const values: Literal[] = [];
    for (;;) {
      values.push(this.literal(path));
      const t = this.next();
      if (t.type === 'punct' && t.value === ',') continue;
      if (t.type === 'punct' && t.value === ')') break;
      this.fail(t);
    }
    return values;
  }

  /** A literal, type-checked against the field as Salesforce does. */
  private literal(path: FieldPath): Literal {
    const t = this.next();
    const f = path.field;
    const wrongType = (expected: string, quoted: boolean): never => {
      throw new SoqlError(
        'INVALID_FIELD',
        caret(
          this.query,
          t.pos,
          `value of filter criterion for field '${path.text}' must be of type ${expected} and ${quoted ? 'should be enclosed in quotes' : 'should not be enclosed in quotes'}`,
        ),
      );
    };
    if (t.type === 'ident') {
      const kw = t.value.toLowerCase();
      if (kw === 'null') return { type: 'null' };
      if (kw === 'true' || kw === 'false') {
        if (f.type !== 'boolean') wrongType(soqlTypeName(f), f.text);
        return { type: 'boolean', value: kw === 'true' };
      }
      this.fail(t);
    }
    if (t.type === 'string') {
      if (f.type === 'id' || f.type === 'reference') {
        const id = normalizeId(t.value);
        if (id === undefined) {
          throw new SoqlError(
            'INVALID_QUERY_FILTER_OPERATOR',
            caret(this.query, t.pos, `invalid ID field: ${t.value}`),
          );
        }
        return { type: 'string', value: id };
      }
      if (!f.text) wrongType(soqlTypeName(f), false);
      return { type: 'string', value: t.value };
    }
    if (t.type === 'number') {
      if (!f.numeric) wrongType(soqlTypeName(f), f.text);
      return { type: 'number', value: Number(t.value) };
    }
    if (t.type === 'date') {
      if (f.type !== 'date' || !isValidDate(t.value)) wrongType(soqlTypeName(f), f.text);
      return { type: 'date', value: t.value };
    }
    if (t.type === 'datetime') {
      const ms = parseDateTime(
        t.value.includes('.') ? t.value : t.value.replace(/(Z|[+-]\d{2}:\d{2})$/, '.000$1'),
      );
      if (f.type !== 'datetime' || ms === undefined) wrongType(soqlTypeName(f), f.text);
      return { type: 'datetime', value: formatDateTime(ms!) };
    }
    this.fail(t);
  }
}

function soqlTypeName(f: FieldInfo): string {
  if (f.type === 'datetime') return 'dateTime';
  if (f.type === 'int') return 'integer';
  if (f.type === 'currency' || f.type === 'percent') return 'double';
  if (f.text) return 'string';
  return f.type;
}

/** LIKE pattern: % any run, _ one character, \% and \_ literal; case-insensitive. */
function likePattern(pattern: string): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '\\' && (pattern[i + 1] === '%' || pattern[i + 1] === '_')) {
      re += '\\' + pattern[i + 1];
      i++;
    } else if (c === '%') re += '[\\s\\S]*';
    else if (c === '_') re += '[\\s\\S]';
    else re += c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`, 'i');
}

/** Parse and validate a query against the store. Throws {@link SoqlError}. */
export function parseQuery(query: string, store: Store): ParsedQuery {
  return new Parser(query, store).parse();
}

// ---------------------------------------------------------------------------------------------
// Evaluation

function valueOf(store: Store, path: FieldPath, schema: ObjectSchema, row: Row): unknown {
  if (path.rel === undefined) return readValue(schema, row, path.field);
  const parentId = row[path.rel.name];
  if (typeof parentId !== 'string') return null;
  const table = store.tableOfId(parentId);
  const parent = table?.rows.get(parentId);
  if (table === undefined || parent === undefined) return null;
  return readValue(table.schema, parent, path.field);
}

function compare(field: FieldInfo, a: unknown, lit: Literal): number | undefined {
  if (lit.type === 'null' || a === null || a === undefined) return undefined;
  if (typeof a === 'number' && lit.type === 'number') return a - lit.value;
  if (typeof a === 'boolean' && lit.type === 'boolean') return Number(a) - Number(lit.value);
  if (typeof a !== 'string' || !('value' in lit)) return undefined;
  let x = a;
  let y = String(lit.value);
  if (field.text && !field.caseSensitive && field.type !== 'id' && field.type !== 'reference') {
    x = x.toLowerCase();
    y = y.toLowerCase();
  }
  return x < y ? -1 : x > y ? 1 : 0;
}

function equals(field: FieldInfo, a: unknown, lit: Literal): boolean {
  if (lit.type === 'null') return a === null || a === undefined;
  return compare(field, a, lit) === 0;
}

function compile(store: Store, schema: ObjectSchema, expr: Expr): (row: Row) => boolean {
  switch (expr.kind) {
    case 'and': {
      const parts = expr.items.map((e) => compile(store, schema, e));
      return (row) => parts.every((p) => p(row));
    }
    case 'or': {
      const parts = expr.items.map((e) => compile(store, schema, e));
      return (row) => parts.some((p) => p(row));
    }
    case 'not': {
      const inner = compile(store, schema, expr.item);
      return (row) => !inner(row);
    }
    case 'like': {
      const { path, pattern } = expr;
      return (row) => {
        const v = valueOf(store, path, schema, row);
        return typeof v === 'string' && pattern.test(v);
      };
    }
    case 'in': {
      const { path, values, negated } = expr;
      const f = path.field;
      // Fast path: a set of normalized keys.
      const keys = new Set<string>();
      let hasNull = false;
      for (const v of values) {
        if (v.type === 'null') hasNull = true;
        else if ('value' in v) keys.add(normalizedLiteral(f, v));
      }
      return (row) => {
        const v = valueOf(store, path, schema, row);
        const hit = v === null || v === undefined ? hasNull : keys.has(normalizedStored(f, v));
        return negated ? !hit && v !== null && v !== undefined : hit;
      };
    }
    case 'cmp': {
      const { path, op, value } = expr;
      const f = path.field;
      return (row) => {
        const v = valueOf(store, path, schema, row);
        switch (op) {
          case '=':
            return equals(f, v, value);
          case '!=':
            return !equals(f, v, value);
          default: {
            const c = compare(f, v, value);
            if (c === undefined) return false;
            return op === '<' ? c < 0 : op === '<=' ? c <= 0 : op === '>' ? c > 0 : c >= 0;
          }
        }
      };
    }
  }
}

function normalizedLiteral(f: FieldInfo, lit: Literal): string {
  if (!('value' in lit)) return '';
  return normalizedStored(f, lit.value);
}

function normalizedStored(f: FieldInfo, v: unknown): string {
  if (typeof v === 'string') {
    return f.text && !f.caseSensitive && f.type !== 'id' && f.type !== 'reference' ? v.toLowerCase() : v;
  }
  return String(v);
}

/** Candidate ids from an index when the top-level condition allows it (Id or an indexed field, = or IN). */
function candidates(table: Table, where: Expr | undefined): string[] | undefined {
  if (where === undefined) return undefined;
  const conds = where.kind === 'and' ? where.items : [where];
  for (const c of conds) {
    if (c.kind !== 'cmp' && c.kind !== 'in') continue;
    if (c.path.rel !== undefined) continue;
    if (c.kind === 'cmp' && c.op !== '=') continue;
    if (c.kind === 'in' && c.negated) continue;
    const values = c.kind === 'cmp' ? [c.value] : c.values;
    if (values.some((v) => v.type === 'null')) continue;
    const f = c.path.field;
    if (f.name === 'Id') {
      const ids = new Set<string>();
      for (const v of values) if (v.type === 'string' && table.rows.has(v.value)) ids.add(v.value);
      return [...ids].sort();
    }
    const index = table.indexes.get(f.name);
    if (index === undefined) continue;
    const ids = new Set<string>();
    for (const v of values) {
      if (!('value' in v)) continue;
      const key = indexKey(f, v.value);
      if (key !== undefined) for (const id of index.get(key)) ids.add(id);
    }
    return [...ids].sort();
  }
  return undefined;
}

/** Matching record ids, in Id (creation) order unless ORDER BY says otherwise. */
export function executeQuery(store: Store, q: ParsedQuery, includeDeleted: boolean): string[] {
  const { table } = q;
  const schema = table.schema;
  const predicate = q.where === undefined ? undefined : compile(store, schema, q.where);
  const ids: string[] = [];
  const cand = includeDeleted ? undefined : candidates(table, q.where);
  const consider = (id: string, row: Row): void => {
    if (!includeDeleted && row.IsDeleted === true) return;
    if (predicate !== undefined && !predicate(row)) return;
    ids.push(id);
  };
  if (cand !== undefined) {
    for (const id of cand) {
      const row = table.rows.get(id);
      if (row !== undefined) consider(id, row);
    }
  } else {
    for (const [id, row] of table.rows) consider(id, row);
  }
  if (q.order.length > 0) {
    const rows = new Map(ids.map((id) => [id, table.rows.get(id)!] as const));
    ids.sort((a, b) => {
      for (const o of q.order) {
        const va = valueOf(store, o.path, schema, rows.get(a)!);
        const vb = valueOf(store, o.path, schema, rows.get(b)!);
        const na = va === null || va === undefined;
        const nb = vb === null || vb === undefined;
        if (na || nb) {
          if (na && nb) continue;
          return (na ? -1 : 1) * (o.nullsLast ? -1 : 1);
        }
        const c = compare(
          o.path.field,
          va,
          typeof vb === 'number'
            ? { type: 'number', value: vb }
            : typeof vb === 'boolean'
              ? { type: 'boolean', value: vb }
              : { type: 'string', value: typeof vb === 'string' ? vb : JSON.stringify(vb) },
        );
        if (c !== undefined && c !== 0) return o.desc ? -c : c;
      }
      return a < b ? -1 : a > b ? 1 : 0;
    });
  }
  const start = q.offset;
  const end = q.limit === undefined ? ids.length : start + q.limit;
  return start === 0 && end >= ids.length ? ids : ids.slice(start, end);
}

/** One result record: attributes + the selected fields (parent fields nested under the relationship). */
export function resultRecord(
  store: Store,
  q: ParsedQuery,
  row: Row,
  version: string,
): Record<string, unknown> {
  const schema = q.table.schema;
  const out: Record<string, unknown> = { attributes: attributes(schema, row.Id as string, version) };
  for (const path of q.select) {
    if (path.rel === undefined) {
      out[path.field.name] = readValue(schema, row, path.field);
      continue;
    }
    const relName = path.rel.relationshipName!;
    const parentId = row[path.rel.name];
    const table = typeof parentId === 'string' ? store.tableOfId(parentId) : undefined;
    const parent = table === undefined ? undefined : table.rows.get(parentId as string);
    if (table === undefined || parent === undefined) {
      out[relName] = null;
      continue;
    }
    let nested = out[relName] as Record<string, unknown> | null | undefined;
    if (nested === undefined || nested === null) {
      nested = { attributes: attributes(table.schema, parent.Id as string, version) };
      out[relName] = nested;
    }
    nested[path.field.name] = readValue(table.schema, parent, path.field);
  }
  return out;
}
