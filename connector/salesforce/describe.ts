/**
 * Versions and Describe (reference §2), cached for the run: discover, check and write share one
 * instance, so each object is described at most once per run.
 */
import { compositeGets } from './composite.js';
import { SalesforceApiError } from './errors.js';
import type { SalesforceHttp } from './http.js';
import type { ApiVersion, DescribeGlobal, DescribeSObject } from './types.js';

/**
 * `GET /services/data/` on an instance: needs no token and costs no API request (reference §2.1).
 * Through the one client, so its policy (no redirect, no plain http off loopback) holds here too.
 */
export async function listApiVersions(http: SalesforceHttp, instanceUrl: string): Promise<ApiVersion[]> {
  const response = await http.request<ApiVersion[]>({
    method: 'GET',
    url: `${instanceUrl}/services/data/`,
    idempotent: true,
    kind: 'versions',
  });
  return Array.isArray(response.body) ? response.body : [];
}

/** Describe results, memoised per run. */
export class DescribeCache {
  private globalPromise: Promise<DescribeGlobal> | undefined;
  private readonly objects = new Map<string, Promise<DescribeSObject | undefined>>();

  constructor(private readonly http: SalesforceHttp) {}

  /** `GET /sobjects/` */
  global(): Promise<DescribeGlobal> {
    this.globalPromise ??= this.http
      .request<DescribeGlobal>({ method: 'GET', path: '/sobjects/', idempotent: true, kind: 'describe' })
      .then((r) => r.body);
    return this.globalPromise;
  }

  /** `GET /sobjects/{name}/describe/`; undefined when the object does not exist or is not visible (404). */
  sobject(name: string): Promise<DescribeSObject | undefined> {
    let promise = this.objects.get(name);
    if (promise === undefined) {
      promise = this.http
        .request<DescribeSObject>({
          method: 'GET',
          path: `/sobjects/${encodeURIComponent(name)}/describe/`,
          idempotent: true,
          kind: 'describe',
        })
        .then((r) => r.body)
        .catch((error: unknown) => {
          if (error instanceof SalesforceApiError && error.status === 404) return undefined;
          this.objects.delete(name);
          throw error;
        });
      this.objects.set(name, promise);
    }
    return promise;
  }

  /**
   * Describes several objects with as few API requests as possible: up to ten Describes ride in one
   * Composite call (a Composite call counts as one request, reference §3.5). Each entry is the
   * Describe, undefined for an unknown object, or the error that object's Describe failed with.
   * The groups go out together; the client's one limiter bounds how many run at once.
   */
  async many(names: string[]): Promise<Map<string, DescribeSObject | undefined | Error>> {
    const unique = [...new Set(names)];
    const wanted = unique.filter((n) => !this.objects.has(n));
    const groups: string[][] = [];
    for (let i = 0; i < wanted.length; i += DESCRIBES_PER_COMPOSITE)
      groups.push(wanted.slice(i, i + DESCRIBES_PER_COMPOSITE));
    // A group that failed as a whole (the sign-in or the call) is not asked again one by one: its
    // error is each object's answer (asking again after a stop would sign in a second time).
    const failed = new Map<string, Error>();
    await Promise.all(groups.map((group) => this.describeGroup(group, failed)));
    const out = new Map<string, DescribeSObject | undefined | Error>();
    for (const name of unique) {
      const error = failed.get(name);
      if (error !== undefined) {
        out.set(name, error);
        continue;
      }
      try {
        out.set(name, await this.sobject(name));
      } catch (error) {
        out.set(name, error instanceof Error ? error : new Error(String(error)));
      }
    }
    return out;
  }

  /** One Composite call of Describe subrequests; fills the cache (a single object goes alone). */
  private async describeGroup(group: string[], failed: Map<string, Error>): Promise<void> {
    if (group.length === 1) {
      const name = group[0]!;
      await this.sobject(name).catch((error: unknown) => {
        failed.set(name, error instanceof Error ? error : new Error(String(error)));
      });
      return;
    }
    const answers = await compositeGets(
      this.http,
      group.map((name) => `/sobjects/${encodeURIComponent(name)}/describe/`),
      'describe',
    ).catch((error: unknown) => (error instanceof Error ? error : new Error(String(error))));
    if (answers instanceof Error) {
      for (const name of group) failed.set(name, answers);
      return;
    }
    group.forEach((name, i) => {
      const sub = answers[i];
      if (sub !== undefined && sub.httpStatusCode === 200) {
        this.objects.set(name, Promise.resolve(sub.body as DescribeSObject));
      } else if (sub !== undefined && sub.httpStatusCode === 404) {
        this.objects.set(name, Promise.resolve(undefined));
      }
      // Anything else: left uncached, so sobject() asks again on its own and reports the real error.
    });
  }
}

/** Describes per Composite call: Describe bodies are large (100–500 KB), so fewer than the 25 allowed. */
const DESCRIBES_PER_COMPOSITE = 10;
