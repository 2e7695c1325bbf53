/**
 * Injected faults: failed, dropped, held and stalled requests, row locks, request-limit windows and
 * token expiry. Nothing here is random; each fault fires on the next matching requests in arrival order.
 * (Holding and stalling a request is the server's work; this only says which requests.)
 */
import { normalizeId } from './ids.js';
import { type LockChecker, unableToLockRow } from './dml.js';
import type { Row, Table } from './store.js';
import type {
  DropNextSpec,
  FailNextSpec,
  FaultMatch,
  HoldNextSpec,
  LockRowsSpec,
  RecordError,
  StallNextSpec,
} from './types.js';

/** What the server knows about a request when matching faults. */
export interface RequestInfo {
  method: string;
  path: string;
  kind: string;
}

interface PendingFail {
  remaining: number;
  spec: FailNextSpec;
}

interface PendingDrop {
  remaining: number;
  spec: DropNextSpec;
}

interface Pending<T extends { match?: FaultMatch }> {
  remaining: number;
  spec: T;
}

/** Take one use of the first pending fault matching `req`, dropping used-up ones. */
function take<T extends { match?: FaultMatch }>(list: Array<Pending<T>>, req: RequestInfo): T | undefined {
  const at = list.findIndex((p) => p.remaining > 0 && matches(p.spec.match, req));
  if (at < 0) return undefined;
  const pending = list[at]!;
  if (--pending.remaining <= 0) list.splice(at, 1);
  return pending.spec;
}

interface ValueLock {
  object: string;
  field: string;
  /** value → attempts that still fail */
  remaining: Map<string, number>;
}

function matches(match: FaultMatch | undefined, req: RequestInfo): boolean {
  if (match === undefined) return true;
  if (match.method !== undefined && match.method.toUpperCase() !== req.method.toUpperCase()) return false;
  if (match.pathIncludes !== undefined && !req.path.includes(match.pathIncludes)) return false;
  if (match.kind !== undefined && match.kind !== req.kind) return false;
  return true;
}

/** UNABLE_TO_LOCK_ROW for chosen records, a number of attempts each (reference §5.2). */
export class LockRegistry implements LockChecker {
  private readonly byId = new Map<string, number>();
  private readonly byValue: ValueLock[] = [];

  add(spec: LockRowsSpec): void {
    const times = spec.times ?? 1;
    for (const raw of spec.ids ?? []) {
      const id = normalizeId(raw);
      if (id !== undefined) this.byId.set(id, times);
    }
    if (spec.match !== undefined) {
      const remaining = new Map<string, number>();
      for (const v of spec.match.values) remaining.set(String(v), times);
      this.byValue.push({
        object: spec.object.toLowerCase(),
        field: spec.match.field.toLowerCase(),
        remaining,
      });
    }
  }

  get empty(): boolean {
    return this.byId.size === 0 && this.byValue.length === 0;
  }

  check(
    table: Table,
    id: string,
    stored: Row | undefined,
    incoming: Row | undefined,
  ): RecordError | undefined {
    if (this.empty) return undefined;
    let locked = false;
    const byId = this.byId.get(id);
    if (byId !== undefined && byId > 0) {
      this.byId.set(id, byId - 1);
      locked = true;
    } else {
      const objectName = table.schema.name.toLowerCase();
      for (const lock of this.byValue) {
        if (lock.object !== objectName) continue;
        const field = table.schema.byLower.get(lock.field);
        if (field === undefined) continue;
        for (const row of [stored, incoming]) {
          const value = row?.[field.name];
          if (value === undefined || value === null) continue;
          const left = lock.remaining.get(String(value));
          if (left !== undefined && left > 0) {
            lock.remaining.set(String(value), left - 1);
            locked = true;
            break;
          }
        }
        if (locked) break;
      }
    }
    return locked ? unableToLockRow(id) : undefined;
  }

  clear(): void {
    this.byId.clear();
    this.byValue.length = 0;
  }
}

/** Pending request-level faults. */
export class FaultState {
  private fails: PendingFail[] = [];
  private drops: PendingDrop[] = [];
  private readonly holds: Array<Pending<HoldNextSpec>> = [];
  private readonly stalls: Array<Pending<StallNextSpec>> = [];
  /** Requests refused with TotalRequests Limit exceeded until this time (ms). */
  limitUntil = 0;
  /** Further API requests refused with TotalRequests Limit exceeded. */
  limitRequests = 0;
  /** API calls left before every current access token expires; null = none pending. */
  expireAfter: number | null = null;
  readonly locks = new LockRegistry();

  failNext(spec: FailNextSpec): void {
    this.fails.push({ remaining: spec.count ?? 1, spec });
  }

  dropNext(spec: DropNextSpec): void {
    this.drops.push({ remaining: spec.count ?? 1, spec });
  }

  holdNext(spec: HoldNextSpec): void {
    this.holds.push({ remaining: spec.count ?? 1, spec });
  }

  stallNext(spec: StallNextSpec): void {
    if (!Number.isInteger(spec.applyAfterRequests) || spec.applyAfterRequests < 0)
      throw new Error('stallNext: applyAfterRequests must be a non-negative integer');
    this.stalls.push({ remaining: spec.count ?? 1, spec });
  }

  /** Whether this API request is to be held (and consume one use). */
  takeHold(req: RequestInfo): boolean {
    return take(this.holds, req) !== undefined;
  }

  /** The stall that applies to this API request, if any (one use consumed). */
  takeStall(req: RequestInfo): StallNextSpec | undefined {
    return take(this.stalls, req);
  }

  /** Take the fail fault that applies to this request at this point ('before' or 'after'), if any. */
  takeFail(req: RequestInfo, when: 'before' | 'after'): FailNextSpec | undefined {
    for (const f of this.fails) {
      if ((f.spec.when ?? 'before') !== when || f.remaining <= 0 || !matches(f.spec.match, req)) continue;
      f.remaining--;
      this.fails = this.fails.filter((x) => x.remaining > 0);
      return f.spec;
    }
    return undefined;
  }

  takeDrop(req: RequestInfo, when: 'before' | 'after'): boolean {
    for (const d of this.drops) {
      if ((d.spec.when ?? 'before') !== when || d.remaining <= 0 || !matches(d.spec.match, req)) continue;
      d.remaining--;
      this.drops = this.drops.filter((x) => x.remaining > 0);
      return true;
    }
    return false;
  }

  /** Whether a request-limit window refuses this API request (and consume one `forRequests`). */
  takeLimit(now: number): boolean {
    if (now < this.limitUntil) return true;
    if (this.limitRequests > 0) {
      this.limitRequests--;
      return true;
    }
    return false;
  }

  clear(): void {
    this.fails = [];
    this.drops = [];
    this.holds.length = 0;
    this.stalls.length = 0;
    this.limitUntil = 0;
    this.limitRequests = 0;
    this.expireAfter = null;
    this.locks.clear();
  }
}
