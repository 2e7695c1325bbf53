/**
 * Input that reaches no configured stream: records of streams the catalog does not list, RECORD
 * lines that could not be read, and lines that are no Airbyte message at all. A row among them is
 * rejected and counted in its place among the states, never silently dropped; the work per bad input
 * is bounded (a source that sends a new stream name per row must not grow memory or the log).
 */
import type { Logger } from '../logger.js';
import { streamKey, streamLabel, type StreamDescriptor } from '../protocol/messages.js';
import type { SkippedItem } from '../protocol/reader.js';
import type { SalesforceRecordError } from '../salesforce/types.js';
import type { Checkpoints } from './checkpoints.js';
import type { Outcomes, StreamTally } from './outcomes.js';

/** Streams not in the catalog that are told and counted one by one; the rest share one count. */
const MAX_UNKNOWN_STREAMS = 20;
/** Stdin lines skipped with a warning each; later ones are counted in the summary. */
const MAX_SKIP_WARNINGS = 10;
/** The key the unknown streams beyond MAX_UNKNOWN_STREAMS share. */
const OTHER_UNKNOWN = 'unknown\u0002(other)';
/** The key of RECORD lines whose stream could not be read. */
const UNREADABLE = 'unreadable\u0002';

const NOT_IN_CATALOG: SalesforceRecordError = {
  statusCode: 'UNKNOWN_STREAM',
  message: 'the configured catalog does not list this stream',
  fields: [],
};

/** A RECORD line holding bytes that are not UTF-8: its text is not what the source meant to send. */
export const INVALID_UTF8: SalesforceRecordError = {
  statusCode: 'INVALID_UTF8',
  message:
    'the RECORD line holds bytes that are not valid UTF-8 (the Airbyte protocol is UTF-8), so its values cannot be written as the source meant them; fix the encoding in the source',
  fields: [],
};

/** Counts and reports the rows and lines no configured stream takes. */
export class Strays {
  private readonly unknown = new Map<string, StreamTally>();
  private unreadableTally: StreamTally | undefined;

  constructor(
    private readonly outcomes: Outcomes,
    private readonly checkpoints: Checkpoints,
    private readonly logger: Logger,
  ) {}

  /** A row of a stream the catalog does not list. */
  unknownStream(descriptor: StreamDescriptor, error: SalesforceRecordError = NOT_IN_CATALOG): void {
    let key = streamKey(descriptor);
    let tally = this.unknown.get(key);
    if (tally === undefined) {
      if (this.unknown.size >= MAX_UNKNOWN_STREAMS) {
        key = OTHER_UNKNOWN;
        tally = this.unknown.get(OTHER_UNKNOWN) ?? this.otherStreams();
      } else {
        tally = this.outcomes.stream(
          `unknown\u0002${key}`,
          streamLabel(descriptor),
          '(none)',
          '(not configured)',
        );
        this.unknown.set(key, tally);
        this.logger.error(
          `Records for stream "${streamLabel(descriptor)}" arrived, but the configured catalog does not list that stream: they are rejected (UNKNOWN_STREAM). Add the stream to the connection, or check the source.`,
        );
      }
    }
    this.rejectOne(tally, key, error);
  }

  /**
   * A line the reader could not read. When its start says it carried a RECORD, that row is counted
   * as rejected in its stream (`rejectIn`, or this class when the stream is unknown or unreadable);
   * other lines are told in the log, the first ones one by one and the rest as a count.
   */
  skippedLine(
    skipped: SkippedItem,
    rejectIn: (descriptor: StreamDescriptor, error: SalesforceRecordError) => void,
  ): boolean {
    if (skipped.record !== undefined) {
      const error: SalesforceRecordError = {
        statusCode: 'INVALID_RECORD',
        message: `stdin line ${skipped.line} could not be read as an Airbyte RECORD (${skipped.reason})`,
        fields: [],
      };
      const { stream, namespace } = skipped.record;
      if (stream !== undefined) rejectIn(namespace ? { name: stream, namespace } : { name: stream }, error);
      else {
        this.unreadableTally ??= this.outcomes.stream(
          UNREADABLE,
          'lines that could not be read',
          '(none)',
          '(unreadable)',
        );
        this.rejectOne(this.unreadableTally, UNREADABLE, error);
      }
      return true;
    }
    const count = (this.outcomes.skippedLines += 1);
    if (count <= MAX_SKIP_WARNINGS) {
      this.logger.warn(
        `Skipped stdin line ${skipped.line}: ${skipped.reason}${skipped.excerpt ? ` (starts with ${JSON.stringify(skipped.excerpt)})` : ''}.${
          count === MAX_SKIP_WARNINGS ? ' Further skipped lines are counted in the summary, not logged.' : ''
        }`,
      );
    }
    return false;
  }

  private otherStreams(): StreamTally {
    const tally = this.outcomes.stream(
      OTHER_UNKNOWN,
      'other streams not in the catalog',
      '(none)',
      '(not configured)',
    );
    this.unknown.set(OTHER_UNKNOWN, tally);
    this.logger.error(
      `Records of more than ${MAX_UNKNOWN_STREAMS} streams the configured catalog does not list arrived: they are rejected (UNKNOWN_STREAM), and the streams after these are counted together. Add the streams to the connection, or check the source.`,
    );
    return tally;
  }

  private rejectOne(tally: StreamTally, key: string, error: SalesforceRecordError): void {
    const epoch = this.checkpoints.arrive();
    this.outcomes.reject(tally, { key: `row ${tally.rejected + 1}`, local: true }, error);
    this.checkpoints.end(epoch, key, 'rejected');
  }
}
