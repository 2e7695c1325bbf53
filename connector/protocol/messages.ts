/**
 * Airbyte protocol message types this destination reads or writes, written from the official
 * schema (../shared/airbyte-protocol/airbyte_protocol.yaml, release 0.18.0). Every object in the
 * protocol allows unknown properties, so the types do too where the connector passes objects on.
 */

/** `AirbyteMessage.type` */
export type AirbyteMessageType =
  | 'RECORD'
  | 'STATE'
  | 'LOG'
  | 'SPEC'
  | 'CONNECTION_STATUS'
  | 'CATALOG'
  | 'TRACE'
  | 'CONTROL'
  | 'DESTINATION_CATALOG';

/** The message type names, for validating input. */
export const MESSAGE_TYPES: ReadonlySet<string> = new Set<AirbyteMessageType>([
  'RECORD',
  'STATE',
  'LOG',
  'SPEC',
  'CONNECTION_STATUS',
  'CATALOG',
  'TRACE',
  'CONTROL',
  'DESTINATION_CATALOG',
]);

/** `StreamDescriptor` */
export interface StreamDescriptor {
  name: string;
  namespace?: string;
}

/** `AirbyteRecordMessage` */
export interface AirbyteRecordMessage {
  stream: string;
  namespace?: string;
  data: Record<string, unknown>;
  emitted_at: number;
  meta?: Record<string, unknown>;
  [key: string]: unknown;
}

/** `AirbyteStateStats`: counts are doubles on the wire. */
export interface AirbyteStateStats {
  recordCount?: number;
  rejectedRecordCount?: number;
  [key: string]: unknown;
}

/** `AirbyteStreamState` */
export interface AirbyteStreamState {
  stream_descriptor: StreamDescriptor;
  stream_state?: Record<string, unknown>;
  [key: string]: unknown;
}

/** `AirbyteStateType`: a missing type means LEGACY. */
export type AirbyteStateType = 'GLOBAL' | 'STREAM' | 'LEGACY';

/**
 * `AirbyteStateMessage`. The platform adds properties of its own (an integer `id`) and
 * `sourceStats`; a destination echoes the object whole and only sets `destinationStats`.
 */
export interface AirbyteStateMessage {
  type?: AirbyteStateType;
  stream?: AirbyteStreamState;
  global?: {
    shared_state?: Record<string, unknown>;
    stream_states: AirbyteStreamState[];
    [key: string]: unknown;
  };
  data?: Record<string, unknown>;
  sourceStats?: AirbyteStateStats;
  destinationStats?: AirbyteStateStats;
  [key: string]: unknown;
}

/** `AirbyteLogMessage.level` */
export type LogLevel = 'FATAL' | 'ERROR' | 'WARN' | 'INFO' | 'DEBUG' | 'TRACE';

/** `AirbyteLogMessage` */
export interface AirbyteLogMessage {
  level: LogLevel;
  message: string;
  stack_trace?: string;
}

/** `AirbyteErrorTraceMessage.failure_type` */
export type FailureType = 'system_error' | 'config_error' | 'transient_error';

/** `AirbyteErrorTraceMessage` */
export interface AirbyteErrorTraceMessage {
  message: string;
  internal_message?: string;
  stack_trace?: string;
  failure_type?: FailureType;
  stream_descriptor?: StreamDescriptor;
}

/** `AirbyteStreamStatus` */
export type AirbyteStreamStatus = 'STARTED' | 'RUNNING' | 'COMPLETE' | 'INCOMPLETE';

/** `AirbyteStreamStatusTraceMessage` */
export interface AirbyteStreamStatusTraceMessage {
  stream_descriptor: StreamDescriptor;
  status: AirbyteStreamStatus;
  reasons?: Array<{ type: 'RATE_LIMITED'; rate_limited?: { quota_reset?: number } }>;
}

/** `AirbyteTraceMessage` */
export interface AirbyteTraceMessage {
  type: 'ERROR' | 'ESTIMATE' | 'STREAM_STATUS' | 'ANALYTICS';
  emitted_at: number;
  error?: AirbyteErrorTraceMessage;
  stream_status?: AirbyteStreamStatusTraceMessage;
  estimate?: Record<string, unknown>;
  analytics?: { type: string; value?: string };
}

