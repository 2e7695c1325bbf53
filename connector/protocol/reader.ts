/**
 * The one reader of stdin (STYLE.md principle 3): splits the byte stream into lines, parses each as
 * an AirbyteMessage and yields it. It pulls the next chunk only when the consumer asks for the next
 * message, so a slow Salesforce slows the reading instead of filling memory (backpressure).
 *
 * The protocol says lines that are not AirbyteMessages are dropped (airbyte-protocol-notes §1.2):
 * such lines are reported through `onSkip` and never end the run.
 */
import { isUtf8 } from 'node:buffer';
import type { Readable } from 'node:stream';
import { MESSAGE_TYPES, type AirbyteMessage } from './messages.js';

/** Why a line was skipped. */
export interface SkippedLine {
  /** 1-based line number on stdin. */
  line: number;
  reason: string;
  /** The first characters of the line, for the log. */
  excerpt: string;
  /**
   * The line looks like a RECORD (its start says `"type":"RECORD"`) of this stream, as far as its
   * start tells: the row it carried cannot be written, and must be counted as rejected, not lost.
   */
  record?: { stream?: string; namespace?: string };
}

/** A skipped line, in the order of the messages around it (the write path counts its row there). */
export interface SkippedItem extends SkippedLine {
  type: 'SKIPPED';
}

/** What the reader yields: messages, and the lines it could not read, in stdin order. */
export type ReadItem = AirbyteMessage | SkippedItem;

/** Reader options. */
export interface ReaderOptions {
  /**
   * Lines longer than this many characters are not parsed (default 32 MiB). Salesforce cannot
   * store a record anywhere near that size (its largest field holds 131,072 characters), and
   * parsing one would hold several copies of it in memory.
   */
  maxLineLength?: number;
}

const DEFAULT_MAX_LINE = 32 * 1024 * 1024;
const EXCERPT = 60;
/** How much of an overlong or unreadable line is kept to tell what it was (its type and stream). */
const HEAD = 4096;
const BOM = 0xfeff;

/**
 * Lines parsed per array yielded. A chunk of input holds ~160 rows; parsed all at once, the rows
 * not yet taken stay alive as objects while the consumer waits for room (a full set of calls in
 * flight), and the young-generation collections that run meanwhile copy them, then promote them.
 * Parsed a few at a time, at most this many wait as objects; the rest wait as text.
 */
const PARSE_GROUP = 16;

/**
 * Yields what is read from `input`, in order, as arrays of at most {@link PARSE_GROUP} items: the
 * complete lines of a chunk are split at once, and parsed a group at a time, when the consumer asks
 * for the next array. Few awaits per chunk instead of one per line keep the per-row cost down; the
 * consumer still applies backpressure, because nothing more is parsed or read until it asks.
 *
 * Bytes that are not UTF-8 (the protocol's encoding) are found per line: such a RECORD is marked
 * `invalidUtf8` (its text holds replacement characters, so its values are not what the source
 * meant), and such a STATE is skipped, since it could not be echoed byte for byte.
 */
export async function* readMessageBatches(
  input: Readable,
  options: ReaderOptions = {},
): AsyncGenerator<ReadItem[]> {
  const lines = new LineParser(options);
  let carry: Buffer | undefined;
  for await (const chunk of input) {
    if (typeof chunk === 'string') {
      for (const group of lines.parsed(lines.push(chunk))) yield group;
      continue;
    }
    let bytes = chunk as Buffer;
    if (carry !== undefined) {
      bytes = Buffer.concat([carry, bytes]);
      carry = undefined;
    }
    const end = completeEnd(bytes);
    if (end < bytes.length) carry = bytes.subarray(end);
    const whole = end === bytes.length ? bytes : bytes.subarray(0, end);
    for (const group of lines.parsed(
      isUtf8(whole) ? lines.push(whole.toString('utf8')) : pushChecked(lines, whole),
    ))
      yield group;
  }
  const rest = carry === undefined ? [] : pushChecked(lines, carry);
  for (const group of lines.parsed([...rest, ...lines.end()])) yield group;
}

/**
 * The index after the last complete UTF-8 sequence: a chunk may end inside a character, whose
 * remaining bytes come with the next chunk.
 */
