/**
 * `write`: the write path, wired in one place (STYLE.md principle 2):
 * stdin reader → record mapping → batcher → loader → checkpoints → emitter.
 *
 * Before the first record is read, every configured stream is resolved to its Salesforce target and
 * checked against Describe, so a wrong object, operation, key or missing required field is a
 * config_error that costs no write. Then records stream through with bounded memory: reading pauses
 * while the loader has as many jobs in flight as it may.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { loadCatalog } from '../catalog.js';
import type { Config } from '../config.js';
import { connect, type Connection } from '../connection.js';
import { toConnectorError } from '../failure.js';
import { apiVersionProblem, persistRotatedToken, readCommandConfig, stopReason } from './context.js';
import { ConfigError, isAbort, SystemError, TransientError } from '../errors.js';
import { attributesKey, ByteArena, standalone, textOf } from '../load/arena.js';
import { Batcher } from '../load/batcher.js';
import { Checkpoints } from '../load/checkpoints.js';
import {
  Loader,
  normalizeKey,
  singleSafe,
  type Item,
  type KeyField,
  type StreamContext,
} from '../load/loader.js';
import { MAX_COLLECTION_RECORDS_PER_COMPOSITE } from '../salesforce/composite.js';
import { finishMirror, MirrorKeys } from '../load/mirror.js';
import { Outcomes, type StreamTally } from '../load/outcomes.js';
import { logSummary, progressLine } from '../load/summary.js';
import { findField } from '../mapping/fields.js';
import { mapRecord, planStream, type MapResult, type StreamPlan } from '../mapping/record.js';
import {
  OPERATION_FOR_SYNC_MODE,
  resolveTarget,
  targetProblems,
  unknownObjectMessage,
  writeKindFor,
  type Target,
} from '../mapping/target.js';
import { readMessageBatches, type SkippedItem } from '../protocol/reader.js';
import { stateLine } from '../protocol/state-echo.js';
import {
  streamKey,
  streamLabel,
  type AirbyteRecordMessage,
  type AirbyteStreamStatus,
  type ConfiguredAirbyteStream,
  type StreamDescriptor,
} from '../protocol/messages.js';
import { nearestName } from '../suggest.js';
import type { DescribeField, DescribeSObject, SalesforceRecordError } from '../salesforce/types.js';
import type { CommandContext } from './context.js';

/** A REST body stays well below Salesforce's request size limits; 1,000 records rarely come near it. */
const MAX_BATCH_BYTES = 6 * 1024 * 1024;
/** A batch that is not full is sent after this long, so slow sources still see their states echoed. */
const MAX_BATCH_AGE_MS = 2_000;
const PROGRESS_EVERY_MS = 30_000;

/** Everything the write path keeps per configured stream. */
interface WriteStream extends StreamContext {
  descriptor: StreamDescriptor;
  target: Target;
  describe: DescribeSObject;
  plan: StreamPlan;
  batcher: Batcher<Item>;
  /** Where the stream's serialised records wait for their answers. */
  arena: ByteArena;
  /** `"attributes":{"type":"<Object>"}}`, which every serialised record ends with. */
  lastKey: Buffer;
  rows: number;
  status?: AirbyteStreamStatus;
  mirror?: MirrorKeys;
  /** Late-dropped columns already reported, and the warnings that reported them. */
  lateWarned: number;
  lateWarnings: number;
}

/** Warnings listing columns that first appear in records; later ones are counted at the end. */
const MAX_LATE_WARNINGS = 10;
/** Stdin lines skipped with a warning each; later ones are counted in the summary. */
const MAX_SKIP_WARNINGS = 10;
/** Streams not in the catalog that are told and counted one by one; the rest share one count. */
const MAX_UNKNOWN_STREAMS = 20;
/** The key of RECORD lines whose stream could not be read. */
const UNREADABLE = 'unreadable\u0002';
/** The key the unknown streams beyond MAX_UNKNOWN_STREAMS share. */
const OTHER_UNKNOWN = 'unknown\u0002(other)';

/** The rejection of a row whose values the connector could not turn into a Salesforce record. */
function unusableRow(error: unknown): SalesforceRecordError {
  const what = error instanceof RangeError ? 'a value nested too deeply' : 'a value it cannot serialise';
  return {
    statusCode: 'INVALID_RECORD',
    message: `the row holds ${what} (${error instanceof Error ? error.message : String(error)}); no Salesforce field takes such a value`,
    fields: [],
  };
}

