/**
 * Failures that must never lose or duplicate a row (PRODUCT.md section 7), injected in the
 * emulator while the built CLI writes: an access token that expires mid-run, a burst of 503s,
 * dropped connections, locked rows, REQUEST_LIMIT_EXCEEDED (a window, then one too long), a
 * rotated refresh token, and SIGTERM.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import type { ChildProcess } from 'node:child_process';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { startEmulator, type Emulator } from './emulator/index.js';
import { logText, ofType, runCli, tempFiles, type CliResult } from './helpers/cli.js';
import { catalog, configuredStream, record, streamState } from './helpers/messages.js';
import { contactRow, CONTACT_COLUMNS } from './helpers/rows.js';
import { emulatorConfig, expectValidProtocol } from './helpers/setup.js';

let emulator: Emulator;
beforeAll(async () => {
  emulator = await startEmulator({
    clients: [{ clientId: 'rotating-app', clientSecret: 'rotating-secret', rotateRefreshTokens: true }],
    refreshTokens: [{ token: 'rotating-refresh-token-1', clientId: 'rotating-app' }],
  });
});
afterAll(async () => emulator.close());
beforeEach(() => emulator.reset());

type Msg = Record<string, any>;

function input(n: number, stateEvery: number, version = 1): string {
  let text = '';
  for (let i = 0; i < n; i += 1) {
    text += record('contacts', contactRow(i, version));
    if ((i + 1) % stateEvery === 0) text += streamState('contacts', i + 1, i + 1, stateEvery);
  }
  return text;
}

async function write(
  text: string | AsyncIterable<string>,
  extra: Record<string, unknown> = {},
  onLine?: (m: Msg, child: any) => void,
  config?: Record<string, unknown>,
): Promise<CliResult> {
  const files = tempFiles({
    'config.json':
      config ??
      emulatorConfig(emulator, {
        salesforce_object: 'Contact',
        external_id_field: 'External_ID__c',
        ...extra,
      }),
    'catalog.json': catalog(configuredStream('contacts', CONTACT_COLUMNS)),
  });
  const result = await runCli(
    ['write', '--config', files['config.json']!, '--catalog', files['catalog.json']!],
    { stdin: text, ...(onLine ? { onLine } : {}) },
  );
  expectValidProtocol(result, [
    emulator.credentials.clientSecret,
    emulator.credentials.refreshToken,
    'rotating-secret',
  ]);
  return result;
}

/**
 * `first`, then `rest` once `gate` resolves: the source holds back its last rows until the test has
 * seen what it waits for, so a run cannot finish before the fault or the stop reaches it.
 */
async function* gated(first: string, gate: Promise<void>, rest: string): AsyncGenerator<string> {
  yield first;
  await gate;
  yield rest;
}

/** A promise and the function that resolves it. */
function signal(): { promise: Promise<void>; fire: () => void } {
  let fire!: () => void;
  const promise = new Promise<void>((resolve) => (fire = resolve));
  return { promise, fire };
}

/** Long enough never to end within a test: each test clears it when done. */
const FOREVER = 1_000_000;

/** Every key 0..n-1 is in Salesforce exactly once. */
function expectExactlyOnce(n: number): void {
  const keys = emulator.records('Contact').map((r) => r.External_ID__c as string);
  expect(keys).toHaveLength(n);
  expect(new Set(keys).size).toBe(n);
}

const committedInStates = (result: CliResult) =>
  ofType(result, 'STATE').reduce((sum, m) => sum + (m.state.destinationStats.recordCount as number), 0);

