import { describe, expect, it } from '@jest/globals';
import { Pace, type CallReport } from './pace.js';

function auto(max = 10) {
  const changes: string[] = [];
  const pace = new Pace({
    mode: 'auto',
    max,
    recordsPerCall: 1000,
    onChange: (from, to, perCall, reason) => changes.push(`${from}→${to} ${perCall} ${reason}`),
  });
  return { pace, changes };
}
const full = (extra: Partial<CallReport> = {}): CallReport => ({
  latencyMs: 3_150,
  records: 1000,
  locked: 0,
  ...extra,
});

describe('Pace (auto)', () => {
  it('starts at 2 and multiplies by five while Salesforce keeps pace: the default maximum after one round trip', () => {
    const { pace, changes } = auto(10);
    expect(pace.level).toBe(2);
    pace.report(full());
    expect(pace.level).toBe(2);
    pace.report(full());
    expect(pace.level).toBe(10);
    expect(changes).toEqual([
      expect.stringMatching(/^2→10 1000 raised: latency per record steady, no lock errors/),
    ]);
  });

  it('reaches the highest maximum, 25, in two round trips', () => {
    const { pace, changes } = auto(25);
    let calls = 0;
    while (pace.level < 25 && calls < 50) {
      pace.report(full());
      calls += 1;
    }
    expect(pace.level).toBe(25);
    expect(calls).toBe(2 + 5);
    expect(changes.map((c) => c.split(' ')[0])).toEqual(['2→10', '10→25']);
  });

  it('cuts on lock errors above a quarter of the rows, and freezes its climb for a while', () => {
    const { pace, changes } = auto(10);
    for (let i = 0; i < 10; i += 1) pace.report(full());
    expect(pace.level).toBe(10);
    for (let i = 0; i < 10; i += 1) pace.report(full({ locked: 400 }));
    expect(pace.level).toBe(7);
    expect(changes.at(-1)).toMatch(/10→7 .*40\.0 % of rows could not be locked/);
  });

  it('cuts by half when Salesforce pushes back (503, ConcurrentPerOrgLongTxn), once for the calls already in flight', () => {
    const { pace } = auto(8);
    for (let i = 0; i < 10; i += 1) pace.report(full());
    expect(pace.level).toBe(8);
    pace.pushback('Salesforce answered 503 (unavailable)');
    pace.pushback('Salesforce answered 503 (unavailable)');
    expect(pace.level).toBe(4);
  });

  it('cuts, and shrinks calls, when one call nears 20 s', () => {
    const { pace, changes } = auto(8);
    for (let i = 0; i < 10; i += 1) pace.report(full());
    pace.report(full({ latencyMs: 16_000 }));
    expect(pace.level).toBe(4);
    expect(pace.recordsPerCall).toBe(500);
    expect(changes.at(-1)).toMatch(/8→4 500 lowered: a call of 1000 records took 16\.0 s/);
  });

  it('tells a cut at level 1 only when it shrinks the calls (a cut that changes nothing is not logged)', () => {
    const { pace, changes } = auto(1);
    expect(pace.level).toBe(1);
    pace.pushback('Salesforce answered 503 (unavailable)');
    expect(changes).toEqual([]);
    for (let i = 0; i < 2; i += 1) pace.report(full());
    pace.report(full({ latencyMs: 16_000 }));
    expect(pace.level).toBe(1);
    expect(changes).toEqual([expect.stringMatching(/^1→1 500 kept: a call of 1000 records took 16\.0 s/)]);
  });

  it('cuts when the latency per record climbs far above its best (the org is saturated), judging full calls only', () => {
    const { pace } = auto(8);
    for (let i = 0; i < 10; i += 1) pace.report(full());
    // A retry of a few locked rows is slow per record because of its fixed cost: not a signal.
    for (let i = 0; i < 6; i += 1) pace.report({ latencyMs: 300, records: 3, locked: 0 });
    expect(pace.level).toBe(8);
    for (let i = 0; i < 6; i += 1) pace.report(full({ latencyMs: 9_000 }));
    expect(pace.level).toBe(6);
  });
});

describe('Pace (fixed)', () => {
  it('never changes', () => {
    const pace = new Pace({ mode: 4, max: 10, recordsPerCall: 1020 });
    for (let i = 0; i < 20; i += 1) pace.report(full({ locked: 900 }));
    pace.pushback('503');
    expect(pace.level).toBe(4);
    expect(pace.describe()).toBe('Parallel requests: 4 (fixed).');
  });
});
