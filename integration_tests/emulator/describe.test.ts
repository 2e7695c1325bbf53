/**
 * Versions and Describe (reference §2): the served documents are the fixture files, with exactly the
 * documented additions.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { OBJECTS_WITH_ADDED_EXTERNAL_ID, SERVED_OBJECTS, resolveFixturesDir } from './fixtures.js';
import { startEmulator } from './index.js';
import { Api, send, useEmulator } from './test-support.js';
import type { Emulator } from './types.js';

const dir = resolveFixturesDir();
const fixture = (file: string): Record<string, unknown> & { fields: Array<Record<string, unknown>> } =>
  JSON.parse(readFileSync(join(dir, file), 'utf8'));

let sf: Emulator;
let api: Api;

/**
 * A fixture as Salesforce serves it at `version` from `base`: its `urls` name the version and instance
 * of the request, where the fixtures hold the recorded or anonymised ones (`v48.0`, `vxx.0`, `orgname…`).
 */
function asServed<T>(value: T, version: string, base: string, inUrls = false): T {
  if (typeof value === 'string' && inUrls) {
    return value
      .replace(/^\/services\/data\/v[^/]+/, `/services/data/v${version}`)
      .replace(/^https:\/\/[^/]+/, base) as T;
  }
  if (Array.isArray(value)) return value.map((v) => asServed(v, version, base)) as T;
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(
    Object.entries(value).map(([k, v]) => [k, asServed(v, version, base, inUrls || k === 'urls')]),
  ) as T;
}

useEmulator((emulator, client) => {
  sf = emulator;
  api = client;
});

describe('GET /services/data/', () => {
  it('lists 31.0 … 66.0 with release labels, without authentication or Sforce-Limit-Info', async () => {
    sf.resetStats();
    const reply = await send(`${sf.url}/services/data/`);
    expect(reply.status).toBe(200);
    expect(reply.headers.get('sforce-limit-info')).toBeNull();
    expect(reply.body).toHaveLength(36);
    expect(reply.body[0]).toEqual({ label: "Summer '14", url: '/services/data/v31.0', version: '31.0' });
    const byVersion = new Map<string, string>(
      reply.body.map((v: { version: string; label: string }) => [v.version, v.label]),
    );
    expect(byVersion.get('61.0')).toBe("Summer '24");
    expect(byVersion.get('62.0')).toBe("Winter '25");
    expect(byVersion.get('66.0')).toBe("Spring '26");
    expect(byVersion.has('67.0')).toBe(false);
    expect(sf.stats().byKind.versions).toBe(1);
    expect(sf.stats().apiUsed).toBe(0);
  });

  it('offers only the configured versions and answers 404 NOT_FOUND for another', async () => {
    const narrow = await startEmulator({ apiVersions: ['59.0', '60.0'] });
    try {
      const list = await send(`${narrow.url}/services/data`);
      expect(list.body.map((v: { version: string }) => v.version)).toEqual(['59.0', '60.0']);
      const narrowApi = await Api.connect(narrow, '61.0');
      const reply = await narrowApi.get('/sobjects/');
      expect(reply.status).toBe(404);
      expect(reply.body).toEqual([
        { errorCode: 'NOT_FOUND', message: 'The requested resource does not exist' },
      ]);
    } finally {
      await narrow.close();
    }
  });
});

describe('global describe', () => {
  it('is the recorded one plus the served custom objects, with Lead keyPrefix 00Q', async () => {
    const reply = await api.get('/sobjects/');
    expect(reply.status).toBe(200);
    const recorded = asServed(fixture('describe-global.json'), '61.0', sf.url) as unknown as {
      sobjects: Array<Record<string, unknown>>;
    };
    const served = reply.body.sobjects as Array<Record<string, unknown>>;
    expect(served).toHaveLength(recorded.sobjects.length + 2);
    for (const entry of recorded.sobjects) {
      const mine = served.find((s) => s.name === entry.name);
      if (entry.name === 'Lead') expect(mine).toEqual({ ...entry, keyPrefix: '00Q' });
      else expect(mine).toEqual(entry);
    }
    for (const name of ['Custom__c', 'With_External_Id__c']) {
      const entry = served.find((s) => s.name === name)!;
      expect(Object.keys(entry).sort()).toEqual(Object.keys(recorded.sobjects[0]!).sort());
      expect(entry.custom).toBe(true);
    }
    expect(served.find((s) => s.name === 'Custom__c')!.keyPrefix).toBe('aB5');
    expect(reply.body.maxBatchSize).toBe(200);
  });

  it('answers 304 for If-Modified-Since after the metadata date and 200 before it', async () => {
    const notModified = await api.get('/sobjects/', { 'If-Modified-Since': 'Thu, 03 Sep 2020 21:35:07 GMT' });
    expect(notModified.status).toBe(304);
    expect(notModified.text).toBe('');
    expect(notModified.headers.get('etag')).toMatch(/^"[0-9a-f]{8}"$/);
    const modified = await api.get('/sobjects/', { 'If-Modified-Since': 'Thu, 01 Jan 2015 00:00:00 GMT' });
    expect(modified.status).toBe(200);
  });
});