describe('write survives', () => {
  it('an access token that expires mid-run: one refresh, the call sent again, nothing lost', async () => {
    emulator.faults.expireTokensAfter(3);
    emulator.resetStats();
    const result = await write(input(3_000, 500), {
      advanced: { records_per_request: 200, parallel_requests: 2 },
    });
    expect(result.code).toBe(0);
    expectExactlyOnce(3_000);
    expect(committedInStates(result)).toBe(3_000);
    expect(emulator.stats().byKind.oauth).toBe(2);
  });

  it('a burst of 503s: retried with backoff, nothing lost or duplicated', async () => {
    emulator.faults.failNext({
      count: 3,
      status: 503,
      match: { kind: 'composite' },
      headers: { 'Retry-After': '0' },
    });
    const result = await write(input(2_000, 500), { advanced: { records_per_request: 200 } });
    expect(result.code).toBe(0);
    expectExactlyOnce(2_000);
    expect(logText(result)).toMatch(/3 retries/);
  });

  it('dropped connections after Salesforce applied an upsert: re-sent safely, no duplicate', async () => {
    emulator.faults.dropNext({ count: 2, when: 'after', match: { kind: 'composite' } });
    const result = await write(input(2_000, 500), { advanced: { records_per_request: 200 } });
    expect(result.code).toBe(0);
    expectExactlyOnce(2_000);
    expect(committedInStates(result)).toBe(2_000);
  });

  it('a dropped connection after Salesforce applied an insert: not re-sent, so no duplicate, and the rows are reported', async () => {
    emulator.faults.dropNext({ count: 1, when: 'after', match: { kind: 'composite' } });
    const result = await write(input(1_000, 1_000), {
      sync_mode: 'insert',
      advanced: { records_per_request: 200, parallel_requests: 1 },
    });
    expect(result.code).toBe(0);
    expectExactlyOnce(1_000);
    expect(logText(result)).toContain('OUTCOME_UNKNOWN: Salesforce may or may not have created this record');
    expect(ofType(result, 'STATE')[0]!.state.destinationStats).toEqual({
      recordCount: 800,
      rejectedRecordCount: 200,
    });
  });

  it('rows locked by another transaction (UNABLE_TO_LOCK_ROW): retried until they land', async () => {
    emulator.seed('Contact', [contactRow(5), contactRow(6)]);
    emulator.faults.lockRows({
      object: 'Contact',
      match: { field: 'External_ID__c', values: ['C-5', 'C-6'] },
      times: 2,
    });
    const result = await write(input(100, 100, 2));
    expect(result.code).toBe(0);
    expectExactlyOnce(100);
    expect(
      emulator
        .records('Contact')
        .filter((r) => ['C-5', 'C-6'].includes(r.External_ID__c as string))
        .map((r) => r.Department),
    ).toEqual(['Dept v2', 'Dept v2']);
    expect(logText(result)).toContain(
      '2 record(s) were locked by another transaction (UNABLE_TO_LOCK_ROW); retrying',
    );
    expect(ofType(result, 'STATE')[0]!.state.destinationStats).toEqual({
      recordCount: 100,
      rejectedRecordCount: 0,
    });
  });

  it('rows waiting for a lock retry or merged with a later row keep their own values while later rows reuse the memory they were written in', async () => {
    // ~3 KB a row: 3,000 rows fill the connector's 1 MB buffers several times over, so buffers are
    // written again while locked rows from earlier buffers wait for their retry.
    const row = (i: number, version: number): Record<string, unknown> => ({
      ...contactRow(i, version),
      Description: `${i}:${version}:`.padEnd(3_000, String.fromCharCode(97 + (i % 26))),
    });
    const locked = Array.from({ length: 40 }, (_, k) => k * 73);
    // Locks are taken on records that exist.
    emulator.seed(
      'Contact',
      locked.map((i) => contactRow(i, 0)),
    );
    emulator.faults.lockRows({
      object: 'Contact',
      match: { field: 'External_ID__c', values: locked.map((i) => `C-${i}`) },
      times: 2,
    });
    let text = '';
    for (let i = 0; i < 3_000; i += 1) {
      text += record('contacts', row(i, 1));
      // A second row for some keys: a few rows later (merged with the first in its batch), or 700
      // rows later (it waits for the first row's call, holding a copy of its bytes).
      if (i % 20 === 3) text += record('contacts', row(i - 2, 2));
      if (i % 20 === 13 && i >= 700) text += record('contacts', row(i - 700, 2));
      if ((i + 1) % 500 === 0) text += streamState('contacts', i + 1, i + 1);
    }
    const result = await write(text, { advanced: { records_per_request: 200, parallel_requests: 4 } });
    expect(result.code).toBe(0);
    expectExactlyOnce(3_000);
    const stored = new Map(emulator.records('Contact').map((r) => [r.External_ID__c as string, r]));
    for (let i = 0; i < 3_000; i += 1) {
      const version = i % 20 === 1 || (i % 20 === 13 && i < 2_300) ? 2 : 1;
      const want = row(i, version);
      const got = stored.get(`C-${i}`)!;
      if (
        got.Description !== want.Description ||
        got.Title !== want.Title ||
        got.LastName !== want.LastName
      ) {
        throw new Error(`C-${i} holds another row's values: ${String(got.Description).slice(0, 20)}`);
      }
    }
    expect(logText(result)).toContain('were locked by another transaction (UNABLE_TO_LOCK_ROW); retrying');
    expect(committedInStates(result)).toBe(3_000 + 150 + 115);
  });

  it('a REQUEST_LIMIT_EXCEEDED window: pauses, then carries on, nothing lost', async () => {
    // The window is three refused requests, not a span of time: on a busy machine a timed window
    // could close before the connector's first call.
    emulator.faults.requestLimitExceeded({ forRequests: 3 });
    const result = await write(input(1_000, 500));
    expect(result.code).toBe(0);
    expectExactlyOnce(1_000);
    const pauses = ofType(result, 'LOG').filter((m) =>
      /REQUEST_LIMIT_EXCEEDED \(TotalRequests Limit exceeded\.\); pausing/.test(String(m.log.message)),
    );
    expect(pauses).toHaveLength(3);
    expect(logText(result)).toMatch(/paused \d+ s on REQUEST_LIMIT_EXCEEDED/);
  });
});

