/**
 * OAuth 2.0 as Salesforce implements it (reference §1): the token endpoint (refresh token, JWT
 * bearer, client credentials, authorization code with PKCE), the authorize endpoint, revocation,
 * and access-token checks for API calls. Token responses carry no `expires_in`; errors are HTTP 400
 * `{error, error_description}` with the descriptions of reference §1.2.
 *
 * Tokens are deterministic (a hash of a counter), so runs are reproducible.
 */
import { createHash, createHmac, createPublicKey, type KeyObject, type webcrypto } from 'node:crypto';
import { compactVerify, decodeProtectedHeader } from 'jose';
import type { User } from './dml.js';
import { type ApiResponse, json } from './http-util.js';
import type { ClientOptions, EmulatorSettings } from './types.js';

/** A registered connected app. */
interface Client {
  clientId: string;
  clientSecret: string | undefined;
  requireSecret: boolean;
  redirectUris: string[];
  rotate: boolean;
  jwtKey: KeyObject | webcrypto.CryptoKey | undefined;
  approvedUsers: Set<string> | undefined;
  runAsUser: string | undefined;
  scope: string;
}

/** An access token's session. */
export interface Session {
  token: string;
  user: User;
  clientId: string;
  refreshToken: string | undefined;
}

interface RefreshGrant {
  clientId: string;
  username: string;
  scope: string;
}

interface AuthCode {
  clientId: string;
  redirectUri: string;
  challenge: string | undefined;
  username: string;
  scope: string;
  expiresAt: number;
  used: boolean;
}

/** OAuth error (HTTP 400 JSON, reference §1.2). */
function oauthError(error: string, description: string): ApiResponse {
  return json(400, { error, error_description: description }, { 'Cache-Control': 'no-store' });
}

const GRANT_JWT = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
/** Authorization codes are valid for 15 minutes. */
const CODE_TTL_MS = 15 * 60 * 1000;

function base64url(buf: Buffer): string {
  return buf.toString('base64url');
}

function htmlError(error: string, description: string): ApiResponse {
  return {
    status: 400,
    contentType: 'text/html; charset=UTF-8',
    raw: `<!DOCTYPE html><html><head><title>Error</title></head><body><p>error=${error}</p><p>error_description=${description}</p></body></html>`,
  };
}

/** The OAuth server. */
export class OAuthServer {
  private readonly clients = new Map<string, Client>();
  private readonly initialRefresh = new Map<string, RefreshGrant>();
  private readonly refresh = new Map<string, RefreshGrant>();
  private readonly access = new Map<string, Session>();
  private readonly codes = new Map<string, AuthCode>();
  private seq = 0;

  constructor(
    private readonly users: Map<string, User>,
    private readonly orgId: string,
    private readonly settings: () => EmulatorSettings,
    private readonly baseUrl: () => string,
  ) {}

  /** Register a connected app. */
  addClient(options: ClientOptions): void {
    const key = options.jwtPublicKey;
    this.clients.set(options.clientId, {
      clientId: options.clientId,
      clientSecret: options.clientSecret,
      requireSecret: options.requireSecret ?? options.clientSecret !== undefined,
      redirectUris: options.redirectUris ?? [],
      rotate: options.rotateRefreshTokens ?? false,
      jwtKey: key === undefined ? undefined : typeof key === 'string' ? createPublicKey(key) : key,
      approvedUsers: options.approvedUsers === undefined ? undefined : new Set(options.approvedUsers),
      runAsUser: options.runAsUser,
      scope: options.scope ?? 'api refresh_token',
    });
  }

  /** Register a refresh token that exists from the start (it survives reset()). */
  addRefreshToken(token: string, clientId: string, username: string): void {
    const client = this.clients.get(clientId);
    const grant = { clientId, username, scope: client?.scope ?? 'api refresh_token' };
    this.initialRefresh.set(token, grant);
    this.refresh.set(token, grant);
  }

  private nextToken(kind: string): string {
    this.seq++;
    // Deterministic per emulator (its URL carries the port), so a token of one never works on another.
    return base64url(
      createHash('sha256').update(`${kind}:${this.orgId}:${this.baseUrl()}:${this.seq}`).digest(),
    );
  }

