import { afterEach, describe, expect, it } from '@jest/globals';
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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

describe('BulkClient.upload', () => {
  it('sends the header, then the file up to the size given, in pieces read into one buffer; a second upload of the same file sends it all again', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bulk-upload-'));
    const path = join(dir, 'rows.csv');
    const fd = openSync(path, 'w+', 0o600);
    try {
      // 2.5 MB of distinct lines (more than one piece), then bytes past the size that must not be sent.
      let rows = '';
      for (let i = 0; rows.length < 2_500_000; i += 1) rows += `C-${i},Row ${i} ${'x'.repeat(i % 50)}\n`;
      writeSync(fd, rows);
      writeSync(fd, 'NOT PART OF THE BODY');
      const header = Buffer.from('External_ID__c,LastName\n');
      const bodies: string[] = [];
      tokenOnce();
      nock(INSTANCE)
        .put(/\/services\/data\/v61.0\/jobs\/ingest\/750[xy]\/batches/)
        .times(2)
        .reply(201, (_uri, body) => {
          bodies.push(body as string);
          return '';
        });
      const client = new BulkClient(testClient());
      const file = { fd, size: header.length + Buffer.byteLength(rows), prefix: header };
      // A job whose upload lost its answer is aborted, and its rows go to a new job (bulk-job.ts).
      await client.upload('750x', file);
      await client.upload('750y', file);
      expect(bodies.length).toBe(2);
      for (const body of bodies) expect(body).toBe(`${header.toString()}${rows}`);
    } finally {
      closeSync(fd);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
