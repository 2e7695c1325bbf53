/**
 * The shipped artefact: builds the Docker image with podman and runs it the way the Airbyte platform
 * does (airbyte-protocol-notes.md §3.1, §3.3): `spec`, and `check` with the config mounted under
 * /airbyte, against the Salesforce emulator started here (the container shares the host network, so
 * 127.0.0.1 reaches it).
 *
 * Setup runs ../shared/tools/container-base-image.sh (installs podman when missing — needs root, as
 * here and in CI — and builds a local stand-in for node:24-bookworm-slim). If podman or the base
 * image cannot be set up, beforeAll throws and every test here FAILS: CI must notice, so nothing skips.
 */
import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { parse } from 'yaml';
import { startEmulator, type Emulator } from './emulator/index.js';
import { parseProtocolLines } from './helpers/protocol.js';

const REPO = fileURLToPath(new URL('../', import.meta.url));
const IMAGE = 'localhost/destination-salesforce-service-cloud:test';
const MINUTE = 60_000;

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs a command without blocking the event loop (the emulator in this process must keep answering
 * the container), collecting its output; kills it after `timeoutMs`.
 */
function run(command: string, args: string[], timeoutMs: number, input = ''): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: REPO, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => {
      stderr += `\n[killed after ${timeoutMs} ms]`;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(new Error(`${command} could not start: ${error.message}`));
    });
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
    child.stdin.end(input);
  });
}

/** What to show when a command went wrong: the command, its status and the tail of both streams. */
function describeRun(what: string, result: Run): string {
  const tail = (text: string): string => text.split('\n').slice(-40).join('\n');
  return `${what} exited ${String(result.status)}\n--- stderr ---\n${tail(result.stderr)}\n--- stdout ---\n${tail(result.stdout)}`;
}

/** Fails with the run's output when it did not exit with `status`. */
function expectStatus(what: string, result: Run, status: number): void {
  if (result.status !== status) throw new Error(`expected exit ${status}: ${describeRun(what, result)}`);
}

async function mustSucceed(what: string, command: string, args: string[], timeoutMs: number): Promise<Run> {
  const result = await run(command, args, timeoutMs);
  if (result.status !== 0) throw new Error(describeRun(what, result));
  return result;
}

/** Parses a run's stdout as AirbyteMessages, showing the run's stderr if that fails. */
function messagesOf(what: string, result: Run): Record<string, unknown>[] {
  try {
    return parseProtocolLines(result.stdout);
  } catch (error) {
    throw new Error(`${(error as Error).message}\n${describeRun(what, result)}`);
  }
}

