/**
 * The one writer of stdout (STYLE.md principle 3): one AirbyteMessage per line, nothing else.
 * Messages about the connector itself (LOG, TRACE, CONNECTION_STATUS) pass through the redactor;
 * STATE is echoed untouched and CONTROL must carry the rotated secret it exists to persist.
 */
import type { Writable } from 'node:stream';
import type { Redactor } from '../redact.js';
import type { AirbyteMessage } from './messages.js';

/** Writes AirbyteMessages as JSON lines, honouring the stream's backpressure. */
export class Emitter {
  private waiting: Promise<void> | undefined;
  private closed = false;

  constructor(
    private readonly out: Writable,
    private readonly redactor?: Redactor,
  ) {}

  /**
   * Writes one message. Returns immediately; when the stream's buffer is full the returned promise
   * resolves on `drain`, so callers that produce many messages can await it.
   */
  emit(message: AirbyteMessage): Promise<void> {
    if (this.closed) return Promise.resolve();
    let line = JSON.stringify(message);
    if (this.redactor !== undefined && needsRedaction(message)) line = this.redactor.redact(line);
    return this.write(line);
  }

  /**
   * Writes one message already serialised: a STATE echoed as it was received (state-echo.ts).
   * Not redacted: a state is the source's own data, handed back untouched.
   */
  emitLine(line: string): Promise<void> {
    if (this.closed) return Promise.resolve();
    return this.write(line);
  }

  private write(line: string): Promise<void> {
    const ok = this.out.write(line + '\n');
    if (ok) return this.waiting ?? Promise.resolve();
    this.waiting ??= new Promise<void>((resolve) => {
      const done = (): void => {
        this.out.off('drain', done);
        this.out.off('close', done);
        this.out.off('error', done);
        this.waiting = undefined;
        resolve();
      };
      this.out.on('drain', done);
      this.out.on('close', done);
      this.out.on('error', done);
    });
    return this.waiting;
  }

  /**
   * Writes plain text: only for `login`, which runs outside the protocol and prints a credentials
   * block meant to be redirected into a file.
   */
  text(text: string): void {
    if (!this.closed) this.out.write(text.endsWith('\n') ? text : `${text}\n`);
  }

  /** True while stdout's buffer is full and written messages wait for `drain`. */
  get backlogged(): boolean {
    return this.waiting !== undefined;
  }

  /** Resolves once everything written so far has left the buffer. */
  async flush(): Promise<void> {
    if (this.waiting !== undefined) await this.waiting;
  }

  /** Stops writing: used when stdout is gone (EPIPE), where writing again would throw. */
  close(): void {
    this.closed = true;
  }
}

function needsRedaction(message: AirbyteMessage): boolean {
  return message.type === 'LOG' || message.type === 'TRACE' || message.type === 'CONNECTION_STATUS';
}
