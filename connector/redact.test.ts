import { describe, expect, it } from '@jest/globals';
import { generateKeyPairSync } from 'node:crypto';
import { loadSpec } from './config.js';
import { Redactor, secretValues } from './redact.js';

const spec = loadSpec().connectionSpecification;
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();

/** One config per credentials branch, every secret field filled with a recognisable value. */
const configs = [
  {
    credentials: {
      auth_type: 'oauth2_refresh_token',
      client_id: 'CID-refresh-0001',
      client_secret: 'CSECRET-refresh-0001',
      refresh_token: 'RTOKEN-0001',
    },
  },
  {
    credentials: {
      auth_type: 'jwt_bearer',
      client_id: 'CID-jwt-0002',
      username: 'user@example.com',
      private_key: pem,
    },
  },
  {
    credentials: {
      auth_type: 'client_credentials',
      client_id: 'CID-cc-0003',
      client_secret: 'CSECRET-cc-0003',
    },
  },
];

describe('secret redaction', () => {
  it('finds every airbyte_secret field of every credentials branch', () => {
    expect(secretValues(spec, configs[0]).sort()).toEqual([
      'CID-refresh-0001',
      'CSECRET-refresh-0001',
      'RTOKEN-0001',
    ]);
    expect(secretValues(spec, configs[1])).toEqual(['CID-jwt-0002', pem]);
    expect(secretValues(spec, configs[2]).sort()).toEqual(['CID-cc-0003', 'CSECRET-cc-0003']);
  });

  it.each(configs.map((c) => [c.credentials.auth_type, c] as const))(
    'masks every secret of %s wherever it appears',
    (_name, config) => {
      const redactor = new Redactor();
      const secrets = secretValues(spec, config);
      for (const s of secrets) redactor.add(s);
      const text = `config ${JSON.stringify(config)} and raw ${secrets.join(' ')} and encoded ${secrets.map(encodeURIComponent).join(' ')}`;
      const out = redactor.redact(text);
      for (const s of secrets) {
        expect(out).not.toContain(s);
        expect(out).not.toContain(encodeURIComponent(s));
      }
      expect(out.startsWith('config ')).toBe(true);
    },
  );

  it('masks a single line of a PEM key that a log might show', () => {
    const redactor = new Redactor();
    redactor.add(pem);
    const line = pem.split('\n')[3]!;
    expect(redactor.redact(`bad key line ${line}`)).not.toContain(line);
  });

  it('masks secret shapes it was never told about', () => {
    const redactor = new Redactor();
    const token = '00D5e000000abcd!AQ0AQH2m1ZkNwY8u4fQ2.xR9Yb7Lq3TtVw5Zs8Kp1Jh6Gd4Fe2Cc0Aa';
    const samples = [
      `Authorization: Bearer ${token}`,
      `grant_type=refresh_token&refresh_token=5Aep861abc&client_secret=xyz123`,
      `{"access_token":"abc.def","refresh_token":"r-1"}`,
      `session ${token} expired`,
      `assertion=eyJhbGciOiJSUzI1NiJ9.e30.sig`,
    ];
    for (const s of samples) {
      const out = redactor.redact(s);
      expect(out).toContain('**********');
      expect(out).not.toMatch(/5Aep861abc|xyz123|abc\.def|r-1"|AQ0AQH2m1Z|eyJhbGciOiJSUzI1NiJ9/);
    }
  });

  it('leaves ordinary text alone', () => {
    expect(new Redactor().redact('Rejected Contact a@b.com: STRING_TOO_LONG')).toBe(
      'Rejected Contact a@b.com: STRING_TOO_LONG',
    );
  });
});
