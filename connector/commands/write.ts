/**
 * `write`: the write path, wired in one place (STYLE.md principle 2):
 * stdin reader → stream (mapping, batching) → sink → checkpoints → emitter, then the summary.
 *
 * Before the first record is read, every configured stream is resolved and checked
 * (load/streams.ts), so a wrong object, operation, key or missing field is a config_error that costs
 * no write. Then records stream through with bounded memory: reading pauses while the sink has as
 * much in flight as it may.
 */
import { loadCatalog } from '../catalog.js';
import type { Config } from '../config.js';
import { connect, type Connection } from '../connection.js';
import { ConfigError, isAbort, SystemError, TransientError } from '../errors.js';
import { toConnectorError } from '../failure.js';
import { Checkpoints } from '../load/checkpoints.js';
import { finishMirror } from '../load/mirror.js';
import { Outcomes } from '../load/outcomes.js';
import { Settler } from '../load/settle.js';
import { openSinks } from '../load/sinks.js';
import type { Sink } from '../load/sink.js';
import type { LoadStream } from '../load/stream.js';
import { MAX_BATCH_AGE_MS, prepareStreams, type MirrorGroup } from '../load/streams.js';
import { INVALID_UTF8, Strays } from '../load/strays.js';
import { logSummary, progressLine, warnUncoveredInserts } from '../load/summary.js';
import {
  streamKey,
  type AirbyteMessage,
  type ConfiguredAirbyteStream,
  type StreamDescriptor,
} from '../protocol/messages.js';
import { readMessageBatches, type ReadItem } from '../protocol/reader.js';
import { stateLine } from '../protocol/state-echo.js';
import type { SalesforceRecordError } from '../salesforce/types.js';
import {
  persistRotatedToken,
  readCommandConfig,
  sleepUnlessStopped,
  stopped,
  untilStopped,
  type CommandContext,
} from './context.js';

const PROGRESS_EVERY_MS = 30_000;

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

/** The parts of one run that the read loop drives. */
interface Run {
  ctx: CommandContext;
  streams: Map<string, LoadStream>;
  sink: Sink;
  checkpoints: Checkpoints;
  strays: Strays;
  recordsRead: number;
}

async function write(
  ctx: CommandContext,
  config: Config,
  configured: ConfiguredAirbyteStream[],
  connection: Connection,
  outcomes: Outcomes,
): Promise<number> {
  const started = Date.now();
  // A dry run writes nothing, so it echoes no state: the platform persists echoed states, and a cursor
  // moved past rows that were never written would make the next real sync skip them.
  let withheldStates = 0;
  const checkpoints = new Checkpoints((state, raw) => {
    if (config.advanced.dryRun) withheldStates += 1;
    else void ctx.emitter.emitLine(stateLine(raw, state, state.destinationStats!));
  });
  const services = { outcomes, checkpoints, logger: ctx.logger };
  const { streams, mirrorGroups } = await prepareStreams(ctx, config, configured, connection, services);
  const sink = await openSinks(
    {
      config,
      connection,
      settler: new Settler(outcomes, checkpoints),
      logger: ctx.logger,
      sleep: (ms) => sleepUnlessStopped(ms, ctx.signal),
      signal: ctx.signal,
    },
    streams.values(),
  );
  if (config.advanced.dryRun) {
    ctx.logger.info('Dry run: nothing will be written to Salesforce, and no state will be echoed.');
  }
  const run: Run = {
    ctx,
    streams,
    sink,
    checkpoints,
    strays: new Strays(outcomes, checkpoints, ctx.logger),
    recordsRead: 0,
  };
  const flushTimer = setInterval(() => {
    for (const s of streams.values()) if (s.batcher.due()) submit(sink, s, s.take());
  }, MAX_BATCH_AGE_MS / 2);
  const progressTimer = setInterval(
    () =>
      ctx.logger.info(
        `${progressLine(run.recordsRead, started, connection.http, outcomes)} ${sink.pace.describe()}`,
      ),
    PROGRESS_EVERY_MS,
  );
  try {
    await read(run);
  } finally {
    clearInterval(flushTimer);
    clearInterval(progressTimer);
  }
  if (!ctx.signal.aborted && sink.failure === undefined)
    for (const s of streams.values()) submit(sink, s, s.take());
  // Calls in flight finish (or fail) either way; on SIGTERM the batches not yet sent are abandoned,
  // so their records stay unacknowledged and the next sync sends them again.
  await sink.drain();
  const mirrorErrors =
    !ctx.signal.aborted && sink.failure === undefined
      ? await runMirrors(ctx, config, connection, mirrorGroups, outcomes)
      : [];
  for (const s of streams.values()) s.finish();

  logSummary(ctx.logger, {
    outcomes,
    http: connection.http,
    started,
    recordsRead: run.recordsRead,
    pendingRecords: checkpoints.pending,
    unreleasedStates: checkpoints.waitingStates,
    dryRun: config.advanced.dryRun,
    notes: [sink.pace.describe()],
  });
  if (!config.advanced.dryRun) warnUncoveredInserts(ctx.logger, streams.values(), checkpoints);
  if (withheldStates > 0) {
    ctx.logger.info(
      `Dry run: ${withheldStates} state message(s) withheld, so the source's cursor stays where it was and the next real sync sends these rows again.`,
    );
  }
  // A call cut short by the stop is part of the stop, reported below, not a failure of its own.
  if (sink.failure !== undefined && !(ctx.signal.aborted && isAbort(sink.failure))) {
    throw toConnectorError(sink.failure, config.loginUrl);
  }
  if (mirrorErrors.length > 0) throw oneError(mirrorErrors, config);
  if (ctx.signal.aborted) throw stopped(ctx.signal, run.recordsRead);
  return 0;
}