describe('write stops cleanly', () => {
  it('when the API limit outlasts the configured wait: echoes every earned state, then a transient_error; a re-run completes without duplicates', async () => {
    try {
      const tripped = signal();
      let once = false;
      const all = input(5_000, 100);
      const cut = all.indexOf(record('contacts', contactRow(1_000)));
      const result = await write(
        gated(all.slice(0, cut), tripped.promise, all.slice(cut)),
        { advanced: { records_per_request: 100, rate_limit_max_wait_seconds: 1 } },
        (m) => {
          if (m.type === 'STATE' && !once) {
            once = true;
            emulator.faults.requestLimitExceeded({ forRequests: FOREVER });
            tripped.fire();
          }
        },
      );
      expect(result.code).toBe(1);
      const trace = ofType(result, 'TRACE').at(-1)!.trace.error;
      expect(trace.failure_type).toBe('transient_error');
      expect(trace.message).toContain("Salesforce's API limit stopped the run");
      expect(trace.message).toContain("The org's 24-hour API allocation is used up");
      const echoed = ofType(result, 'STATE').map((m) => m.state.stream.stream_state.cursor as number);
      expect(echoed.length).toBeGreaterThan(0);
      expect(echoed.length).toBeLessThan(50);
      expect(echoed).toEqual(echoed.map((_, k) => (k + 1) * 100));
      const keys = new Set(emulator.records('Contact').map((r) => r.External_ID__c));
      for (let i = 0; i < echoed.at(-1)!; i += 1) expect(keys.has(`C-${i}`)).toBe(true);
    } finally {
      emulator.faults.clear();
    }
    const rerun = await write(input(5_000, 100));
    expect(rerun.code).toBe(0);
    expectExactlyOnce(5_000);
  });

  it('on SIGTERM: finishes the calls in flight, echoes only states whose records are in Salesforce, exits non-zero', async () => {
    // Latency keeps calls in flight when the signal lands; the held-back rows make sure the run is
    // still going then, however slow the machine.
    emulator.configure({ latencyMs: 50 });
    try {
      const stopped = signal();
      let signalled = false;
      const all = input(20_000, 200);
      const cut = all.indexOf(record('contacts', contactRow(2_000)));
      const result = await write(
        gated(all.slice(0, cut), stopped.promise, all.slice(cut)),
        { advanced: { records_per_request: 200, parallel_requests: 2 } },
        (m, child) => {
          if (m.type === 'STATE' && !signalled) {
            signalled = true;
            child.kill('SIGTERM');
            stopped.fire();
          }
        },
      );
      expect(result.code).not.toBe(0);
      expect(ofType(result, 'TRACE').at(-1)!.trace.error).toMatchObject({
        failure_type: 'transient_error',
        message: expect.stringContaining('stopped (SIGTERM)'),
      });
      const echoed = ofType(result, 'STATE').map((m) => m.state.stream.stream_state.cursor as number);
      expect(echoed.length).toBeLessThan(100);
      const keys = new Set(emulator.records('Contact').map((r) => r.External_ID__c));
      for (let i = 0; i < echoed.at(-1)!; i += 1) expect(keys.has(`C-${i}`)).toBe(true);
      expect(keys.size).toBeLessThan(20_000);
      expect(logText(result)).toContain('Received SIGTERM');
    } finally {
      emulator.configure({ latencyMs: 0 });
    }
  });
});