/** A RECORD line holding bytes that are not UTF-8: its text is not what the source meant to send. */
const INVALID_UTF8: SalesforceRecordError = {
  statusCode: 'INVALID_UTF8',
  message:
    'the RECORD line holds bytes that are not valid UTF-8 (the Airbyte protocol is UTF-8), so its values cannot be written as the source meant them; fix the encoding in the source',
  fields: [],
};

/** Runs write; resolves with the exit code or throws a ConnectorError. */
export async function runWrite(
  ctx: CommandContext,
  configPath: string,
  catalogPath: string,
): Promise<number> {
  const config = readCommandConfig(ctx, configPath);
  const catalog = loadCatalog(catalogPath);
  const connection = connect(config, {
    redactor: ctx.redactor,
    logger: ctx.logger,
    onRefreshTokenRotated: persistRotatedToken(ctx, config),
    // A stop must not wait out a rate-limit pause or a backoff (up to minutes): the platform's
    // grace period is shorter. An interrupted pause ends its call unanswered, so its rows stay
    // unacknowledged and the next sync sends them again.
    sleep: (ms) => sleepUnlessStopped(ms, ctx.signal),
    signal: ctx.signal,
  });
  const outcomes = new Outcomes(ctx.logger, config.advanced.rejectedRecordsPath);
  try {
    return await write(ctx, config, catalog.streams, connection, outcomes);
  } catch (error) {
    // Stopped during a pause before the first record (sign-in, Describe): the stop, not a bug.
    if (ctx.signal.aborted && isAbort(error)) throw stopped(ctx.signal, 0);
    throw toConnectorError(error, config.loginUrl);
  } finally {
    await outcomes.close();
    await connection.http.stop();
  }
}

