import { describe, expect, it } from '@jest/globals';
import { parseArgs } from './cli.js';
import { ConfigError } from './errors.js';

describe('command line', () => {
  it('parses the four protocol commands', () => {
    expect(parseArgs(['spec'])).toEqual({ name: 'spec' });
    expect(parseArgs(['check', '--config', 'c.json'])).toEqual({ name: 'check', config: 'c.json' });
    expect(parseArgs(['discover', '--config=c.json'])).toEqual({ name: 'discover', config: 'c.json' });
    expect(parseArgs(['write', '--config', 'c.json', '--catalog', 'k.json'])).toEqual({
      name: 'write',
      config: 'c.json',
      catalog: 'k.json',
    });
  });

  it('parses login with its defaults', () => {
    expect(parseArgs(['login', '--client-id', 'abc', '--sandbox'])).toEqual({
      name: 'login',
      clientId: 'abc',
      sandbox: true,
      port: 1717,
      scope: 'api refresh_token',
      timeoutSeconds: 300,
    });
  });

  it.each([
    [[], 'No command given'],
    [['read'], 'Unknown command "read"'],
    [['check'], 'check needs --config'],
    [['write', '--config', 'c.json'], 'write needs --catalog'],
    [['check', '--config'], 'Option --config needs a value'],
    [['check', '--conf', 'x'], 'Unknown option --conf'],
    [['spec', 'extra'], 'Unexpected argument "extra"'],
    [['login', '--port', '99999'], '--port must be a TCP port'],
  ])('refuses %j with a config error', (argv, message) => {
    expect(() => parseArgs(argv)).toThrow(ConfigError);
    expect(() => parseArgs(argv)).toThrow(message);
  });
});
