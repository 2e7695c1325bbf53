/**
 * Spool files for Bulk API 2.0 jobs (PRODUCT.md section 7a): a job's rows wait on disk, not in memory,
 * until their results are read.
 */
import { closeSync, mkdtempSync, openSync, readSync, rmSync, unlinkSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Bytes a spool gathers before it writes them out. */
const SPOOL_BUFFER = 256 * 1024;

/**
 * A file written in large appends through one reused buffer, read back by offset. It has no name:
 * it is unlinked as soon as it is opened, so the rows' values it holds leave nothing on disk however
 * the process ends (SIGKILL, out of memory), and no other process can open it.
 */
export class Spool {
  readonly fd: number;
  size = 0;
  private buffer: Buffer | undefined;
  private used = 0;

  /** A spool in `dir` (default: the system's temporary directory). */
  constructor(dir: string = tmpdir()) {
    const folder = mkdtempSync(join(dir, 'sfsc-bulk-'));
    try {
      // Readable by this user only for the instant it has a name.
      const path = join(folder, 'spool');
      this.fd = openSync(path, 'w+', 0o600);
      unlinkSync(path);
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  }

  /** Appends bytes or text (UTF-8); returns where they start. */
  append(data: Buffer | string): number {
    const at = this.size;
    // Text takes at most 3 bytes per UTF-16 unit.
    const most = typeof data === 'string' ? data.length * 3 : data.length;
    const buffer = (this.buffer ??= Buffer.allocUnsafe(SPOOL_BUFFER));
    if (this.used + most > buffer.length) {
      this.flush();
      if (most > buffer.length) {
        const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
        writeSync(this.fd, bytes);
        this.size += bytes.length;
        return at;
      }
    }
    const written =
      typeof data === 'string' ? buffer.write(data, this.used, 'utf8') : data.copy(buffer, this.used);
    this.used += written;
    this.size += written;
    return at;
  }

  flush(): void {
    if (this.used === 0) return;
    writeSync(this.fd, this.buffer!, 0, this.used);
    this.used = 0;
  }

  read(at: number, length: number): Buffer {
    const out = Buffer.allocUnsafe(length);
    readSync(this.fd, out, 0, length, at);
    return out;
  }

  close(): void {
    this.buffer = undefined;
    closeSync(this.fd);
  }
}
