/**
 * A STATE echoed as it was received. The platform stores the state a destination echoes and hands
 * it back to the source as the cursor of the next sync, so the echo must carry exactly what the
 * source sent: parsed and re-serialised, a cursor such as 1234567890123456789 would come back as
 * 1234567890123456800 (past 2^53 a JavaScript number rounds), 1e400 as null, and the next sync would
 * skip rows. So the received line is kept, and only `destinationStats` is written into it
 * (PRODUCT.md section 7: "the received object is echoed whole"; airbyte-protocol-notes §1.4).
 *
 * The scanner below walks the line without recursion (a state may nest deeply) and without parsing
 * values it does not need; it is only ever given lines JSON.parse accepted.
 */

/** Where a member of a JSON object sits in the text. */
interface Member {
  key: string;
  /** Index of the value's first character, and one past its last. */
  start: number;
  end: number;
}

/** Index of the next character that is not JSON whitespace. */
function skipSpace(text: string, at: number): number {
  let i = at;
  for (;;) {
    const c = text.charCodeAt(i);
    if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) i += 1;
    else return i;
  }
}

/** One past the closing quote of the string starting at `at` (a `"`). */
function stringEnd(text: string, at: number): number {
  let i = at + 1;
  for (;;) {
    const c = text.charCodeAt(i);
    if (c === 0x22) return i + 1;
    if (c === 0x5c) i += 2;
    else if (Number.isNaN(c)) throw new SyntaxError('unterminated string');
    else i += 1;
  }
}

/** One past the end of the value starting at `at`. Iterative: depth costs no stack. */
function valueEnd(text: string, at: number): number {
  const first = text.charCodeAt(at);
  if (first === 0x22) return stringEnd(text, at);
  if (first !== 0x7b && first !== 0x5b) {
    // A number, true, false or null: up to the next delimiter.
    let i = at;
    for (;;) {
      const c = text.charCodeAt(i);
      if (Number.isNaN(c) || c === 0x2c || c === 0x7d || c === 0x5d || c <= 0x20) return i;
      i += 1;
    }
  }
  let depth = 0;
  let i = at;
  for (;;) {
    const c = text.charCodeAt(i);
    if (Number.isNaN(c)) throw new SyntaxError('unterminated value');
    if (c === 0x22) {
      i = stringEnd(text, i);
      continue;
    }
    if (c === 0x7b || c === 0x5b) depth += 1;
    else if (c === 0x7d || c === 0x5d) {
      depth -= 1;
      if (depth === 0) return i + 1;
    }
    i += 1;
  }
}

/** The members of the object whose `{` is at `at`, and the index of its closing `}`. */
function members(text: string, at: number): { list: Member[]; close: number } {
  const list: Member[] = [];
  let i = skipSpace(text, at + 1);
  if (text.charCodeAt(i) === 0x7d) return { list, close: i };
  for (;;) {
    const keyEnd = stringEnd(text, i);
    const key = JSON.parse(text.slice(i, keyEnd)) as string;
    i = skipSpace(text, keyEnd);
    i = skipSpace(text, i + 1); // past ':'
    const end = valueEnd(text, i);
    list.push({ key, start: i, end });
    i = skipSpace(text, end);
    if (text.charCodeAt(i) === 0x7d) return { list, close: i };
    i = skipSpace(text, i + 1); // past ','
  }
}

/** The last member named `key` (JSON.parse keeps the last of duplicate keys, and so does this). */
function last(list: Member[], key: string): Member | undefined {
  for (let i = list.length - 1; i >= 0; i -= 1) if (list[i]!.key === key) return list[i];
  return undefined;
}

/**
 * The STATE line to echo: `raw` (the received line, which JSON.parse accepted) with the state's
 * `destinationStats` set to `stats`, every other byte as received. Without `raw` (a state built
 * here), the message is serialised.
 */
export function stateLine(
  raw: string | undefined,
  state: Record<string, unknown>,
  stats: Record<string, unknown>,
): string {
  if (raw !== undefined) {
    try {
      return splice(raw, stats);
    } catch {
      // Not the shape expected (cannot happen for a line the reader accepted): serialise instead.
    }
  }
  return JSON.stringify({ type: 'STATE', state: { ...state, destinationStats: stats } });
}

function splice(raw: string, stats: Record<string, unknown>): string {
  const top = members(raw, skipSpace(raw, 0));
  const state = last(top.list, 'state');
  if (state === undefined || raw.charCodeAt(state.start) !== 0x7b) throw new SyntaxError('no state object');
  const inner = members(raw, state.start);
  const existing = last(inner.list, 'destinationStats');
  if (existing !== undefined) {
    let merged: Record<string, unknown> = stats;
    const before = JSON.parse(raw.slice(existing.start, existing.end)) as unknown;
    if (before !== null && typeof before === 'object' && !Array.isArray(before))
      merged = { ...before, ...stats };
    return raw.slice(0, existing.start) + JSON.stringify(merged) + raw.slice(existing.end);
  }
  const member = `"destinationStats":${JSON.stringify(stats)}`;
  const at = inner.close;
  return raw.slice(0, at) + (inner.list.length > 0 ? `,${member}` : member) + raw.slice(at);
}
