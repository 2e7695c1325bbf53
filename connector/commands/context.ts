/** What every command gets from main.ts: the one emitter, the logger, the redactor, stdin and a stop signal. */
import type { Readable } from 'node:stream';
import type { Logger } from '../logger.js';
import type { Emitter } from '../protocol/emitter.js';
import type { Redactor } from '../redact.js';

/** The process around a command. */
export interface CommandContext {
  emitter: Emitter;
  logger: Logger;
  redactor: Redactor;
  stdin: Readable;
  /** Aborted on SIGTERM / SIGINT. */
  signal: AbortSignal;
}
