import { describe, expect, it } from '@jest/globals';
import type { AirbyteStateMessage } from '../protocol/messages.js';
import { Checkpoints } from './checkpoints.js';

const streamState = (
  name: string,
  cursor: number,
  extra: Record<string, unknown> = {},
): AirbyteStateMessage => ({
  type: 'STREAM',
  stream: { stream_descriptor: { name }, stream_state: { cursor } },
  ...extra,
});

describe('ordered state release', () => {
  it('holds a state until every record before it has ended, then echoes it whole with its counts', () => {
    const released: AirbyteStateMessage[] = [];
    const cp = new Checkpoints((s) => released.push(s));
    const a = cp.arrive();
    const b = cp.arrive();
    const state = streamState('s', 1, { id: 42, sourceStats: { recordCount: 2 }, unknownKey: { x: 1 } });
    cp.state(state);
    expect(released).toEqual([]);
    cp.end(b, 's', 'rejected');
    expect(released).toEqual([]);
    cp.end(a, 's', 'committed');
    expect(released).toEqual([
      {
        type: 'STREAM',
        stream: { stream_descriptor: { name: 's' }, stream_state: { cursor: 1 } },
        id: 42,
        sourceStats: { recordCount: 2 },
        unknownKey: { x: 1 },
        destinationStats: { recordCount: 1, rejectedRecordCount: 1 },
      },
    ]);
  });

  it('releases states in arrival order even when later records end first', () => {
    const released: number[] = [];
    const cp = new Checkpoints((s) => released.push((s.stream!.stream_state as { cursor: number }).cursor));
    const first = cp.arrive();
    cp.state(streamState('s', 1));
    const second = cp.arrive();
    cp.state(streamState('s', 2));
    cp.end(second, 's', 'committed');
    expect(released).toEqual([]);
    cp.end(first, 's', 'committed');
    expect(released).toEqual([1, 2]);
  });

  it('releases a state with no records before it at once, with zero counts', () => {
    const released: AirbyteStateMessage[] = [];
    const cp = new Checkpoints((s) => released.push(s));
    cp.state(streamState('s', 1));
    expect(released[0]!.destinationStats).toEqual({ recordCount: 0, rejectedRecordCount: 0 });
  });

  it("counts a STREAM state per stream, since that stream's previous state", () => {
    const stats: Record<string, unknown>[] = [];
    const cp = new Checkpoints((s) => stats.push({ [s.stream!.stream_descriptor.name]: s.destinationStats }));
    for (let i = 0; i < 3; i += 1) cp.end(cp.arrive(), 'a', 'committed');
    cp.end(cp.arrive(), 'b', 'rejected');
    cp.state(streamState('a', 1));
    cp.end(cp.arrive(), 'a', 'committed');
    cp.state(streamState('b', 1));
    cp.state(streamState('a', 2));
    expect(stats).toEqual([
      { a: { recordCount: 3, rejectedRecordCount: 0 } },
      { b: { recordCount: 0, rejectedRecordCount: 1 } },
      { a: { recordCount: 1, rejectedRecordCount: 0 } },
    ]);
  });

  it('counts a GLOBAL (or LEGACY) state over all streams since the previous state', () => {
    const stats: unknown[] = [];
    const cp = new Checkpoints((s) => stats.push(s.destinationStats));
    cp.end(cp.arrive(), 'a', 'committed');
    cp.end(cp.arrive(), 'b', 'rejected');
    cp.state({ type: 'GLOBAL', global: { shared_state: { lsn: 1 }, stream_states: [] } });
    cp.end(cp.arrive(), 'a', 'committed');
    cp.state({ data: { legacy: true } });
    expect(stats).toEqual([
      { recordCount: 1, rejectedRecordCount: 1 },
      { recordCount: 1, rejectedRecordCount: 0 },
    ]);
  });

  it('ends several records of one epoch at once (rows merged into one)', () => {
    const stats: unknown[] = [];
    const cp = new Checkpoints((s) => stats.push(s.destinationStats));
    const e = cp.arrive();
    cp.arrive();
    cp.arrive();
    cp.state(streamState('a', 1));
    cp.end(e, 'a', 'committed', 2);
    expect(stats).toEqual([]);
    cp.end(e, 'a', 'rejected');
    expect(stats).toEqual([{ recordCount: 2, rejectedRecordCount: 1 }]);
    expect(cp.pending).toBe(0);
  });

  it('never releases a state whose records never end, and reports it', () => {
    const released: unknown[] = [];
    const cp = new Checkpoints((s) => released.push(s));
    cp.end(cp.arrive(), 'a', 'committed');
    cp.state(streamState('a', 1));
    cp.arrive();
    cp.state(streamState('a', 2));
    expect(released).toHaveLength(1);
    expect(cp.pending).toBe(1);
    expect(cp.waitingStates).toBe(1);
  });
});
