/** Builds the Salesforce client of a run from the typed config: one HTTP client, tokens, Describe cache. */
import { setTimeout as delay } from 'node:timers/promises';
import got, { type ExtendOptions, type Got } from 'got';
import { checkHostUrl, highestParallelism, startingParallelism, type Config } from './config.js';
import { type ConnectorError, isAbort } from './errors.js';
import { toConnectorError } from './failure.js';
import type { Logger } from './logger.js';
import type { Redactor } from './redact.js';
import { TokenManager, type AccessToken, type TokenManagerOptions } from './salesforce/auth.js';
import { DescribeCache } from './salesforce/describe.js';
import { keepAliveAgents, SalesforceHttp, type Agents } from './salesforce/http.js';
import { ProxyAgents, proxyConfigured, proxyPasswords } from './salesforce/proxy.js';

/** Identifies the connector in Salesforce's API usage reports (Sforce-Call-Options, reference §3.7). */
export const CLIENT_NAME = 'destination-salesforce-service-cloud';

/** The Salesforce client parts one run uses. */
export interface Connection {
  tokens: TokenManager;
  /** The one client every call to Salesforce goes through, sign-in included. */
  http: SalesforceHttp;
  describe: DescribeCache;
}

/** Hooks a command can attach. */
export interface ConnectionHooks {
  redactor?: Redactor;
  logger?: Logger;
  /** A rotated refresh token must be persisted (write emits a CONTROL message). */
  onRefreshTokenRotated?: (refreshToken: string) => void;
  /** The run's stop signal: ends a sign-in in progress (auth.ts). */
  signal?: AbortSignal;
  /** Test seams. */
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
}

/** Creates the token manager, HTTP client and Describe cache for a config. */
export function connect(config: Config, hooks: ConnectionHooks = {}): Connection {
  const http = salesforceHttp(config, hooks);
  const tokens = new ExplainedTokenManager(
    {
      loginUrl: config.loginUrl,
      credentials: config.credentials,
      jwtAudience: config.isSandbox ? 'https://test.salesforce.com' : 'https://login.salesforce.com',
      http,
      timeoutMs: config.advanced.requestTimeoutSeconds * 1000,
      onToken: (token) => hooks.redactor?.add(token),
      ...(hooks.onRefreshTokenRotated ? { onRefreshTokenRotated: hooks.onRefreshTokenRotated } : {}),
      checkInstanceUrl: (url) => checkHostUrl(url, 'the instance_url Salesforce returned'),
      ...(hooks.signal !== undefined ? { signal: hooks.signal } : {}),
    },
    (error) => toConnectorError(error, config.loginUrl, config.credentials),
  );
  http.useTokens(tokens);
  return { tokens, http, describe: new DescribeCache(http) };
}

/**
 * The one Salesforce client of a run, for the config's concurrency and timeouts. A stop ends its
 * pauses and backoffs at once (the platform's grace period is shorter than a rate-limit pause).
 */
export function salesforceHttp(
  config: Pick<Config, 'apiVersion' | 'advanced'>,
  hooks: ConnectionHooks = {},
): SalesforceHttp {
  const { advanced } = config;
  const signal = hooks.signal;
  const sleep =
    hooks.sleep ?? (signal === undefined ? undefined : (ms: number) => delay(ms, undefined, { signal }));
  return new SalesforceHttp({
    apiVersion: config.apiVersion,
    // Sockets for every call the limiter may let run, and a sign-in or look-up beside them.
    got: httpClient(highestParallelism(advanced) + 2, hooks),
    maxConcurrent: startingParallelism(advanced),
    timeoutMs: advanced.requestTimeoutSeconds * 1000,
    rateLimitMaxWaitMs: advanced.rateLimitMaxWaitSeconds * 1000,
    apiBudgetPercent: advanced.apiBudgetPercent,
    headers: { 'sforce-call-options': `client=${CLIENT_NAME}` },
    ...(sleep ? { sleep } : {}),
    ...(hooks.random ? { random: hooks.random } : {}),
    ...(hooks.logger ? { log: hooks.logger } : {}),
    ...(signal !== undefined ? { stopSignal: signal } : {}),
  });
}

/**
 * A token manager whose failures are already ConnectorErrors, judged here where the config is known:
 * the token endpoint's answer alone cannot tell that the client secret it lacked was left empty.
 */
class ExplainedTokenManager extends TokenManager {
  constructor(
    options: TokenManagerOptions,
    private readonly explain: (error: unknown) => ConnectorError,
  ) {
    super(options);
  }

  override async refresh(stale?: string): Promise<AccessToken> {
    try {
      return await super.refresh(stale);
    } catch (error) {
      // A sign-in cut short by a stop is the stop, which the command reports.
      if (isAbort(error)) throw error;
      throw this.explain(error);
    }
  }
}

/** A got instance with keep-alive agents for `sockets` connections, through the environment's proxy if any. */
export function httpClient(sockets: number, hooks: Pick<ConnectionHooks, 'logger' | 'redactor'> = {}): Got {
  const agents = keepAliveAgents(sockets);
  return got.extend({ agent: agents, ...proxyHooks(agents, sockets, hooks) });
}

/**
 * When the environment names a proxy (salesforce/proxy.ts), a got hook that gives each call the
 * agents for its URL; with none, nothing is added and every call uses the direct agents.
 */
function proxyHooks(
  direct: Agents,
  sockets: number,
  hooks: Pick<ConnectionHooks, 'logger' | 'redactor'>,
): ExtendOptions {
  if (!proxyConfigured()) return {};
  for (const password of proxyPasswords()) hooks.redactor?.add(password);
  const proxies = new ProxyAgents(direct, sockets, (proxy, host) =>
    hooks.logger?.info(`Calls to ${host} go through the proxy ${proxy} (from the environment).`),
  );
  return {
    hooks: {
      beforeRequest: [
        (options) => {
          options.agent = proxies.agentsFor(options.url as URL);
        },
      ],
    },
  };
}