  /** The session of an `Authorization: Bearer …` (or `OAuth …`) header, if valid. */
  authenticate(header: string | undefined): Session | undefined {
    if (header === undefined) return undefined;
    const space = header.indexOf(' ');
    if (space < 0) return undefined;
    const scheme = header.slice(0, space).toLowerCase();
    if (scheme !== 'bearer' && scheme !== 'oauth') return undefined;
    return this.access.get(header.slice(space + 1).trim());
  }

  /** Every access token issued so far becomes invalid. */
  expireAccessTokens(): void {
    this.access.clear();
  }

  /**
   * Forget authorization codes and make the configured refresh tokens valid again (a test may have
   * revoked one). Access tokens already issued stay valid, so a client keeps working across reset().
   */
  reset(): void {
    this.codes.clear();
    for (const [token, grant] of this.initialRefresh) this.refresh.set(token, grant);
  }

  /** Issue an access token (tests may also use this to skip the token call). */
  issueAccessToken(user: User, clientId: string, refreshToken: string | undefined): string {
    const token = `${this.orgId.slice(0, 15)}!AQ${this.nextToken('access')}`;
    this.access.set(token, { token, user, clientId, refreshToken });
    return token;
  }

  private identityUrl(user: User): string {
    return `${this.baseUrl()}/id/${this.orgId}/${user.id}`;
  }

  /** Token response body in Salesforce's order and types (issued_at a string, no expires_in). */
  private tokenBody(
    client: Client,
    user: User,
    scope: string,
    refreshToken: string | undefined,
    extras: { signature: boolean; issuedAt: boolean; tokenFormat?: boolean; boundTo?: string },
  ): Record<string, unknown> {
    const access = this.issueAccessToken(user, client.clientId, extras.boundTo ?? refreshToken);
    const id = this.identityUrl(user);
    const issuedAt = String(Date.now());
    const body: Record<string, unknown> = { access_token: access };
    if (refreshToken !== undefined) body.refresh_token = refreshToken;
    if (extras.signature && client.clientSecret !== undefined) {
      body.signature = createHmac('sha256', client.clientSecret)
        .update(id + issuedAt)
        .digest('base64');
    }
    if (extras.tokenFormat === true) body.token_format = 'opaque';
    body.scope = scope;
    body.instance_url = this.baseUrl();
    body.id = id;
    body.token_type = 'Bearer';
    if (extras.issuedAt) body.issued_at = issuedAt;
    return body;
  }

  /** Client id and secret from the body or HTTP Basic (reference §1.4). */
  private clientCredentials(
    form: URLSearchParams,
    authorization: string | undefined,
  ): { id?: string; secret?: string } {
    if (authorization !== undefined && authorization.toLowerCase().startsWith('basic ')) {
      const decoded = Buffer.from(authorization.slice(6).trim(), 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon >= 0) {
        return {
          id: decodeURIComponent(decoded.slice(0, colon)),
          secret: decodeURIComponent(decoded.slice(colon + 1)),
        };
      }
    }
    const id = form.get('client_id') ?? undefined;
    const secret = form.get('client_secret') ?? undefined;
    const out: { id?: string; secret?: string } = {};
    if (id !== undefined) out.id = id;
    if (secret !== undefined) out.secret = secret;
    return out;
  }

  /**
   * Authenticate the client for a grant. `secretRule`: 'required' always needs the right secret,
   * 'client' follows the app's "require secret" setting; a secret that is sent must be right.
   */
  private authClient(
    creds: { id?: string; secret?: string },
    secretRule: 'required' | 'client',
  ): Client | ApiResponse {
    if (creds.id === undefined) return oauthError('invalid_client_id', 'client identifier invalid');
    const client = this.clients.get(creds.id);
    if (client === undefined) return oauthError('invalid_client_id', 'client identifier invalid');
    const needed = secretRule === 'required' || client.requireSecret;
    if (creds.secret !== undefined && creds.secret !== '') {
      if (client.clientSecret === undefined || creds.secret !== client.clientSecret) {
        return oauthError('invalid_client', 'invalid client credentials');
      }
    } else if (needed) {
      return oauthError('invalid_client', 'invalid client credentials');
    }
    return client;
  }

  /** POST /services/oauth2/token */
  async token(form: URLSearchParams, authorization: string | undefined): Promise<ApiResponse> {
    const grant = form.get('grant_type');
    switch (grant) {
      case 'refresh_token':
        return this.refreshGrant(form, authorization);
      case 'authorization_code':
        return this.codeGrant(form, authorization);
      case 'client_credentials':
        return this.clientCredentialsGrant(form, authorization);
      case GRANT_JWT:
        return this.jwtGrant(form);
      default:
        return oauthError('unsupported_grant_type', 'grant type not supported');
    }
  }