/** The read loop: every message in stdin order, until the input ends, the run stops or the sink fails. */
async function read(run: Run): Promise<void> {
  const { ctx, sink } = run;
  // A stop while the source is idle: end the read that is waiting for stdin.
  const stopReading = (): void => void ctx.stdin.destroy();
  ctx.signal.addEventListener('abort', stopReading, { once: true });
  try {
    for await (const items of readMessageBatches(ctx.stdin)) {
      // States and logs wait in stdout's buffer while its reader is slow: read no more input until
      // they have left, or memory grows with every state the platform has not taken yet.
      if (ctx.emitter.backlogged) await untilStopped(ctx.emitter.flush(), ctx.signal);
      for (const item of items) {
        if (ctx.signal.aborted || sink.failure !== undefined) return;
        if (item.type === 'RECORD') {
          run.recordsRead += 1;
          const stream = streamOf(run.streams, item.record);
          if (stream === undefined) run.strays.unknownStream(descriptorOf(item.record));
          else if (item.invalidUtf8 === true) stream.reject(INVALID_UTF8);
          else {
            const batch = stream.accept(item.record.data);
            if (batch !== undefined) {
              sink.submit(stream, batch);
              await sink.capacity(stream);
            }
          }
        } else other(run, item);
      }
    }
  } catch (error) {
    // Destroying stdin on a stop ends the read with an error; anything else is a real failure.
    if (!ctx.signal.aborted) throw error;
  } finally {
    ctx.signal.removeEventListener('abort', stopReading);
  }
}

/** Everything but a RECORD: states, stream statuses, lines that could not be read. */
function other(run: Run, item: Exclude<ReadItem, Extract<AirbyteMessage, { type: 'RECORD' }>>): void {
  if (item.type === 'STATE') run.checkpoints.state(item.state, item.raw);
  else if (item.type === 'SKIPPED') {
    if (run.strays.skippedLine(item, (descriptor, error) => rejectIn(run, descriptor, error)))
      run.recordsRead += 1;
  } else if (item.type === 'TRACE' && item.trace.type === 'STREAM_STATUS' && item.trace.stream_status) {
    const status = item.trace.stream_status;
    const stream = run.streams.get(streamKey(status.stream_descriptor));
    // COMPLETE and INCOMPLETE are final: a later RUNNING must not undo them (nor mirror's deletion).
    if (stream !== undefined && stream.status !== 'COMPLETE' && stream.status !== 'INCOMPLETE') {
      stream.status = status.status;
      if (status.status === 'COMPLETE' || status.status === 'INCOMPLETE')
        submit(run.sink, stream, stream.take());
    }
  }
}

/** A row that cannot be used as it came, rejected in its stream (or as a stray when there is none). */
function rejectIn(run: Run, descriptor: StreamDescriptor, error: SalesforceRecordError): void {
  const stream = run.streams.get(streamKey(descriptor));
  if (stream === undefined) run.strays.unknownStream(descriptor, error);
  else stream.reject(error);
}

function submit(sink: Sink, stream: LoadStream, batch: ReturnType<LoadStream['take']>): void {
  if (batch !== undefined) sink.submit(stream, batch);
}

function streamOf(
  streams: Map<string, LoadStream>,
  record: { stream: string; namespace?: string | undefined },
): LoadStream | undefined {
  return typeof record.namespace === 'string' && record.namespace !== ''
    ? streams.get(streamKey({ name: record.stream, namespace: record.namespace }))
    : streams.get(record.stream);
}

function descriptorOf(record: { stream: string; namespace?: string | undefined }): StreamDescriptor {
  return typeof record.namespace === 'string' && record.namespace !== ''
    ? { name: record.stream, namespace: record.namespace }
    : { name: record.stream };
}

/** Mirror deletions, once every record has ended; one stream's refusal does not stop the others. */
async function runMirrors(
  ctx: CommandContext,
  config: Config,
  connection: Connection,
  groups: MirrorGroup[],
  outcomes: Outcomes,
): Promise<unknown[]> {
  const errors: unknown[] = [];
  // One deletion step per object, for all the streams that share its seen keys.
  for (const { mirrors, writers } of groups) {
    try {
      await finishMirror(ctx, config, connection, mirrors, writers, outcomes);
    } catch (error) {
      errors.push(error);
    }
  }
  return errors;
}

/** Several failures as one error naming each: a fix the user must make outranks a retry. */
function oneError(errors: unknown[], config: Config): unknown {
  if (errors.length === 1) return errors[0];
  const failures = errors.map((e) => toConnectorError(e, config.loginUrl));
  const message = failures.map((f, i) => `(${i + 1}) ${f.message}`).join(' ');
  if (failures.some((f) => f instanceof ConfigError)) return new ConfigError(message);
  if (failures.some((f) => f instanceof TransientError)) return new TransientError(message);
  return new SystemError(message);
}
