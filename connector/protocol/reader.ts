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
  const maxLine = options.maxLineLength ?? DEFAULT_MAX_LINE;
  const onSkip = options.onSkip ?? (() => undefined);
  const decoder = new StringDecoder('utf8');
  let pending = '';
  let overlong = false;
  let lineNo = 0;

  const handle = (line: string, into: AirbyteMessage[]): void => {
    lineNo += 1;
    if (overlong) {
      overlong = false;
      onSkip({ line: lineNo, reason: `line longer than ${maxLine} characters`, excerpt: '' });
      return;
    }
    const message = parseLine(line, lineNo, onSkip);
    if (message !== undefined) into.push(message);
  };

  for await (const chunk of input) {
    const text = typeof chunk === 'string' ? chunk : decoder.write(chunk as Buffer);
    const batch: AirbyteMessage[] = [];
    let start = 0;
    let nl = text.indexOf('\n');
    while (nl !== -1) {
      handle(pending.length > 0 ? pending + text.slice(start, nl) : text.slice(start, nl), batch);
      pending = '';
      start = nl + 1;
      nl = text.indexOf('\n', start);
    }
    if (start < text.length && !overlong) {
      pending += text.slice(start);
      if (pending.length > maxLine) {
        overlong = true;
        pending = '';
      }
    }
    if (batch.length > 0) yield batch;
  }
  const rest = pending + decoder.end();
  if (rest.length > 0 || overlong) {
    const batch: AirbyteMessage[] = [];
    handle(rest, batch);
    if (batch.length > 0) yield batch;
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
      return isObject(value.state) ? undefined : 'STATE without a "state" object';
    case 'TRACE':
      return isObject(value.trace) ? undefined : 'TRACE without a "trace" object';
    default:
      return undefined;
  }
}
