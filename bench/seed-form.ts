/**
 * The seed's form, as a throughput and request-count baseline (PRODUCT.md section 11): one Composite
 * call carrying 25 single-record subrequests, each `PATCH /sobjects/<Object>/<Key>/<value>` — the
 * classic one-record-per-subrequest upsert, which the connector cannot be configured to send (it packs
 * sObject Collections of up to 200). It is not a connector: it acknowledges nothing (STATE lines are
 * ignored), retries nothing and maps nothing; it only sends the same rows the same number of calls at
 * a time, so that rows/s and API requests can be set beside the connector's.
 *
 *   node build/bench/seed-form.js --config <connector config.json> [--parallel 4] [--per-call 25]
 *
 * The config is the connector's own file (0600): credentials (refresh token), login_url,
 * salesforce_object and external_id_field. AirbyteMessages come on stdin; each RECORD's `data` is the
 * record, its key field's value goes into the URL. It prints one JSON line:
 * {records, calls, ok, failed, httpErrors, errors} (errors: count per Salesforce code).
 *
 * Plain node:http with one keep-alive connection per call in flight; http only (the emulator).
 */
import { Agent, request } from 'node:http';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';

interface Args {
  config: string;
  parallel: number;
  perCall: number;
}

interface Answer {
  status: number;
  text: string;
}

/** A subrequest of the Composite call. */
interface Subrequest {
  method: 'PATCH';
  url: string;
  referenceId: string;
  body: Record<string, unknown>;
}

function usage(message: string): never {
  process.stderr.write(
    `seed-form: ${message}\nusage: seed-form.js --config FILE [--parallel N] [--per-call N (1-25)]\n`,
  );
  process.exit(2);
}

function parseArgs(argv: string[]): Args {
  const args: Partial<Args> = { parallel: 4, perCall: 25 };
  const int = (flag: string, value: string | undefined, max: number): number => {
    const n = Number(value);
    if (value === undefined || !Number.isInteger(n) || n < 1 || n > max)
      usage(`${flag} needs a whole number from 1 to ${max}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--config') args.config = argv[++i] ?? usage('--config needs a file');
    else if (arg === '--parallel') args.parallel = int(arg, argv[++i], 100);
    // Salesforce takes at most 25 subrequests in one Composite call (reference §3.5).
    else if (arg === '--per-call') args.perCall = int(arg, argv[++i], 25);
    else usage(`unknown argument ${String(arg)}`);
  }
  if (args.config === undefined) usage('--config is required');
  return args as Args;
}

const agent = new Agent({ keepAlive: true, maxSockets: 64 });

/** One HTTP exchange; the whole answer as text. */
function exchange(method: string, url: URL, headers: Record<string, string>, body?: string): Promise<Answer> {
  if (url.protocol !== 'http:') throw new Error(`seed-form talks plain http only (got ${url.protocol})`);
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers, agent }, (res) => {
      res.setEncoding('utf8');
      let text = '';
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** The refresh-token grant (reference §1): an access token and the instance URL. */
async function signIn(config: Record<string, any>): Promise<{ token: string; instance: string }> {
  const c = config.credentials as Record<string, string>;
  const form = new URLSearchParams({
    grant_type: 'refresh_token',
    client_id: c.client_id ?? '',
    client_secret: c.client_secret ?? '',
    refresh_token: c.refresh_token ?? '',
  }).toString();
  const answer = await exchange(
    'POST',
    new URL('/services/oauth2/token', String(config.login_url)),
    { 'Content-Type': 'application/x-www-form-urlencoded' },
    form,
  );
  // The body of a refused grant names no secret, but it is not printed either: the status is enough.
  if (answer.status !== 200) throw new Error(`sign-in refused: HTTP ${answer.status}`);
  const body = JSON.parse(answer.text) as { access_token: string; instance_url: string };
  return { token: body.access_token, instance: body.instance_url };
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  const config = JSON.parse(readFileSync(args.config, 'utf8')) as Record<string, any>;
  const object = String(config.salesforce_object ?? 'Contact');
  const keyField = String(config.external_id_field ?? 'External_ID__c');
  const { token, instance } = await signIn(config);
  const auth = { Authorization: `Bearer ${token}` };
  // The newest version the org offers (the versions call is free, reference §2.1).
  const versions = await exchange('GET', new URL('/services/data/', instance), auth);
  const list = JSON.parse(versions.text) as Array<{ version: string }>;
  const version = list.at(-1)?.version ?? usage('the org listed no API version');
  const compositeUrl = new URL(`/services/data/v${version}/composite`, instance);
  const headers = { ...auth, 'Content-Type': 'application/json' };

  const totals = { records: 0, calls: 0, ok: 0, failed: 0, httpErrors: 0 };
  const errors: Record<string, number> = {};
  const inFlight = new Set<Promise<void>>();

  const send = async (subrequests: Subrequest[]): Promise<void> => {
    totals.calls += 1;
    let answer: Answer;
    try {
      answer = await exchange(
        'POST',
        compositeUrl,
        headers,
        JSON.stringify({ allOrNone: false, compositeRequest: subrequests }),
      );
    } catch (error) {
      totals.httpErrors += 1;
      totals.failed += subrequests.length;
      const code = (error as NodeJS.ErrnoException).code ?? 'NETWORK';
      errors[code] = (errors[code] ?? 0) + subrequests.length;
      return;
    }
    if (answer.status !== 200) {
      totals.httpErrors += 1;
      totals.failed += subrequests.length;
      const code = `HTTP_${answer.status}`;
      errors[code] = (errors[code] ?? 0) + subrequests.length;
      return;
    }
    const results = (JSON.parse(answer.text) as { compositeResponse: Array<Record<string, any>> })
      .compositeResponse;
    for (const r of results) {
      const status = Number(r.httpStatusCode);
      if (status === 200 || status === 201 || status === 204) totals.ok += 1;
      else {
        totals.failed += 1;
        const code = String((r.body as Array<{ errorCode?: string }> | undefined)?.[0]?.errorCode ?? status);
        errors[code] = (errors[code] ?? 0) + 1;
      }
    }
  };
  /** Sends one call once fewer than `parallel` are in flight: the same concurrency as the connector's. */
  const dispatch = async (subrequests: Subrequest[]): Promise<void> => {
    while (inFlight.size >= args.parallel) await Promise.race(inFlight);
    const call = send(subrequests).finally(() => inFlight.delete(call));
    inFlight.add(call);
  };

  let pending: Subrequest[] = [];
  for await (const line of createInterface({ input: process.stdin, crlfDelay: Infinity })) {
    if (line === '') continue;
    const message = JSON.parse(line) as { type?: string; record?: { data?: Record<string, unknown> } };
    if (message.type !== 'RECORD' || message.record?.data === undefined) continue;
    const { [keyField]: key, ...fields } = message.record.data;
    totals.records += 1;
    pending.push({
      method: 'PATCH',
      url: `/services/data/v${version}/sobjects/${object}/${keyField}/${encodeURIComponent(String(key))}`,
      referenceId: `r${pending.length}`,
      body: fields,
    });
    if (pending.length === args.perCall) {
      await dispatch(pending);
      pending = [];
    }
  }
  if (pending.length > 0) await dispatch(pending);
  await Promise.all(inFlight);
  agent.destroy();
  process.stdout.write(`${JSON.stringify({ ...totals, errors })}\n`);
  return totals.failed === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`seed-form: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