  private refreshGrant(form: URLSearchParams, authorization: string | undefined): ApiResponse {
    const client = this.authClient(this.clientCredentials(form, authorization), 'client');
    if ('status' in client) return client;
    const token = form.get('refresh_token') ?? '';
    const grant = this.refresh.get(token);
    const user = grant === undefined ? undefined : this.users.get(grant.username);
    if (grant === undefined || grant.clientId !== client.clientId || user === undefined) {
      return oauthError('invalid_grant', 'expired access/refresh token');
    }
    let refreshToken: string | undefined;
    if (client.rotate) {
      // reference §1.2: rotation issues a new refresh token and invalidates the previous one.
      this.revokeRefresh(token);
      refreshToken = `5Aep${this.nextToken('refresh')}`;
      this.refresh.set(refreshToken, grant);
    }
    // The access token is bound to the refresh token in use, so revoking that one revokes it too.
    const body = this.tokenBody(client, user, grant.scope, refreshToken, {
      signature: true,
      issuedAt: true,
      boundTo: refreshToken ?? token,
    });
    return json(200, body);
  }

  private codeGrant(form: URLSearchParams, authorization: string | undefined): ApiResponse {
    const client = this.authClient(this.clientCredentials(form, authorization), 'client');
    if ('status' in client) return client;
    const codeValue = form.get('code') ?? '';
    const code = this.codes.get(codeValue);
    if (code === undefined || code.clientId !== client.clientId) {
      return oauthError('invalid_grant', 'invalid authorization code');
    }
    if (code.used || Date.now() > code.expiresAt)
      return oauthError('invalid_grant', 'expired authorization code');
    if ((form.get('redirect_uri') ?? '') !== code.redirectUri) {
      return oauthError('redirect_uri_mismatch', 'redirect_uri must match configuration');
    }
    if (code.challenge !== undefined) {
      const verifier = form.get('code_verifier');
      const hashed =
        verifier === null ? undefined : base64url(createHash('sha256').update(verifier).digest());
      if (hashed !== code.challenge) return oauthError('invalid_grant', 'invalid code verifier');
    }
    code.used = true;
    const user = this.users.get(code.username);
    if (user === undefined) return oauthError('invalid_grant', 'authentication failure');
    // reference §1.5: a refresh token only when the scopes include refresh_token/offline_access (or full).
    const scopes = code.scope.split(/\s+/);
    let refreshToken: string | undefined;
    if (scopes.some((s) => s === 'refresh_token' || s === 'offline_access' || s === 'full')) {
      refreshToken = `5Aep${this.nextToken('refresh')}`;
      this.refresh.set(refreshToken, {
        clientId: client.clientId,
        username: user.username,
        scope: code.scope,
      });
    }
    const body = this.tokenBody(client, user, code.scope, refreshToken, { signature: true, issuedAt: true });
    return json(200, body);
  }

  private clientCredentialsGrant(form: URLSearchParams, authorization: string | undefined): ApiResponse {
    const client = this.authClient(this.clientCredentials(form, authorization), 'required');
    if ('status' in client) return client;
    const user = client.runAsUser === undefined ? undefined : this.users.get(client.runAsUser);
    if (user === undefined) return oauthError('invalid_grant', 'no client credentials user enabled');
    const scope = client.scope
      .split(/\s+/)
      .filter((s) => s !== 'refresh_token' && s !== 'offline_access')
      .join(' ');
    return json(
      200,
      this.tokenBody(client, user, scope, undefined, { signature: true, issuedAt: true, tokenFormat: true }),
    );
  }

