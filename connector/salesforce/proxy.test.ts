import { afterEach, describe, expect, it } from '@jest/globals';
import { HttpProxyAgent, HttpsProxyAgent } from 'hpagent';
import { keepAliveAgents } from './http.js';
import { describeProxy, ProxyAgents, proxyConfigured, proxyPasswords } from './proxy.js';

const VARIABLES = ['HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'http_proxy', 'ALL_PROXY', 'all_proxy'];
const NO_PROXY = ['NO_PROXY', 'no_proxy'];
const saved = Object.fromEntries([...VARIABLES, ...NO_PROXY].map((name) => [name, process.env[name]]));

function setEnv(values: Record<string, string>): void {
  for (const name of [...VARIABLES, ...NO_PROXY]) delete process.env[name];
  Object.assign(process.env, values);
}

afterEach(() => {
  for (const [name, value] of Object.entries(saved)) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
});

describe('proxies from the environment', () => {
  it('sees a proxy in any of the usual variables, in either case, and none when they are empty', () => {
    expect(proxyConfigured({})).toBe(false);
    expect(proxyConfigured({ HTTPS_PROXY: '' })).toBe(false);
    expect(proxyConfigured({ https_proxy: 'http://proxy:3128' })).toBe(true);
    expect(proxyConfigured({ ALL_PROXY: 'http://proxy:3128' })).toBe(true);
  });

  it('finds the passwords in proxy URLs, decoded, for the log redactor', () => {
    expect(
      proxyPasswords({ HTTPS_PROXY: 'http://user:s%3Acret@proxy:3128', HTTP_PROXY: 'http://proxy:3128' }),
    ).toEqual(['s:cret']);
    expect(proxyPasswords({ HTTPS_PROXY: 'not a url' })).toEqual([]);
  });

  it('describes a proxy without its credentials', () => {
    expect(describeProxy('http://user:secret@proxy.corp:3128')).toBe('http://proxy.corp:3128');
    expect(describeProxy('::')).toBe('(an unparsable proxy URL)');
  });

  it('sends https calls through HTTPS_PROXY with one pair of agents per proxy, told once', () => {
    setEnv({ HTTPS_PROXY: 'http://user:secret@proxy.corp:3128' });
    const direct = keepAliveAgents(8);
    const used: Array<[string, string]> = [];
    const proxies = new ProxyAgents(direct, 8, (proxy, host) => used.push([proxy, host]));
    const first = proxies.agentsFor(new URL('https://login.salesforce.com/services/oauth2/token'));
    expect(first.https).toBeInstanceOf(HttpsProxyAgent);
    expect(first.http).toBeInstanceOf(HttpProxyAgent);
    expect(first).not.toBe(direct);
    expect(proxies.agentsFor(new URL('https://acme.my.salesforce.com/services/data/v61.0/composite'))).toBe(
      first,
    );
    expect(used).toEqual([['http://proxy.corp:3128', 'login.salesforce.com']]);
  });

  it('reaches NO_PROXY hosts and this machine’s loopback directly', () => {
    setEnv({
      HTTPS_PROXY: 'http://proxy.corp:3128',
      HTTP_PROXY: 'http://proxy.corp:3128',
      NO_PROXY: '.my.salesforce.com',
    });
    const direct = keepAliveAgents(8);
    const proxies = new ProxyAgents(direct, 8);
    expect(proxies.agentsFor(new URL('https://acme.my.salesforce.com/x'))).toBe(direct);
    expect(proxies.agentsFor(new URL('https://login.salesforce.com/x'))).not.toBe(direct);
    for (const url of ['http://127.0.0.1:45001/x', 'http://localhost:8080/x', 'http://[::1]:8080/x']) {
      expect(proxies.agentsFor(new URL(url))).toBe(direct);
    }
  });

  it('goes direct when no variable names a proxy for the scheme', () => {
    setEnv({ HTTP_PROXY: 'http://proxy.corp:3128' });
    const direct = keepAliveAgents(8);
    expect(new ProxyAgents(direct, 8).agentsFor(new URL('https://login.salesforce.com/x'))).toBe(direct);
  });
});
