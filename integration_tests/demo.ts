/**
 * `npm run demo`: a whole sync against the bundled Salesforce emulator, as a platform would run it —
 * spec, check, discover, then write of generated rows (some deliberately bad) twice — printing a
 * readable summary. Options: `--rows N` (default 5,000), `--latency-ms N` (default 20).
 */
import { startEmulator } from './emulator/index.js';
import { logText, ofType, runCli, tempFiles, type CliResult } from './helpers/cli.js';
import { catalog, configuredStream, record, streamState, streamStatus } from './helpers/messages.js';
import { contactRow, CONTACT_COLUMNS } from './helpers/rows.js';
import { emulatorConfig } from './helpers/config.js';

function option(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  const value = at === -1 ? undefined : Number(process.argv[at + 1]);
  return value !== undefined && Number.isFinite(value) && value >= 0 ? value : fallback;
}

const rows = option('rows', 5_000);
const latencyMs = option('latency-ms', 20);
const say = (text = ''): void => void process.stdout.write(`${text}\n`);
const indent = (text: string): string =>
  text
    .split('\n')
    .map((l) => `    ${l}`)
    .join('\n');

/** Rows for the demo: every 97th deliberately broken in a way Salesforce would refuse. */
function input(version: number): string {
  let text = streamStatus('contacts', 'STARTED');
  for (let i = 0; i < rows; i += 1) {
    const row = contactRow(i, version);
    if (i % 97 === 13) row.Email = `contact${i} at example dot com`;
    if (i % 97 === 29) row.LastName = null;
    if (i % 97 === 51) row.Birthdate = '1990-02-30';
    if (i % 97 === 71) row.Title = 'T'.repeat(200);
    // Well-formed but unknown: only Salesforce can tell, and rejects just this row.
    if (i % 97 === 83) row.AccountId = '001000000000000AAA';
    text += record('contacts', row);
    if ((i + 1) % 1_000 === 0 || i === rows - 1)
      text += streamState('contacts', { synced_up_to: i + 1 }, i + 1);
  }
  return `${text}${streamStatus('contacts', 'COMPLETE')}`;
}

function summary(result: CliResult): string {
  return ofType(result, 'LOG')
    .map((m) => m.log.message as string)
    .filter((m) => /^(Summary| {2}|API requests|Daily API quota|Skipped)/.test(m))
    .join('\n');
}

async function main(): Promise<void> {
  const emulator = await startEmulator({ latencyMs });
  try {
    const config = emulatorConfig(emulator, {
      salesforce_object: 'Contact',
      sync_mode: 'upsert',
      external_id_field: 'External_ID__c',
    });
    const files = tempFiles({
      'config.json': config,
      'catalog.json': catalog(configuredStream('contacts', [...CONTACT_COLUMNS, 'AccountId'])),
    });
    say(
      `Salesforce emulator at ${emulator.url} (${latencyMs} ms per request); config and catalog in ${files.dir}`,
    );
    say();

    const spec = await runCli(['spec']);
    const props = Object.keys(
      (ofType(spec, 'SPEC')[0]!.spec.connectionSpecification.properties as object) ?? {},
    );
    say(`1. spec → one SPEC message; configuration fields: ${props.join(', ')}`);

    const check = await runCli(['check', '--config', files['config.json']!]);
    const status = ofType(check, 'CONNECTION_STATUS')[0]!.connectionStatus;
    say(`2. check → ${status.status}: ${status.message}`);

    const discover = await runCli(['discover', '--config', files['config.json']!]);
    const operations = ofType(discover, 'DESTINATION_CATALOG')[0]!.destination_catalog.operations as Array<{
      object_name: string;
      sync_mode: string;
    }>;
    const byObject = new Map<string, string[]>();
    for (const op of operations)
      byObject.set(op.object_name, [...(byObject.get(op.object_name) ?? []), op.sync_mode]);
    say(`3. discover → one DESTINATION_CATALOG with ${operations.length} operations:`);
    for (const [object, modes] of byObject) say(`     ${object}: ${modes.join(', ')}`);
    say();

    for (const [step, run, version] of [
      [4, 'first', 1],
      [5, 'second (same keys, new values: updates, no duplicates)', 2],
    ] as const) {
      emulator.resetStats();
      const started = Date.now();
      const write = await runCli(
        ['write', '--config', files['config.json']!, '--catalog', files['catalog.json']!],
        {
          stdin: input(version),
        },
      );
      const states = ofType(write, 'STATE');
      // One example per Salesforce error code.
      const rejected = new Map<string, string>();
      for (const m of ofType(write, 'LOG')) {
        const text = String(m.log.message);
        const code = /^Rejected \S+ \S+: ([A-Z_]+):/.exec(text)?.[1];
        if (code !== undefined && !rejected.has(code)) rejected.set(code, text);
      }
      say(
        `${step}. write, ${run} run: ${rows.toLocaleString('en-US')} rows in ${((Date.now() - started) / 1000).toFixed(1)} s, exit ${write.code}`,
      );
      say(`   ${states.length} state messages echoed, each after its records were written; the last:`);
      const last = states.at(-1)?.state as { destinationStats?: Record<string, number> } | undefined;
      say(indent(JSON.stringify(last ?? null)));
      // destinationStats are per state (airbyte_protocol.yaml AirbyteStateStats: "for this state
      // message"), so the last state's counts are a small part of the run: say so, or they read as totals.
      const written = last?.destinationStats?.recordCount ?? 0;
      const refused = last?.destinationStats?.rejectedRecordCount ?? 0;
      say(
        `   its destinationStats (recordCount ${written}, rejectedRecordCount ${refused}) cover only that state's span, the ${(written + refused).toLocaleString('en-US')} rows since the state before it, not the run's ${rows.toLocaleString('en-US')}: the summary below has the run's totals.`,
      );
      if (rejected.size > 0) {
        say('   rejected rows, one example per Salesforce error code (refused locally or by Salesforce):');
        for (const text of rejected.values()) say(`    ${text}`);
      }
      say('   connector summary:');
      say(indent(summary(write)));
      const stats = emulator.stats();
      say(
        `   the emulator counted ${stats.apiUsed} API requests for this run; it now holds ${emulator.count('Contact').toLocaleString('en-US')} Contacts.`,
      );
      if (write.code !== 0) say(indent(logText(write)));
      say();
    }
    const keys = emulator.records('Contact').map((r) => r.External_ID__c);
    say(
      `Result: ${keys.length.toLocaleString('en-US')} Contacts, ${new Set(keys).size.toLocaleString('en-US')} distinct keys — no duplicates after two syncs.`,
    );
  } finally {
    await emulator.close();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(
    `demo failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
