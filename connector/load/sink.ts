/**
 * A sink takes batches of a stream's rows to Salesforce and ends every row committed or rejected
 * (through the Settler, settle.ts); Meltano's Sink and Airbyte's loaders are the models. Two sinks
 * stand behind this interface: Composite calls (rest-loader.ts) and Bulk API 2.0 jobs
 * (bulk-loader.ts); the router (router.ts) picks one per stream.
 */
import type { Item, StreamContext } from './stream.js';

/** Where batches go. */
export interface Sink {
  /** Takes a batch; its rows end later, each through the Settler. Does not wait. */
  submit(stream: StreamContext, batch: Item[]): void;
  /** Resolves when this stream may hand over another batch (backpressure towards stdin). */
  capacity(stream: StreamContext): Promise<void>;
  /** The input has ended (or the run stops): send what is held, then resolve when every row has ended. */
  drain(): Promise<void>;
  /** The first failure that stops the run (an API limit, revoked credentials, Salesforce down). */
  readonly failure: unknown;
}

/** A call was not sent because the run is stopping: its rows stay unacknowledged for the next sync. */
export class NotSent extends Error {
  constructor() {
    super('not sent: the run is stopping');
    this.name = 'NotSent';
  }
}
