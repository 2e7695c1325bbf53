import { describe, expect, it } from '@jest/globals';
import {
  callsAt,
  firstReached,
  levelSteps,
  maxLevel,
  meanLevel,
  parseLevelChange,
  rates,
  rowsPerSecBetween,
  rowsPerSecUntil,
  type Sample,
} from './timeline.js';

const sample = (t: number, stored: number, extra: Partial<Sample> = {}): Sample => ({
  t,
  stored,
  lockErrors: 0,
  apiUsed: 0,
  composite: 0,
  inFlight: 0,
  ...extra,
});

describe('parseLevelChange', () => {
  it('reads the connector’s line: old level, new level and the reason', () => {
    expect(
      parseLevelChange('Parallel requests: 4 → 6 (raised: latency per record steady, no lock errors).'),
    ).toEqual({ from: 4, to: 6, reason: 'raised: latency per record steady, no lock errors' });
    expect(parseLevelChange('Parallel requests: 10 -> 7.')).toEqual({ from: 10, to: 7 });
  });

  it('ignores every other message, the auto summary line included', () => {
    expect(parseLevelChange('Parallel requests (auto): 2–10, mostly 10.')).toBeUndefined();
    expect(parseLevelChange('Summary: 100 records read')).toBeUndefined();
    expect(parseLevelChange('Parallel requests: none')).toBeUndefined();
  });
});

describe('levels over time', () => {
  const steps = levelSteps(2, [
    { t: 3_000, from: 4, to: 6 },
    { t: 1_000, from: 2, to: 4 },
  ]);

  it('starts at the initial level and takes each change at its time, in time order', () => {
    expect(steps).toEqual([
      { t: 0, level: 2 },
      { t: 1_000, level: 4 },
      { t: 3_000, level: 6 },
    ]);
    expect(maxLevel(steps)).toBe(6);
    expect(firstReached(steps, 5)).toBe(3_000);
    expect(firstReached(steps, 7)).toBeUndefined();
  });

  it('averages the level over time, each step weighted by how long it was held', () => {
    // 2 for 1 s, 4 for 2 s, 6 for 1 s → 16 / 4.
    expect(meanLevel(steps, 4_000)).toBeCloseTo(4);
    // A change after the end does not count.
    expect(meanLevel(steps, 2_000)).toBeCloseTo(3);
    expect(meanLevel(levelSteps(4, []), 10_000)).toBe(4);
  });
});

describe('rates from the emulator’s samples', () => {
  const samples = [0, 1, 2, 3, 4, 5, 6].map((s) =>
    sample(s * 1_000, s * 1_020, { lockErrors: s * 10, composite: s * 2, inFlight: 3 }),
  );

  it('rows stored and lock errors per second, spread by a kernel: a steady rate reads as that rate', () => {
    const r = rates(samples, 1_000);
    expect(r).toHaveLength(7);
    // In the middle, far from both ends, the kernel sees a steady 1,020 rows and 10 errors a second.
    expect(r[3]!.rowsPerSec).toBeCloseTo(1_020, -1);
    expect(r[3]!.lockErrorsPerSec).toBeCloseTo(10, 0);
    expect(r[3]).toMatchObject({ t: 3_000, inFlight: 3 });
  });

  it('calls landing together every 3.2 s draw a flat rate, not a saw, with a kernel one call wide', () => {
    // 4 calls of 1,020 rows landing together every 3,210 ms, sampled every 500 ms for 100 s.
    const bursts = Array.from({ length: 201 }, (_, i) =>
      sample(i * 500, 4_080 * Math.floor((i * 500) / 3_210)),
    );
    const middle = rates(bursts, 3_210).filter((r) => r.t > 20_000 && r.t < 80_000);
    const values = middle.map((r) => r.rowsPerSec);
    const steady = 4_080 / 3.21;
    expect(Math.min(...values)).toBeGreaterThan(steady * 0.97);
    expect(Math.max(...values)).toBeLessThan(steady * 1.03);
  });

  it('the calls sent by a time, between two samples', () => {
    expect(callsAt(samples, 2_500)).toBeCloseTo(5);
    expect(callsAt(samples, 60_000)).toBeUndefined();
  });

  it('rows/s until a share of the rows was stored, the moment placed between two samples', () => {
    // 1,020 rows a second, then a tail: the last 5 % take 40 s more.
    const tail = [...samples, sample(46_000, 6_400)];
    expect(rowsPerSecUntil(tail, 6_400, 0.9)).toBeCloseTo(1_020);
    expect(rowsPerSecUntil(tail, 6_400, 0.95)).toBeCloseTo(1_020);
    // The whole run's rate is the tail's doing.
    expect(rowsPerSecBetween(tail, 0, 46_000)).toBeLessThan(150);
    expect(rowsPerSecUntil(samples, 100_000, 0.95)).toBeUndefined();
  });

  it('rows/s between two times, from the samples inside them', () => {
    expect(rowsPerSecBetween(samples, 1_500, 5_500)).toBeCloseTo(1_020);
    expect(rowsPerSecBetween(samples, 5_500, 5_800)).toBeUndefined();
  });
});
