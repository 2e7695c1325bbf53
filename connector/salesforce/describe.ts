/**
 * Versions and Describe (reference §2), cached for the run: discover, check and write share one
 * instance, so each object is described at most once per run.
 */
import Bottleneck from 'bottleneck';
import type { Got } from 'got';
import { SalesforceApiError } from './errors.js';
import type { SalesforceHttp } from './http.js';
import type { ApiVersion, DescribeGlobal, DescribeSObject } from './types.js';

/** `GET /services/data/` on an instance: needs no token and costs no API request (reference §2.1). */
export async function listApiVersions(
  got: Got,
  instanceUrl: string,
  timeoutMs = 60_000,
): Promise<ApiVersion[]> {
  const response = await got(`${instanceUrl}/services/data/`, {
    headers: { accept: 'application/json' },
    timeout: { request: timeoutMs },
    retry: { limit: 2 },
    responseType: 'json',
  });
  return response.body as ApiVersion[];
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
   * Describes several objects, at most `concurrency` at a time. Each entry is the Describe, undefined
   * for an unknown object, or the error that object's Describe failed with.
   */
  async many(
    names: string[],
    concurrency: number,
  ): Promise<Map<string, DescribeSObject | undefined | Error>> {
    const limiter = new Bottleneck({ maxConcurrent: Math.max(1, concurrency) });
    const entries = await Promise.all(
      names.map((name) =>
        limiter.schedule(async (): Promise<[string, DescribeSObject | undefined | Error]> => {
          try {
            return [name, await this.sobject(name)];
          } catch (error) {
            return [name, error instanceof Error ? error : new Error(String(error))];
          }
        }),
      ),
    );
    return new Map(entries);
  }
}
