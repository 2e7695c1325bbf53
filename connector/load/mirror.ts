/**
 * mirror's deletion step (PRODUCT.md section 5): after a stream has COMPLETEd, delete the object's
 * managed records (non-empty matching field) whose key did not arrive in this sync — guarded, because
 * deletion is where a connector can destroy a customer's data:
 * - never on a stream that ended INCOMPLETE or without a status;
 * - never when the stream brought zero rows (an empty source is usually a broken one), unless allowed;
 * - never more than the configured share of the managed records that existed before the sync (default 20 %).
 * A refusal is a config_error and deletes nothing.
 */
import type { Config } from '../config.js';
import type { Connection } from '../connection.js';
import { ConfigError } from '../errors.js';
import { sleepUnlessStopped, type CommandContext } from '../commands/context.js';
import type { StreamDescriptor } from '../protocol/messages.js';
import { queryPages, soqlIdentifier } from '../salesforce/query.js';
import { normalizeKey } from './keys.js';
import type { MirrorKeys } from './mirror-keys.js';
import { deleteRecords } from './mirror-delete.js';
import type { StreamContext } from './stream.js';
import type { Outcomes } from './outcomes.js';

/** What finishMirror needs of a stream. */
export interface MirrorStream extends StreamContext {
  descriptor: StreamDescriptor;
  mirror: MirrorKeys | undefined;
  status: string | undefined;
  rows: number;
}

/**
 * Runs the deletion step for the mirror streams of one object, or says why it does not. `mirrors`
 * share one set of seen keys with every stream of this sync that writes the object on the same
 * key (`writers`, the mirrors among them): a key that arrived in any of them is kept. The step runs
 * once for the object, after every mirror stream of it has COMPLETEd. Throws ConfigError when the
 * guard refuses (after logging what it found), deleting nothing.
 *
 * The guard's share is of the managed records that existed before this sync: the query runs after
 * the writes, so the records this sync created are taken out of its count, or a source that
 * replaced every key would pass the guard by adding as many new ones (and a dry run, which creates
 * nothing, would judge differently from the real run).
 */
export async function finishMirror(
  ctx: CommandContext,
  config: Config,
  connection: Connection,
  mirrors: readonly MirrorStream[],
  writers: readonly MirrorStream[],
  outcomes: Outcomes,
): Promise<void> {
  const stream = mirrors[0]!;
  const seen = stream.mirror!;
  const keyField = stream.keyField!;
  const { logger } = ctx;
  const names = mirrors.map((m) => `"${m.label}"`).join(', ');
  const what = `mirror of ${names} → ${stream.object}`;
  for (const other of mirrors.slice(1)) other.tally.mirrorSharedWith = stream.label;
  const open = mirrors.filter((m) => m.status !== 'COMPLETE');
  if (open.length > 0) {
    const reasons = open.map(
      (m) =>
        `${mirrors.length === 1 ? 'the stream' : `"${m.label}"`} ${m.status === 'INCOMPLETE' ? 'ended INCOMPLETE' : 'sent no COMPLETE status'}`,
    );
    logger.warn(
      `${what}: no records deleted, because ${reasons.join(' and ')}; mirror deletes only after every stream that mirrors ${stream.object} completes.`,
    );
    stream.tally.mirrorSkipped = open.some((m) => m.status === 'INCOMPLETE')
      ? 'stream INCOMPLETE'
      : 'no COMPLETE status';
    return;
  }
  const rows = mirrors.reduce((sum, m) => sum + m.rows, 0);
  if (rows === 0 && !config.advanced.mirrorAllowEmptySource) {
    stream.tally.mirrorSkipped = 'stream brought zero rows';
    throw new ConfigError(
      `${what}: the stream brought zero rows, so mirroring would delete every managed ${stream.object} record; nothing was deleted. If the source really is empty, set advanced.mirror_allow_empty_source to true for one sync.`,
      { stream: stream.descriptor },
    );
  }
  const created = writers.reduce((sum, w) => sum + w.tally.changes.created, 0);
  const field = soqlIdentifier(keyField.name);
  const soql = `SELECT Id, ${field} FROM ${soqlIdentifier(stream.object)} WHERE ${field} != null`;
  const before = stream.tally.requests;
  const doomed: Array<{ id: string; key: string }> = [];
  let managed = 0;
  let existing = 0;
  let limit = Infinity;
  const percent = config.advanced.mirrorMaxDeletePercent;
  for await (const page of queryPages<Record<string, unknown>>(connection.http, soql, {
    counter: stream.tally,
  })) {
    if (limit === Infinity) {
      existing = Math.max(0, page.totalSize - created);
      limit = Math.floor((existing * percent) / 100);
    }
    for (const record of page.records) {
      const raw = record[keyField.name];
      if (typeof raw !== 'string' && typeof raw !== 'number') continue;
      if (raw === '') continue;
      managed += 1;
      const key = normalizeKey(String(raw), keyField);
      if (!seen.has(key)) doomed.push({ id: String(record.Id), key: String(raw) });
    }
    if (doomed.length > limit) break;
  }
  stream.tally.mirrorManaged = managed;
  if (doomed.length > limit) {
    stream.tally.mirrorSkipped = 'deletion guard';
    throw new ConfigError(
      `${what}: deleting the ${stream.object} records whose ${keyField.name} did not arrive would remove more than ${percent} % of the managed records that existed before this sync (at least ${doomed.length} of ${existing}), above the guard; nothing was deleted. If the source really dropped them, raise advanced.mirror_max_delete_percent for one sync.`,
      { stream: stream.descriptor },
    );
  }
  if (config.advanced.dryRun) {
    for (const d of doomed) outcomes.wouldChange(stream.tally, 'delete (mirror)', d.key);
    if (doomed.length === 0) stream.tally.wouldChange.set('delete (mirror)', 0);
    logger.info(`${what} (dry run): would delete ${doomed.length} of ${managed} managed records.`);
    return;
  }
  const advanced = config.advanced;
  const route =
    advanced.writeApi === 'bulk' ||
    (advanced.writeApi === 'auto' && doomed.length >= advanced.bulkThresholdRows)
      ? 'bulk'
      : 'rest';
  const { deleted, failed, stopped } = await deleteRecords(
    {
      connection,
      logger,
      counter: stream.tally,
      route,
      sleep: (ms) => sleepUnlessStopped(ms, ctx.signal),
      signal: ctx.signal,
      label: what,
    },
    stream.object,
    doomed,
  );
  stream.tally.mirrorDeleted = deleted;
  stream.tally.mirrorFailed = failed;
  logger.info(
    `${what}: deleted ${deleted} of ${managed} managed records whose ${keyField.name} did not arrive${
      failed.size > 0 ? `; ${[...failed].map(([c, n]) => `${n} failed with ${c}`).join(', ')}` : ''
    }${stopped ? '; the run stopped before the rest, which the next sync deletes' : ''} (${stream.tally.requests - before} API requests${route === 'bulk' ? ', Bulk API 2.0' : ''}).`,
  );
}