async function write(
  ctx: CommandContext,
  config: Config,
  configured: ConfiguredAirbyteStream[],
  connection: Connection,
  outcomes: Outcomes,
): Promise<number> {
  const started = Date.now();
  const { streams, mirrorGroups } = await prepareStreams(ctx, config, configured, connection, outcomes);
  // A dry run writes nothing, so it echoes no state: the platform persists echoed states, and a cursor
  // moved past rows that were never written would make the next real sync skip them.
  let withheldStates = 0;
  const checkpoints = new Checkpoints((state, raw) => {
    if (config.advanced.dryRun) withheldStates += 1;
    else void ctx.emitter.emitLine(stateLine(raw, state, state.destinationStats!));
  });
  const loader = new Loader(connection.http, checkpoints, outcomes, ctx.logger, {
    // One job beyond the calls in flight keeps Salesforce busy while the next batch is built; more
    // would only hold more records in memory (bench/: fewer in flight, less garbage collection).
    maxJobs: config.advanced.parallelRequests + 1,
    headers: requestHeaders(config),
    lockAttempts: 5,
    lockDelayMs: 1_000,
    dryRun: config.advanced.dryRun,
    sleep: (ms) => sleepUnlessStopped(ms, ctx.signal),
  });
  if (config.advanced.dryRun) {
    ctx.logger.info('Dry run: nothing will be written to Salesforce, and no state will be echoed.');
  }

  const unknownStreams = new Map<string, StreamTally>();
  let unreadable: StreamTally | undefined;
  let recordsRead = 0;
  const flushDue = (): void => {
    for (const s of streams.values()) {
      if (s.batcher.due()) {
        const batch = s.batcher.take();
        if (batch !== undefined) loader.submit(s, batch);
      }
    }
  };
  const flushTimer = setInterval(flushDue, MAX_BATCH_AGE_MS / 2);
  const progressTimer = setInterval(
    () => ctx.logger.info(progressLine(recordsRead, started, connection.http, outcomes)),
    PROGRESS_EVERY_MS,
  );
  const keepRecords = outcomes.keepsRecords;

  /**
   * One RECORD → an item in its stream's batch; a batch it completes goes to the loader, and then
   * it returns true so that the reading loop waits for the loader's capacity.
   * Kept synchronous and apart from the reading loop: it runs for every row, and a small function
   * with the rare cases out of line is cheaper for V8 to optimise (bench/).
   */
  const accept = (record: AirbyteRecordMessage): boolean => {
    const stream =
      typeof record.namespace === 'string' && record.namespace !== ''
        ? streams.get(streamKey({ name: record.stream, namespace: record.namespace }))
        : streams.get(record.stream);
    if (stream === undefined) {
      rejectUnknownStream(ctx, outcomes, checkpoints, unknownStreams, descriptorOf(record));
      return false;
    }
    const epoch = checkpoints.arrive();
    const row = ++stream.rows;
    const data = record.data;
    if (data === null || typeof data !== 'object' || Array.isArray(data)) {
      rejectRow(stream, row, epoch, undefined, {
        statusCode: 'INVALID_RECORD',
        message: 'the RECORD message has no "data" object',
        fields: [],
      });
      return false;
    }
    let mapped: MapResult;
    let json: string;
    try {
      mapped = mapRecord(stream.plan, data);
      // The payload may be `data` itself (mapRecord): it is serialised, never changed.
      json = mapped.ok ? JSON.stringify(mapped.payload) : '';
    } catch (error) {
      // No single row may stop the sync, whatever its shape (a value nested thousands deep makes
      // JSON.stringify throw RangeError): it is refused, and the rest go on.
      rejectRow(stream, row, epoch, data, unusableRow(error));
      return false;
    }
    if (stream.plan.lateDropped.length > stream.lateWarned) warnLateColumns(ctx, stream);
    if (!mapped.ok) {
      rejectRow(stream, row, epoch, data, mapped.error);
      return false;
    }
    const arena = stream.arena;
    arena.append(json, stream.lastKey);
    let key: string | undefined;
    const rawKey = stream.keyField === undefined ? undefined : mapped.key;
    if (rawKey !== undefined) {
      key = normalizeKey(rawKey, stream.keyField!);
      stream.mirror?.add(key);
    }
    const item: Item = {
      epoch,
      row,
      chunk: arena.chunk,
      start: arena.start,
      end: arena.end,
      bytes: arena.end - arena.start,
      key,
      rawKey,
      more: undefined,
      id: undefined,
      records: keepRecords ? [data] : undefined,
    };
    const batch = stream.batcher.add(item);
    if (batch === undefined) return false;
    loader.submit(stream, batch);
    return true;
  };

  /** Ends a row that never reaches Salesforce as rejected. */
  const rejectRow = (
    stream: WriteStream,
    row: number,
    epoch: number,
    data: Record<string, unknown> | undefined,
    error: SalesforceRecordError,
  ): void => {
    const rowKey = data === undefined ? undefined : keyOf(stream, data);
    // A row Salesforce would refuse still names an entity the source has: mirror must not delete it.
    if (stream.mirror !== undefined && stream.keyField !== undefined && rowKey !== undefined) {
      stream.mirror.add(normalizeKey(rowKey, stream.keyField));
    }
    outcomes.reject(
      stream.tally,
      {
        key: rowKey === undefined ? `row ${row}` : rowKey === '' ? `row ${row} (empty key)` : rowKey,
        namespace: stream.namespace,
        record: keepRecords ? data : undefined,
      },
      error,
    );
    checkpoints.end(epoch, stream.key, 'rejected');
  };

  /**
   * A line the reader could not read. When its start says it carried a RECORD, that row is counted
   * as rejected (in its place among the states), never silently dropped; other lines are told in
   * the log, the first ones one by one and the rest as a count.
   */
  const skippedLine = (skipped: SkippedItem): void => {
    if (skipped.record !== undefined) {
      recordsRead += 1;
      const error: SalesforceRecordError = {
        statusCode: 'INVALID_RECORD',
        message: `stdin line ${skipped.line} could not be read as an Airbyte RECORD (${skipped.reason})`,
        fields: [],
      };
      const { stream, namespace } = skipped.record;
      if (stream === undefined) {
        // No stream to count it in: a tally of its own, so it still shows as rejected.
        unreadable ??= outcomes.stream(UNREADABLE, 'lines that could not be read', '(none)', '(unreadable)');
        const epoch = checkpoints.arrive();
        outcomes.reject(unreadable, { key: `row ${unreadable.rejected + 1}` }, error);
        checkpoints.end(epoch, UNREADABLE, 'rejected');
      } else rejectUnreadable(namespace ? { name: stream, namespace } : { name: stream }, error);
      return;
    }
    outcomes.skippedLines += 1;
    if (outcomes.skippedLines > MAX_SKIP_WARNINGS) return;
    ctx.logger.warn(
      `Skipped stdin line ${skipped.line}: ${skipped.reason}${skipped.excerpt ? ` (starts with ${JSON.stringify(skipped.excerpt)})` : ''}.${
        outcomes.skippedLines === MAX_SKIP_WARNINGS
          ? ' Further skipped lines are counted in the summary, not logged.'
          : ''
      }`,
    );
  };

  /** A row whose line could not be used as sent: rejected with `error` in its stream (known or not). */
  const rejectUnreadable = (descriptor: StreamDescriptor, error: SalesforceRecordError): void => {
    const stream = streams.get(streamKey(descriptor));
    if (stream === undefined) {
      rejectUnknownStream(ctx, outcomes, checkpoints, unknownStreams, descriptor, error);
      return;
    }
    rejectRow(stream, ++stream.rows, checkpoints.arrive(), undefined, error);
  };

  // A stop while the source is idle: end the read that is waiting for stdin.
  const stopReading = (): void => void ctx.stdin.destroy();
  ctx.signal.addEventListener('abort', stopReading, { once: true });
  try {
    const input = readMessageBatches(ctx.stdin);
    reading: for await (const messages of input) {
      // States and logs wait in stdout's buffer while its reader is slow: read no more input until
      // they have left, or memory grows with every state the platform has not taken yet.
      if (ctx.emitter.backlogged) await untilStopped(ctx.emitter.flush(), ctx.signal);
      for (const message of messages) {
        if (ctx.signal.aborted || loader.failure !== undefined) break reading;
        if (message.type === 'RECORD') {
          recordsRead += 1;
          if (message.invalidUtf8 === true) rejectUnreadable(descriptorOf(message.record), INVALID_UTF8);
          else if (accept(message.record)) await loader.capacity();
        } else if (message.type === 'STATE') {
          checkpoints.state(message.state, message.raw);
        } else if (message.type === 'SKIPPED') {
          skippedLine(message);
        } else if (
          message.type === 'TRACE' &&
          message.trace.type === 'STREAM_STATUS' &&
          message.trace.stream_status
        ) {
          const status = message.trace.stream_status;
          const stream = streams.get(streamKey(status.stream_descriptor));
          // COMPLETE and INCOMPLETE are final: a later RUNNING must not undo them (nor mirror's deletion).
          if (stream !== undefined && stream.status !== 'COMPLETE' && stream.status !== 'INCOMPLETE') {
            stream.status = status.status;
            if (status.status === 'COMPLETE' || status.status === 'INCOMPLETE') {
              const batch = stream.batcher.take();
              if (batch !== undefined) loader.submit(stream, batch);
            }
          }
        }
      }
    }
  } catch (error) {
    // Destroying stdin on a stop ends the read with an error; anything else is a real failure.
    if (!ctx.signal.aborted) throw error;
  } finally {
    ctx.signal.removeEventListener('abort', stopReading);
    clearInterval(flushTimer);
    clearInterval(progressTimer);
  }

  if (!ctx.signal.aborted && loader.failure === undefined) {
    for (const s of streams.values()) {
      const batch = s.batcher.take();
      if (batch !== undefined) loader.submit(s, batch);
    }
  }
  // Calls in flight finish (or fail) either way; on SIGTERM the batches not yet sent are abandoned,
  // so their records stay unacknowledged and the next sync sends them again.
  await loader.drain();

  // Mirror deletions run once every record has ended; one stream's refusal does not stop the others.
  const mirrorErrors: unknown[] = [];
  if (!ctx.signal.aborted && loader.failure === undefined) {
    // One deletion step per object, for all the streams that share its seen keys (shareMirrorKeys).
    for (const { mirrors, writers } of mirrorGroups) {
      try {
        await finishMirror(ctx, config, connection, mirrors, writers, outcomes);
      } catch (error) {
        mirrorErrors.push(error);
      }
    }
  }
  for (const s of streams.values()) {
    if (s.plan.lateDropped.length > s.lateWarned) warnLateColumns(ctx, s, true);
  }

  logSummary(ctx.logger, {
    outcomes,
    http: connection.http,
    started,
    recordsRead,
    pendingRecords: checkpoints.pending,
    unreleasedStates: checkpoints.waitingStates,
    dryRun: config.advanced.dryRun,
  });
  if (withheldStates > 0) {
    ctx.logger.info(
      `Dry run: ${withheldStates} state message(s) withheld, so the source's cursor stays where it was and the next real sync sends these rows again.`,
    );
  }
  // A call cut short by the stop is part of the stop, reported below, not a failure of its own.
  if (loader.failure !== undefined && !(ctx.signal.aborted && isAbort(loader.failure))) {
    throw toConnectorError(loader.failure, config.loginUrl);
  }
  if (mirrorErrors.length > 0) {
    if (mirrorErrors.length === 1) throw mirrorErrors[0];
    // Several mirrors failed: one error naming each. A fix the user must make outranks a retry.
    const failures = mirrorErrors.map((e) => toConnectorError(e, config.loginUrl));
    const message = failures.map((f, i) => `(${i + 1}) ${f.message}`).join(' ');
    if (failures.some((f) => f instanceof ConfigError)) throw new ConfigError(message);
    if (failures.some((f) => f instanceof TransientError)) throw new TransientError(message);
    throw new SystemError(message);
  }
  if (ctx.signal.aborted) throw stopped(ctx.signal, recordsRead);
  return 0;
}

