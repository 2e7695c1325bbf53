/**
 * Capacity and throughput measurements of the emulator (not a test; figures go to the README).
 *
 *   npm run build
 *   node --expose-gc build/integration_tests/emulator/capacity.js [--records 1000000]
 *       measures seeding N Contacts in-process: time and heap.
 *   node build/integration_tests/emulator/capacity.js --throughput [--records 200000] [--requests 200] [--concurrency 4]
 *       starts the emulator in its own process (cli.js), seeds it over the admin endpoint, then sends
 *       Composite requests of 5 sObject Collections upserts × 200 records (1,000 records each), half
 *       updates and half inserts, and reports requests/s, records/s and the emulator's CPU time.
 *   node build/integration_tests/emulator/capacity.js --bulk [--records 1000000] [--jobs 4]
 *       starts the emulator in its own process with half the Contacts already stored, then upserts
 *       N Contacts through Bulk API 2.0 jobs (create, one upload, close, poll, the three result
 *       files), and reports per job the upload, processing and results times, and the emulator's CPU
 *       time and memory (resident now and at its peak, from /proc: the emulator alone, not the client).
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { startEmulator } from './index.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  return i < 0 ? fallback : Number(process.argv[i + 1]);
}

const mb = (n: number): string => `${(n / 1048576).toFixed(0)} MB`;

function gc(): void {
  const g = (globalThis as { gc?: () => void }).gc;
  if (g !== undefined) g();
}

function contact(i: number): Record<string, unknown> {
  return {
    FirstName: `First${i}`,
    LastName: `Last${i}`,
    Email: `person${i}@example.com`,
    External_ID__c: `EXT-${i}`,
    Title: 'Customer',
  };
}

async function capacity(records: number): Promise<void> {
  gc();
  const before = process.memoryUsage();
  const t0 = performance.now();
  const emulator = await startEmulator();
  const started = performance.now();
  const batch = 10_000;
  for (let i = 0; i < records; i += batch) {
    const rows: Array<Record<string, unknown>> = [];
    for (let j = i; j < Math.min(records, i + batch); j++) rows.push(contact(j));
    emulator.seed('Contact', rows);
  }
  const seeded = performance.now();
  gc();
  const after = process.memoryUsage();
  process.stdout.write(
    `${JSON.stringify({
      startupMs: Math.round(started - t0),
      records,
      seedMs: Math.round(seeded - started),
      heapUsedBefore: mb(before.heapUsed),
      heapUsedAfter: mb(after.heapUsed),
      bytesPerRecord: Math.round((after.heapUsed - before.heapUsed) / records),
      rss: mb(after.rss),
      gcExposed: (globalThis as { gc?: unknown }).gc !== undefined,
    })}\n`,
  );
  await emulator.close();
}

/** An access token from the emulator's token endpoint, by the refresh-token grant. */
async function signIn(
  url: string,
  clientId: string,
  clientSecret: string,
  refreshToken: string,
): Promise<{ access_token: string }> {
  const response = await fetch(`${url}/services/oauth2/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'refresh_token',
      client_id: clientId,
      client_secret: clientSecret,
      refresh_token: refreshToken,
    }),
  });
  return (await response.json()) as { access_token: string };
}

async function throughput(records: number, requests: number, concurrency: number): Promise<void> {
  const cli = join(dirname(fileURLToPath(import.meta.url)), 'cli.js');
  const child = spawn(process.execPath, [cli, '--json'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolve) => {
    createInterface({ input: child.stdout }).once('line', resolve);
  });
  const { url, clientId, clientSecret, refreshToken } = JSON.parse(line) as Record<string, string>;
  try {
    for (let i = 0; i < records; i += 10_000) {
      const rows = [];
      for (let j = i; j < Math.min(records, i + 10_000); j++) rows.push(contact(j));
      const r = await fetch(`${url}/__emulator/seed/Contact`, { method: 'POST', body: JSON.stringify(rows) });
      if (!r.ok) throw new Error(`seed failed: ${r.status}`);
    }
    const token = await signIn(url!, clientId!, clientSecret!, refreshToken!);
    await fetch(`${url}/__emulator/reset-stats`, { method: 'POST' });
    let next = 0;
    let failures = 0;
    const body = (n: number): string => {
      const compositeRequest = [];
      for (let s = 0; s < 5; s++) {
        const recs = [];
        for (let k = 0; k < 200; k++) {
          const i = n * 1000 + s * 200 + k;
          // even: an existing key (update), odd: a new key (insert)
          const key = i % 2 === 0 ? i % Math.max(1, records) : records + i;
          recs.push({ attributes: { type: 'Contact' }, ...contact(key), Title: `Updated ${n}` });
        }
        compositeRequest.push({
          method: 'PATCH',
          url: '/services/data/v61.0/composite/sobjects/Contact/External_ID__c',
          referenceId: `c${s}`,
          body: { allOrNone: false, records: recs },
        });
      }
      return JSON.stringify({ allOrNone: false, compositeRequest });
    };
    const bodies = Array.from({ length: requests }, (_, n) => body(n));
    const t0 = performance.now();
    const worker = async (): Promise<void> => {
      for (;;) {
        const n = next++;
        if (n >= requests) return;
        const r = await fetch(`${url}/services/data/v61.0/composite`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token.access_token}`, 'content-type': 'application/json' },
          body: bodies[n]!,
        });
        const json = (await r.json()) as { compositeResponse: Array<{ body: Array<{ success: boolean }> }> };
        for (const sub of json.compositeResponse) for (const rec of sub.body) if (!rec.success) failures++;
      }
    };
    await Promise.all(Array.from({ length: concurrency }, () => worker()));
    const seconds = (performance.now() - t0) / 1000;
    const stats = (await (await fetch(`${url}/__emulator/stats`)).json()) as Record<string, number>;
    process.stdout.write(
      `${JSON.stringify({
        storedBefore: records,
        requests,
        concurrency,
        seconds: Number(seconds.toFixed(2)),
        requestsPerSecond: Math.round(requests / seconds),
        recordsPerSecond: Math.round((requests * 1000) / seconds),
        failedRecords: failures,
        emulatorCpuMs: Math.round(((stats.cpuUserMicros ?? 0) + (stats.cpuSystemMicros ?? 0)) / 1000),
        emulatorCpuMsPerRequest: Number(
          (((stats.cpuUserMicros ?? 0) + (stats.cpuSystemMicros ?? 0)) / 1000 / requests).toFixed(2),
        ),
      })}\n`,
    );
  } finally {
    child.kill('SIGTERM');
  }
}

