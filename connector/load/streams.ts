/**
 * Stream preparation: before the first record is read, every configured stream is resolved to its
 * Salesforce target (PRODUCT.md section 4) and checked against Describe, so a wrong object,
 * operation, key or missing required field is a config_error that costs no write. Streams that
 * write one object on one key field share a key ledger (ordering across streams, keys.ts); streams
 * of a mirrored object share the keys seen.
 */
import type { CommandContext } from '../commands/context.js';
import { apiVersionProblem } from '../commands/context.js';
import type { Config } from '../config.js';
import type { Connection } from '../connection.js';
import { ConfigError } from '../errors.js';
import { planStream, type StreamPlan } from '../mapping/record.js';
import {
  OPERATION_FOR_SYNC_MODE,
  resolveTarget,
  targetProblems,
  unknownObjectMessage,
  writeKindFor,
  type Target,
} from '../mapping/target.js';
import {
  streamKey,
  streamLabel,
  type ConfiguredAirbyteStream,
  type StreamDescriptor,
} from '../protocol/messages.js';
import { MAX_COLLECTION_RECORDS_PER_COMPOSITE } from '../salesforce/composite.js';
import type { DescribeSObject } from '../salesforce/types.js';
import { nearestName } from '../suggest.js';
import { Batcher } from './batcher.js';
import { keyFieldOf, KeyLedger, type KeyField } from './keys.js';
import { MirrorKeys } from './mirror-keys.js';
import { LoadStream, mergeItems, singleSafe, type Item, type StreamServices } from './stream.js';

/** A REST body stays well below Salesforce's request size limits; 1,000 records rarely come near it. */
const MAX_BATCH_BYTES = 6 * 1024 * 1024;
/** A batch that is not full is sent after this long, so slow sources still see their states echoed. */
export const MAX_BATCH_AGE_MS = 2_000;

/** The ledger of one object and key field (by Describe's names: `contact` and `Contact` are one object). */
function ledgerFor(
  ledgers: Map<string, KeyLedger>,
  describe: DescribeSObject,
  keyField: KeyField | undefined,
): KeyLedger {
  const id = `${describe.name}\u0000${keyField?.name ?? ''}`;
  let ledger = ledgers.get(id);
  if (ledger === undefined) {
    ledger = new KeyLedger();
    ledgers.set(id, ledger);
  }
  return ledger;
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
export async function prepareStreams(
  ctx: CommandContext,
  config: Config,
  configured: ConfiguredAirbyteStream[],
  connection: Connection,
  services: StreamServices,
): Promise<{ streams: Map<string, LoadStream>; mirrorGroups: MirrorGroup[] }> {
  const targets = configured.map((c) => ({ configured: c, target: resolveTarget(c, config) }));
  warnUnusedStreamEntries(ctx, config, configured);
  const describes = await connection.describe.many([...new Set(targets.map((t) => t.target.object))]);
  const out = new Map<string, LoadStream>();
  const ledgers = new Map<string, KeyLedger>();
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
    const plan = await planOf(
      ctx,
      config,
      connection,
      describe,
      target,
      columns,
      `stream "${label}"`,
      problems,
    );
    if (plan === undefined) continue;
    const key = streamKey(descriptor);
    const keyField = keyFieldOf(describe, target.matchingField);
    const stream = new LoadStream(
      {
        key,
        label,
        descriptor,
        target,
        describe,
        plan,
        keyField,
        tally: services.outcomes.stream(key, label, target.object, target.operation),
        ledger: ledgerFor(ledgers, describe, keyField),
        batcher: new Batcher<Item>({
          maxRecords: config.advanced.recordsPerRequest,
          maxBytes: MAX_BATCH_BYTES,
          maxAgeMs: MAX_BATCH_AGE_MS,
          // A Composite call carries 1,000 records in collections plus 20 single-record subrequests,
          // and only some rows may travel alone (singleSafe): a batch holds at most 1,000 of the others.
          limitOf: {
            max: MAX_COLLECTION_RECORDS_PER_COMPOSITE,
            counts: (item) => !singleSafe(target.operation, item),
          },
          merge: mergeItems,
        }),
      },
      services,
    );
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

/**
 * A stream's mapping plan, checked: every problem (an unknown mapping, a required field no column
 * feeds, no column for the key) goes to `problems` (undefined when there is no plan at all); the
 * columns that will not be written are told in one warning.
 */
async function planOf(
  ctx: CommandContext,
  config: Config,
  connection: Connection,
  describe: DescribeSObject,
  target: Target,
  columns: string[] | undefined,
  label: string,
  problems: string[],
): Promise<StreamPlan | undefined> {
  const where = `stream "${label}"`;
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
    problems.push(`${where}: ${(error as Error).message}`);
    return undefined;
  }
  if (plan.missingRequired.length > 0) {
    problems.push(
      `${where}: required ${target.object} field(s) ${plan.missingRequired.join(', ')} are not fed by any column: add a column with that name or a field mapping.`,
    );
  }
  if (plan.missingKey) {
    problems.push(
      `${where}: no column feeds the matching field ${target.matchingField}; add it to the stream or map a column to it.`,
    );
  }
  if (plan.dropped.length > 0) {
    ctx.logger.warn(
      `Stream "${label}" → ${target.object}: ${plan.dropped.length} column(s) will not be written: ${plan.dropped
        .map((d) => `${d.column} (${d.note})`)
        .join('; ')}.`,
    );
  }
  return plan;
}

/** The streams of one mirrored object: its mirror streams, and every stream sharing their seen keys. */
export interface MirrorGroup {
  mirrors: LoadStream[];
  writers: LoadStream[];
}

/**
 * mirror deletes the object's managed records whose key did not arrive, and a key that arrives in
 * any stream of this sync has arrived: every stream that writes a mirrored object on the same
 * matching field shares one set of seen keys (two mirror streams of one object each deleted the
 * other's records). A stream that writes the object without that key — an insert, another matching
 * field — would see its records deleted by the mirror, so that setup is refused before any write.
 */
function shareMirrorKeys(streams: Map<string, LoadStream>, problems: string[]): MirrorGroup[] {
  // By Describe's name: `contact` and `Contact` are one object, whatever the config or catalog wrote.
  const byObject = new Map<string, LoadStream[]>();
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
    const writers: LoadStream[] = [];
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