/**
 * A `streams` entry that names no stream of the catalog changes nothing, and the stream it was meant
 * for silently takes the top-level settings: one warning per such entry, with the likely stream.
 */
function warnUnusedStreamEntries(
  ctx: CommandContext,
  config: Config,
  configured: ConfiguredAirbyteStream[],
): void {
  const names = configured.map((c) => c.stream.name);
  for (const entry of config.streams) {
    const used = configured.some(
      (c) =>
        c.stream.name === entry.streamName &&
        (entry.streamNamespace === undefined || entry.streamNamespace === c.stream.namespace),
    );
    if (used) continue;
    const near = nearestName(entry.streamName, names);
    ctx.logger.warn(
      `The streams entry for "${entry.streamName}"${entry.streamNamespace === undefined ? '' : ` (namespace "${entry.streamNamespace}")`} matches no stream of the catalog, so its settings are not used${
        near === undefined ? '' : `; did you mean "${near}"?`
      } Stream names are compared exactly.`,
    );
  }
}

/** Resolves and checks every configured stream before any record is read. */
async function prepareStreams(
  ctx: CommandContext,
  config: Config,
  configured: ConfiguredAirbyteStream[],
  connection: Connection,
  outcomes: Outcomes,
): Promise<{ streams: Map<string, WriteStream>; mirrorGroups: MirrorGroup[] }> {
  const targets = configured.map((c) => ({ configured: c, target: resolveTarget(c, config) }));
  warnUnusedStreamEntries(ctx, config, configured);
  const describes = await connection.describe.many([...new Set(targets.map((t) => t.target.object))]);
  const out = new Map<string, WriteStream>();
  const problems: string[] = [];
  let versionChecked = false;
  for (const { configured: c, target } of targets) {
    const descriptor: StreamDescriptor = {
      name: c.stream.name,
      ...(c.stream.namespace ? { namespace: c.stream.namespace } : {}),
    };
    const label = streamLabel(descriptor);
    // Without destination_object_name the config decides (PRODUCT.md section 4); a catalog asking to
    // delete (overwrite → mirror, soft_delete → remove) while the config does not is worth a word.
    const asked = OPERATION_FOR_SYNC_MODE[c.destination_sync_mode];
    if (
      target.source !== 'destination_object_name' &&
      (asked === 'mirror' || asked === 'remove') &&
      asked !== target.operation
    ) {
      ctx.logger.warn(
        `Stream "${label}": the catalog asks ${c.destination_sync_mode} (${asked}), but without destination_object_name the config decides, and it says ${target.operation}. To ${asked}, set sync_mode ${asked} in a streams entry for this stream.`,
      );
    }
    const describe = describes.get(target.object);
    if (describe instanceof Error) throw describe;
    if (describe === undefined) {
      // An API version the org does not offer makes every object look missing: say that instead
      // (asked once, for the first object missing).
      if (!versionChecked) {
        versionChecked = true;
        const version = await apiVersionProblem(config, connection);
        if (version !== undefined) throw new ConfigError(version);
      }
      const global = await connection.describe.global().catch(() => undefined);
      problems.push(`stream "${label}": ${unknownObjectMessage(target.object, global)}`);
      continue;
    }
    // Data activation renames columns with platform mappers before records arrive, so the catalog's
    // schema may not show the names records carry: those streams resolve columns from the records.
    const columns = target.source === 'destination_object_name' ? undefined : columnsOf(c.stream.json_schema);
    const found = targetProblems(target, describe, columns);
    if (found.length > 0) {
      for (const p of found) problems.push(`stream "${label}": ${p}`);
      continue;
    }
    const parents = await parentDescribes(connection, describe, target, columns);
    let plan: StreamPlan;
    try {
      plan = planStream(describe, {
        kind: writeKindFor(target.operation),
        columns: columns ?? [],
        fieldMappings: target.fieldMappings,
        ...(target.matchingField !== undefined ? { matchingField: target.matchingField } : {}),
        nullHandling: config.advanced.nullHandling,
        keyOnly: target.operation === 'remove',
        describeParent: (name) => parents.get(name),
      });
    } catch (error) {
      problems.push(`stream "${label}": ${(error as Error).message}`);
      continue;
    }
    if (plan.missingRequired.length > 0) {
      problems.push(
        `stream "${label}": required ${target.object} field(s) ${plan.missingRequired.join(', ')} are not fed by any column: add a column with that name or a field mapping.`,
      );
    }
    if (plan.missingKey) {
      problems.push(
        `stream "${label}": no column feeds the matching field ${target.matchingField}; add it to the stream or map a column to it.`,
      );
    }
    if (plan.dropped.length > 0) {
      ctx.logger.warn(
        `Stream "${label}" → ${target.object}: ${plan.dropped.length} column(s) will not be written: ${plan.dropped
          .map((d) => `${d.column} (${d.note})`)
          .join('; ')}.`,
      );
    }
    const key = streamKey(descriptor);
    const tally = outcomes.stream(key, label, target.object, target.operation);
    const stream: WriteStream = {
      key,
      label,
      descriptor,
      object: target.object,
      operation: target.operation,
      tally,
      locks: new Map(),
      target,
      describe,
      plan,
      rows: 0,
      lateWarned: 0,
      lateWarnings: 0,
      // A Composite call carries 1,000 records in collections plus 20 single-record subrequests, and
      // only some rows may travel alone (loader.ts): a batch holds at most 1,000 of the others.
      arena: new ByteArena(),
      lastKey: attributesKey(target.object),
      batcher: new Batcher<Item>({
        maxRecords: config.advanced.recordsPerRequest,
        maxBytes: MAX_BATCH_BYTES,
        maxAgeMs: MAX_BATCH_AGE_MS,
        limitOf: {
          max: MAX_COLLECTION_RECORDS_PER_COMPOSITE,
          counts: (item) => !singleSafe(target.operation, item),
        },
        merge: mergeItems,
      }),
    };
    if (descriptor.namespace !== undefined) stream.namespace = descriptor.namespace;
    const keyField = keyFieldOf(describe, target.matchingField);
    if (keyField !== undefined) stream.keyField = keyField;
    ctx.logger.info(
      `Stream "${label}" → ${target.object} ${target.operation}${target.matchingField ? ` on ${target.matchingField}` : ''} (from ${target.source}).`,
    );
    out.set(key, stream);
  }
  const mirrorGroups = shareMirrorKeys(out, problems);
  if (problems.length > 0) {
    throw new ConfigError(
      problems.length === 1 ? problems[0]! : problems.map((p, i) => `(${i + 1}) ${p}`).join(' '),
    );
  }
  return { streams: out, mirrorGroups };
}

