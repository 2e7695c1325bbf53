/**
 * OAuth 2.0 against a Salesforce login host (reference/salesforce-api.md §1): refresh-token grant,
 * JWT bearer (RS256) and client credentials. The token response has no `expires_in`, so tokens are
 * refreshed when a call answers 401 INVALID_SESSION_ID — once, shared by every waiting caller.
 */
import { createPrivateKey } from 'node:crypto';
import { OAuthError } from './errors.js';
import type { SalesforceHttp } from './http.js';

/** How to sign in. */
export type SalesforceCredentials =
  | { authType: 'oauth2_refresh_token'; clientId: string; clientSecret?: string; refreshToken: string }
  | { authType: 'jwt_bearer'; clientId: string; username: string; privateKey: string }
  | { authType: 'client_credentials'; clientId: string; clientSecret: string };

/** An access token and the instance it is good for. */
export interface AccessToken {
  accessToken: string;
  instanceUrl: string;
  /** Identity URL (`…/id/<orgId>/<userId>`). */
  id?: string;
  issuedAt?: string;
}

/** The token endpoint's success body (no expires_in, issued_at is a string). */
interface TokenResponse {
  access_token: string;
  instance_url: string;
  id?: string;
  issued_at?: string;
  refresh_token?: string;
  token_type?: string;
  scope?: string;
}

/** What the token manager needs. */
export interface TokenManagerOptions {
  /** e.g. https://login.salesforce.com (no trailing slash). */
  loginUrl: string;
  credentials: SalesforceCredentials;
  /** JWT `aud`: https://login.salesforce.com or https://test.salesforce.com. */
  jwtAudience: string;
  /** The one client every call to Salesforce goes through (its policy covers sign-in too). */
  http: SalesforceHttp;
  timeoutMs?: number;
  /** Called with every access token issued (e.g. to add it to the log redactor). */
  onToken?: (accessToken: string) => void;
  /** Called when the refresh token was rotated; the old one no longer works (reference §1.2). */
  onRefreshTokenRotated?: (refreshToken: string) => void;
  /** Checks an instance URL from the token response before it is used (https, or loopback). */
  checkInstanceUrl?: (url: string) => string;
  /**
   * Ends a sign-in (and its retries) when the run is stopped, rather than waiting out timeouts that
   * outlast any grace period; a refresh-token grant already in flight is let finish (see post()).
   */
  signal?: AbortSignal;
  now?: () => number;
}

/** Grant type names as sent to Salesforce. */
const GRANT: Record<SalesforceCredentials['authType'], string> = {
  oauth2_refresh_token: 'refresh_token',
  jwt_bearer: 'urn:ietf:params:oauth:grant-type:jwt-bearer',
  client_credentials: 'client_credentials',
};

/** Holds the current access token; refreshes it at most once at a time. */
export class TokenManager {
  private token: AccessToken | undefined;
  private inflight: Promise<AccessToken> | undefined;
  private refreshToken: string | undefined;
  /** How many token requests succeeded (a test and the run summary read it). */
  grants = 0;

  constructor(private readonly options: TokenManagerOptions) {
    if (options.credentials.authType === 'oauth2_refresh_token')
      this.refreshToken = options.credentials.refreshToken;
  }

  /** The current token, obtaining one first if there is none. */
  async get(): Promise<AccessToken> {
    if (this.token !== undefined) return this.token;
    return this.refresh();
  }

  /**
   * A fresh token. Callers pass the token that failed: if another caller already replaced it, the
   * new one is returned without a second grant; concurrent callers share one request.
   */
  async refresh(stale?: string): Promise<AccessToken> {
    if (stale !== undefined && this.token !== undefined && this.token.accessToken !== stale)
      return this.token;
    this.inflight ??= this.grant().finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }

  private async grant(): Promise<AccessToken> {
    const { credentials } = this.options;
    const form: Record<string, string> = {
      grant_type: GRANT[credentials.authType],
      client_id: credentials.clientId,
    };
    switch (credentials.authType) {
      case 'oauth2_refresh_token':
        form.refresh_token = this.refreshToken ?? credentials.refreshToken;
        if (credentials.clientSecret !== undefined) form.client_secret = credentials.clientSecret;
        break;
      case 'client_credentials':
        form.client_secret = credentials.clientSecret;
        break;
      case 'jwt_bearer':
        delete form.client_id;
        form.assertion = await this.assertion(credentials);
        break;
    }
    const body = await this.post(form, GRANT[credentials.authType]);
    const instanceUrl = this.options.checkInstanceUrl
      ? this.options.checkInstanceUrl(body.instance_url)
      : body.instance_url.replace(/\/$/, '');
    const token: AccessToken = { accessToken: body.access_token, instanceUrl };
    if (body.id !== undefined) token.id = body.id;
    if (body.issued_at !== undefined) token.issuedAt = body.issued_at;
    this.options.onToken?.(body.access_token);
    if (
      credentials.authType === 'oauth2_refresh_token' &&
      typeof body.refresh_token === 'string' &&
      body.refresh_token !== this.refreshToken
    ) {
      this.refreshToken = body.refresh_token;
      this.options.onRefreshTokenRotated?.(body.refresh_token);
    }
    this.token = token;
    this.grants += 1;
    return token;
  }

  /** The RS256 JWT of the bearer flow: iss = consumer key, sub = username, aud = login host, exp ≤ 3 min. */
  private async assertion(credentials: {
    clientId: string;
    username: string;
    privateKey: string;
  }): Promise<string> {
    const now = Math.floor((this.options.now?.() ?? Date.now()) / 1000);
    let key;
    try {
      key = createPrivateKey(credentials.privateKey);
    } catch (error) {
      throw new OAuthError(
        0,
        'invalid_private_key',
        `the private key cannot be read: ${(error as Error).message}`,
        'jwt',
      );
    }
    // Loaded only for this flow: jose costs start-up time and memory the other flows do not need.
    const { SignJWT } = await import('jose');
    return new SignJWT({})
      .setProtectedHeader({ alg: 'RS256' })
      .setIssuer(credentials.clientId)
      .setSubject(credentials.username)
      .setAudience(this.options.jwtAudience)
      .setExpirationTime(now + 180)
      .sign(key);
  }

  private async post(form: Record<string, string>, grantType: string): Promise<TokenResponse> {
    const signal = this.options.signal;
    const response = await this.options.http.request<string>({
      method: 'POST',
      url: `${this.options.loginUrl}/services/oauth2/token`,
      form,
      idempotent: true,
      kind: 'oauth',
      anyAnswer: true,
      text: true,
      timeoutMs: this.options.timeoutMs ?? 60_000,
      // A refresh-token grant in flight is left to finish (within its timeout): Salesforce may
      // rotate the token as it answers, and an abandoned answer would lose the new token and, with
      // it, the connection. The other grants issue no refresh token and are cut short at once.
      // Retries of either stop with the run (the client's sleep ends on a stop).
      ...(signal !== undefined && grantType !== GRANT.oauth2_refresh_token ? { signal } : {}),
    });
    let body: Record<string, unknown> = {};
    try {
      body = JSON.parse(response.body) as Record<string, unknown>;
    } catch {
      // Some proxies answer HTML; the status code below still tells what happened.
    }
    if (
      response.status !== 200 ||
      typeof body.access_token !== 'string' ||
      typeof body.instance_url !== 'string'
    ) {
      throw new OAuthError(
        response.status,
        typeof body.error === 'string' ? body.error : 'invalid_response',
        typeof body.error_description === 'string'
          ? body.error_description
          : `unexpected token response (HTTP ${response.status})`,
        grantType,
      );
    }
    return body as unknown as TokenResponse;
  }
}