describe('a stop does not wait', () => {
  it('for a source that has gone quiet: SIGTERM ends the read of an open stdin', async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    async function* quietSource(): AsyncGenerator<string> {
      yield input(100, 100);
      await held; // stdin stays open and silent, as a source between pages
    }
    try {
      let signalled = false;
      const result = await write(quietSource(), {}, (m, child) => {
        if (m.type === 'STATE' && !signalled) {
          signalled = true;
          child.kill('SIGTERM');
        }
      });
      // Without the stop reaching the read, the run would have lasted until runCli's SIGKILL (code null).
      expect(result.code).toBe(1);
      expect(ofType(result, 'TRACE').at(-1)!.trace.error).toMatchObject({
        failure_type: 'transient_error',
        message: expect.stringContaining('stopped (SIGTERM) after 100 records'),
      });
      expect(ofType(result, 'STATE')).toHaveLength(1);
    } finally {
      release();
    }
  }, 180_000);

  /**
   * A write whose login host accepts the connection and never answers (a black-holing firewall),
   * sent SIGTERM as soon as the sign-in reaches it — not after a fixed time: on a busy machine a
   * timer can fire before the CLI has even started, which tests nothing. Returns the run and the
   * sign-in connections the host saw.
   */
  async function stopDuringSilentSignIn(): Promise<{ result: CliResult; signIns: number }> {
    let cli: ChildProcess | undefined;
    const connections: Socket[] = [];
    const silent = createServer((socket) => {
      connections.push(socket);
      if (connections.length === 1) cli?.kill('SIGTERM');
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const config = emulatorConfig(emulator, {
        salesforce_object: 'Contact',
        external_id_field: 'External_ID__c',
        advanced: { request_timeout_seconds: 5 },
      });
      config.login_url = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
      const files = tempFiles({
        'config.json': config,
        'catalog.json': catalog(configuredStream('contacts', CONTACT_COLUMNS)),
      });
      const result = await runCli(
        ['write', '--config', files['config.json']!, '--catalog', files['catalog.json']!],
        { stdin: input(10, 10), onStart: (child) => void (cli = child) },
      );
      return { result, signIns: connections.length };
    } finally {
      for (const socket of connections) socket.destroy();
      silent.close();
    }
  }

  it('for a sign-in that gets no answer: the stop is what is reported', async () => {
    // A refresh-token grant in flight is let finish (Salesforce may rotate the token as it answers),
    // so the attempt runs to its timeout.
    const { result } = await stopDuringSilentSignIn();
    // Before, the retries ran on and the run ended with "Cannot reach Salesforce" (or until SIGKILL).
    expect(result.code).toBe(1);
    expect(ofType(result, 'TRACE').at(-1)!.trace.error).toMatchObject({
      failure_type: 'transient_error',
      message: expect.stringContaining('stopped (SIGTERM)'),
    });
  });

  // Once the grant in flight had timed out, write asked for a token a second time although the run
  // was stopped (Describe asked again, one object at a time), so a stop took two request timeouts.
  it('for a sign-in that gets no answer: no second sign-in after SIGTERM', async () => {
    const { signIns } = await stopDuringSilentSignIn();
    expect(signIns).toBe(1);
  });

  it('for a rate-limit pause: the pause ends, its rows stay unacknowledged, and the stop is reported', async () => {
    emulator.faults.requestLimitExceeded({ forRequests: FOREVER });
    let signalled = false;
    const result = await write(input(300, 100), {}, (m, child) => {
      if (m.type === 'LOG' && String(m.log.message).includes('pausing') && !signalled) {
        signalled = true;
        child.kill('SIGTERM');
      }
    }).finally(() => emulator.faults.clear());
    expect(signalled).toBe(true);
    expect(result.code).toBe(1);
    expect(ofType(result, 'TRACE').at(-1)!.trace.error).toMatchObject({
      failure_type: 'transient_error',
      message: expect.stringContaining('stopped (SIGTERM)'),
    });
    expect(ofType(result, 'STATE')).toEqual([]);
    expect(emulator.count('Contact')).toBe(0);
  });
});

