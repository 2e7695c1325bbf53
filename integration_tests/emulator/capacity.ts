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
 */
import { spawn } from 'node:child_process';
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
    const token = (await (
      await fetch(`${url}/services/oauth2/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'refresh_token',
          client_id: clientId!,
          client_secret: clientSecret!,
          refresh_token: refreshToken!,
        }),
      })
    ).json()) as { access_token: string };
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

if (process.argv.includes('--throughput')) {
  await throughput(arg('--records', 200_000), arg('--requests', 200), arg('--concurrency', 4));
} else {
  await capacity(arg('--records', 1_000_000));
}
