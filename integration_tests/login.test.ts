/**
 * The login command end to end (PRODUCT.md section 2): the built CLI prints an authorize URL with an
 * S256 PKCE challenge, the "browser" (this test) follows it through the emulator's authorize endpoint
 * back to the CLI's loopback redirect, the CLI exchanges the code with its code_verifier (which the
 * emulator verifies) and prints a credentials block that works.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { startEmulator, type Emulator } from './emulator/index.js';
import { MAIN, ofType, runCli, tempFiles } from './helpers/cli.js';

/** Whether nothing listens on 127.0.0.1:port now. */
function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/**
 * A free port for the login redirect, which must be known before the emulator starts (the connected
 * app registers its callback URL). It is taken below the kernel's ephemeral range: ports from that
 * range go to every outgoing connection and every listen(0) on the machine — another suite's
 * emulator, this suite's CLIs — and one of them could take the port between this check and the
 * CLI's bind.
 */
async function freePort(): Promise<number> {
  let ephemeralLow = 32_768;
  try {
    ephemeralLow = Number(
      readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0],
    );
  } catch {
    // Not Linux: keep the IANA range's start.
  }
  const low = 10_000;
  const high = Math.max(low + 1_000, Math.min(ephemeralLow, 32_768));
  for (;;) {
    const port = randomInt(low, high);
    if (await canListen(port)) return port;
  }
}

let emulator: Emulator;
let port: number;
beforeAll(async () => {
  port = await freePort();
  emulator = await startEmulator({
    clients: [
      { clientId: 'pkce-app', redirectUris: [`http://localhost:${port}/OauthRedirect`] },
      {
        clientId: 'secret-app',
        clientSecret: 'secret-app-secret',
        redirectUris: [`http://localhost:${port}/OauthRedirect`],
      },
    ],
  });
});
afterAll(async () => emulator.close());

/** Login processes still running; one a test left (it failed or timed out) is killed after it. */
const running = new Set<ChildProcess>();
afterEach(() => {
  for (const child of running) child.kill('SIGKILL');
  running.clear();
});

/** Runs login; `browse` plays the browser once the authorize URL appears on stderr. */
function login(args: string[], browse: (authorizeUrl: string) => Promise<void>) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [MAIN, 'login', '--login-url', emulator.url, '--port', String(port), ...args],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    let browsed = false;
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
      const url = /(http:\/\/\S+\/services\/oauth2\/authorize\?\S+)/.exec(stderr)?.[1];
      if (url !== undefined && !browsed && stderr.includes('Waiting for the redirect')) {
        browsed = true;
        browse(url).catch(reject);
      }
    });
    running.add(child);
    child.on('close', (code) => {
      running.delete(child);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Follows the authorize URL: the emulator redirects (302) to the CLI's loopback callback. */
async function approve(url: string): Promise<void> {
  const authorize = await fetch(url, { redirect: 'manual' });
  expect(authorize.status).toBe(302);
  const callback = await fetch(authorize.headers.get('location')!);
  expect(callback.status).toBe(200);
}

describe('login', () => {
  it('runs the PKCE web-server flow on a loopback redirect and prints a working credentials block', async () => {
    let challenge: URLSearchParams | undefined;
    const result = await login(['--client-id', 'pkce-app'], async (url) => {
      challenge = new URL(url).searchParams;
      await approve(url);
    });
    expect(result.code).toBe(0);
    expect(challenge!.get('code_challenge_method')).toBe('S256');
    expect(challenge!.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(challenge!.get('redirect_uri')).toBe(`http://localhost:${port}/OauthRedirect`);
    expect(challenge!.get('scope')).toBe('api refresh_token');
    const block = JSON.parse(result.stdout) as {
      credentials: Record<string, string>;
      login_url: string;
      instance_url: string;
    };
    expect(block.credentials).toEqual({
      auth_type: 'oauth2_refresh_token',
      client_id: 'pkce-app',
      refresh_token: expect.any(String),
    });
    expect(block.login_url).toBe(emulator.url);
    expect(block.instance_url).toBe(emulator.url);
    expect(result.stderr).not.toContain(block.credentials.refresh_token!);

    const files = tempFiles({ 'config.json': { ...block, salesforce_object: 'Contact' } });
    const check = await runCli(['check', '--config', files['config.json']!]);
    expect(ofType(check, 'CONNECTION_STATUS')[0]!.connectionStatus.status).toBe('SUCCEEDED');
  });

  it('sends the client secret for apps that require it', async () => {
    const result = await login(
      ['--client-id', 'secret-app', '--client-secret', 'secret-app-secret'],
      approve,
    );
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout).credentials.client_secret).toBe('secret-app-secret');
    expect(result.stderr).not.toContain('secret-app-secret');
  });

  it('ignores a callback that does not carry its state, then completes with the right one', async () => {
    const result = await login(['--client-id', 'pkce-app'], async (url) => {
      const forged = await fetch(`http://127.0.0.1:${port}/OauthRedirect?code=stolen&state=wrong`);
      expect(forged.status).toBe(400);
      await approve(url);
    });
    expect(result.code).toBe(0);
  });

  it('fails with a config_error saying what to check when Salesforce denies access', async () => {
    const result = await login(['--client-id', 'pkce-app'], async (url) => {
      const state = new URL(url).searchParams.get('state')!;
      await fetch(
        `http://localhost:${port}/OauthRedirect?error=access_denied&error_description=end-user+denied+authorization&state=${state}`,
      );
    });
    expect(result.code).toBe(1);
    const trace = JSON.parse(result.stdout.trim().split('\n').at(-1)!).trace.error;
    expect(trace.failure_type).toBe('config_error');
    expect(trace.message).toContain(
      'Salesforce did not grant access (access_denied: end-user denied authorization)',
    );
  });

  it('fails with a transient_error naming the network when the code exchange loses its connection', async () => {
    emulator.faults.dropNext({ count: 1, match: { kind: 'oauth', pathIncludes: '/services/oauth2/token' } });
    const result = await login(['--client-id', 'pkce-app'], approve);
    expect(result.code).toBe(1);
    const trace = JSON.parse(result.stdout.trim().split('\n').at(-1)!).trace.error;
    expect(trace.failure_type).toBe('transient_error');
    expect(trace.message).toMatch(
      /^Cannot reach Salesforce at http:\/\/127\.0\.0\.1:\d+ \((ECONNRESET|ERR_STREAM_PREMATURE_CLOSE|ERR_NETWORK)[^)]* on POST \/services\/oauth2\/token\)\. Check the network, the login URL and any proxy, then retry\.$/,
    );
  });

  it('refuses to start without a client id', async () => {
    const result = await runCli(['login', '--login-url', emulator.url, '--port', String(port)], {
      env: { SALESFORCE_CLIENT_ID: '' },
    });
    expect(result.code).toBe(1);
    expect(ofType(result, 'TRACE')[0]!.trace.error.message).toContain('login needs --client-id');
  });
});