function completeEnd(bytes: Buffer): number {
  const n = bytes.length;
  for (let back = 1; back <= 3 && back <= n; back += 1) {
    const b = bytes[n - back]!;
    if (b < 0x80) return n; // ASCII: complete
    if (b >= 0xc0) {
      // A lead byte: is its sequence complete?
      const need = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : 2;
      return back >= need ? n : n - back;
    }
  }
  return n;
}

/** The slow path for a chunk that is not valid UTF-8: decodes it line by line and marks the bad lines. */
function pushChecked(lines: LineParser, bytes: Buffer): RawLine[] {
  let text = '';
  const bad: number[] = [];
  let from = 0;
  while (from <= bytes.length) {
    let nl = bytes.indexOf(0x0a, from);
    if (nl === -1) nl = bytes.length;
    const segment = bytes.subarray(from, nl);
    if (!isUtf8(segment)) bad.push(text.length);
    text += segment.toString('utf8');
    if (nl < bytes.length) text += '\n';
    from = nl + 1;
  }
  return lines.push(text, bad);
}

/**
 * A complete line not parsed yet: its text, or its text marked as holding bytes that were not UTF-8,
 * or the head kept of a line over the length limit.
 */
type RawLine = string | { bad: string } | { overlong: string };

/**
 * Text → complete lines → messages, keeping the unfinished last line for the next chunk. Synchronous
 * and apart from the generator above, so V8 optimises the per-line work on its own (bench/).
 */
class LineParser {
  private readonly maxLine: number;
  private pending = '';
  /** The pending line holds bytes that were not UTF-8. */
  private pendingBad = false;
  /** The pending line is over the limit: only its head is kept. */
  private overlong = false;
  /** The number of the last line parsed. */
  private lineNo = 0;

  constructor(options: ReaderOptions) {
    this.maxLine = options.maxLineLength ?? DEFAULT_MAX_LINE;
  }

  /**
   * Every line that `text` completes. `bad` lists offsets in `text` that fall in lines holding bytes
   * that were not UTF-8.
   */
  push(text: string, bad?: readonly number[]): RawLine[] {
    const batch: RawLine[] = [];
    let start = 0;
    let b = 0;
    let nl = text.indexOf('\n');
    while (nl !== -1) {
      let lineBad = this.pendingBad;
      if (bad !== undefined) {
        while (b < bad.length && bad[b]! < nl) {
          if (bad[b]! >= start) lineBad = true;
          b += 1;
        }
      }
      if (this.overlong) this.line('', lineBad, batch);
      else
        this.line(
          this.pending.length > 0 ? this.pending + text.slice(start, nl) : text.slice(start, nl),
          lineBad,
          batch,
        );
      this.pending = '';
      this.pendingBad = false;
      this.overlong = false;
      start = nl + 1;
      nl = text.indexOf('\n', start);
    }
    if (bad !== undefined && b < bad.length) this.pendingBad = true;
    if (start < text.length && !this.overlong) {
      this.pending += text.slice(start);
      if (this.pending.length > this.maxLine) {
        this.overlong = true;
        this.pending = this.pending.slice(0, HEAD);
      }
    }
    return batch;
  }

  /** A last line without a newline, if any. */
  end(): RawLine[] {
    const batch: RawLine[] = [];
    if (this.pending.length > 0 || this.overlong)
      this.line(this.overlong ? '' : this.pending, this.pendingBad, batch);
    this.pending = '';
    return batch;
  }

  /** Yields the items of `raw`, in order, parsed {@link PARSE_GROUP} lines at a time. */
  *parsed(raw: readonly RawLine[]): Generator<ReadItem[]> {
    for (let from = 0; from < raw.length; from += PARSE_GROUP) {
      const to = Math.min(raw.length, from + PARSE_GROUP);
      const group: ReadItem[] = [];
      for (let i = from; i < to; i += 1) {
        this.lineNo += 1;
        const item = this.item(raw[i]!);
        if (item !== undefined) group.push(item);
      }
      if (group.length > 0) yield group;
    }
  }