  private async jwtGrant(form: URLSearchParams): Promise<ApiResponse> {
    const assertion = form.get('assertion') ?? '';
    // [3P] reference §1.2/§1.3 and Q&A: a malformed or badly signed assertion → "invalid assertion";
    // an expired one → "expired authorization code".
    const invalid = (): ApiResponse => oauthError('invalid_grant', 'invalid assertion');
    let header: { alg?: string };
    let claims: Record<string, unknown>;
    try {
      header = decodeProtectedHeader(assertion);
      const payloadPart = assertion.split('.')[1] ?? '';
      claims = JSON.parse(Buffer.from(payloadPart, 'base64url').toString('utf8')) as Record<string, unknown>;
    } catch {
      return invalid();
    }
    if (header.alg !== 'RS256' || typeof claims !== 'object' || claims === null) return invalid();
    const client = typeof claims.iss === 'string' ? this.clients.get(claims.iss) : undefined;
    if (client === undefined) return oauthError('invalid_client_id', 'client identifier invalid');
    if (client.jwtKey === undefined) return invalid();
    try {
      await compactVerify(assertion, client.jwtKey, { algorithms: ['RS256'] });
    } catch {
      return invalid();
    }
    const settings = this.settings();
    const audiences = [this.baseUrl(), ...settings.jwtAudiences];
    const aud = claims.aud;
    const audList = Array.isArray(aud) ? aud : [aud];
    if (!audList.some((a) => typeof a === 'string' && audiences.includes(a.replace(/\/$/, '')))) {
      return oauthError('invalid_grant', 'audience is invalid');
    }
    const now = Date.now() / 1000;
    const exp = claims.exp;
    const skew = settings.jwtClockSkewSeconds;
    if (typeof exp !== 'number' || exp + skew < now)
      return oauthError('invalid_grant', 'expired authorization code');
    // reference §1.3: exp no more than 3 minutes ahead. [U] the error for a too-distant exp.
    if (exp > now + 180 + skew) return invalid();
    const user = typeof claims.sub === 'string' ? this.users.get(claims.sub) : undefined;
    if (
      user === undefined ||
      (client.approvedUsers !== undefined && !client.approvedUsers.has(user.username))
    ) {
      return oauthError('invalid_grant', "user hasn't approved this consumer");
    }
    const scope = client.scope
      .split(/\s+/)
      .filter((s) => s !== 'refresh_token' && s !== 'offline_access')
      .join(' ');
    // reference §1.3: {access_token, scope, instance_url, id, token_type}, no refresh token.
    return json(200, this.tokenBody(client, user, scope, undefined, { signature: false, issuedAt: false }));
  }

  /** GET /services/oauth2/authorize: the user is logged in and approves; redirect with a code (reference §1.5). */
  authorize(query: URLSearchParams, username: string): ApiResponse {
    const client = this.clients.get(query.get('client_id') ?? '');
    if (client === undefined) return htmlError('invalid_client_id', 'client identifier invalid');
    const redirectUri = query.get('redirect_uri') ?? '';
    if (!client.redirectUris.includes(redirectUri)) {
      return htmlError('redirect_uri_mismatch', 'redirect_uri must match configuration');
    }
    const target = new URL(redirectUri);
    const state = query.get('state');
    const redirect = (params: Record<string, string>): ApiResponse => {
      for (const [k, v] of Object.entries(params)) target.searchParams.set(k, v);
      if (state !== null) target.searchParams.set('state', state);
      return { status: 302, headers: { Location: target.toString() }, raw: '' };
    };
    if (query.get('response_type') !== 'code') {
      return redirect({
        error: 'unsupported_response_type',
        error_description: 'response type not supported',
      });
    }
    const method = query.get('code_challenge_method');
    if (method !== null && method !== 'S256') {
      // [U] Salesforce documents only the SHA-256 challenge (reference §1.5).
      return redirect({ error: 'invalid_request', error_description: 'invalid code challenge method' });
    }
    const challenge = query.get('code_challenge') ?? undefined;
    const code = `aPrx${this.nextToken('code')}`;
    this.codes.set(code, {
      clientId: client.clientId,
      redirectUri,
      challenge: challenge === '' ? undefined : challenge,
      username,
      scope: query.get('scope') ?? client.scope,
      expiresAt: Date.now() + CODE_TTL_MS,
      used: false,
    });
    return redirect({ code });
  }

  private revokeRefresh(token: string): void {
    this.refresh.delete(token);
    for (const [access, session] of this.access)
      if (session.refreshToken === token) this.access.delete(access);
  }

  /** POST (or GET) /services/oauth2/revoke (reference §1.6). */
  revoke(token: string | null): ApiResponse {
    if (token === null || token === '') return oauthError('unsupported_token_type', 'unsupported token type');
    if (this.refresh.has(token)) {
      this.revokeRefresh(token);
      return { status: 200, raw: '' };
    }
    if (this.access.delete(token)) return { status: 200, raw: '' };
    return oauthError('invalid_token', 'invalid token');
  }
}