/** `AirbyteControlMessage` (CONNECTOR_CONFIG): the only way to persist a rotated refresh token. */
export interface AirbyteControlMessage {
  type: 'CONNECTOR_CONFIG';
  emitted_at: number;
  connectorConfig: { config: Record<string, unknown> };
}

/** `AirbyteConnectionStatus` */
export interface AirbyteConnectionStatus {
  status: 'SUCCEEDED' | 'FAILED';
  message?: string;
}

/** `DestinationSyncMode` */
export type DestinationSyncMode = 'append' | 'overwrite' | 'append_dedup' | 'update' | 'soft_delete';

/** `DestinationOperation` */
export interface DestinationOperation {
  object_name: string;
  sync_mode: DestinationSyncMode;
  json_schema: Record<string, unknown>;
  matching_keys?: string[][];
}

/** `DestinationCatalog` */
export interface DestinationCatalog {
  operations: DestinationOperation[];
}

/** `ConnectorSpecification` */
export interface ConnectorSpecification {
  connectionSpecification: Record<string, unknown>;
  documentationUrl?: string;
  changelogUrl?: string;
  supportsIncremental?: boolean;
  supportsNormalization?: boolean;
  supportsDBT?: boolean;
  supported_destination_sync_modes?: DestinationSyncMode[];
  advanced_auth?: Record<string, unknown>;
  protocol_version?: string;
  [key: string]: unknown;
}

/** `AirbyteStream` as it appears inside a configured catalog. */
export interface AirbyteStream {
  name: string;
  namespace?: string;
  json_schema: Record<string, unknown>;
  supported_sync_modes: string[];
  source_defined_primary_key?: string[][];
  [key: string]: unknown;
}

/** `ConfiguredAirbyteStream` */
export interface ConfiguredAirbyteStream {
  stream: AirbyteStream;
  sync_mode: 'full_refresh' | 'incremental';
  destination_sync_mode: DestinationSyncMode;
  destination_object_name?: string;
  primary_key?: string[][];
  cursor_field?: string[];
  generation_id?: number;
  minimum_generation_id?: number;
  sync_id?: number;
  [key: string]: unknown;
}

/** `ConfiguredAirbyteCatalog` */
export interface ConfiguredAirbyteCatalog {
  streams: ConfiguredAirbyteStream[];
}

/** Every `AirbyteMessage` this connector reads or writes, discriminated by `type`. */
export type AirbyteMessage =
  | {
      type: 'RECORD';
      record: AirbyteRecordMessage;
      /** Set by the reader when the line held bytes that are not UTF-8 (the row is then refused). */
      invalidUtf8?: boolean;
    }
  | {
      type: 'STATE';
      state: AirbyteStateMessage;
      /** Set by the reader: the line the state arrived on, so it can be echoed exactly (state-echo.ts). */
      raw?: string;
    }
  | { type: 'LOG'; log: AirbyteLogMessage }
  | { type: 'SPEC'; spec: ConnectorSpecification }
  | { type: 'CONNECTION_STATUS'; connectionStatus: AirbyteConnectionStatus }
  | { type: 'TRACE'; trace: AirbyteTraceMessage }
  | { type: 'CONTROL'; control: AirbyteControlMessage }
  | { type: 'DESTINATION_CATALOG'; destination_catalog: DestinationCatalog }
  | { type: 'CATALOG'; catalog: Record<string, unknown> };

/**
 * The key of a stream in maps: namespace and name together identify it in the protocol. A control
 * character separates them so that `a.b`/`c` and `a`/`b.c` stay distinct.
 */
export function streamKey(descriptor: { name: string; namespace?: string | undefined }): string {
  return descriptor.namespace ? `${descriptor.namespace}\u0001${descriptor.name}` : descriptor.name;
}

/** A stream's name as users read it in logs: `namespace.name`, or the name alone. */
export function streamLabel(descriptor: { name: string; namespace?: string | undefined }): string {
  return descriptor.namespace ? `${descriptor.namespace}.${descriptor.name}` : descriptor.name;
}