describe('sObject describe', () => {
  it.each([...SERVED_OBJECTS])(
    '%s equals its fixture plus only the documented External_ID__c field',
    async (name) => {
      const reply = await api.get(`/sobjects/${name}/describe/`);
      expect(reply.status).toBe(200);
      const original = asServed(fixture(`describe-${name}.json`), '61.0', sf.url);
      if (!(OBJECTS_WITH_ADDED_EXTERNAL_ID as readonly string[]).includes(name)) {
        expect(reply.body).toEqual(original);
        return;
      }
      const added = reply.body.fields.filter(
        (f: { name: string }) => !original.fields.some((o) => o.name === f.name),
      );
      expect(added).toHaveLength(1);
      expect({
        ...reply.body,
        fields: reply.body.fields.filter((f: { name: string }) => f.name !== 'External_ID__c'),
      }).toEqual(original);
      const field = added[0];
      expect(Object.keys(field).sort()).toEqual(Object.keys(original.fields[0]!).sort());
      expect(field).toMatchObject({
        name: 'External_ID__c',
        label: 'External ID',
        type: 'string',
        length: 255,
        custom: true,
        externalId: true,
        idLookup: true,
        unique: true,
        caseSensitive: true,
        nillable: true,
        createable: true,
        updateable: true,
        filterable: true,
        soapType: 'xsd:string',
      });
    },
  );

  it('names the version and instance asked in its urls, where the fixtures hold placeholders', async () => {
    const v62 = new Api(sf, api.token, '62.0');
    const contact = await v62.get('/sobjects/Contact/describe');
    expect(contact.body.urls).toMatchObject({
      sobject: '/services/data/v62.0/sobjects/Contact',
      rowTemplate: '/services/data/v62.0/sobjects/Contact/{ID}',
      uiDetailTemplate: `${sf.url}/{ID}`,
      uiNewRecord: `${sf.url}/003/e`,
    });
    expect(contact.body.recordTypeInfos[0].urls.layout).toBe(
      '/services/data/v62.0/sobjects/Contact/describe/layouts/012000000000000AAA',
    );
    expect(contact.text).not.toMatch(/vxx\.0|orgname|salesforce\.com/);
    const global = await v62.get('/sobjects/');
    const account = global.body.sobjects.find((o: { name: string }) => o.name === 'Account');
    expect(account.urls.describe).toBe('/services/data/v62.0/sobjects/Account/describe');
    expect(global.text).not.toMatch(/\/v52\.0\//);
    const entry = await v62.get('/sobjects/Case');
    expect(entry.body.objectDescribe.urls.sobject).toBe('/services/data/v62.0/sobjects/Case');
    // The same document at another version is another variant, with its own ETag.
    const v61 = await api.get('/sobjects/Contact/describe');
    expect(v61.body.urls.sobject).toBe('/services/data/v61.0/sobjects/Contact');
    expect(v61.headers.get('etag')).not.toBe(contact.headers.get('etag'));
  });

  it('does not serve the Person Account fixture (Account is the plain one)', async () => {
    const reply = await api.get('/sobjects/Account/describe');
    expect(reply.body.fields.some((f: { name: string }) => f.name.endsWith('__pc'))).toBe(false);
  });

  it('resolves object names case-insensitively', async () => {
    const reply = await api.get('/sobjects/contact/describe');
    expect(reply.status).toBe(200);
    expect(reply.body.name).toBe('Contact');
  });

  it('answers 404 NOT_FOUND for an unknown object', async () => {
    const reply = await api.get('/sobjects/Foo/describe');
    expect(reply.status).toBe(404);
    expect(reply.body).toEqual([
      { errorCode: 'NOT_FOUND', message: 'The requested resource does not exist' },
    ]);
  });

  it('counts describes by kind and adds Sforce-Limit-Info', async () => {
    sf.resetStats();
    const reply = await api.get('/sobjects/Case/describe');
    expect(reply.headers.get('sforce-limit-info')).toBe(`api-usage=1/${sf.stats().apiMax}`);
    expect(sf.stats().byKind.describe).toBe(1);
  });
});

describe('other resources', () => {
  it('lists the resources of a version', async () => {
    const reply = await api.get('/');
    expect(reply.status).toBe(200);
    expect(reply.body).toMatchObject({
      sobjects: '/services/data/v61.0/sobjects',
      query: '/services/data/v61.0/query',
    });
  });

  it('answers GET /sobjects/{Name} with the global entry and no recent items', async () => {
    const reply = await api.get('/sobjects/Case');
    expect(reply.body.objectDescribe.keyPrefix).toBe('500');
    expect(reply.body.recentItems).toEqual([]);
  });

  it('serves the identity URL of the token response, with a bearer token', async () => {
    const token = await send(`${sf.url}/services/oauth2/token`, {
      method: 'POST',
      body: new URLSearchParams({
        grant_type: 'refresh_token',
        client_id: sf.credentials.clientId,
        client_secret: sf.credentials.clientSecret,
        refresh_token: sf.credentials.refreshToken,
      }).toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    const identity = await send(token.body.id, {
      headers: { authorization: `Bearer ${token.body.access_token}` },
    });
    expect(identity.status).toBe(200);
    expect(identity.body).toMatchObject({ username: 'integration@example.com', active: true });
    expect((await send(token.body.id)).status).toBe(403);
  });
});
