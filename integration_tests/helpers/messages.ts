/** Builders for the AirbyteMessages a source sends a destination, and configured catalogs. */

/** A RECORD line. */
export function record(stream: string, data: Record<string, unknown>, namespace?: string): string {
  return `${JSON.stringify({ type: 'RECORD', record: { stream, ...(namespace ? { namespace } : {}), data, emitted_at: 1_700_000_000_000 } })}\n`;
}

/** A STREAM state line, with the platform's `id` and sourceStats as the platform sends them. */
export function streamState(stream: string, cursor: unknown, id: number, sourceCount?: number): string {
  return `${JSON.stringify({
    type: 'STATE',
    state: {
      type: 'STREAM',
      stream: { stream_descriptor: { name: stream }, stream_state: { cursor } },
      id,
      ...(sourceCount !== undefined ? { sourceStats: { recordCount: sourceCount } } : {}),
    },
  })}\n`;
}

/** A GLOBAL state line. */
export function globalState(cursor: unknown, id: number, streams: string[]): string {
  return `${JSON.stringify({
    type: 'STATE',
    state: {
      type: 'GLOBAL',
      global: {
        shared_state: { cursor },
        stream_states: streams.map((name) => ({ stream_descriptor: { name }, stream_state: { cursor } })),
      },
      id,
    },
  })}\n`;
}

/** A STREAM_STATUS trace line. */
export function streamStatus(
  stream: string,
  status: 'STARTED' | 'RUNNING' | 'COMPLETE' | 'INCOMPLETE',
): string {
  return `${JSON.stringify({
    type: 'TRACE',
    trace: {
      type: 'STREAM_STATUS',
      emitted_at: 1_700_000_000_000,
      stream_status: { stream_descriptor: { name: stream }, status },
    },
  })}\n`;
}

/** A configured stream with the given columns (all strings unless typed). */
export function configuredStream(
  name: string,
  columns: Record<string, string | string[]> | string[],
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  const props: Record<string, unknown> = {};
  if (Array.isArray(columns)) for (const c of columns) props[c] = { type: ['null', 'string'] };
  else for (const [c, t] of Object.entries(columns)) props[c] = { type: t };
  return {
    stream: {
      name,
      json_schema: { type: 'object', properties: props },
      supported_sync_modes: ['full_refresh', 'incremental'],
    },
    sync_mode: 'full_refresh',
    destination_sync_mode: 'append',
    ...extra,
  };
}

/** A configured catalog. */
export function catalog(...streams: Array<Record<string, unknown>>): Record<string, unknown> {
  return { streams };
}