/** Runs `check` in the container with `config` mounted read-only under /airbyte/config. */
async function checkInContainer(config: object): Promise<Run> {
  const dir = mkdtempSync(join(tmpdir(), 'sfsc-container-'));
  try {
    // The container's airbyte user (uid 1000) is not the owner: it needs world-readable files.
    chmodSync(dir, 0o755);
    const file = join(dir, 'config.json');
    writeFileSync(file, JSON.stringify(config));
    chmodSync(file, 0o644);
    return await run(
      'podman',
      [
        'run',
        '--rm',
        '-i',
        '--network',
        'host',
        // Z: relabel for SELinux hosts; podman ignores it where SELinux is off.
        '-v',
        `${dir}:/airbyte/config:ro,Z`,
        IMAGE,
        'check',
        '--config',
        '/airbyte/config/config.json',
      ],
      2 * MINUTE,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const metadata = parse(readFileSync(join(REPO, 'metadata.yaml'), 'utf8')) as {
  data: { dockerRepository: string; dockerImageTag: string };
};
const specJson = JSON.parse(readFileSync(join(REPO, 'spec/spec.json'), 'utf8')) as unknown;

describe('the Docker image', () => {
  let emulator: Emulator | undefined;

  beforeAll(async () => {
    await mustSucceed(
      'container-base-image.sh',
      'bash',
      [join(REPO, '../shared/tools/container-base-image.sh')],
      10 * MINUTE,
    );
    await mustSucceed(
      'podman build',
      'podman',
      ['build', '--pull=never', '--network', 'host', '-t', IMAGE, '.'],
      10 * MINUTE,
    );
    emulator = await startEmulator();
  }, 20 * MINUTE);

  afterAll(async () => {
    await emulator?.close();
  });

  const checkConfig = (refreshToken?: string): object => {
    const emu = emulator!;
    return {
      credentials: {
        auth_type: 'oauth2_refresh_token',
        client_id: emu.credentials.clientId,
        client_secret: emu.credentials.clientSecret,
        refresh_token: refreshToken ?? emu.credentials.refreshToken,
      },
      login_url: emu.url,
      salesforce_object: 'Contact',
    };
  };

  it(
    'spec prints exactly one SPEC, valid against the protocol schema and equal to spec/spec.json',
    async () => {
      const result = await run('podman', ['run', '--rm', '-i', IMAGE, 'spec'], 2 * MINUTE);
      expectStatus('podman run spec', result, 0);
      const messages = messagesOf('podman run spec', result);
      expect(messages.map((m) => m.type)).toEqual(['SPEC']);
      expect(messages[0]!.spec).toEqual(specJson);
    },
    3 * MINUTE,
  );

  it(
    'spec runs from another working directory (the platform changes it; AIRBYTE_ENTRYPOINT is absolute)',
    async () => {
      const result = await run('podman', ['run', '--rm', '-i', '-w', '/tmp', IMAGE, 'spec'], 2 * MINUTE);
      expectStatus('podman run -w /tmp spec', result, 0);
      expect(messagesOf('podman run -w /tmp spec', result).map((m) => m.type)).toEqual(['SPEC']);
    },
    3 * MINUTE,
  );

  it('carries the io.airbyte labels of metadata.yaml, AIRBYTE_ENTRYPOINT = Entrypoint, and USER airbyte', async () => {
    const result = await mustSucceed('podman image inspect', 'podman', ['image', 'inspect', IMAGE], MINUTE);
    const [image] = JSON.parse(result.stdout) as {
      Config: { Labels?: Record<string, string>; Env?: string[]; Entrypoint?: string[]; User?: string };
    }[];
    const config = image!.Config;
    expect(config.Labels?.['io.airbyte.name']).toBe(metadata.data.dockerRepository);
    expect(config.Labels?.['io.airbyte.version']).toBe(metadata.data.dockerImageTag);
    const env = Object.fromEntries(
      (config.Env ?? []).map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]),
    );
    expect(config.Entrypoint?.length).toBeGreaterThan(0);
    expect(env.AIRBYTE_ENTRYPOINT).toBe(config.Entrypoint!.join(' '));
    expect(env.NODE_ENV).toBe('production');
    expect(config.User).toBe('airbyte');
  });

  it(
    'runs as a non-root user named airbyte, which owns /airbyte',
    async () => {
      const id = await mustSucceed(
        'podman run id',
        'podman',
        ['run', '--rm', '--entrypoint', 'id', IMAGE, '-u'],
        MINUTE,
      );
      expect(id.stdout.trim()).toMatch(/^\d+$/);
      expect(id.stdout.trim()).not.toBe('0');
      const owner = await mustSucceed(
        'podman run stat',
        'podman',
        ['run', '--rm', '--entrypoint', 'stat', IMAGE, '-c', '%U:%G', '/airbyte'],
        MINUTE,
      );
      expect(owner.stdout.trim()).toBe('airbyte:airbyte');
    },
    2 * MINUTE,
  );

  it(
    'check with the config mounted under /airbyte prints one CONNECTION_STATUS SUCCEEDED against the emulator',
    async () => {
      const result = await checkInContainer(checkConfig());
      const messages = messagesOf('podman run check', result);
      const statuses = messages.filter((m) => m.type === 'CONNECTION_STATUS');
      expect(statuses.map((m) => m.connectionStatus)).toEqual([
        expect.objectContaining({ status: 'SUCCEEDED' }),
      ]);
      expectStatus('podman run check', result, 0);
    },
    3 * MINUTE,
  );

  it(
    'check with a wrong refresh token prints one CONNECTION_STATUS FAILED that says to reconnect',
    async () => {
      const result = await checkInContainer(checkConfig('not-a-refresh-token-the-emulator-issued'));
      const messages = messagesOf('podman run check (wrong token)', result);
      const statuses = messages.filter((m) => m.type === 'CONNECTION_STATUS');
      expect(statuses).toHaveLength(1);
      const status = statuses[0]!.connectionStatus as { status: string; message?: string };
      expect(status.status).toBe('FAILED');
      expect(status.message).toMatch(/reconnect/i);
      expect(status.message).not.toContain('not-a-refresh-token-the-emulator-issued');
      expectStatus('podman run check (wrong token)', result, 0);
    },
    3 * MINUTE,
  );
});
