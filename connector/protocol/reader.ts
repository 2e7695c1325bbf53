/**
 * The one reader of stdin (STYLE.md principle 3): splits the byte stream into lines, parses each as
 * an AirbyteMessage and yields it. It pulls the next chunk only when the consumer asks for the next
 * message, so a slow Salesforce slows the reading instead of filling memory (backpressure).
 *
 * The protocol says lines that are not AirbyteMessages are dropped (airbyte-protocol-notes §1.2):
 * such lines are reported through `onSkip` and never end the run.
 */
import { StringDecoder } from 'node:string_decoder';
import type { Readable } from 'node:stream';
import { MESSAGE_TYPES, type AirbyteMessage } from './messages.js';

/** Why a line was skipped. */
export interface SkippedLine {
  /** 1-based line number on stdin. */
  line: number;
  reason: string;
  /** The first characters of the line, for the log. */
  excerpt: string;
}

/** Reader options. */
export interface ReaderOptions {
  /** Lines longer than this many characters are skipped, not buffered further (default 128 MiB). */
  maxLineLength?: number;
  onSkip?: (skipped: SkippedLine) => void;
}

const DEFAULT_MAX_LINE = 128 * 1024 * 1024;
const EXCERPT = 60;

/**
 * Yields the AirbyteMessages read from `input`, in order, as arrays: every complete line of a chunk
 * at once. One await per chunk instead of one per line keeps the per-row cost down; the consumer
 * still applies backpressure, because the next chunk is read only when it asks for the next array.
 */
export async function* readMessageBatches(
  input: Readable,
  options: ReaderOptions = {},
): AsyncGenerator<AirbyteMessage[]> {
  const decoder = new StringDecoder('utf8');
  const lines = new LineParser(options);
  for await (const chunk of input) {
    const batch = lines.push(typeof chunk === 'string' ? chunk : decoder.write(chunk as Buffer));
    if (batch.length > 0) yield batch;
  }
  const batch = lines.end(decoder.end());
  if (batch.length > 0) yield batch;
}

/**
 * Text → complete lines → messages, keeping the unfinished last line for the next chunk. Synchronous
 * and apart from the generator above, so V8 optimises the per-line work on its own (bench/).
 */
class LineParser {
  private readonly maxLine: number;
  private readonly onSkip: (skipped: SkippedLine) => void;
  private pending = '';
  private overlong = false;
  private lineNo = 0;

  constructor(options: ReaderOptions) {
    this.maxLine = options.maxLineLength ?? DEFAULT_MAX_LINE;
    this.onSkip = options.onSkip ?? (() => undefined);
  }

  /** The messages of every line that `text` completes. */
  push(text: string): AirbyteMessage[] {
    const batch: AirbyteMessage[] = [];
    let start = 0;
    let nl = text.indexOf('\n');
    while (nl !== -1) {
      this.line(
        this.pending.length > 0 ? this.pending + text.slice(start, nl) : text.slice(start, nl),
        batch,
      );
      this.pending = '';
      start = nl + 1;
      nl = text.indexOf('\n', start);
    }
    if (start < text.length && !this.overlong) {
      this.pending += text.slice(start);
      if (this.pending.length > this.maxLine) {
        this.overlong = true;
        this.pending = '';
      }
    }
    return batch;
  }

  /** The message of a last line without a newline, if any. */
  end(text: string): AirbyteMessage[] {
    const batch: AirbyteMessage[] = [];
    const rest = this.pending + text;
    this.pending = '';
    if (rest.length > 0 || this.overlong) this.line(rest, batch);
    return batch;
  }

  private line(line: string, into: AirbyteMessage[]): void {
    this.lineNo += 1;
    if (this.overlong) {
      this.overlong = false;
      this.onSkip({ line: this.lineNo, reason: `line longer than ${this.maxLine} characters`, excerpt: '' });
      return;
    }
    const message = parseLine(line, this.lineNo, this.onSkip);
    if (message !== undefined) into.push(message);
  }
}

/** Yields the AirbyteMessages read from `input`, one at a time, in order. */
export async function* readMessages(
  input: Readable,
  options: ReaderOptions = {},
): AsyncGenerator<AirbyteMessage> {
  for await (const batch of readMessageBatches(input, options)) yield* batch;
}

/** Parses one line; undefined (after reporting) for blank lines, non-JSON and non-messages. */
export function parseLine(
  raw: string,
  lineNo: number,
  onSkip: (skipped: SkippedLine) => void,
): AirbyteMessage | undefined {
  const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
  if (line.trim().length === 0) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (error) {
    onSkip({
      line: lineNo,
      reason: `not JSON (${(error as Error).message})`,
      excerpt: line.slice(0, EXCERPT),
    });
    return undefined;
  }
  const problem = messageProblem(value);
  if (problem !== undefined) {
    onSkip({ line: lineNo, reason: problem, excerpt: line.slice(0, EXCERPT) });
    return undefined;
  }
  return value as AirbyteMessage;
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