describe('stdout closed', () => {
  it('stops writing when the reader of stdout goes away, since nothing written after could be acknowledged', async () => {
    const gone = signal();
    let closed = false;
    const all = input(20_000, 200);
    const cut = all.indexOf(record('contacts', contactRow(2_000)));
    const result = await write(
      gated(all.slice(0, cut), gone.promise, all.slice(cut)),
      { advanced: { records_per_request: 200, parallel_requests: 1 } },
      (m, child) => {
        if (m.type === 'STATE' && !closed) {
          closed = true;
          child.stdout.destroy();
          gone.fire();
        }
      },
    );
    expect(closed).toBe(true);
    expect(result.code).toBe(1);
    expect(emulator.count('Contact')).toBeLessThan(20_000);
  });
});

describe('refresh-token rotation', () => {
  it('persists a rotated refresh token with a CONTROL message, from write and from check (the old token no longer works)', async () => {
    const config = {
      credentials: {
        auth_type: 'oauth2_refresh_token',
        client_id: 'rotating-app',
        client_secret: 'rotating-secret',
        refresh_token: 'rotating-refresh-token-1',
      },
      login_url: emulator.url,
      salesforce_object: 'Contact',
      external_id_field: 'External_ID__c',
    };
    const result = await write(input(10, 10), {}, undefined, config);
    expect(result.code).toBe(0);
    const controls = ofType(result, 'CONTROL');
    expect(controls).toHaveLength(1);
    const persisted = controls[0]!.control.connectorConfig.config;
    expect(persisted.credentials.refresh_token).not.toBe('rotating-refresh-token-1');
    expect({ ...persisted, credentials: { ...persisted.credentials, refresh_token: 'x' } }).toEqual({
      ...config,
      credentials: { ...config.credentials, refresh_token: 'x' },
    });
    expect(logText(result)).not.toContain(persisted.credentials.refresh_token);

    const files = tempFiles({ 'old.json': config, 'new.json': persisted });
    const old = await runCli(['check', '--config', files['old.json']!]);
    expect(ofType(old, 'CONNECTION_STATUS')[0]!.connectionStatus.status).toBe('FAILED');
    const fresh = await runCli(['check', '--config', files['new.json']!]);
    expect(ofType(fresh, 'CONNECTION_STATUS')[0]!.connectionStatus.status).toBe('SUCCEEDED');
    // check signs in too, so it rotates the token again and must hand the new one over as well.
    const again = ofType(fresh, 'CONTROL')[0]!.control.connectorConfig.config;
    expect(again.credentials.refresh_token).not.toBe(persisted.credentials.refresh_token);
    const next = tempFiles({ 'config.json': again });
    const third = await runCli(['check', '--config', next['config.json']!]);
    expect(ofType(third, 'CONNECTION_STATUS')[0]!.connectionStatus.status).toBe('SUCCEEDED');
  });
});
