/**
 * The org's state shared by every handler: metadata, records, users, OAuth, settings, faults,
 * usage counters, query cursors and Bulk jobs.
 */
import { createHash } from 'node:crypto';
import type { DmlContext, DmlEnv, User } from './dml.js';
import { transactionTime } from './dml.js';
import type { FaultState } from './faults.js';
import type { Metadata } from './fixtures.js';
import { IdGenerator } from './ids.js';
import type { OAuthServer } from './oauth.js';
import type { Store, Transaction } from './store.js';
import type { BulkStats, EmulatorSettings } from './types.js';

/** A pre-serialized JSON document with its ETag. */
export interface CachedJson {
  text: string;
  etag: string;
}

export function cachedJson(value: unknown): CachedJson {
  const text = JSON.stringify(value);
  return { text, etag: `"${createHash('sha256').update(text).digest('hex').slice(0, 8)}"` };
}

/** An open query cursor (query locator), reference §5.4. */
export interface Cursor {
  locator: string;
  objectName: string;
  ids: string[];
  batchSize: number;
  version: string;
  /** Builds one result record from an id (undefined when the record vanished since). */
  render: (id: string, version: string) => Record<string, unknown> | undefined;
}

/** Open query cursors; the oldest is dropped beyond the cap (Salesforce: a few open cursors per user). */
export class Cursors {
  private readonly open = new Map<string, Cursor>();
  private seq = 0;

  constructor(private readonly max: () => number) {}

  create(c: Omit<Cursor, 'locator'>): Cursor {
    this.seq++;
    const locator = IdGenerator.make('01g', this.seq);
    const cursor = { ...c, locator };
    this.open.set(locator, cursor);
    while (this.open.size > this.max()) {
      const oldest = this.open.keys().next().value;
      if (oldest === undefined) break;
      this.open.delete(oldest);
    }
    return cursor;
  }

  get(locator: string): Cursor | undefined {
    return this.open.get(locator);
  }

  close(locator: string): void {
    this.open.delete(locator);
  }

  clear(): void {
    this.open.clear();
  }
}

/** Usage counters. */
export interface Usage {
  apiUsed: number;
  /** DailyBulkApiBatches used (reference §4.2). */
  bulkBatches: number;
  /** Requests refused at the daily limit (dailyApiRecoverEvery counts them). */
  refusedAtLimit: number;
  /** Bulk ingest calls and work, for stats(). */
  bulk: BulkStats;
}

/** Bulk counters at zero. */
export function emptyBulkStats(): BulkStats {
  return {
    jobsCreated: 0,
    uploads: 0,
    uploadBytes: 0,
    closes: 0,
    aborts: 0,
    polls: 0,
    resultGets: 0,
    lists: 0,
    deletes: 0,
    batchesProcessed: 0,
    recordsProcessed: 0,
  };
}

/** Everything a handler needs. */
export interface Core {
  store: Store;
  metadata: Metadata;
  settings: EmulatorSettings;
  faults: FaultState;
  oauth: OAuthServer;
  users: Map<string, User>;
  integrationUser: User;
  orgId: string;
  versions: string[];
  versionSet: Set<string>;
  dml: DmlEnv;
  cursors: Cursors;
  usage: Usage;
  baseUrl(): string;
}

/** A fresh transaction context for one API request. */
export function newContext(core: Core, user: User, txn?: Transaction): DmlContext {
  return { env: core.dml, user, now: transactionTime(), txn };
}
