import { afterEach, describe, expect, it } from '@jest/globals';
import { Readable } from 'node:stream';
import nock from 'nock';
import Papa from 'papaparse';
import { BulkClient } from './bulk.js';
import { INSTANCE, testClient, tokenOnce } from './test-client.js';

const RESULTS = '/services/data/v61.0/jobs/ingest/750x/successfulResults/';

afterEach(() => nock.cleanAll());

/** Reads a result set answered with `body` (sent in pieces of `piece` bytes), row by row. */
async function read(body: string | Buffer, piece = 7): Promise<{ header: string[]; rows: string[][] }> {
  tokenOnce();
  const bytes = Buffer.isBuffer(body) ? body : Buffer.from(body, 'utf8');
  const pieces: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += piece) pieces.push(bytes.subarray(at, at + piece));
  // persist: a download that fails is tried again.
  nock(INSTANCE)
    .persist()
    .get(RESULTS)
    .reply(200, () => Readable.from(pieces), { 'content-type': 'text/csv' });
  const rows: string[][] = [];
  let header: string[] = [];
  const count = await new BulkClient(testClient({ sleep: () => Promise.resolve() })).results(
    '750x',
    'successfulResults',
    (cells, h) => {
      header = h;
      rows.push(cells);
    },
  );
  expect(count).toBe(rows.length);
  return { header, rows };
}

describe('BulkClient.results', () => {
  it('gives every row in order with its header, quoted cells and characters split between pieces intact', async () => {
    const data = Array.from({ length: 5_000 }, (_, i) => [
      `003${String(i).padStart(15, '0')}`,
      i % 2 === 0 ? 'true' : 'false',
      `C-${i}`,
      `Gödel ${i}, "the" 🧮\nline`,
    ]);
    const body = `\ufeff${Papa.unparse([['sf__Id', 'sf__Created', 'External_ID__c', 'Description'], ...data], { newline: '\n' })}\n`;
    const { header, rows } = await read(body, 4_093);
    expect(header).toEqual(['sf__Id', 'sf__Created', 'External_ID__c', 'Description']);
    expect(rows).toEqual(data);
  });

  it('fails the download on a file that is not well-formed CSV, naming the row', async () => {
    const body = `sf__Id,Name\n001000000000001AAA,ok\n001000000000002AAA,"unterminated\n`;
    await expect(read(body)).rejects.toThrow(/not well-formed CSV \(.*row 2\)/);
  });
});
