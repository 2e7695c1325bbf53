/**
 * 100,000 stored records with indexed upsert matching through real Composite requests (the
 * 1,000,000-record figures come from capacity.ts, see README.md).
 */
import { describe, expect, it } from '@jest/globals';
import type { Api } from './test-support.js';
import { rec, useEmulator } from './test-support.js';
import type { Emulator } from './types.js';

const STORED = 100_000;

let sf: Emulator;
let api: Api;

useEmulator((emulator, client) => {
  sf = emulator;
  api = client;
  for (let i = 0; i < STORED; i += 10_000) {
    const batch = [];
    for (let j = i; j < i + 10_000; j++)
      batch.push({ LastName: `L${j}`, Email: `p${j}@example.com`, External_ID__c: `K-${j}` });
    sf.seed('Contact', batch);
  }
});

describe(`${STORED.toLocaleString('en')} stored records`, () => {
  it('are all stored and counted', () => {
    expect(sf.count('Contact')).toBe(STORED);
  });

  it('upserts 1,000 records per Composite request, matching existing keys through the index', async () => {
    const compositeRequest = [];
    for (let s = 0; s < 5; s++) {
      const records = [];
      for (let k = 0; k < 200; k++) {
        const n = s * 200 + k;
        // every other record hits an existing key spread over the whole range; the rest are new
        const key = n % 2 === 0 ? `K-${(n * 97) % STORED}` : `NEW-${n}`;
        records.push(rec('Contact', { LastName: `U${n}`, External_ID__c: key }));
      }
      compositeRequest.push({
        method: 'PATCH',
        url: '/services/data/v61.0/composite/sobjects/Contact/External_ID__c',
        referenceId: `chunk${s}`,
        body: { allOrNone: false, records },
      });
    }
    sf.resetStats();
    const reply = await api.post('/composite', { allOrNone: false, compositeRequest });
    expect(reply.status).toBe(200);
    const results = reply.body.compositeResponse.flatMap((r: { body: unknown[] }) => r.body);
    expect(results).toHaveLength(1000);
    expect(results.every((r: { success: boolean }) => r.success)).toBe(true);
    expect(results.filter((r: { created: boolean }) => r.created)).toHaveLength(500);
    expect(sf.count('Contact')).toBe(STORED + 500);
    expect(sf.stats().apiUsed).toBe(1);
    const hit = sf.records('Contact').find((r) => r.External_ID__c === `K-${(2 * 97) % STORED}`);
    expect(hit!.LastName).toBe('U2');
  });

  it('answers an indexed IN query over 200 keys and a full scan with paging', async () => {
    const keys = Array.from({ length: 200 }, (_, i) => `'K-${i * 400}'`).join(',');
    const byIndex = await api.query(
      `SELECT Id, External_ID__c FROM Contact WHERE External_ID__c IN (${keys})`,
    );
    expect(byIndex.body.totalSize).toBe(200);
    const scan = await api.query('SELECT Id FROM Contact WHERE External_ID__c != null');
    expect(scan.body.totalSize).toBe(STORED + 500);
    expect(scan.body.records).toHaveLength(2000);
    expect(scan.body.nextRecordsUrl).toBeDefined();
  });
});