/** The streams of one mirrored object: its mirror streams, and every stream sharing their seen keys. */
interface MirrorGroup {
  mirrors: WriteStream[];
  writers: WriteStream[];
}

/**
 * mirror deletes the object's managed records whose key did not arrive, and a key that arrives in
 * any stream of this sync has arrived: every stream that writes a mirrored object on the same
 * matching field shares one set of seen keys (two mirror streams of one object each deleted the
 * other's records). A stream that writes the object without that key — an insert, another matching
 * field — would see its records deleted by the mirror, so that setup is refused before any write.
 */
function shareMirrorKeys(streams: Map<string, WriteStream>, problems: string[]): MirrorGroup[] {
  // By Describe's name: `contact` and `Contact` are one object, whatever the config or catalog wrote.
  const byObject = new Map<string, WriteStream[]>();
  for (const s of streams.values()) {
    const group = byObject.get(s.describe.name);
    if (group === undefined) byObject.set(s.describe.name, [s]);
    else group.push(s);
  }
  const groups: MirrorGroup[] = [];
  for (const [object, group] of byObject) {
    const mirror = group.find((s) => s.operation === 'mirror');
    if (mirror === undefined) continue;
    const key = mirror.keyField!.name;
    const shared = new MirrorKeys();
    const writers: WriteStream[] = [];
    for (const s of group) {
      if (s.keyField?.name === key) {
        s.mirror = shared;
        writers.push(s);
        continue;
      }
      problems.push(
        `stream "${s.label}" ${s.operation === 'insert' ? 'inserts' : `writes (${s.operation} on ${s.keyField?.name ?? 'no key'})`} ${object} records in the same sync as mirror stream "${mirror.label}", which deletes every managed ${object} record whose ${key} did not arrive, so it could delete what this stream writes. Match this stream on ${key} too, or sync it in another connection.`,
      );
    }
    groups.push({ mirrors: writers.filter((s) => s.operation === 'mirror'), writers });
  }
  return groups;
}