  private line(line: string, bad: boolean, into: RawLine[]): void {
    if (this.overlong) into.push({ overlong: this.pending });
    else into.push(bad ? { bad: line } : line);
  }

  /** The item of one line (undefined for a blank one), numbered {@link lineNo}. */
  private item(raw: RawLine): ReadItem | undefined {
    if (typeof raw === 'string') return parseLine(raw, this.lineNo);
    if ('overlong' in raw) {
      const head = raw.overlong;
      return skipped(this.lineNo, `line longer than ${this.maxLine} characters`, head, recordHint(head));
    }
    const item = parseLine(raw.bad, this.lineNo);
    if (item === undefined || item.type === 'SKIPPED') return item;
    if (item.type === 'RECORD') (item as { invalidUtf8?: boolean }).invalidUtf8 = true;
    else if (item.type === 'STATE') {
      return skipped(
        this.lineNo,
        'STATE with bytes that are not UTF-8 (it could not be echoed as received)',
        raw.bad,
      );
    }
    return item;
  }
}

function skipped(line: number, reason: string, text: string, record?: SkippedLine['record']): SkippedItem {
  const item: SkippedItem = { type: 'SKIPPED', line, reason, excerpt: text.slice(0, EXCERPT) };
  if (record !== undefined) item.record = record;
  return item;
}

/**
 * Whether the start of a line that could not be read says it was a RECORD, and of which stream: the
 * row it carried is then counted as rejected rather than lost. Only the head is looked at.
 */
function recordHint(head: string): SkippedLine['record'] {
  const text = head.slice(0, HEAD);
  if (!/"type"\s*:\s*"RECORD"/.test(text)) return undefined;
  const hint: { stream?: string; namespace?: string } = {};
  const stream = /"stream"\s*:\s*("(?:[^"\\]|\\.)*")/.exec(text);
  const namespace = /"namespace"\s*:\s*("(?:[^"\\]|\\.)*")/.exec(text);
  try {
    if (stream) hint.stream = JSON.parse(stream[1]!) as string;
    if (namespace) hint.namespace = JSON.parse(namespace[1]!) as string;
  } catch {
    // an escape JSON does not know: the stream stays unknown
  }
  return hint;
}

/** Yields the AirbyteMessages read from `input`, one at a time, in order; skipped lines go to `onSkip`. */
export async function* readMessages(
  input: Readable,
  options: ReaderOptions & { onSkip?: (skipped: SkippedLine) => void } = {},
): AsyncGenerator<AirbyteMessage> {
  for await (const batch of readMessageBatches(input, options)) {
    for (const item of batch) {
      if (item.type === 'SKIPPED') {
        const line: SkippedLine = { line: item.line, reason: item.reason, excerpt: item.excerpt };
        if (item.record !== undefined) line.record = item.record;
        options.onSkip?.(line);
      } else yield item;
    }
  }
}

/** Parses one line; undefined for blank lines, a SKIPPED item for non-JSON and non-messages. */
export function parseLine(raw: string, lineNo: number): AirbyteMessage | SkippedItem | undefined {
  let line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
  // A byte-order mark (some writers put one at the start of a file, or of every line) is no part of
  // the JSON: it would make the line unreadable and its record lost.
  if (line.charCodeAt(0) === BOM) line = line.slice(1);
  if (line.trim().length === 0) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (error) {
    return skipped(lineNo, `not JSON (${(error as Error).message.slice(0, 200)})`, line, recordHint(line));
  }
  const problem = messageProblem(value);
  if (problem !== undefined) {
    const hint = isObject(value) && value.type === 'RECORD' ? recordHint(line) : undefined;
    return skipped(lineNo, problem, line, hint);
  }
  const message = value as AirbyteMessage;
  // Kept to echo the state exactly as it came (state-echo.ts).
  if (message.type === 'STATE') message.raw = ownCopy(line);
  return message;
}

/**
 * `text` in a string of its own. A line is a slice of the 64 KB chunk it was decoded from, and a
 * slice keeps its whole chunk alive: a state waits for its rows to end (two Bulk jobs of 200,000 rows
 * hold 80 states, which held 5 MB of input that way), so it keeps a copy of its own line only.
 */
