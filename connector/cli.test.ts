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
    expect(parseArgs(['write', '--catalog=k.json', '--config', 'c.json'])).toEqual({
      name: 'write',
      config: 'c.json',
      catalog: 'k.json',
    });
  });

  it('reads help from help, --help and -h', () => {
    for (const argv of [['help'], ['--help'], ['-h']]) expect(parseArgs(argv)).toEqual({ name: 'help' });
  });

  it('takes the last of a repeated option, and an inline value that starts with "-" or holds "="', () => {
    expect(parseArgs(['check', '--config', 'a.json', '--config', 'b.json'])).toEqual({
      name: 'check',
      config: 'b.json',
    });
    expect(parseArgs(['check', '--config=-odd=name.json'])).toEqual({
      name: 'check',
      config: '-odd=name.json',
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

  it('parses every login option', () => {
    expect(
      parseArgs([
        'login',
        '--client-id=abc',
        '--client-secret',
        's3cr3t',
        '--login-url',
        'https://acme.my.salesforce.com',
        '--port',
        '8080',
        '--scope',
        'api refresh_token offline_access',
        '--timeout-seconds',
        '30',
      ]),
    ).toEqual({
      name: 'login',
      clientId: 'abc',
      clientSecret: 's3cr3t',
      loginUrl: 'https://acme.my.salesforce.com',
      sandbox: false,
      port: 8080,
      scope: 'api refresh_token offline_access',
      timeoutSeconds: 30,
    });
  });

  it.each([
    [[], 'No command given'],
    [['read'], 'Unknown command "read"'],
    [['check'], 'check needs --config <file>'],
    [['write', '--config', 'c.json'], 'write needs --catalog <file>'],
    [['check', '--config'], 'Option --config needs a value.'],
    [['write', '--config', '--catalog', 'k.json'], 'Option --config needs a value.'],
    [['check', '--conf', 'x'], 'Unknown option --conf for check.'],
    [['check', '-c', 'x'], 'Unknown option -c for check.'],
    [['check', '--help'], 'Unknown option --help for check.'],
    [['spec', 'extra'], 'Unexpected argument "extra" for spec.'],
    [['check', '--config', 'c.json', 'extra'], 'Unexpected argument "extra" for check.'],
    [['spec', '--', 'extra'], 'Unexpected argument "extra" for spec.'],
    [['login', '--sandbox=false'], 'Option --sandbox takes no value.'],
    [['login', '--port', '99999'], '--port must be a TCP port'],
    [['login', '--port', 'http'], '--port must be a TCP port'],
    [['login', '--timeout-seconds', '0'], '--timeout-seconds must be a positive number'],
  ])('refuses %j with a config error naming the fault', (argv, message) => {
    expect(() => parseArgs(argv)).toThrow(ConfigError);
    expect(() => parseArgs(argv)).toThrow(message);
  });

  it('shows the usage with every option it refuses', () => {
    expect(() => parseArgs(['check', '--conf', 'x'])).toThrow(/usage:\n {2}spec\n {2}check --config/);
  });

  it('asks for --x=<value> when a value starts with "-", without repeating it (it may be the secret)', () => {
    let message = '';
    try {
      parseArgs(['login', '--client-secret', '-9f3Secret']);
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain(
      'Option --client-secret needs a value; for one that starts with "-", write --client-secret=<value>.',
    );
    expect(message).not.toContain('9f3Secret');
  });
});