/** Top-level column names of a stream's JSON schema; undefined when it lists none. */
function columnsOf(schema: Record<string, unknown> | undefined): string[] | undefined {
  const properties = schema?.properties;
  if (properties === null || typeof properties !== 'object') return undefined;
  const names = Object.keys(properties);
  return names.length > 0 ? names : undefined;
}

/**
 * Describes the parents of the lookups a stream's columns and mappings name
 * (`Account.External_ID__c`, `User:Owner.Email`), for planStream to check the parent field. A
 * lookup that arrives as an object value is left for Salesforce to judge, which costs no Describe.
 */
async function parentDescribes(
  connection: Connection,
  describe: DescribeSObject,
  target: Target,
  columns: string[] | undefined,
): Promise<Map<string, DescribeSObject>> {
  const parents = new Set<string>();
  const names = [...(columns ?? []), ...Object.values(target.fieldMappings)].filter((n) => n.includes('.'));
  for (const name of names) {
    const [head] = name.split('.');
    const typed = head!.includes(':') ? head!.split(':')[0]! : undefined;
    const relationship = head!.split(':').pop()!.toLowerCase();
    const field = describe.fields.find((f) => f.relationshipName?.toLowerCase() === relationship);
    if (field === undefined) continue;
    for (const t of field.referenceTo) {
      if (typed === undefined || t.toLowerCase() === typed.toLowerCase()) parents.add(t);
    }
  }
  const out = new Map<string, DescribeSObject>();
  if (parents.size === 0) return out;
  const described = await connection.describe.many([...parents]);
  for (const [name, d] of described) if (d !== undefined && !(d instanceof Error)) out.set(name, d);
  return out;
}

