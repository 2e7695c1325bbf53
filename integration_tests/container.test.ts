/**
 * The shipped artefact: builds the Docker image with podman and runs it the way the Airbyte platform
 * does (airbyte-protocol-notes.md §3.1, §3.3): `spec`, and `check` with the config mounted under
 * /airbyte, against the Salesforce emulator started here (the container shares the host network, so
 * 127.0.0.1 reaches it).
 *
 * Setup runs ../shared/tools/container-base-image.sh (installs podman when missing — needs root, as
 * here and in CI — and builds a local stand-in for node:24-bookworm-slim). If podman or the base
 * image cannot be set up, beforeAll throws and every test here FAILS: CI must notice, so nothing skips.
 *
 * Runs side by side with any other build on the machine: the image gets a tag of its own run, is built
 * without the shared layer cache (--layers=false: another build's cache entries are neither used nor
 * removed), every container has a name of this run, and afterAll removes those containers and the
 * image whether the tests passed or not.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { parse } from 'yaml';
import { startEmulator, type Emulator } from './emulator/index.js';
import { parseProtocolLines } from './helpers/protocol.js';

const REPO = fileURLToPath(new URL('../', import.meta.url));
const RUN = `${process.pid}-${randomBytes(4).toString('hex')}`;
const IMAGE = `localhost/destination-salesforce-service-cloud:test-${RUN}`;
/** The Dockerfile's base (`FROM node:24-bookworm-slim`), as the base-image script tags it. */
const BASE = 'docker.io/library/node:24-bookworm-slim';
/** The image's user (Dockerfile: the base's `node` user renamed). */
const AIRBYTE_UID = 1000;
const MINUTE = 60_000;

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs a command without blocking the event loop (the emulator in this process must keep answering
 * the container), collecting its output. After `timeoutMs` it is asked to stop (podman passes SIGTERM
 * on to the container and cleans up), then killed; afterAll removes any container left behind by name.
 */
