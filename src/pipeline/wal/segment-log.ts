// The WAL's writer: appends frames to the active segment file by group commit. While one
// durable write runs, new frames queue; the next round writes all of them at once, so a busy
// collector pays one sync per round, not per request. Segment files are opened O_DSYNC where
// the platform has it: the write returns once the data is on disk, one thread-pool hop per
// round instead of two (write, then fdatasync), which under a busy event loop is most of the
// round's latency. Segments roll at wal.segmentBytes and are deleted, oldest first, once every
// record in them is settled. When the disk fills, the disk reserve (disk-reserve.ts) gives
// back the room that cut and done frames need, and records are refused meanwhile.
import { constants } from 'node:fs';
import { mkdir, open, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { fsyncPath, writeFully } from '../../durable-fs.js';
import { errorMessage } from '../../errors.js';
import { runInSteps, type Steps } from '../../steps.js';
import { withTimeout } from '../../timeout.js';
import { sleep } from '../backoff.js';
import { DiskReserve } from './disk-reserve.js';
import {
  SEGMENT_HEADER,
  encodeSegmentHeader,
  recordFrameBytes,
  writeRecordFrameSteps,
  type PendingRecords,
} from './frame.js';

export interface Segment {
  no: number;
  path: string;
  size: number;
  /** One past the highest record position in this or any earlier segment. */
  recordEnd: number;
}

export interface SegmentLogOptions {
  dir: string;
  walId: Buffer;
  segmentBytes: number;
  groupCommitDelayMs: number;
  /** Size of the reserve file (see above). */
  reserveBytes: number;
  logger: Logger;
  /** Called after each fsync with its duration and how many frames it made durable. */
  onSync?: (seconds: number, frames: number) => void;
  /** Called when the disk has room again (the reserve is rebuilt): waiting producers may fit now. */
  onSpace?: () => void;
}

/** A frame waiting for its round. */
interface QueuedFrame {
  /** A laid-out frame (cut, done), or records laid out only when their round is written. */
  frame: Buffer | PendingRecords;
  size: number;
  recordEnd: number;
  /** Cut and done frames are retried after a failed write; record frames fail back to their request. */
  retry: boolean;
  done: (err?: Error) => void;
}

export function segmentPath(dir: string, no: number): string {
  return join(dir, `${String(no).padStart(16, '0')}.wal`);
}

export const SEGMENT_FILE = /^(\d{16})\.wal$/;

/** 0 where the platform has no O_DSYNC (Windows): then each write is followed by fdatasync. */
const DSYNC: number = (constants as { O_DSYNC?: number }).O_DSYNC ?? 0;
const NO_SPACE = new Set(['ENOSPC', 'EDQUOT']);
/** The write buffer is reused between rounds up to this size; a larger round gets a one-off buffer. */
const KEEP_WRITE_BUFFER_BYTES = 4 * 1024 * 1024;
/** Copying and checksumming done between two turns while a large round is laid out (~10 ms); a
 * normal round (requests of ~100 records, a few MiB under load) is laid out in one go. */
const LAYOUT_STEP_BYTES = 8 * 1024 * 1024;

export class SegmentLog {
  private queue: QueuedFrame[] = [];
  private queuedBytes = 0;
  private sealedBytes = 0;
  private running = false;
  private scheduled = false;
  private failed: Error | undefined;
  private closed = false;
  /** Closed at a deadline with frames still queued: what is left is failed, not written. */
  private abandoned = false;
  /** Highest watermark `release` was given: every record below it is settled. */
  private watermark = 0;
  /** Out of space with a fully settled active segment: roll it so it can be deleted. */
  private rollWanted = false;
  private idleWaiters: Array<() => void> = [];
  private writeBuffer: Buffer = Buffer.alloc(0);
  private readonly reserve: DiskReserve;

  private constructor(
    private readonly opts: SegmentLogOptions,
    private readonly sealed: Segment[],
    private active: Segment,
    private fh: FileHandle,
  ) {
    for (const s of sealed) this.sealedBytes += s.size;
    this.reserve = new DiskReserve({
      dir: opts.dir,
      bytes: opts.reserveBytes,
      logger: opts.logger,
      onSpace: opts.onSpace,
      freeSpace: () => this.rollIfSettled(),
    });
  }

  /** Opens a new active segment after the given (replayed) ones; earlier segments are never appended to. */
  static async open(
    opts: SegmentLogOptions,
    sealed: Segment[],
    nextNo: number,
    recordEnd: number,
  ): Promise<SegmentLog> {
    await mkdir(opts.dir, { recursive: true });
    const { segment, fh } = await createSegment(opts, nextNo, recordEnd);
    const log = new SegmentLog(opts, sealed, segment, fh);
    await log.reserve.restore();
    return log;
  }

  /** True while the disk is full: the reserve is in use and records must be refused. */
  get outOfSpace(): boolean {
    return !this.reserve.isHeld;
  }

  /** Bytes on disk plus bytes queued for the next write. */
  get bytes(): number {
    return this.sealedBytes + this.active.size + this.queuedBytes;
  }

  get segments(): number {
    return this.sealed.length + 1;
  }

  /** The error that stopped the WAL (a failed fsync), if any. */
  get failure(): Error | undefined {
    return this.failed;
  }

  /**
   * Resolves once the frame is on disk and fsynced. `recordEnd`: one past its last record position
   * (0 for non-record frames).
   */
  append(frame: Buffer | PendingRecords, recordEnd: number, retry: boolean): Promise<void> {
    if (this.failed) return Promise.reject(this.failed);
    if (this.closed) return Promise.reject(new Error('WAL closed'));
    const size = Buffer.isBuffer(frame) ? frame.length : recordFrameBytes(frame);
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ frame, size, recordEnd, retry, done: (err) => (err ? reject(err) : resolve()) });
      this.queuedBytes += size;
      this.schedule();
    });
  }

  /** Deletes segments, oldest first, whose records all lie below `watermark` (all settled). Never the active one. */
  release(watermark: number): void {
    if (watermark > this.watermark) this.watermark = watermark;
    const deleted: Array<Promise<void>> = [];
    while (this.sealed.length > 0 && this.sealed[0]!.recordEnd <= watermark) {
      const seg = this.sealed.shift()!;
      this.sealedBytes -= seg.size;
      deleted.push(
        unlink(seg.path).catch((err: unknown) =>
          this.opts.logger.warn({ file: seg.path, err: errorMessage(err) }, 'wal: could not delete a settled segment'),
        ),
      );
    }
    if (deleted.length > 0 && !this.reserve.isHeld) void Promise.all(deleted).then(() => this.reserve.restore());
  }

  /** Waits for queued frames to be written, then closes the file. */
  async close(waitMs = Infinity): Promise<void> {
    const idle = (async () => {
      while (this.running || this.scheduled || (this.queue.length > 0 && !this.failed)) {
        await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
      }
      return true;
    })();
    const written = await withTimeout(idle, waitMs, () => false);
    if (!written) {
      // Frames still queued are being retried on a full disk. Dropping them is safe: a missing
      // cut means the next start cuts those records again, a missing done frame that a batch is
      // sent again, which the sink recognises.
      this.abandoned = true;
      const left = this.queue.splice(0);
      this.queuedBytes = 0;
      for (const queued of left) queued.done(new Error('WAL closed before this frame was written'));
      this.opts.logger.warn(
        { frames: left.length, dir: this.opts.dir },
        'wal: closed at the shutdown deadline with frames unwritten (disk full?); the next start recovers from what ' +
          'is on disk',
      );
    }
    this.reserve.stop();
    this.closed = true;
    await this.fh.close().catch(() => undefined);
  }

  private schedule(): void {
    if (this.running || this.scheduled) return;
    this.scheduled = true;
    const go = (): void => {
      this.scheduled = false;
      void this.run();
    };
    // setImmediate, even with no delay: requests parsed in the same turn share the first write.
    if (this.opts.groupCommitDelayMs > 0) setTimeout(go, this.opts.groupCommitDelayMs);
    else setImmediate(go);
  }

  private async run(): Promise<void> {
    this.running = true;
    while ((this.queue.length > 0 || this.rollWanted) && !this.failed && !this.abandoned) {
      if (this.rollWanted) {
        this.rollWanted = false;
        await this.roll().then(
          () => this.release(this.watermark),
          (err: unknown) =>
            this.opts.logger.warn(
              { err: errorMessage(err) },
              'wal: could not roll a settled segment to free its space; retrying',
            ),
        );
        continue;
      }
      const { segmentBytes } = this.opts;
      let group: QueuedFrame[] = [];
      let stage = 'roll';
      try {
        if (this.active.size > SEGMENT_HEADER && this.active.size + this.queue[0]!.size > segmentBytes)
          await this.roll();
        let n = 0;
        let bytes = 0;
        const room = segmentBytes - this.active.size;
        while (n < this.queue.length && (n === 0 || bytes + this.queue[n]!.size <= room))
          bytes += this.queue[n++]!.size;
        group = this.queue.splice(0, n);
        this.queuedBytes -= bytes;
        const data = await this.layOut(group, bytes);
        stage = 'write';
        const started = performance.now();
        await writeFully(this.fh, data, this.active.size);
        if (!DSYNC) await this.fh.datasync();
        this.opts.onSync?.((performance.now() - started) / 1000, n);
        this.active.size += bytes;
        for (const queued of group)
          if (queued.recordEnd > this.active.recordEnd) this.active.recordEnd = queued.recordEnd;
        for (const queued of group) queued.done();
      } catch (err) {
        await this.handleFailure(err as Error, stage, group);
      }
    }
    if (this.failed) {
      for (const queued of this.queue.splice(0)) queued.done(this.failed);
      this.queuedBytes = 0;
    }
    this.running = false;
    if ((this.queue.length > 0 || this.rollWanted) && !this.failed && !this.abandoned) this.schedule();
    else for (const w of this.idleWaiters.splice(0)) w();
  }

  /**
   * A write refused for space (or a failed roll) is undone by truncating back, and the WAL
   * carries on. An I/O error is not retried: after a failed sync the kernel may have dropped
   * the dirty pages, so nothing written since the last good one can be trusted; the WAL stops.
   */
  private async handleFailure(err: Error, stage: string, group: QueuedFrame[]): Promise<void> {
    const { logger } = this.opts;
    if (this.abandoned) {
      for (const queued of group) queued.done(err);
      return;
    }
    const noSpace = NO_SPACE.has((err as NodeJS.ErrnoException).code ?? '');
    if (stage === 'roll' || noSpace) {
      try {
        await this.fh.truncate(this.active.size);
      } catch (truncErr) {
        stage = `${stage}, then truncate (${errorMessage(truncErr)})`;
        this.failed = err;
      }
      if (noSpace && this.reserve.isHeld && !this.failed) await this.reserve.release();
    } else {
      this.failed = err;
    }
    const retry = group.filter((queued) => queued.retry);
    for (const queued of group) if (!queued.retry || this.failed) queued.done(err);
    if (this.failed) {
      logger.fatal(
        { err: errorMessage(err), stage, file: this.active.path },
        'wal: write failed; durable ingest is refused (500) until restart',
      );
      return;
    }
    logger.error(
      { err: errorMessage(err), stage, file: this.active.path },
      'wal: write failed; the requests in it were refused',
    );
    this.queue.unshift(...retry);
    this.queuedBytes += retry.reduce((n, queued) => n + queued.size, 0);
    await sleep(100);
  }

  /**
   * While out of space, a fully settled active segment is never deleted unless it rolls: roll it
   * first (its new segment needs a little space), and once the old one is deleted, `release`
   * rebuilds the reserve; both at once, the reserve could take the space the roll needs.
   */
  private rollIfSettled(): boolean {
    if (this.active.size <= SEGMENT_HEADER || this.active.recordEnd > this.watermark || this.queue.length > 0)
      return false;
    this.rollWanted = true;
    this.schedule();
    return true;
  }

  /**
   * One round's frames, contiguous, in the reused write buffer (only this round's writer touches
   * it), laid out with the event loop let run every LAYOUT_STEP_BYTES of work (or STEP_MAX_MS).
   */
  private layOut(group: QueuedFrame[], bytes: number): Promise<Buffer> {
    const only = group.length === 1 ? group[0]!.frame : undefined;
    if (only && Buffer.isBuffer(only)) return Promise.resolve(only);
    let target = this.writeBuffer;
    if (target.length < bytes) {
      target = Buffer.allocUnsafe(Math.max(bytes, Math.min(2 * target.length, KEEP_WRITE_BUFFER_BYTES)));
      if (target.length <= KEEP_WRITE_BUFFER_BYTES) this.writeBuffer = target;
    }
    return runInSteps(layOutSteps(group, target.subarray(0, bytes)), LAYOUT_STEP_BYTES);
  }

  private async roll(): Promise<void> {
    const next = await createSegment(this.opts, this.active.no + 1, this.active.recordEnd);
    await this.fh.close().catch(() => undefined);
    this.sealed.push(this.active);
    this.sealedBytes += this.active.size;
    this.active = next.segment;
    this.fh = next.fh;
  }
}

/** The group's frames laid out back to back in `target` (sized to them); yields the work done. */
function* layOutSteps(group: QueuedFrame[], target: Buffer): Steps<Buffer> {
  let at = 0;
  for (const queued of group)
    at = Buffer.isBuffer(queued.frame)
      ? at + queued.frame.copy(target, at)
      : yield* writeRecordFrameSteps(target, at, queued.frame);
  return target;
}

async function createSegment(
  opts: SegmentLogOptions,
  no: number,
  recordEnd: number,
): Promise<{ segment: Segment; fh: FileHandle }> {
  const path = segmentPath(opts.dir, no);
  const fh = await open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | DSYNC);
  try {
    await writeFully(fh, encodeSegmentHeader(opts.walId, no, recordEnd), 0);
    if (!DSYNC) await fh.datasync();
    // The new file's directory entry must be durable too, or a crash could lose the whole file.
    await fsyncPath(opts.dir);
  } catch (err) {
    await fh.close().catch(() => undefined);
    await unlink(path).catch(() => undefined);
    throw err;
  }
  return { segment: { no, path, size: SEGMENT_HEADER, recordEnd }, fh };
}