/** How a stream's key field compares values (reference §3.3: custom fields match case-insensitively only when unique and case-insensitive). */
function keyFieldOf(describe: DescribeSObject, name: string | undefined): KeyField | undefined {
  if (name === undefined) return undefined;
  if (name.toLowerCase() === 'id') return { name: 'Id', type: 'id', caseInsensitive: false, isId: true };
  const field: DescribeField | undefined = findField(describe, name);
  if (field === undefined) return undefined;
  const caseInsensitive =
    field.custom === true ? field.unique && field.caseSensitive !== true : field.caseSensitive !== true;
  return { name: field.name, type: field.type, scale: field.scale, caseInsensitive, isId: false };
}

/** Two rows for one key in one batch become one: the later row's fields over the earlier's. */
function mergeItems(earlier: Item, later: Item): Item {
  const payload = {
    ...(JSON.parse(textOf(earlier)) as Record<string, unknown>),
    ...(JSON.parse(textOf(later)) as Record<string, unknown>),
  };
  const record = standalone(JSON.stringify(payload));
  return {
    epoch: later.epoch,
    row: later.row,
    chunk: record.chunk,
    start: record.start,
    end: record.end,
    bytes: record.end - record.start,
    key: later.key,
    rawKey: later.rawKey,
    more: [...(earlier.more ?? []), earlier.epoch, ...(later.more ?? [])],
    id: undefined,
    records:
      earlier.records === undefined && later.records === undefined
        ? undefined
        : [...(earlier.records ?? []), ...(later.records ?? [])],
  };
}

/** The row's key for a log line when mapping failed before producing one. */
function keyOf(stream: WriteStream, data: Record<string, unknown>): string | undefined {
  const field = stream.plan.matchingField;
  if (field === undefined) return undefined;
  for (const [column, value] of Object.entries(data)) {
    const mapped = stream.target.fieldMappings[column] ?? column;
    if (
      mapped.toLowerCase() === field.toLowerCase() &&
      (typeof value === 'string' || typeof value === 'number')
    ) {
      return String(value);
    }
  }
  return undefined;
}

function descriptorOf(record: AirbyteRecordMessage): StreamDescriptor {
  return typeof record.namespace === 'string' && record.namespace !== ''
    ? { name: record.stream, namespace: record.namespace }
    : { name: record.stream };
}