/** Resident memory of a process now and at its peak (Linux /proc), in bytes. */
function residentMemory(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string): number =>
    Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0) * 1024;
  return { rss: kb('VmRSS'), peak: kb('VmHWM') };
}

/** One Bulk upsert job's CSV: Contacts `from` … `to` - 1, about 100 bytes a row. */
function bulkCsv(from: number, to: number): Buffer {
  const rows = ['External_ID__c,FirstName,LastName,Email,Title,Phone,MailingCity'];
  for (let i = from; i < to; i++)
    rows.push(
      `EXT-${i},First${i},Last${i},person${i}@example.com,Customer,+1 555 01${i % 10000},Springfield`,
    );
  return Buffer.from(`${rows.join('\n')}\n`);
}

async function bulk(records: number, jobs: number): Promise<void> {
  const cli = join(dirname(fileURLToPath(import.meta.url)), 'cli.js');
  const child = spawn(process.execPath, [cli, '--json'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolve) => {
    createInterface({ input: child.stdout }).once('line', resolve);
  });
  const { url, clientId, clientSecret, refreshToken } = JSON.parse(line) as Record<string, string>;
  try {
    // Half the keys exist already: every other row is an update.
    for (let i = 0; i < records; i += 20_000) {
      const rows = [];
      for (let j = i; j < Math.min(records, i + 20_000); j += 2) rows.push(contact(j));
      const r = await fetch(`${url}/__emulator/seed/Contact`, { method: 'POST', body: JSON.stringify(rows) });
      if (!r.ok) throw new Error(`seed failed: ${r.status}`);
    }
    const token = await signIn(url!, clientId!, clientSecret!, refreshToken!);
    const auth = { authorization: `Bearer ${token.access_token}` };
    const base = `${url}/services/data/v61.0/jobs/ingest`;
    await fetch(`${url}/__emulator/reset-stats`, { method: 'POST' });
    const before = residentMemory(child.pid!);
    const t0 = performance.now();
    const perJob = Math.ceil(records / jobs);
    const report = [];
    for (let j = 0; j < jobs; j++) {
      const csv = bulkCsv(j * perJob, Math.min(records, (j + 1) * perJob));
      const created = (await (
        await fetch(base, {
          method: 'POST',
          headers: { ...auth, 'content-type': 'application/json' },
          body: JSON.stringify({
            object: 'Contact',
            operation: 'upsert',
            externalIdFieldName: 'External_ID__c',
          }),
        })
      ).json()) as { id: string };
      const t1 = performance.now();
      const up = await fetch(`${base}/${created.id}/batches`, {
        method: 'PUT',
        headers: { ...auth, 'content-type': 'text/csv' },
        body: csv,
      });
      if (up.status !== 201) throw new Error(`upload failed: ${up.status} ${await up.text()}`);
      const t2 = performance.now();
      await fetch(`${base}/${created.id}`, {
        method: 'PATCH',
        headers: { ...auth, 'content-type': 'application/json' },
        body: JSON.stringify({ state: 'UploadComplete' }),
      });
      let info: Record<string, unknown>;
      let polls = 0;
      for (;;) {
        polls++;
        info = (await (await fetch(`${base}/${created.id}`, { headers: auth })).json()) as Record<
          string,
          unknown
        >;
        if (['JobComplete', 'Failed', 'Aborted'].includes(String(info.state))) break;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const t3 = performance.now();
      let resultBytes = 0;
      for (const which of ['successfulResults', 'failedResults', 'unprocessedrecords'])
        resultBytes += (
          await (await fetch(`${base}/${created.id}/${which}`, { headers: auth })).arrayBuffer()
        ).byteLength;
      const t4 = performance.now();
      report.push({
        rows: info.numberRecordsProcessed,
        failed: info.numberRecordsFailed,
        state: info.state,
        uploadMB: Number((csv.length / 1048576).toFixed(1)),
        uploadMs: Math.round(t2 - t1),
        processMs: Math.round(t3 - t2),
        polls,
        resultsMB: Number((resultBytes / 1048576).toFixed(1)),
        resultsMs: Math.round(t4 - t3),
      });
    }
    const seconds = (performance.now() - t0) / 1000;
    const stats = (await (await fetch(`${url}/__emulator/stats`)).json()) as {
      cpuUserMicros: number;
      cpuSystemMicros: number;
      bulk: Record<string, number>;
    };
    const after = residentMemory(child.pid!);
    process.stdout.write(
      `${JSON.stringify({
        records,
        jobs: report,
        seconds: Number(seconds.toFixed(1)),
        rowsPerSecond: Math.round(records / seconds),
        emulatorCpuSeconds: Number(((stats.cpuUserMicros + stats.cpuSystemMicros) / 1e6).toFixed(1)),
        bulk: stats.bulk,
        emulatorRssBefore: mb(before.rss),
        emulatorRssAfter: mb(after.rss),
        emulatorRssPeak: mb(after.peak),
      })}\n`,
    );
  } finally {
    child.kill('SIGTERM');
  }
}

if (process.argv.includes('--bulk')) {
  await bulk(arg('--records', 1_000_000), arg('--jobs', 4));
} else if (process.argv.includes('--throughput')) {
  await throughput(arg('--records', 200_000), arg('--requests', 200), arg('--concurrency', 4));
} else {
  await capacity(arg('--records', 1_000_000));
}
