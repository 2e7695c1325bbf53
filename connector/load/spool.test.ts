import { afterEach, describe, expect, it } from '@jest/globals';
import { fstatSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Spool } from './spool.js';

describe('Spool', () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it('leaves no name on disk from the moment it exists: a killed process leaves none of the rows behind', () => {
    dir = mkdtempSync(join(tmpdir(), 'spool-test-'));
    const spool = new Spool(dir);
    const stat = fstatSync(spool.fd);
    expect(readdirSync(dir)).toEqual([]);
    expect(stat.nlink).toBe(0);
    expect(stat.mode & 0o777).toBe(0o600);
    spool.close();
  });

  it('reads back what was appended, text and bytes, across its buffer and past it', () => {
    dir = mkdtempSync(join(tmpdir(), 'spool-test-'));
    const spool = new Spool(dir);
    const big = 'é'.repeat(200_000); // 400,000 bytes: more than the 256 KB buffer
    const at = [spool.append('first,line\n'), spool.append(Buffer.from('{"a":1}')), spool.append(big)];
    spool.flush();
    expect(spool.read(at[0]!, 11).toString()).toBe('first,line\n');
    expect(spool.read(at[1]!, 7).toString()).toBe('{"a":1}');
    expect(spool.read(at[2]!, spool.size - at[2]!).toString()).toBe(big);
    spool.close();
  });
});
