// The file sink: NDJSON, one file per record type, rotated by size or age, fsynced per
// batch when configured. A failed batch is cut back off every file it touched, so a retry never
// appends to a torn line; lines may still repeat after a crash (at-least-once, with the WAL).
import { mkdir, open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { fsyncPath, writeFully } from '../../durable-fs.js';
import { toJsonLine, type RecordType } from '../../record.js';
import type { Sink, SinkBatch } from '../sink.js';

export interface FileSinkOptions {
  dir: string;
  maxBytes: number;
  maxAgeMs: number;
  fsync: boolean;
  now?: () => number;
}

interface OpenFile {
  type: RecordType;
  fh: FileHandle;
  path: string;
  bytes: number;
  openedAt: number;
}

/** A file this batch wrote to, and its size before, to cut the batch back off on failure. */
interface Touched {
  file: OpenFile;
  before: number;
  length: number;
}

export class FileSink implements Sink {
  readonly name = 'file';
  private readonly files = new Map<RecordType, OpenFile>();
  /** The tail of each type's queue: the writer pool runs several writeBatch calls at once. */
  private readonly turns = new Map<RecordType, Promise<void>>();
  private seq = 0;
  private readonly now: () => number;

  constructor(private readonly opts: FileSinkOptions) {
    this.now = opts.now ?? Date.now;
  }

  async start(): Promise<void> {
    await mkdir(this.opts.dir, { recursive: true });
  }

  async writeBatch(batch: SinkBatch): Promise<void> {
    const byType = new Map<RecordType, string>();
    for (const r of batch.records) byType.set(r.type, (byType.get(r.type) ?? '') + toJsonLine(r) + '\n');
    const release = await this.takeTurns([...byType.keys()]);
    try {
      await this.writeAll(byType);
    } finally {
      release();
    }
  }

  /** Paths of the files currently open, by type (for tests and /admin/jobs). */
  currentFiles(): Record<string, string> {
    return Object.fromEntries([...this.files].map(([t, f]) => [t, f.path]));
  }

  async close(): Promise<void> {
    const release = await this.takeTurns([...this.turns.keys()]);
    try {
      const files = [...this.files.values()];
      this.files.clear();
      // Release every handle even when one fails, then report the first failure.
      const errors: unknown[] = [];
      for (const f of files) {
        if (this.opts.fsync) await f.fh.sync().catch((err: unknown) => errors.push(err));
        await f.fh.close().catch((err: unknown) => errors.push(err));
      }
      if (errors.length > 0) throw errors[0];
    } finally {
      release();
    }
  }

  /** All types of the batch or none: a type written before a later one failed is cut back too. */
  private async writeAll(byType: Map<RecordType, string>): Promise<void> {
    const touched: Touched[] = [];
    try {
      for (const [type, text] of byType) {
        const file = await this.fileFor(type);
        const buf = Buffer.from(text);
        touched.push({ file, before: file.bytes, length: buf.length });
        await writeFully(file.fh, buf);
        if (this.opts.fsync) await file.fh.sync();
      }
    } catch (err) {
      await this.cutBack(touched);
      throw err;
    }
    for (const t of touched) t.file.bytes = t.before + t.length;
  }

  private async cutBack(touched: Touched[]): Promise<void> {
    for (const { file, before } of touched) {
      try {
        await file.fh.truncate(before);
        if (this.opts.fsync) await file.fh.sync();
      } catch {
        // The torn tail stays; at least stop appending to it: the retry opens a fresh file.
        if (this.files.get(file.type) === file) this.files.delete(file.type);
        await file.fh.close().catch(() => undefined);
      }
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
    try {
      // Bytes already there (a name reused after a restart) are never cut back.
      const { size } = await fh.stat();
      if (this.opts.fsync) await fsyncPath(this.opts.dir);
      const file: OpenFile = { type, fh, path, bytes: size, openedAt: now };
      this.files.set(type, file);
      return file;
    } catch (err) {
      await fh.close().catch(() => undefined);
      throw err;
    }
  }

  /** Waits for each type's turn, in one order for every caller so that holding several cannot deadlock. */
  private async takeTurns(types: RecordType[]): Promise<() => void> {
    const releases: Array<() => void> = [];
    for (const type of [...types].sort()) releases.push(await this.takeTurn(type));
    return () => releases.forEach((release) => release());
  }

  private takeTurn(type: RecordType): Promise<() => void> {
    const previous = this.turns.get(type) ?? Promise.resolve();
    let release!: () => void;
    const done = new Promise<void>((resolve) => (release = resolve));
    this.turns.set(
      type,
      previous.then(() => done),
    );
    return previous.then(() => release);
  }
}
