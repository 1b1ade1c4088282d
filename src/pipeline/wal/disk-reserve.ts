// The WAL's disk reserve: a file that holds back some disk so that, when the disk fills, it can
// be deleted and cut and done frames can still be written (without them no batch is sent,
// nothing settles and no segment is ever freed: a full disk would stall the WAL for good).
// While it is released the WAL refuses records; it is rebuilt when settled segments are
// deleted, or, retried every second, when space comes back some other way.
import { open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { writeFully } from '../../durable-fs.js';
import { errorMessage } from '../../errors.js';

const RESERVE_FILE = 'reserve';
const SPACE_RETRY_MS = 1000;

export interface DiskReserveOptions {
  dir: string;
  bytes: number;
  logger: Logger;
  /** Called when the disk has room again (the reserve is rebuilt): waiting producers may fit now. */
  onSpace?: (() => void) | undefined;
  /**
   * Called at each retry while the reserve is released, before trying to rebuild it; returns
   * true when the log took a step of its own to free space (then this retry is skipped).
   */
  freeSpace: () => boolean;
}

export class DiskReserve {
  private held = false;
  /** False until the first attempt (at open), which logs nothing when it succeeds. */
  private started = false;
  private stopped = false;
  private restoring: Promise<void> | undefined;
  private retryTimer: NodeJS.Timeout | undefined;

  constructor(private readonly opts: DiskReserveOptions) {}

  /** True while the reserve file is on disk; false while the disk is full (records must be refused). */
  get isHeld(): boolean {
    return this.held;
  }

  /** Deletes the reserve so the frames that free space can still be written, and starts retrying. */
  async release(): Promise<void> {
    await rm(join(this.opts.dir, RESERVE_FILE), { force: true });
    this.held = false;
    this.opts.logger.error(
      { dir: this.opts.dir },
      'wal: disk full; its reserve is released so batches can still be cut and settled; new records are refused ' +
        '(429) until space frees',
    );
    this.retry();
  }

  /**
   * (Re)writes the reserve file; on failure (still no space) it stays released and a later
   * `restore` (or the retry timer) tries again.
   */
  restore(): Promise<void> {
    this.restoring ??= (async () => {
      const path = join(this.opts.dir, RESERVE_FILE);
      const wasOut = !this.held;
      try {
        const fh = await open(path, 'w');
        try {
          await writeFully(fh, Buffer.alloc(this.opts.bytes), 0);
          await fh.datasync();
        } finally {
          await fh.close();
        }
        this.held = true;
        if (wasOut && this.started) {
          this.opts.logger.info({ dir: this.opts.dir }, 'wal: disk space is back; accepting records again');
          this.opts.onSpace?.();
        }
      } catch (err) {
        await rm(path, { force: true }).catch(() => undefined);
        if (wasOut && !this.retryTimer)
          this.opts.logger.error(
            { dir: this.opts.dir, err: errorMessage(err) },
            'wal: no room for the disk reserve; records are refused (429) until space frees',
          );
        this.retry();
      } finally {
        this.restoring = undefined;
        this.started = true;
      }
    })();
    return this.restoring;
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.retryTimer);
  }

  /**
   * Space may come back without a segment of ours being deleted (another process freed it),
   * and when everything is in the active segment, no segment is ever deleted unless it rolls.
   */
  private retry(): void {
    if (this.retryTimer || this.stopped) return;
    this.retryTimer = setInterval(() => {
      if (this.held) {
        clearInterval(this.retryTimer);
        this.retryTimer = undefined;
        return;
      }
      if (this.opts.freeSpace()) return;
      void this.restore();
    }, SPACE_RETRY_MS);
    this.retryTimer.unref();
  }
}
