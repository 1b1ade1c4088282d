// The file sink: NDJSON, one file per record type, rotated by size or age, fsynced per
// batch when configured. At-least-once: a batch retried after a failed write may repeat lines.
import { mkdir, open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { toJsonLine, type RecordType } from '../../record.js';
import type { Batch, Sink } from '../sink.js';

export interface FileSinkOptions {
  dir: string;
  maxBytes: number;
  maxAgeMs: number;
  fsync: boolean;
  now?: () => number;
}

interface OpenFile {
  fh: FileHandle;
  path: string;
  bytes: number;
  openedAt: number;
}

export class FileSink implements Sink {
  readonly name = 'file';
  private readonly files = new Map<RecordType, OpenFile>();
  private seq = 0;
  private readonly now: () => number;

  constructor(private readonly opts: FileSinkOptions) {
    this.now = opts.now ?? Date.now;
  }

  async start(): Promise<void> {
    await mkdir(this.opts.dir, { recursive: true });
  }

  async writeBatch(batch: Batch): Promise<void> {
    const byType = new Map<RecordType, string>();
    for (const r of batch.records) byType.set(r.type, (byType.get(r.type) ?? '') + toJsonLine(r) + '\n');
    for (const [type, text] of byType) {
      const file = await this.fileFor(type);
      const buf = Buffer.from(text);
      await file.fh.write(buf);
      file.bytes += buf.length;
      if (this.opts.fsync) await file.fh.sync();
    }
  }

  /** Paths of the files currently open, by type (for tests and /admin/jobs). */
  currentFiles(): Record<string, string> {
    return Object.fromEntries([...this.files].map(([t, f]) => [t, f.path]));
  }

  async close(): Promise<void> {
    const files = [...this.files.values()];
    this.files.clear();
    for (const f of files) {
      if (this.opts.fsync) await f.fh.sync();
      await f.fh.close();
    }
  }

  private async fileFor(type: RecordType): Promise<OpenFile> {
    const now = this.now();
    const current = this.files.get(type);
    if (current && current.bytes < this.opts.maxBytes && now - current.openedAt < this.opts.maxAgeMs) return current;
    if (current) {
      this.files.delete(type);
      await current.fh.close();
    }
    // Names sort by creation time; the counter separates files opened in the same millisecond.
    const stamp = new Date(now).toISOString().replace(/[:.]/g, '-');
    const path = join(this.opts.dir, `${type}-${stamp}-${String(this.seq++).padStart(4, '0')}.ndjson`);
    const fh = await open(path, 'a');
    const file: OpenFile = { fh, path, bytes: 0, openedAt: now };
    this.files.set(type, file);
    return file;
  }
}
