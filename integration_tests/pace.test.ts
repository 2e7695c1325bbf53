/**
 * `parallel_requests: auto` through the built CLI (PRODUCT.md sections 3 and 11): it climbs while
 * the org keeps pace, and backs off on each signal the org gives — lock errors, ConcurrentPerOrgLongTxn,
 * 503, a call nearing 20 s — while every row still ends committed or rejected and states leave in order.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { startEmulator, type Emulator } from './emulator/index.js';
import { logText, ofType, type CliResult } from './helpers/cli.js';
import { catalog, configuredStream, record, streamState } from './helpers/messages.js';
import { contactRow, CONTACT_COLUMNS } from './helpers/rows.js';
import { emulatorConfig, runWrite } from './helpers/setup.js';

let emulator: Emulator;
beforeAll(async () => {
  emulator = await startEmulator();
});
afterAll(async () => emulator.close());
beforeEach(() => {
  emulator.reset();
  emulator.resetStats();
  emulator.configure({
    latencyMs: 0,
    latencyPerRecordMs: 0,
    lockContention: false,
    longRunningThresholdMs: 20_000,
    maxLongRunning: 25,
  });
});

function input(n: number, stateEvery = 100): string {
  let text = '';
  for (let i = 0; i < n; i += 1) {
    text += record('contacts', contactRow(i));
    if ((i + 1) % stateEvery === 0) text += streamState('contacts', i + 1, i + 1);
  }
  return text;
}

async function write(
  rows: number,
  advanced: Record<string, unknown> = {},
  onStart?: (child: any) => void,
): Promise<CliResult> {
  const config = emulatorConfig(emulator, {
    salesforce_object: 'Contact',
    external_id_field: 'External_ID__c',
    advanced: { write_api: 'rest', records_per_request: 50, parallel_requests: 'auto', ...advanced },
  });
  return runWrite(emulator, config, catalog(configuredStream('contacts', CONTACT_COLUMNS)), {
    stdin: input(rows),
    ...(onStart ? { onStart } : {}),
  });
}

/** Every row ended (committed here) and every state left, in order. */
function expectAllAccounted(result: CliResult, rows: number): void {
  expect(result.code).toBe(0);
  const states = ofType(result, 'STATE').map((m) => m.state);
  expect(states.map((s) => s.stream.stream_state.cursor)).toEqual(
    Array.from({ length: rows / 100 }, (_, i) => (i + 1) * 100),
  );
  const ended = states.reduce(
    (n, s) => n + s.destinationStats.recordCount + s.destinationStats.rejectedRecordCount,
    0,
  );
  expect(ended).toBe(rows);
  expect(emulator.count('Contact')).toBe(rows);
}

const changes = (result: CliResult): string[] =>
  ofType(result, 'LOG')
    .map((m) => String(m.log.message))
    .filter((m) => m.startsWith('Parallel requests: '));

describe('parallel_requests auto', () => {
  it('climbs to max_parallel_requests while Salesforce keeps pace, and says so', async () => {
    // A latency well above what a busy machine adds to the emulator's own work, so the latency
    // per record the pace reads is the model's.
    emulator.configure({ latencyMs: 300 });
    const result = await write(3_000, { max_parallel_requests: 25 });
    expectAllAccounted(result, 3_000);
    expect(changes(result).slice(0, 2)).toEqual([
      'Parallel requests: 2 → 10 (raised: latency per record steady, no lock errors).',
      'Parallel requests: 10 → 25 (raised: latency per record steady, no lock errors).',
    ]);
    expect(logText(result)).toMatch(/Parallel requests \(auto\): \d+ now \(ranged 2–25\)/);
  });

  it('backs off on lock errors', async () => {
    emulator.configure({
      lockContention: true,
      lockContentionPerWriter: 0.5,
      lockContentionMax: 0.5,
      latencyMs: 20,
    });
    emulator.seed(
      'Contact',
      Array.from({ length: 2_000 }, (_, i) => contactRow(i)),
    );
    const result = await write(2_000);
    expectAllAccounted(result, 2_000);
    expect(
      changes(result).some((c) =>
        / → \d+ \(lowered: [\d.]+ % of rows could not be locked \(UNABLE_TO_LOCK_ROW\)/.test(c),
      ),
    ).toBe(true);
  });

  it('backs off on ConcurrentPerOrgLongTxn', async () => {
    // Calls running 100 ms count as long-running here, and the org allows one at a time.
    emulator.configure({ latencyMs: 300, longRunningThresholdMs: 100, maxLongRunning: 1 });
    const result = await write(1_000);
    expectAllAccounted(result, 1_000);
    expect(
      changes(result).some((c) =>
        /^Parallel requests: (\d+) → \d+ \(lowered: Salesforce answered ConcurrentPerOrgLongTxn: the org's 25 long-running requests are taken\)\.$/.test(
          c,
        ),
      ),
    ).toBe(true);
  });

  it('backs off on 503', async () => {
    emulator.faults.failNext({
      status: 503,
      count: 1,
      match: { kind: 'composite' },
      headers: { 'Retry-After': '0' },
    });
    const result = await write(1_000);
    expectAllAccounted(result, 1_000);
    expect(changes(result)).toContain(
      'Parallel requests: 2 → 1 (lowered: Salesforce answered 503 (unavailable)).',
    );
  });

  it('backs off, with smaller calls, when a call nears 20 s', async () => {
    // The first write calls take 16 s (320 ms per record; the cost is lowered once they are in
    // flight: an event the emulator reports).
    emulator.configure({ latencyPerRecordMs: 320 });
    const watch = setInterval(() => {
      const stats = emulator.stats();
      if ((stats.byKind.composite ?? 0) > 0 && stats.inFlight > 0)
        emulator.configure({ latencyPerRecordMs: 0 });
    }, 10);
    const result = await write(1_000).finally(() => clearInterval(watch));
    expectAllAccounted(result, 1_000);
    expect(
      changes(result).some((c) =>
        /^Parallel requests: \d+ → \d+ \(lowered: a call of 50 records took 1[6-9]\.\d s, near the 20 s .*\)\. Records per call: 2[45]\.$/.test(
          c,
        ),
      ),
    ).toBe(true);
  }, 90_000);
});