function run(command: string, args: string[], timeoutMs: number, input = ''): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: REPO, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    let kill: NodeJS.Timeout | undefined;
    const stop = setTimeout(() => {
      stderr += `\n[stopped after ${timeoutMs} ms]`;
      child.kill('SIGTERM');
      kill = setTimeout(() => child.kill('SIGKILL'), 15_000);
    }, timeoutMs);
    const settle = (): void => {
      clearTimeout(stop);
      clearTimeout(kill);
    };
    child.on('error', (error) => {
      settle();
      reject(new Error(`${command} could not start: ${error.message}`));
    });
    child.on('close', (status) => {
      settle();
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

/** Containers this run started, by name, for afterAll to remove if `--rm` did not. */
const containers: string[] = [];

/** `podman run --rm` of this run's image under a name of this run; `options` go before the image. */
function runImage(options: string[], command: string[], timeoutMs = 2 * MINUTE): Promise<Run> {
  const name = `sfsc-test-${RUN}-${containers.length + 1}`;
  containers.push(name);
  return run('podman', ['run', '--rm', '--name', name, ...options, IMAGE, ...command], timeoutMs);
}

/**
 * Runs `check` in the container with `config` mounted read-only under /airbyte/config. By default the
 * file is world-readable (0644: the container's airbyte user is not its owner); `prepare` may change
 * its mode or owner first.
 */
async function checkInContainer(config: object, prepare: (file: string) => void = () => {}): Promise<Run> {
  const dir = mkdtempSync(join(tmpdir(), 'sfsc-container-'));
  try {
    chmodSync(dir, 0o755);
    const file = join(dir, 'config.json');
    writeFileSync(file, JSON.stringify(config), { mode: 0o600 });
    chmodSync(file, 0o644);
    prepare(file);
    return await runImage(
      // Z: relabel for SELinux hosts; podman ignores it where SELinux is off.
      ['-i', '--network', 'host', '-v', `${dir}:/airbyte/config:ro,Z`],
      ['check', '--config', '/airbyte/config/config.json'],
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
  /** When this run's build started: the image's history entries from then on are its own instructions. */
  let builtFrom = 0;
  /** The base image this run built on, by id (whatever the tag means later). */
  let baseId = '';

  beforeAll(async () => {
    await mustSucceed(
      'container-base-image.sh',
      'bash',
      [join(REPO, '../shared/tools/container-base-image.sh')],
      10 * MINUTE,
    );
    baseId = (
      await mustSucceed(
        'podman image inspect (base)',
        'podman',
        ['image', 'inspect', '--format', '{{.Id}}', BASE],
        MINUTE,
      )
    ).stdout.trim();
    builtFrom = Date.now() - 1000;
    await mustSucceed(
      'podman build',
      'podman',
      ['build', '--pull=never', '--network', 'host', '--layers=false', '--force-rm', '-t', IMAGE, '.'],
      15 * MINUTE,
    );
    // The diff below compares with baseId: make sure the build used it (the tag could have moved).
    const layers = async (ref: string): Promise<string[]> =>
      JSON.parse(
        (
          await mustSucceed(
            `podman image inspect ${ref}`,
            'podman',
            ['image', 'inspect', '--format', '{{json .RootFS.Layers}}', ref],
            MINUTE,
          )
        ).stdout,
      ) as string[];
    const [base, built] = [await layers(baseId), await layers(IMAGE)];
    if (base.some((layer, i) => built[i] !== layer))
      throw new Error(`${IMAGE} is not built on ${BASE} (${baseId}): the tag moved during the build`);
    emulator = await startEmulator();
  }, 30 * MINUTE);

  afterAll(async () => {
    await emulator?.close();
    const left: string[] = [];
    for (const name of containers) {
      const removed = await run('podman', ['rm', '--force', '--ignore', name], MINUTE);
      if (removed.status !== 0) left.push(describeRun(`podman rm ${name}`, removed));
    }
    // By tag, without --force: only this run's name is removed, never an image another run uses.
    const removed = await run('podman', ['rmi', '--ignore', IMAGE], 2 * MINUTE);
    if (removed.status !== 0) left.push(describeRun(`podman rmi ${IMAGE}`, removed));
    if (left.length > 0) throw new Error(`The run left things behind:\n${left.join('\n')}`);
  }, 10 * MINUTE);

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
      const result = await runImage(['-i'], ['spec']);
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
      const result = await runImage(['-i', '-w', '/tmp'], ['spec']);
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
    'runs as a non-root user named airbyte (uid 1000), which owns /airbyte',
    async () => {
      const id = await runImage(['--entrypoint', 'id'], ['-u']);
      expectStatus('podman run id', id, 0);
      expect(id.stdout.trim()).toBe(String(AIRBYTE_UID));
      const owner = await runImage(['--entrypoint', 'stat'], ['-c', '%U:%G', '/airbyte']);
      expectStatus('podman run stat', owner, 0);
      expect(owner.stdout.trim()).toBe('airbyte:airbyte');
    },
    2 * MINUTE,
  );

  it(
    'adds to its base only what the connector runs: node and its CA store come with the base; /app holds the bundle, its schemas, package.json and the licences',
    async () => {
      // The runtime stage's instructions, from its history (each instruction is an entry, whether or
      // not it made a layer); anything else in the Dockerfile's last stage is listed.
      const inspected = await mustSucceed(
        'podman image inspect',
        'podman',
        ['image', 'inspect', IMAGE],
        MINUTE,
      );
      const [image] = JSON.parse(inspected.stdout) as {
        History?: { created?: string; created_by?: string }[];
      }[];
      const instructions = (image!.History ?? [])
        .filter((h) => h.created !== undefined && Date.parse(h.created) >= builtFrom)
        .map((h) => (h.created_by ?? '').replace(/^\/bin\/sh -c (#\(nop\) )?/, '').trim());
      const expected = [
        /^groupmod --new-name airbyte node && usermod /, // the user, /airbyte, npm & co removed
        /^ENV NODE_ENV=production$/,
        /^WORKDIR \/app$/,
        /^COPY dir:[0-9a-f]+ in \/app$/, // COPY --from=build /app /app
        /^LABEL io\.airbyte\.(name|version)=/,
        /^USER airbyte$/,
        /^ENV AIRBYTE_ENTRYPOINT=/,
        /^ENTRYPOINT \[/,
      ];
      expect(instructions.length).toBeGreaterThan(0);
      expect(
        instructions.map((i) => i.replace(/\s+/g, ' ')).filter((i) => !expected.some((re) => re.test(i))),
      ).toEqual([]);

      // What those instructions changed, file by file, against the base this run built on.
      const diff = await mustSucceed('podman diff', 'podman', ['diff', IMAGE, baseId], MINUTE);
      const changes = diff.stdout
        .split('\n')
        .filter((line) => line.trim() !== '')
        .map((line) => {
          const [kind, path] = [line.slice(0, 1), line.slice(2)];
          return { kind, path };
        });
      const allowed = [
        // /app: the runtime's files, and nothing else (checked one by one below).
        /^A \/app(\/.*)?$/,
        // The user: `node` renamed `airbyte`, its home moved, /airbyte made.
        /^C \/(etc|home|usr|usr\/local|usr\/local\/bin|usr\/local\/lib)$/,
        /^C \/etc\/(\.pwd\.lock|passwd-?|group-?|shadow-?|gshadow-?|subuid-?|subgid-?)$/,
        /^A \/home\/airbyte(\/[^/]+)?$/,
        /^D \/home\/node$/,
        /^A \/airbyte$/,
        // npm, npx, corepack and yarn removed.
        /^D \/usr\/local\/(bin\/(npm|npx|corepack|yarn|yarnpkg)|lib\/node_modules)$/,
        /^D \/opt(\/yarn-[^/]+)?$/,
        /^C \/opt$/,
      ];
      expect(
        changes.map((c) => `${c.kind} ${c.path}`).filter((c) => !allowed.some((re) => re.test(c))),
      ).toEqual([]);
      const appFiles = changes.filter((c) => c.kind === 'A' && c.path.startsWith('/app/')).map((c) => c.path);
      const expectedFiles = [
        /^\/app\/(dist|spec|schemas)$/,
        /^\/app\/LICENSE$/,
        /^\/app\/package\.json$/,
        /^\/app\/spec\/spec\.json$/,
        /^\/app\/schemas\/configured_catalog\.json$/,
        /^\/app\/dist\/THIRD_PARTY_LICENSES\.txt$/,
        /^\/app\/dist\/[\w-]+\.js$/, // main.js and the chunks it loads
      ];
      expect(appFiles.filter((p) => !expectedFiles.some((re) => re.test(p)))).toEqual([]);
      for (const must of [
        '/app/dist/main.js',
        '/app/dist/THIRD_PARTY_LICENSES.txt',
        '/app/LICENSE',
        '/app/spec/spec.json',
      ])
        expect(appFiles).toContain(must);
    },
    3 * MINUTE,
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

  it(
    'a config mounted 0600 and owned by another user fails as a config_error that names EACCES, uid 1000 and the fix',
    async () => {
      const result = await checkInContainer(checkConfig(), (file) => {
        chownSync(file, 0, 0);
        chmodSync(file, 0o600);
      });
      expectStatus('podman run check (0600 config)', result, 1);
      const traces = messagesOf('podman run check (0600 config)', result).filter((m) => m.type === 'TRACE');
      const error = (traces[0]?.trace as { error?: { failure_type?: string; message?: string } }).error;
      expect(error?.failure_type).toBe('config_error');
      expect(error?.message).toContain(
        `Cannot read the config file /airbyte/config/config.json (EACCES: permission denied to uid ${AIRBYTE_UID}).`,
      );
      expect(error?.message).toContain('chown 1000');
      expect(error?.message).not.toContain(emulator!.credentials.refreshToken);
    },
    3 * MINUTE,
  );

  it(
    'the same 0600 config chowned to uid 1000, as the error and the README say, passes check',
    async () => {
      const result = await checkInContainer(checkConfig(), (file) => {
        chownSync(file, AIRBYTE_UID, AIRBYTE_UID);
        chmodSync(file, 0o600);
      });
      const statuses = messagesOf('podman run check (chowned)', result).filter(
        (m) => m.type === 'CONNECTION_STATUS',
      );
      expect(statuses.map((m) => m.connectionStatus)).toEqual([
        expect.objectContaining({ status: 'SUCCEEDED' }),
      ]);
      expectStatus('podman run check (chowned)', result, 0);
    },
    3 * MINUTE,
  );
});
