/**
 * The latency model (README "Latency model"): what a request writes, how long it takes, which requests
 * are in flight and for how long (the long-running limit, reference §5.3), and the lock-contention
 * chance that grows with the calls in flight writing the same object.
 */
import { parseSubrequestUrl } from './composite.js';
import type { EmulatorSettings } from './types.js';

/** The records a request writes or deletes, in total and per object (lower-case API name). */
export interface WriteCost {
  records: number;
  byObject: Map<string, number>;
}

/** A request as the cost model reads it: path segments after /services/data/vNN.N/, query, parsed JSON body. */
export interface CostInput {
  method: string;
  segments: readonly string[];
  query: URLSearchParams;
  body: unknown;
}

function add(cost: WriteCost, objectName: string | undefined, n: number): void {
  cost.records += n;
  if (objectName === undefined) return;
  const key = objectName.toLowerCase();
  cost.byObject.set(key, (cost.byObject.get(key) ?? 0) + n);
}

function recordsOf(body: unknown): unknown[] {
  if (typeof body !== 'object' || body === null) return [];
  const records = (body as Record<string, unknown>).records;
  return Array.isArray(records) ? records : [];
}

function typeOf(record: unknown): string | undefined {
  if (typeof record !== 'object' || record === null) return undefined;
  const attributes = (record as Record<string, unknown>).attributes;
  if (typeof attributes !== 'object' || attributes === null) return undefined;
  const type = (attributes as Record<string, unknown>).type;
  return typeof type === 'string' ? type : undefined;
}

function addRequest(
  cost: WriteCost,
  r: CostInput,
  objectOfId: (id: string) => string | undefined,
  top: boolean,
): void {
  const [first, second] = r.segments;
  if (first === 'sobjects') {
    // Single-record writes: POST /sobjects/O, PATCH|DELETE /sobjects/O/id, PATCH|POST|DELETE /sobjects/O/F/v.
    const method = r.method === 'POST' && r.query.get('_HttpMethod') === 'PATCH' ? 'PATCH' : r.method;
    const n = r.segments.length;
    if (n < 2 || n > 4 || r.segments[2] === 'describe' || method === 'GET' || method === 'HEAD') return;
    if (n === 2 && method !== 'POST') return;
    add(cost, second, 1);
    return;
  }
  if (first !== 'composite') return;
  if (second === 'sobjects') {
    const n = r.segments.length;
    if (r.method === 'DELETE' && n === 2) {
      for (const id of (r.query.get('ids') ?? '').split(',')) {
        const trimmed = id.trim();
        if (trimmed !== '') add(cost, objectOfId(trimmed), 1);
      }
    } else if ((r.method === 'POST' || r.method === 'PATCH') && n === 2) {
      for (const record of recordsOf(r.body)) add(cost, typeOf(record), 1);
    } else if (r.method === 'PATCH' && n === 4) {
      for (let i = recordsOf(r.body).length; i > 0; i--) add(cost, r.segments[2], 1);
    }
    return;
  }
  if (!top || r.segments.length !== 1 || r.method !== 'POST') return;
  // Composite: its subrequests run one after another, so their costs add up.
  const list = (r.body as Record<string, unknown> | null | undefined)?.compositeRequest;
  if (!Array.isArray(list)) return;
  for (const sub of list) {
    if (typeof sub !== 'object' || sub === null) continue;
    const { method, url, body } = sub as Record<string, unknown>;
    if (typeof method !== 'string' || typeof url !== 'string') continue;
    let target;
    try {
      target = parseSubrequestUrl(url);
    } catch {
      continue; // a malformed escape: the subrequest itself will say so
    }
    if (target === undefined) continue;
    addRequest(cost, { method, segments: target.segments, query: target.query, body }, objectOfId, false);
  }
}

/**
 * What a request writes: the records of a collection (per `attributes.type`, the URL's object for an
 * upsert, the ids' key prefixes for a delete), 1 for a single-record write, and for a Composite call
 * the sum over its subrequests. Records are counted as sent, valid or not.
 */
export function writeCost(request: CostInput, objectOfId: (id: string) => string | undefined): WriteCost {
  const cost: WriteCost = { records: 0, byObject: new Map() };
  addRequest(cost, request, objectOfId, true);
  return cost;
}

/**
 * The modelled latency of a request that writes `records` records (jitter aside):
 * `latencyMs + latencyPerRecordMs × records`. A Composite call is the sum over its subrequests, each
 * its share `latencyMs / n` of the base plus `latencyPerRecordMs ×` its own records — the same total.
 */
export function modelLatencyMs(settings: EmulatorSettings, records: number): number {
  return settings.latencyMs + settings.latencyPerRecordMs * records;
}

/**
 * The chance that one record written to an object fails with UNABLE_TO_LOCK_ROW when `writers` API
 * calls (this one included) are in flight writing that object: min(max, k × (writers − 1)).
 */
export function contentionChance(settings: EmulatorSettings, writers: number): number {
  if (!settings.lockContention || writers <= 1) return 0;
  return Math.min(settings.lockContentionMax, settings.lockContentionPerWriter * (writers - 1));
}

/** One request in flight. */
export interface Flight {
  /** performance.now() at arrival. */
  readonly arrivedAt: number;
  /** Objects it writes (lower-case) → records. */
  writes: ReadonlyMap<string, number>;
}

/** The requests in flight: their ages (long-running limit) and the objects they write (contention). */
export class Flights {
  private readonly open = new Set<Flight>();
  private readonly writers = new Map<string, number>();

  /** A request arrived at `now`. */
  begin(now: number): Flight {
    const flight: Flight = { arrivedAt: now, writes: new Map() };
    this.open.add(flight);
    return flight;
  }

  /** Record what a request in flight writes (once its body is read). */
  setWrites(flight: Flight, writes: ReadonlyMap<string, number>): void {
    for (const objectName of writes.keys())
      this.writers.set(objectName, (this.writers.get(objectName) ?? 0) + 1);
    flight.writes = writes;
  }

  /** A request was answered, applied or given up. */
  end(flight: Flight): void {
    if (!this.open.delete(flight)) return;
    for (const objectName of flight.writes.keys()) {
      const left = (this.writers.get(objectName) ?? 1) - 1;
      if (left > 0) this.writers.set(objectName, left);
      else this.writers.delete(objectName);
    }
  }

  get size(): number {
    return this.open.size;
  }

  /** Requests in flight for at least `thresholdMs` at `now`. */
  longRunning(now: number, thresholdMs: number): number {
    let n = 0;
    for (const f of this.open) if (now - f.arrivedAt >= thresholdMs) n++;
    return n;
  }

  /** API calls in flight writing `objectName` (any case). */
  writersOf(objectName: string): number {
    return this.writers.get(objectName.toLowerCase()) ?? 0;
  }
}
