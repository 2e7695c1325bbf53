/**
 * One Bulk API 2.0 ingest job's life on Salesforce's side, for every user of Bulk (the stream sink,
 * mirror's deletion): create, upload once, close, then poll until it ends. What goes into the upload
 * and what its results mean is the caller's part.
 *
 * A lost answer to the upload leaves a job that is still Open, so nothing in it was applied: it is
 * aborted and the file goes to a new job. A stop aborts a job still Open; a closed job is left to
 * finish on Salesforce's side, and no client timeout ever deletes or aborts it.
 */
import type { Logger } from '../logger.js';
import type { BulkClient, BulkJobInfo, BulkJobRequest, UploadFile } from '../salesforce/bulk.js';
import { NetworkError, UnknownOutcomeError } from '../salesforce/errors.js';
import type { RequestCounter } from '../salesforce/http.js';

/** What a job's life needs from the run. */
export interface JobLife {
  client: BulkClient;
  logger: Logger;
  /** Polls start at the first delay and double up to the second. */
  pollMinMs: number;
  pollMaxMs: number;
  /** Rejects when the run stops. */
  sleep: (ms: number) => Promise<void>;
  now: () => number;
  /** True once the run stops (or fails): no new job is created and an Open one is aborted. */
  stopped: () => boolean;
  /** The run's stop: polling ends (the closed job is left to finish, unacknowledged). */
  signal: AbortSignal | undefined;
}

/** Thrown to leave the create/upload steps when the run stops. */
class Stop extends Error {}

/**
 * Create, upload, close. Returns the closed job, or undefined when the run stopped first (an Open
 * job is then aborted, so none of it is applied).
 */
export async function submitJob(
  life: JobLife,
  request: BulkJobRequest,
  upload: UploadFile,
  counter: RequestCounter,
  label: string,
): Promise<BulkJobInfo | undefined> {
  const { client } = life;
  for (let attempt = 1; ; attempt += 1) {
    if (life.stopped()) return undefined;
    const created = await client.create(request, counter);
    try {
      if (life.stopped()) throw new Stop();
      await client.upload(created.id, upload, counter);
      if (life.stopped()) throw new Stop();
    } catch (error) {
      // Not closed, so nothing was applied: abort it (best effort) and, unless stopping, start again.
      await client.setState(created.id, 'Aborted', counter).catch(() => undefined);
      if (error instanceof Stop) return undefined;
      if (!(error instanceof UnknownOutcomeError || error instanceof NetworkError) || attempt >= 3)
        throw error;
      life.logger.warn(
        `${label}: the upload of Bulk job ${created.id} got no answer; it was aborted (nothing in it was applied) and the rows go to a new job.`,
      );
      continue;
    }
    try {
      return await client.setState(created.id, 'UploadComplete', counter);
    } catch (error) {
      // A close whose answer was lost may have happened: the job's state tells.
      const info = await client.info(created.id, counter);
      if (info.state !== 'Open') return info;
      throw error;
    }
  }
}

/**
 * Polls with backoff until the job ends (no timeout: a closed job is never abandoned for slowness),
 * with a progress line every 30 s. Returns undefined when the run stops first.
 */
export async function awaitJob(
  life: JobLife,
  id: string,
  counter: RequestCounter,
  progress: (info: BulkJobInfo) => string,
): Promise<BulkJobInfo | undefined> {
  let wait = life.pollMinMs;
  let told = life.now();
  for (;;) {
    try {
      await life.sleep(wait);
    } catch {
      return undefined; // stopped
    }
    if (life.signal?.aborted === true) return undefined;
    const info = await life.client.info(id, counter);
    if (info.state === 'JobComplete' || info.state === 'Failed' || info.state === 'Aborted') return info;
    if (life.now() - told >= 30_000) {
      told = life.now();
      life.logger.info(progress(info));
    }
    wait = Math.min(life.pollMaxMs, wait * 2);
  }
}