/** A record for a stream the catalog does not configure: rejected and counted, never silently dropped. */
function rejectUnknownStream(
  ctx: CommandContext,
  outcomes: Outcomes,
  checkpoints: Checkpoints,
  unknown: Map<string, StreamTally>,
  descriptor: StreamDescriptor,
  error: SalesforceRecordError = NOT_IN_CATALOG,
): void {
  let key = streamKey(descriptor);
  let tally = unknown.get(key);
  if (tally === undefined) {
    // Work per bad input is bounded: past the first names, every other unknown stream shares one
    // tally and one key (a source sending a new name per row must not grow memory or the log).
    if (unknown.size >= MAX_UNKNOWN_STREAMS) {
      key = OTHER_UNKNOWN;
      tally = unknown.get(OTHER_UNKNOWN);
      if (tally === undefined) {
        tally = outcomes.stream(
          OTHER_UNKNOWN,
          'other streams not in the catalog',
          '(none)',
          '(not configured)',
        );
        unknown.set(OTHER_UNKNOWN, tally);
        ctx.logger.error(
          `Records of more than ${MAX_UNKNOWN_STREAMS} streams the configured catalog does not list arrived: they are rejected (UNKNOWN_STREAM), and streams after these are counted together. Add the streams to the connection, or check the source.`,
        );
      }
    } else {
      tally = outcomes.stream(`unknown\u0002${key}`, streamLabel(descriptor), '(none)', '(not configured)');
      unknown.set(key, tally);
      ctx.logger.error(
        `Records for stream "${streamLabel(descriptor)}" arrived, but the configured catalog does not list that stream: they are rejected (UNKNOWN_STREAM). Add the stream to the connection, or check the source.`,
      );
    }
  }
  const epoch = checkpoints.arrive();
  outcomes.reject(tally, { key: `row ${tally.rejected + 1}` }, error);
  checkpoints.end(epoch, key, 'rejected');
}

const NOT_IN_CATALOG: SalesforceRecordError = {
  statusCode: 'UNKNOWN_STREAM',
  message: 'the configured catalog does not list this stream',
  fields: [],
};

function warnLateColumns(ctx: CommandContext, stream: WriteStream, final = false): void {
  const fresh = stream.plan.lateDropped.slice(stream.lateWarned);
  // A source that brings a new column on every row must not bring a warning on every row.
  if (stream.lateWarnings >= MAX_LATE_WARNINGS) {
    if (!final) return;
    stream.lateWarned = stream.plan.lateDropped.length;
    ctx.logger.warn(
      `Stream "${stream.label}" → ${stream.object}: ${fresh.length} more column(s) not in the stream's schema were not written.`,
    );
    return;
  }
  stream.lateWarned = stream.plan.lateDropped.length;
  stream.lateWarnings += 1;
  ctx.logger.warn(
    `Stream "${stream.label}" → ${stream.object}: column(s) not in the stream's schema will not be written: ${fresh
      .map((d) => `${d.column} (${d.note})`)
      .join(
        '; ',
      )}.${stream.lateWarnings === MAX_LATE_WARNINGS ? ' Further such columns are counted at the end, not listed.' : ''}`,
  );
}

/** Sforce-Auto-Assign and Sforce-Duplicate-Rule-Header from the advanced settings (reference §3.7). */
function requestHeaders(config: Config): Record<string, string> {
  const headers: Record<string, string> = {};
  const rule = config.advanced.assignmentRule;
  if (rule === 'none') headers['Sforce-Auto-Assign'] = 'FALSE';
  else if (rule !== 'default') headers['Sforce-Auto-Assign'] = rule;
  if (config.advanced.duplicateRuleAllowSave) headers['Sforce-Duplicate-Rule-Header'] = 'allowSave=true';
  return headers;
}

/** Resolves with `work`, or as soon as the run is stopped (a stalled stdout must not hold a stop). */
function untilStopped(work: Promise<void>, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const done = (): void => {
      signal.removeEventListener('abort', done);
      resolve();
    };
    signal.addEventListener('abort', done, { once: true });
    void work.then(done, done);
  });
}

/** Waits `ms`, or rejects with an AbortError as soon as the run is stopped. */
function sleepUnlessStopped(ms: number, signal: AbortSignal): Promise<void> {
  return delay(ms, undefined, { signal });
}

/** The error a stopped run ends with; `signal.reason` is what main.ts gave (SIGTERM, SIGINT, a closed stdout). */
function stopped(signal: AbortSignal, recordsRead: number): TransientError {
  const reason = stopReason(signal);
  return new TransientError(
    `The sync was stopped (${reason}) after ${recordsRead} records; every finished record was acknowledged and the rest will be sent by the next sync.`,
  );
}
