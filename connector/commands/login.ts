/**
 * `login`: the OAuth 2.0 web-server flow with PKCE (S256) on a loopback redirect
 * (reference/salesforce-api.md §1.5). It prints the authorize URL (stderr: it is for the person),
 * waits for the browser to come back with a code, exchanges the code with the code_verifier, and
 * prints the credentials block to paste into a config (stdout, so it can be redirected to a file).
 */
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Command } from '../cli.js';
import { checkHostUrl, DEFAULT_API_VERSION } from '../config.js';
import { ConfigError, TransientError } from '../errors.js';
import { OAuthError } from '../salesforce/errors.js';
import { SalesforceHttp } from '../salesforce/http.js';
import { httpClient } from '../connection.js';
import { toConnectorError } from '../failure.js';
import type { CommandContext } from './context.js';

type LoginCommand = Extract<Command, { name: 'login' }>;

/** base64url without padding (RFC 7636 appendix A). */
function base64url(buffer: Buffer): string {
  return buffer.toString('base64').replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** A PKCE verifier and its S256 challenge. */
export function pkcePair(): { verifier: string; challenge: string } {
  const verifier = base64url(randomBytes(48));
  const challenge = base64url(createHash('sha256').update(verifier).digest());
  return { verifier, challenge };
}

/** What the browser brought back to the loopback redirect. */
interface Callback {
  code?: string;
  error?: string;
  errorDescription?: string;
}

/** The loopback servers waiting for the browser, and the callback they will resolve. */
interface Listener {
  port: number;
  callback: Promise<Callback>;
  close(): void;
}

/** Reads one redirect: 404 for other paths, 400 for another login's state, else the code or error. */
function callbackHandler(
  redirectUri: string,
  state: string,
  resolve: (result: Callback) => void,
): (req: http.IncomingMessage, res: http.ServerResponse) => void {
  return (req, res) => {
    const url = new URL(req.url ?? '/', redirectUri);
    if (url.pathname !== '/OauthRedirect') {
      res.writeHead(404).end();
      return;
    }
    if (url.searchParams.get('state') !== state) {
      res
        .writeHead(400, { 'content-type': 'text/plain' })
        .end('State mismatch: this callback is not from the login just started.');
      return;
    }
    const result: Callback = {};
    const code = url.searchParams.get('code');
    if (code) result.code = code;
    const error = url.searchParams.get('error');
    if (error) {
      result.error = error;
      result.errorDescription = url.searchParams.get('error_description') ?? '';
    }
    res
      .writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
      .end(
        result.code
          ? '<p>Salesforce login complete. You can close this window and return to the terminal.</p>'
          : '<p>Salesforce login failed; see the terminal.</p>',
      );
    resolve(result);
  };
}

/**
 * Listens for the redirect. `localhost` may resolve to 127.0.0.1 or ::1, depending on the machine:
 * listen on both loopbacks, and on nothing else (the code must not be reachable from the network).
 */
async function listenForCallback(
  requestedPort: number,
  redirectUri: string,
  state: string,
): Promise<Listener> {
  const server = http.createServer();
  const server6 = http.createServer();
  const callback = new Promise<Callback>((resolve) => {
    const handle = callbackHandler(redirectUri, state, resolve);
    server.on('request', handle);
    server6.on('request', handle);
  });
  const close = (): void => {
    for (const s of [server, server6]) {
      if (s.listening) s.close();
      s.closeAllConnections();
    }
  };
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        new ConfigError(
          `Cannot listen on localhost:${requestedPort} for the OAuth redirect (${error.code ?? error.message}). Free the port or pass --port, and add http://localhost:<port>/OauthRedirect as a callback URL of the connected app.`,
        ),
      ),
    );
    server.listen(requestedPort, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => {
    // No IPv6 loopback on this machine is fine: 127.0.0.1 answers.
    server6.once('error', () => resolve());
    server6.listen(port, '::1', () => resolve());
  });
  return { port, callback, close };
}

/** Rejects after the timeout or when the run is interrupted, whichever comes first. */
function giveUpAfter(ctx: CommandContext, seconds: number): Promise<never> {
  return new Promise<never>((_, reject) => {
    const timer = setTimeout(
      () => reject(new TransientError(`No redirect from Salesforce within ${seconds} s; run login again.`)),
      seconds * 1000,
    );
    timer.unref();
    ctx.signal.addEventListener('abort', () => reject(new TransientError('login interrupted.')), {
      once: true,
    });
  });
}

