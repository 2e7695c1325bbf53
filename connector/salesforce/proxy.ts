/**
 * Outbound proxies named by the environment, read the way curl and most tools read them:
 * `HTTPS_PROXY` for https URLs, `HTTP_PROXY` for http, `ALL_PROXY` for both (either case), and
 * `NO_PROXY` for hosts to reach directly (proxy-from-env implements those rules). Loopback hosts are
 * always reached directly — a proxy cannot reach this machine's own loopback, and the emulator runs
 * there — as Go's HTTP client does.
 *
 * Calls through a proxy use hpagent's agents (a CONNECT tunnel for https, as got's documentation
 * recommends), with the same keep-alive and socket limits as direct calls. Credentials in a proxy
 * URL (`http://user:password@proxy:8080`) are sent as Proxy-Authorization and never logged.
 */
import { HttpProxyAgent, HttpsProxyAgent } from 'hpagent';
import { getProxyForUrl } from 'proxy-from-env';
import type { Agents } from './http.js';

/** The proxy URLs the environment sets (lower-case names first, as proxy-from-env reads them). */
function proxyUrls(env: NodeJS.ProcessEnv): string[] {
  return ['https_proxy', 'http_proxy', 'all_proxy'].flatMap((name) => {
    const value = env[name] || env[name.toUpperCase()];
    return value ? [value] : [];
  });
}

/** Whether the environment names any proxy; if not, every call goes direct and nothing here runs. */
export function proxyConfigured(env: NodeJS.ProcessEnv = process.env): boolean {
  return proxyUrls(env).length > 0;
}

/** The passwords in the environment's proxy URLs, for the log redactor. */
export function proxyPasswords(env: NodeJS.ProcessEnv = process.env): string[] {
  return proxyUrls(env).flatMap((proxy) => {
    try {
      const password = decodeURIComponent(new URL(proxy).password);
      return password === '' ? [] : [password];
    } catch {
      return [];
    }
  });
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);

/** True for http(s) URLs on the loopback interface (the emulator). */
export function isLoopback(url: URL): boolean {
  return LOOPBACK.has(url.hostname);
}

/** A proxy URL fit for a log line: scheme, host and port, without user name or password. */
export function describeProxy(proxy: string): string {
  try {
    const url = new URL(proxy);
    return `${url.protocol}//${url.host}`;
  } catch {
    return '(an unparsable proxy URL)';
  }
}

/** Picks, for each URL, the direct agents or agents through the proxy the environment names for it. */
export class ProxyAgents {
  private readonly viaProxy = new Map<string, Agents>();

  constructor(
    private readonly direct: Agents,
    private readonly maxSockets: number,
    /** Told once per proxy, when it is first used (the proxy without credentials, the first host). */
    private readonly onFirstUse: (proxy: string, host: string) => void = () => undefined,
  ) {}

  /** The agents for a call to `url`. */
  agentsFor(url: URL): Agents {
    if (isLoopback(url)) return this.direct;
    const proxy = getProxyForUrl(url.href);
    if (proxy === '') return this.direct;
    let agents = this.viaProxy.get(proxy);
    if (agents === undefined) {
      const options = {
        keepAlive: true,
        maxSockets: this.maxSockets,
        maxFreeSockets: this.maxSockets,
        proxy,
      };
      agents = { http: new HttpProxyAgent(options), https: new HttpsProxyAgent(options) };
      this.viaProxy.set(proxy, agents);
      this.onFirstUse(describeProxy(proxy), url.host);
    }
    return agents;
  }
}
