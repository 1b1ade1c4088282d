// The file check store (any sink but PostgreSQL): a snapshot (checks.json) plus an append-only
// log of changes (checks.log), one JSON line per put, delete or state, so a change costs the
// same at 10 checks and at 20,000. Changes made while a write is under way are appended
// together (one write, one fdatasync). The log is folded into a new snapshot at load and when
// it outgrows the snapshot; replaying the log over a snapshot is idempotent, so a crash between
// the snapshot's rename and the log's truncation loses nothing. A torn last line (a crash
// mid-append) is ignored.
import { mkdir, open, readFile, rename, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { fsyncPath, writeFully } from '../durable-fs.js';
import type { Check } from './check-schema.js';
import type { CheckStore, PushMark, StoredState } from './store.js';

type Change =
  | { op: 'put'; check: Check }
  | { op: 'delete'; id: string }
  | { op: 'state'; id: string; state: StoredState }
  | { op: 'push'; id: string; mark: PushMark };

interface Pending {
  line: string;
  undo?: () => void;
  resolve: () => void;
  reject: (err: Error) => void;
}

export interface FileCheckStoreOptions {
  /** Fold the log into the snapshot once it is this many times the snapshot's size (default 2)… */
  compactRatio?: number;
  /** …and at least this many bytes (default 1 MiB). */
  compactMinBytes?: number;
  /** Tests: how a batch of lines reaches the log (default: one full write). */
  append?: (fh: FileHandle, data: Buffer) => Promise<void>;
}

export class FileCheckStore implements CheckStore {
  readonly kind = 'file';
  readonly logPath: string;
  private checks = new Map<string, Check>();
  private states = new Map<string, StoredState>();
  private fh: FileHandle | undefined;
  /** Bytes of the log that hold whole, written changes. */
  private logSize = 0;
  private snapshotSize = 0;
  /** A failed append could not be cut off again: do it before the next one. */
  private truncateFirst = false;
  private pending: Pending[] = [];
  private draining: Promise<void> | undefined;
  /** Bytes appended to the log so far: the work done per change (tests count it). */
  appendedBytes = 0;
  /** Times the log was folded into the snapshot. */
  compactions = 0;

  constructor(
    readonly path: string,
    private readonly opts: FileCheckStoreOptions = {},
  ) {
    this.logPath = path.replace(/(\.json)?$/, '.log');
  }

  async load(): Promise<{ checks: Check[]; states: Map<string, StoredState> }> {
    await this.close();
    this.checks = new Map();
    this.states = new Map();
    try {
      const parsed = JSON.parse(await readFile(this.path, 'utf8')) as {
        checks?: Check[];
        states?: Record<string, StoredState>;
      };
      for (const c of parsed.checks ?? []) this.checks.set(c.id, c);
      for (const [id, s] of Object.entries(parsed.states ?? {})) this.states.set(id, s);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
        throw new Error(`health store ${this.path}: ${(err as Error).message}`, { cause: err });
    }
    let log = '';
    try {
      log = await readFile(this.logPath, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    // The text after the last newline is a torn append (the process stopped mid-write).
    const lines = log.split('\n');
    lines.pop();
    lines.forEach((line, i) => {
      if (line === '') return;
      let change: unknown;
      try {
        change = JSON.parse(line);
      } catch (err) {
        throw new Error(`health store ${this.logPath} line ${i + 1}: ${(err as Error).message}`, { cause: err });
      }
      if (!isChange(change)) throw new Error(`health store ${this.logPath} line ${i + 1}: not a change`);
      this.apply(change);
    });
    await mkdir(dirname(this.path), { recursive: true });
    await this.compact();
    this.fh = await open(this.logPath, 'a');
    return { checks: [...this.checks.values()], states: new Map(this.states) };
  }

  /** Closes the log (the store may be loaded again). */
  async close(): Promise<void> {
    await this.draining;
    await this.fh?.close();
    this.fh = undefined;
  }

  put(check: Check): Promise<void> {
    const previous = this.checks.get(check.id);
    this.checks.set(check.id, check);
    return this.append({ op: 'put', check }, () => {
      if (this.checks.get(check.id) !== check) return;
      if (previous) this.checks.set(check.id, previous);
      else this.checks.delete(check.id);
    });
  }

  async delete(id: string): Promise<boolean> {
    const removed = this.checks.get(id);
    const state = this.states.get(id);
    this.checks.delete(id);
    this.states.delete(id);
    await this.append({ op: 'delete', id }, () => {
      if (removed && !this.checks.has(id)) {
        this.checks.set(id, removed);
        if (state) this.states.set(id, state);
      }
    });
    return removed !== undefined;
  }

  saveState(id: string, state: StoredState): Promise<void> {
    this.apply({ op: 'state', id, state });
    return this.append({ op: 'state', id, state });
  }

  savePush(id: string, mark: PushMark): Promise<void> {
    this.apply({ op: 'push', id, mark });
    return this.append({ op: 'push', id, mark });
  }

  private apply(c: Change): void {
    switch (c.op) {
      case 'put':
        this.checks.set(c.check.id, c.check);
        break;
      case 'delete':
        this.checks.delete(c.id);
        this.states.delete(c.id);
        break;
      case 'state':
        this.states.set(c.id, { ...this.states.get(c.id), ...c.state });
        break;
      case 'push': {
        const current = this.states.get(c.id) ?? { state: 'unknown', since: c.mark.lastResultAt };
        this.states.set(c.id, { ...current, push: c.mark });
        break;
      }
    }
  }

  /** Queues one change's line; resolves once it is on disk. A failed write `undo`es it in memory. */
  private append(change: Change, undo?: () => void): Promise<void> {
    if (!this.fh) return Promise.reject(new Error('health store used before load()'));
    const done = new Promise<void>((resolve, reject) => {
      this.pending.push({ line: `${JSON.stringify(change)}\n`, undo, resolve, reject });
    });
    this.draining ??= this.drain();
    return done;
  }

  private async drain(): Promise<void> {
    while (this.pending.length > 0) {
      const batch = this.pending;
      this.pending = [];
      const data = Buffer.from(batch.map((p) => p.line).join(''));
      try {
        const fh = this.fh!;
        if (this.truncateFirst) {
          await fh.truncate(this.logSize);
          this.truncateFirst = false;
        }
        await (this.opts.append ?? writeFully)(fh, data);
        await fh.datasync();
        this.logSize += data.length;
        this.appendedBytes += data.length;
      } catch (err) {
        // Whatever part of the batch reached the file must not come back at the next load.
        this.truncateFirst = true;
        await this.fh!.truncate(this.logSize).then(
          () => (this.truncateFirst = false),
          () => undefined,
        );
        for (let i = batch.length - 1; i >= 0; i--) batch[i]!.undo?.();
        for (const p of batch) p.reject(err as Error);
        continue;
      }
      for (const p of batch) p.resolve();
      // Only with nothing queued does memory equal what is on disk: fold then.
      if (this.pending.length === 0 && this.logSize > this.compactThreshold()) {
        await this.compact().catch(() => undefined);
      }
    }
    // Set in the same tick as the last look at `pending`: an append made after it starts anew.
    this.draining = undefined;
  }

  private compactThreshold(): number {
    return Math.max(this.opts.compactMinBytes ?? 1024 * 1024, (this.opts.compactRatio ?? 2) * this.snapshotSize);
  }

  /** Writes memory as the new snapshot (temp file, fsync, rename), then empties the log. */
  private async compact(): Promise<void> {
    const text = JSON.stringify({ checks: [...this.checks.values()], states: Object.fromEntries(this.states) });
    const tmp = `${this.path}.tmp`;
    const out = await open(tmp, 'w');
    try {
      await writeFully(out, Buffer.from(text));
      await out.sync();
    } finally {
      await out.close();
    }
    await rename(tmp, this.path);
    await fsyncPath(dirname(this.path));
    // A crash here replays the old log over the new snapshot: the same result.
    if (this.fh) await this.fh.truncate(0);
    else await (await open(this.logPath, 'w')).close();
    await fsyncPath(this.logPath);
    this.snapshotSize = text.length;
    this.logSize = 0;
    this.compactions++;
  }
}

/** A line's shape, as this store writes it (a bad one stops the load rather than crash it later). */
function isChange(v: unknown): v is Change {
  if (v === null || typeof v !== 'object') return false;
  const c = v as Record<string, unknown>;
  const obj = (x: unknown): x is Record<string, unknown> => x !== null && typeof x === 'object' && !Array.isArray(x);
  switch (c.op) {
    case 'put':
      return obj(c.check) && typeof c.check.id === 'string';
    case 'delete':
      return typeof c.id === 'string';
    case 'state':
      return typeof c.id === 'string' && obj(c.state);
    case 'push':
      return typeof c.id === 'string' && obj(c.mark);
    default:
      return false;
  }
}
