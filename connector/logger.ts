/**
 * winston logging whose only transport turns each entry into an Airbyte LOG message on the one
 * emitter (which redacts secrets). Nothing in the connector prints text to stdout.
 */
import winston from 'winston';
import TransportStream from 'winston-transport';
import type { Emitter } from './protocol/emitter.js';
import type { LogLevel } from './protocol/messages.js';

/** The logging surface the rest of the connector depends on (no winston types leak out). */
export interface Logger {
  error(message: string, meta?: { stack?: string }): void;
  warn(message: string): void;
  info(message: string): void;
  debug(message: string): void;
}

const LEVELS: Record<string, LogLevel> = { error: 'ERROR', warn: 'WARN', info: 'INFO', debug: 'DEBUG' };

/** A winston transport that emits LOG messages. */
export class AirbyteLogTransport extends TransportStream {
  constructor(private readonly emitter: Emitter) {
    super();
  }

  override log(info: Record<string | symbol, unknown>, next: () => void): void {
    const level = LEVELS[String(info.level)] ?? 'INFO';
    const message = typeof info.message === 'string' ? info.message : JSON.stringify(info.message);
    const stack = typeof info.stack === 'string' ? info.stack : undefined;
    void this.emitter.emit({
      type: 'LOG',
      log: stack === undefined ? { level, message } : { level, message, stack_trace: stack },
    });
    next();
  }
}

/**
 * A logger writing LOG messages at `LOG_LEVEL` (error, warn, info, debug; default info).
 * The returned `close` resolves when every entry has reached the emitter.
 */
export function createLogger(
  emitter: Emitter,
  level = process.env.LOG_LEVEL ?? 'info',
): Logger & { close(): Promise<void> } {
  const normalized = level.toLowerCase() in LEVELS ? level.toLowerCase() : 'info';
  const w = winston.createLogger({
    level: normalized,
    levels: { error: 0, warn: 1, info: 2, debug: 3 },
    format: winston.format.errors({ stack: true }),
    transports: [new AirbyteLogTransport(emitter)],
    exitOnError: false,
  });
  return {
    error: (message, meta) =>
      void w.log('error', message, meta?.stack === undefined ? {} : { stack: meta.stack }),
    warn: (message) => void w.log('warn', message),
    info: (message) => void w.log('info', message),
    debug: (message) => void w.log('debug', message),
    close: () =>
      new Promise<void>((resolve) => {
        w.on('finish', () => resolve());
        w.end();
      }),
  };
}