function ownCopy(text: string): string {
  return Buffer.from(text, 'utf8').toString('utf8');
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** What makes a parsed value not a usable AirbyteMessage, or undefined when it is one. */
function messageProblem(value: unknown): string | undefined {
  if (!isObject(value)) return 'not a JSON object';
  const type = value.type;
  if (typeof type !== 'string' || !MESSAGE_TYPES.has(type)) return 'not an AirbyteMessage (no known "type")';
  switch (type) {
    case 'RECORD': {
      const record = value.record;
      if (!isObject(record)) return 'RECORD without a "record" object';
      if (typeof record.stream !== 'string') return 'RECORD without a "stream" name';
      return undefined;
    }
    case 'STATE':
      return isObject(value.state) ? stateProblem(value.state) : 'STATE without a "state" object';
    case 'TRACE':
      return isObject(value.trace) ? undefined : 'TRACE without a "trace" object';
    default:
      return undefined;
  }
}

const STATE_TYPES: ReadonlySet<unknown> = new Set(['GLOBAL', 'STREAM', 'LEGACY']);

/**
 * What makes a state break the protocol's AirbyteStateMessage schema, or undefined when it follows it.
 * The state is echoed whole, so a state that breaks the schema would make the connector's own output
 * invalid; the protocol drops what is not a valid message (airbyte-protocol-notes §1.2), and so does this.
 * A null where an object or string may be absent is read as absent, as the platform's own (Jackson)
 * reading does: dropping a real checkpoint over it would cost far more than echoing it.
 */
function stateProblem(state: Record<string, unknown>): string | undefined {
  if (state.type !== undefined && !STATE_TYPES.has(state.type)) {
    return 'STATE whose "type" is not GLOBAL, STREAM or LEGACY';
  }
  if (state.type === 'STREAM' && (state.stream === undefined || state.stream === null))
    return 'STREAM state without a "stream" object';
  if (state.type === 'GLOBAL' && (state.global === undefined || state.global === null))
    return 'GLOBAL state without a "global" object';
  if (state.stream !== undefined && state.stream !== null) {
    const problem = streamStateProblem(state.stream);
    if (problem !== undefined) return `STATE whose "stream" ${problem}`;
  }
  if (state.global !== undefined && state.global !== null) {
    const global = state.global;
    if (!isObject(global) || !Array.isArray(global.stream_states)) {
      return 'STATE whose "global" has no "stream_states" array';
    }
    if (!absentOr(global.shared_state, isObject)) {
      return 'STATE whose "global.shared_state" is not an object';
    }
    for (const entry of global.stream_states as unknown[]) {
      const problem = streamStateProblem(entry);
      if (problem !== undefined) return `STATE with a "global.stream_states" entry that ${problem}`;
    }
  }
  if (!absentOr(state.data, isObject)) return 'STATE whose "data" is not an object';
  for (const key of ['sourceStats', 'destinationStats'] as const) {
    const stats = state[key];
    if (stats === undefined || stats === null) continue;
    if (
      !isObject(stats) ||
      (stats.recordCount !== undefined && typeof stats.recordCount !== 'number') ||
      (stats.rejectedRecordCount !== undefined && typeof stats.rejectedRecordCount !== 'number')
    ) {
      return `STATE whose "${key}" is not an object of counts`;
    }
  }
  return undefined;
}

/** AirbyteStreamState: a stream_descriptor with a name, and an object as stream_state if any. */
function streamStateProblem(value: unknown): string | undefined {
  if (!isObject(value)) return 'is not an object';
  const descriptor = value.stream_descriptor;
  if (!isObject(descriptor) || typeof descriptor.name !== 'string') {
    return 'has no "stream_descriptor" with a "name"';
  }
  if (!absentOr(descriptor.namespace, (v) => typeof v === 'string')) {
    return 'has a "stream_descriptor.namespace" that is not a string';
  }
  if (!absentOr(value.stream_state, isObject)) {
    return 'has a "stream_state" that is not an object';
  }
  return undefined;
}

/** Absent, null, or passing `test`. */
function absentOr(value: unknown, test: (value: unknown) => boolean): boolean {
  return value === undefined || value === null || test(value);
}
