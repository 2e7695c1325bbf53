/**
 * The benchmark's two baselines, run as the benchmark runs them (the compiled scripts in build/bench/,
 * from `npm run build`, input on stdin): the floor, and the seed form against an emulator.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { startEmulator, type Emulator } from '../integration_tests/emulator/index.js';
import { NODE_FLAGS, ROOT } from '../integration_tests/helpers/cli.js';
import { record, streamState } from '../integration_tests/helpers/messages.js';
import { contactRow } from '../integration_tests/helpers/rows.js';
import { tempFiles } from '../integration_tests/helpers/cli.js';

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runScript(script: string, args: string[], stdin: string): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...NODE_FLAGS, join(ROOT, 'build', 'bench', script), ...args], {
      env: { ...process.env, NODE_OPTIONS: '' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(stdin);
  });
}

function input(rows: number, data: (i: number) => Record<string, unknown> = contactRow): string {
  let text = '';
  for (let i = 0; i < rows; i++) {
    text += record('contacts', data(i));
    if ((i + 1) % 20 === 0) text += streamState('contacts', { upTo: i + 1 }, i + 1);
  }
  return text;
}

describe('the floor', () => {
  it('reads every record with the connector’s reader and encodes its data to UTF-8 bytes', async () => {
    // Multi-byte text, so that characters and bytes differ; a blank line and a STATE on the way.
    const data = (i: number): Record<string, unknown> => ({
      ...contactRow(i),
      LastName: `Ñandú 東京 ${i} 😀`,
    });
    const text = `${input(30, data)}\n`;
    const ran = await runScript('floor.js', [], text);
    expect(ran.code).toBe(0);
    const bytes = Array.from({ length: 30 }, (_, i) => Buffer.byteLength(JSON.stringify(data(i)))).reduce(
      (a, b) => a + b,
    );
    // 30 records and 1 state (the blank line is no message).
    expect(JSON.parse(ran.stdout)).toEqual({ lines: 31, records: 30, bytes });
  });
});

describe('the seed form', () => {
  let sf: Emulator;
  beforeAll(async () => {
    sf = await startEmulator({ latencyMs: 0 });
  });
  afterAll(async () => {
    await sf.close();
  });

  it('upserts by key with Composite calls of 25 single-record subrequests, as many at a time as asked', async () => {
    const { clientId, clientSecret, refreshToken } = sf.credentials;
    const files = tempFiles({
      'config.json': {
        credentials: { client_id: clientId, client_secret: clientSecret, refresh_token: refreshToken },
        login_url: sf.url,
        salesforce_object: 'Contact',
        external_id_field: 'External_ID__c',
      },
    });
    // Every record a single-record write: the model's per-record cost counts each one, 0.5 ms each.
    sf.configure({ latencyPerRecordMs: 0.5 });
    const ran = await runScript(
      'seed-form.js',
      ['--config', files['config.json']!, '--parallel', '2'],
      input(60),
    );
    expect(ran.stderr).toBe('');
    expect(ran.code).toBe(0);
    expect(JSON.parse(ran.stdout)).toEqual({
      records: 60,
      calls: 3,
      ok: 60,
      failed: 0,
      httpErrors: 0,
      errors: {},
    });
    expect(sf.stats().byKind.composite).toBe(3);
    expect(sf.stats().latencyTotalMs).toBe(60 * 0.5);
    expect(sf.count('Contact')).toBe(60);
    expect(sf.records('Contact').find((r) => r.External_ID__c === 'C-59')).toMatchObject({
      LastName: contactRow(59).LastName,
      Email: 'contact59@example.com',
    });
    // Upserts: a second run finds every key and adds nothing.
    const again = await runScript('seed-form.js', ['--config', files['config.json']!], input(60));
    expect(JSON.parse(again.stdout)).toMatchObject({ records: 60, calls: 3, ok: 60 });
    expect(sf.count('Contact')).toBe(60);
  });
});
