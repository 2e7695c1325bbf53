/**
 * Which sink a stream's rows take (PRODUCT.md section 7a): Composite calls, or Bulk API 2.0 jobs.
 *
 * - `write_api: rest`, and every dry run: REST.
 * - `bulk`: Bulk for every stream that can use it, insert included.
 * - `auto` (the default): a stream starts on REST; while the REST sink is full, its batches wait
 *   here instead of stopping the read, and once `bulk_threshold_rows` of its rows are waiting — the
 *   source is faster than REST can write — the stream moves to Bulk for the rest of the run. The
 *   destination does not know how many rows will come, so it decides as they arrive. Only operations
 *   that are safe to send again move: an insert that a stopped job left half done would be inserted
 *   twice by the next sync.
 * Streams that need what Bulk lacks stay on REST, and the log says why.
 */
import type { Logger } from '../logger.js';
import type { BulkLoader } from './bulk-loader.js';
import type { Pace } from './pace.js';
import type { RestLoader } from './rest-loader.js';
import type { Sink } from './sink.js';
import type { Item, StreamContext } from './stream.js';
import { grouped } from '../numbers.js';

/** How a stream is routed. */
export type Route = 'rest' | 'bulk' | 'auto';

/** Why a stream cannot use Bulk, or undefined when it can. */
export interface BulkFit {
  route: Route;
  /** Said once in the log when the stream stays on REST although Bulk was asked or allowed. */
  reason?: string;
}

/** A stream's batches waiting for the REST sink (auto). */
interface Waiting {
  batches: Item[][];
  rows: number;
}

/** The sink the write path sees: it hands each batch to the sink of its stream's route. */
export class Router implements Sink {
  private readonly routes = new Map<StreamContext, Route>();
  private readonly waiting = new Map<StreamContext, Waiting>();
  private pumping = false;

  constructor(
    private readonly rest: RestLoader,
    private readonly bulk: BulkLoader | undefined,
    private readonly thresholdRows: number,
    private readonly logger: Logger,
    /** The calls in flight, fixed or adaptive (for the progress lines and the summary). */
    readonly pace: Pace,
  ) {
    rest.onJobEnd(() => this.pump());
  }

  /** Sets a stream's route (before its first row), logging why when it stays on REST. */
  route(stream: StreamContext, fit: BulkFit): void {
    this.routes.set(stream, this.bulk === undefined ? 'rest' : fit.route);
    if (this.bulk !== undefined && fit.route === 'bulk') stream.keepPayload = true;
    if (fit.reason !== undefined)
      this.logger.info(`Stream "${stream.label}" writes through the REST API: ${fit.reason}.`);
  }

  get failure(): unknown {
    return this.rest.failure ?? this.bulk?.failure;
  }

  submit(stream: StreamContext, batch: Item[]): void {
    const route = this.routeOf(stream);
    if (route === 'bulk') {
      this.bulk!.submit(stream, batch);
      return;
    }
    if (route === 'rest') {
      this.rest.submit(stream, batch);
      return;
    }
    const waiting = this.waiting.get(stream);
    if (waiting === undefined && this.rest.hasRoom) {
      this.rest.submit(stream, batch);
      return;
    }
    const queue = waiting ?? { batches: [], rows: 0 };
    queue.batches.push(batch);
    queue.rows += batch.length;
    this.waiting.set(stream, queue);
    if (queue.rows >= this.thresholdRows) this.toBulk(stream, queue);
  }

  async capacity(stream: StreamContext): Promise<void> {
    const route = this.routeOf(stream);
    if (route === 'bulk') return this.bulk!.capacity(stream);
    if (route === 'rest') return this.rest.capacity();
    // auto: rows wait here, up to the threshold, which moves the stream to Bulk.
  }

  async drain(): Promise<void> {
    // Streams that never reached the threshold: their waiting rows go through REST, in order.
    for (const [stream, queue] of this.waiting) {
      this.waiting.delete(stream);
      for (const batch of queue.batches) this.rest.submit(stream, batch);
    }
    // Bulk hands rows it could not settle to REST: drain both until neither has work.
    await this.bulk?.drain();
    await this.rest.drain();
  }

  private routeOf(stream: StreamContext): Route {
    const route = this.routes.get(stream) ?? 'rest';
    // Bulk became unusable in this run (its batch allocation): what is not there yet goes to REST.
    if (route !== 'rest' && this.bulk?.unavailable !== undefined) return 'rest';
    return route;
  }

  private toBulk(stream: StreamContext, queue: Waiting): void {
    this.waiting.delete(stream);
    this.routes.set(stream, 'bulk');
    stream.keepPayload = true;
    this.logger.info(
      `Stream "${stream.label}": ${grouped(queue.rows)} rows are waiting for the REST API (bulk_threshold_rows ${grouped(this.thresholdRows)}), so the stream moves to Bulk API 2.0 for the rest of this sync.`,
    );
    for (const batch of queue.batches) this.bulk!.submit(stream, batch);
  }

  /** A REST job ended: waiting batches take its place, oldest stream first. */
  private pump(): void {
    if (this.pumping) return;
    this.pumping = true;
    try {
      for (const [stream, queue] of this.waiting) {
        while (queue.batches.length > 0 && this.rest.hasRoom) {
          const batch = queue.batches.shift()!;
          queue.rows -= batch.length;
          this.rest.submit(stream, batch);
        }
        if (queue.batches.length === 0) this.waiting.delete(stream);
        if (!this.rest.hasRoom) return;
      }
    } finally {
      this.pumping = false;
    }
  }
}