/** Exchanges the code for tokens; returns the token response, which must hold a refresh token. */
async function exchangeCode(
  ctx: CommandContext,
  loginUrl: string,
  form: Record<string, string>,
): Promise<Record<string, unknown>> {
  // The code exchange goes through the connector's one Salesforce client and its policy (no
  // redirect followed, https only off loopback). A code is single-use, so no retry would help.
  const client = new SalesforceHttp({
    apiVersion: DEFAULT_API_VERSION,
    got: httpClient(1, { logger: ctx.logger }),
    maxConcurrent: 1,
    timeoutMs: 60_000,
    rateLimitMaxWaitMs: 0,
    maxAttempts: 1,
  });
  const response = await client
    .request<string>({
      method: 'POST',
      url: `${loginUrl}/services/oauth2/token`,
      form,
      // Nothing in the org changes, so a lost answer is a network failure to report, not an
      // unknown write; the single attempt (maxAttempts 1) keeps a single-use code from being re-sent.
      idempotent: true,
      kind: 'oauth',
      anyAnswer: true,
      text: true,
    })
    .catch((error: unknown) => {
      throw toConnectorError(error, loginUrl);
    });
  let body: Record<string, unknown> = {};
  try {
    body = JSON.parse(response.body) as Record<string, unknown>;
  } catch {
    // handled below by the status check
  }
  if (response.status === 200 && typeof body.refresh_token === 'string') return body;
  if (response.status === 200) {
    throw new ConfigError(
      'Salesforce issued no refresh token: add the "refresh_token, offline_access" scope to the connected app and pass --scope "api refresh_token".',
    );
  }
  throw toConnectorError(
    new OAuthError(
      response.status,
      typeof body.error === 'string' ? body.error : 'invalid_response',
      typeof body.error_description === 'string' ? body.error_description : `HTTP ${response.status}`,
      'authorization_code',
    ),
  );
}

/** Runs the flow; the credentials block goes to stdout as JSON. */
export async function runLogin(
  ctx: CommandContext,
  command: LoginCommand,
  write: (text: string) => void,
  tell: (text: string) => void,
): Promise<number> {
  const clientId = command.clientId ?? process.env.SALESFORCE_CLIENT_ID;
  if (clientId === undefined || clientId === '') {
    throw new ConfigError(
      'login needs --client-id <Consumer Key of the connected app> (or SALESFORCE_CLIENT_ID).',
    );
  }
  const clientSecret = command.clientSecret ?? process.env.SALESFORCE_CLIENT_SECRET;
  if (clientSecret) ctx.redactor.add(clientSecret);
  const loginUrl = checkHostUrl(
    command.loginUrl ?? (command.sandbox ? 'https://test.salesforce.com' : 'https://login.salesforce.com'),
    '--login-url',
  );
  const redirectUri = `http://localhost:${command.port}/OauthRedirect`;
  const { verifier, challenge } = pkcePair();
  const state = base64url(randomBytes(16));
  const listener = await listenForCallback(command.port, redirectUri, state);
  try {
    const authorize = new URL(`${loginUrl}/services/oauth2/authorize`);
    authorize.search = new URLSearchParams({
      response_type: 'code',
      client_id: clientId,
      redirect_uri: redirectUri,
      code_challenge: challenge,
      code_challenge_method: 'S256',
      scope: command.scope,
      state,
    }).toString();
    tell(
      `Open this URL in a browser, sign in to Salesforce and allow access (the connected app must list ${redirectUri} as a callback URL):\n\n${authorize.toString()}\n\nWaiting for the redirect on 127.0.0.1:${listener.port} …`,
    );
    const result = await Promise.race([listener.callback, giveUpAfter(ctx, command.timeoutSeconds)]);
    if (result.error !== undefined || result.code === undefined) {
      throw new ConfigError(
        `Salesforce did not grant access (${result.error ?? 'no code'}${result.errorDescription ? `: ${result.errorDescription}` : ''}). Check the connected app's callback URL, OAuth scopes (api, refresh_token) and PKCE settings, then run login again.`,
      );
    }
    const form: Record<string, string> = {
      grant_type: 'authorization_code',
      code: result.code,
      client_id: clientId,
      redirect_uri: redirectUri,
      code_verifier: verifier,
    };
    if (clientSecret) form.client_secret = clientSecret;
    const body = await exchangeCode(ctx, loginUrl, form);
    const credentials: Record<string, unknown> = {
      auth_type: 'oauth2_refresh_token',
      client_id: clientId,
      refresh_token: body.refresh_token,
    };
    if (clientSecret) credentials.client_secret = clientSecret;
    const block: Record<string, unknown> = { credentials };
    if (command.loginUrl !== undefined) block.login_url = loginUrl;
    else if (command.sandbox) block.is_sandbox = true;
    if (typeof body.instance_url === 'string') block.instance_url = body.instance_url;
    write(JSON.stringify(block, null, 2));
    tell('Login complete: paste the block above into your config (keep it secret).');
    return 0;
  } finally {
    listener.close();
  }
}
