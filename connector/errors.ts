/**
 * Errors named for what the caller should do (STYLE.md principle 7). main.ts turns any thrown error
 * into one TRACE `error` whose failure_type comes from the class, tested with instanceof — never by
 * comparing names.
 */
import type {
  AirbyteErrorTraceMessage,
  AirbyteMessage,
  FailureType,
  StreamDescriptor,
} from './protocol/messages.js';

/** Options every connector error may carry. */
export interface ConnectorErrorOptions {
  /** Technical detail for support (method, path, status, Salesforce errorCode); never a secret. */
  internalMessage?: string;
  /** The stream the failure belongs to, when known. */
  stream?: StreamDescriptor;
  cause?: unknown;
}

/** Base of the three failure kinds. `message` is user-facing and says what to do. */
export abstract class ConnectorError extends Error {
  abstract readonly failureType: FailureType;
  readonly internalMessage: string | undefined;
  readonly stream: StreamDescriptor | undefined;

  constructor(message: string, options: ConnectorErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.internalMessage = options.internalMessage;
    this.stream = options.stream;
  }
}

/** The user must change something (config, catalog, Salesforce setup) before a retry can succeed. */
export class ConfigError extends ConnectorError {
  override readonly failureType = 'config_error' as const;
}

/** Retrying later can succeed (network, Salesforce unavailable, API quota used up). */
export class TransientError extends ConnectorError {
  override readonly failureType = 'transient_error' as const;
}

/** A bug in the connector, or a Salesforce answer it does not understand. */
export class SystemError extends ConnectorError {
  override readonly failureType = 'system_error' as const;
}

/** The failure type of any thrown value: unknown errors are bugs. */
export function failureTypeOf(error: unknown): FailureType {
  return error instanceof ConnectorError ? error.failureType : 'system_error';
}

/**
 * The TRACE error payload for a thrown value: a user-facing message without a stack trace, the
 * stack in `stack_trace`. Unknown errors get a generic message and their own text as internal_message.
 */
export function toErrorTrace(error: unknown): AirbyteErrorTraceMessage {
  const failureType = failureTypeOf(error);
  const trace: AirbyteErrorTraceMessage = { failure_type: failureType, message: '' };
  if (error instanceof ConnectorError) {
    trace.message = error.message;
    if (error.internalMessage !== undefined) trace.internal_message = error.internalMessage;
    if (error.stream !== undefined) trace.stream_descriptor = error.stream;
  } else {
    trace.message =
      'The connector hit an unexpected error (a bug). Please report it with the internal message and stack trace.';
    trace.internal_message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  }
  if (error instanceof Error && error.stack !== undefined) trace.stack_trace = error.stack;
  return trace;
}

/** The TRACE `error` message for a thrown value. */
export function errorTraceMessage(error: unknown): AirbyteMessage {
  return { type: 'TRACE', trace: { type: 'ERROR', emitted_at: Date.now(), error: toErrorTrace(error) } };
}

/** True for the error a call or pause cut short by the run's stop ends with (AbortSignal, got, DOMException). */
export function isAbort(error: unknown): boolean {
  return error instanceof Error && error.name === 'AbortError';
}
