import { describe, expect, it } from '@jest/globals';
import { Writable } from 'node:stream';
import { Redactor } from '../redact.js';
import { Emitter } from './emitter.js';

function sink(highWaterMark = 1 << 20) {
  const lines: string[] = [];
  const stream = new Writable({
    highWaterMark,
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString());
      setImmediate(done);
    },
  });
  const finished = (): Promise<void> => new Promise((resolve) => stream.end(resolve));
  return { stream, lines, finished };
}

describe('stdout emitter', () => {
  it('writes one JSON message per line', async () => {
    const { stream, lines, finished } = sink();
    const emitter = new Emitter(stream);
    await emitter.emit({ type: 'LOG', log: { level: 'INFO', message: 'multi\nline' } });
    await emitter.emit({ type: 'CONNECTION_STATUS', connectionStatus: { status: 'SUCCEEDED' } });
    await finished();
    expect(lines).toHaveLength(2);
    for (const line of lines) {
      expect(line.endsWith('\n')).toBe(true);
      expect(line.slice(0, -1)).not.toContain('\n');
      expect(() => JSON.parse(line)).not.toThrow();
    }
  });

  it('redacts secrets in LOG, TRACE and CONNECTION_STATUS, but echoes STATE and CONTROL untouched', async () => {
    const { stream, lines, finished } = sink();
    const redactor = new Redactor();
    redactor.add('s3cr3t-value');
    const emitter = new Emitter(stream, redactor);
    await emitter.emit({ type: 'LOG', log: { level: 'INFO', message: 'token s3cr3t-value' } });
    await emitter.emit({
      type: 'TRACE',
      trace: { type: 'ERROR', emitted_at: 1, error: { message: 'x s3cr3t-value' } },
    });
    await emitter.emit({
      type: 'CONNECTION_STATUS',
      connectionStatus: { status: 'FAILED', message: 's3cr3t-value' },
    });
    await emitter.emit({ type: 'STATE', state: { type: 'LEGACY', data: { cursor: 's3cr3t-value' } } });
    await emitter.emit({
      type: 'CONTROL',
      control: {
        type: 'CONNECTOR_CONFIG',
        emitted_at: 1,
        connectorConfig: { config: { refresh_token: 's3cr3t-value' } },
      },
    });
    await finished();
    expect(lines).toHaveLength(5);
    expect(lines.slice(0, 3).every((l) => !l.includes('s3cr3t-value'))).toBe(true);
    expect(lines[3]).toContain('s3cr3t-value');
    expect(lines[4]).toContain('s3cr3t-value');
  });

  it('waits for drain when the stream is full', async () => {
    const { stream, lines, finished } = sink(64);
    const emitter = new Emitter(stream);
    let waited = false;
    for (let i = 0; i < 50; i += 1) {
      const p = emitter.emit({ type: 'LOG', log: { level: 'INFO', message: `line ${i} ${'x'.repeat(50)}` } });
      if (stream.writableNeedDrain) {
        waited = true;
        await p;
        expect(stream.writableNeedDrain).toBe(false);
      }
    }
    await finished();
    expect(waited).toBe(true);
    expect(lines).toHaveLength(50);
  });

  it('writes nothing after close (stdout gone)', async () => {
    const { stream, lines } = sink();
    const emitter = new Emitter(stream);
    emitter.close();
    await emitter.emit({ type: 'LOG', log: { level: 'INFO', message: 'x' } });
    expect(lines).toEqual([]);
  });
});
