// The durable buffer (ack mode `durable`): a RecordBuffer whose push resolves only once the
// records are fsynced to the write-ahead log, and a ledger of batch boundaries that makes a
// replay after a crash resend exactly the batches that were in flight, under the same ids.
//
// Positions: every record gets the next integer position when admitted. The batcher takes
// records in position order, so each batch is the range [from, to) taken since the previous
// batch; `cut()` names it `wal-<walId>-<from>-<to>` and logs a cut frame. The writer pool
// waits for that frame to be durable (`sealed`) before the sink sees the batch, so a batch a
// sink may have committed is always re-cut identically on replay. When the pool is done with
// a batch (`settled`), a done frame is logged and the segments below the oldest unsettled
// position are deleted.
import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import type { Logger } from 'pino';
import { SluiceError, errorMessage } from '../../errors.js';
import type { Metrics } from '../../observability/metrics.js';
import type { SluiceRecord } from '../../record.js';
import type { Batch } from '../../batch.js';
import type {
  BatchLedger,
  BufferStats,
  DeferredRecords,
  EncodedRecords,
  PushOptions,
  RecordBuffer,
  Taken,
} from '../buffer.js';
import { ChunkQueue, takenOf } from '../chunk-queue.js';
import { WaitLine, pushParsedNow, waitingCount, type Waiting } from '../wait-line.js';
import type { WalConfig } from './config.js';
import {
  ENCODE_STEP_RECORDS,
  FrameType,
  encodeRange,
  encodedFrame,
  pendingRecords,
  pendingRecordsInSteps,
  recordFrameBytes,
  type PendingRecords,
} from './frame.js';
import { lockDir, type DirLock } from './dir-lock.js';
import { planRecovery } from './recovery.js';
import { replaySegments, type Replayed } from './replay.js';
import { SegmentLog } from './segment-log.js';
import { TupleSlab } from './tuple-slab.js';

export interface WalBufferOptions {
  /** In-memory limits (buffer.*): records admitted and not yet taken by the batcher. */
  maxRecords: number;
  maxBytes: number;
  retryAfterSeconds: number;
  /** Bytes the producers waiting for room may hold (buffer.maxWaitingBytes); default unbounded. */
  maxWaitingBytes?: number;
  wal: WalConfig;
  logger: Logger;
  metrics?: Metrics;
  /**
   * Hold admitted records as their tuples only (default): for a sink that sends `Batch.rows`.
   * false: hold the objects, which other sinks need (decoding them back would cost them time and
   * store what PostgreSQL would, a NUL replaced, rather than what was received).
   */
  holdTuples?: boolean;
}

export interface WalStats {
  diskBytes: number;
  maxDiskBytes: number;
  segments: number;
  /** Batches cut and not yet committed or dead-lettered. */
  unsettledBatches: number;
  /** The disk is full: records are refused until settled segments free space. */
  outOfSpace: boolean;
}

interface Waiter extends Waiting {
  /** Serialised only once memory has room for it: a parked request should not hold its records twice. */
  frame: PendingRecords | undefined;
  /** A large request's frame being built in steps, at the head of the line (see `fits`). */
  encoding?: Promise<void>;
}

const DISK_FULL = new Set(['ENOSPC', 'EDQUOT']);
/** Disk held back for cut and done frames when the disk fills (25 bytes each: ~20k batches). */
const RESERVE_BYTES = 1024 * 1024;

export class WalBuffer implements RecordBuffer, BatchLedger {
  private readonly queue = new ChunkQueue();
  /**
   * Admitted and not yet started by a writer: waiting for their fsync, takeable, or in a
   * batch waiting for its cut's sync or in the pool's queue (the pool does not bound those).
   */
  private records = 0;
  private bytes = 0;
  private uncutRecords = 0;
  private uncutBytes = 0;
  private takeable = 0;
  private readonly waiters: WaitLine<Waiter>;
  private listener: (() => void) | undefined;
  private closed = false;
  private nextSeq: number;
  /** Position after the last record taken, and where the current (uncut) batch starts. */
  private takenEnd: number;
  private cutStart: number;
  private readonly unsettled = new Map<string, [number, number]>();
  /** Cut batches whose cut frame is being made durable: resolves once it is (see `sealed`). */
  private readonly cutDurable = new Map<string, Promise<void>>();
  /** Records and bytes of cut batches no writer has started yet. */
  private readonly held = new Map<string, [number, number]>();
  private replayed: Batch[] = [];
  private readonly idPrefix: string;
  /** Holds the tuples of admitted records until the sink has sent them. */
  private readonly slab = new TupleSlab();

  private constructor(
    private readonly opts: WalBufferOptions,
    private readonly log: SegmentLog,
    private readonly lock: DirLock,
    walId: Buffer,
    start: number,
  ) {
    this.idPrefix = `wal-${walId.toString('hex')}-`;
    this.waiters = new WaitLine(opts.maxWaitingBytes ?? Infinity, () => this.admitWaiters());
    this.nextSeq = this.takenEnd = this.cutStart = start;
  }

  /** Replays the directory, repairs a torn tail, and opens a fresh segment for new records. */
  static async open(opts: WalBufferOptions): Promise<WalBuffer> {
    const { wal } = opts;
    if (wal.maxBytes < 2 * wal.segmentBytes) {
      throw new SluiceError(
        'SLUICE_ERR_CONFIG',
        `wal.maxBytes (${wal.maxBytes}) must be at least twice wal.segmentBytes (${wal.segmentBytes})`,
      );
    }
    await mkdir(wal.dir, { recursive: true });
    const lock = await lockDir(wal.dir);
    try {
      return await WalBuffer.openLocked(opts, lock);
    } catch (err) {
      await lock.release();
      throw err;
    }
  }

  private static async openLocked(opts: WalBufferOptions, lock: DirLock): Promise<WalBuffer> {
    const { wal, logger, metrics } = opts;
    const replayed = await replaySegments(wal.dir, logger);
    if (replayed.repaired > 0) metrics?.walRepairs.inc(replayed.repaired);
    const walId = replayed.walId ?? randomBytes(16);
    // After lost bytes, skip past every position they could have held (each record takes at
    // least one byte): a reused position could rebuild the id of a batch the sink already has.
    const start = replayed.recordEnd + replayed.droppedBytes;
    const ref: { buffer?: WalBuffer } = {};
    const log = await SegmentLog.open(
      {
        dir: wal.dir,
        walId,
        segmentBytes: wal.segmentBytes,
        reserveBytes: Math.min(RESERVE_BYTES, wal.segmentBytes),
        groupCommitDelayMs: wal.groupCommitDelayMs,
        logger,
        onSync: metrics ? (s) => metrics.walFsyncSeconds.observe(s) : undefined,
        // Room on disk again: nothing else would wake a line that waits for it (the buffer may be empty).
        onSpace: () => ref.buffer?.admitWaiters(),
      },
      replayed.segments,
      replayed.nextSegment,
      start,
    );
    const buffer = (ref.buffer = new WalBuffer(opts, log, lock, walId, start));
    buffer.recover(replayed);
    return buffer;
  }

  // ---- RecordBuffer ---------------------------------------------------------------------

  push(records: SluiceRecord[], bytes: number, opts: PushOptions): Promise<void> {
    const refused = this.refusal();
    if (refused) return Promise.reject(refused);
    if (records.length === 0) return Promise.resolve();
    // A large request's tuples are encoded first, in steps, so encoding never holds the loop
    // long (the cost: a parked large request holds its tuples beside its records).
    if (records.length > ENCODE_STEP_RECORDS)
      return pendingRecordsInSteps(records).then((frame) =>
        this.enter({ records, bytes, deferred: undefined, frame, opts }),
      );
    return this.enter({ records, bytes, deferred: undefined, frame: undefined, opts });
  }

  pushEncoded(req: EncodedRecords, opts: PushOptions): Promise<void> {
    if (this.opts.holdTuples === false) return Promise.reject(new Error('wal: encoded requests need holdTuples'));
    const frame = encodedFrame(req.offsets, req.run.sizes as number[], req.run.tuples);
    return this.enter({ records: [], encoded: req, bytes: req.bytes, deferred: undefined, frame, opts });
  }

  /** A parsed request: admitted now if nobody waits and it fits, else in the wait line. */
  private enter(waiter: Waiter): Promise<void> {
    // Asked again: the WAL may have stopped while a large request was being encoded.
    const refused = this.refusal();
    if (refused) return Promise.reject(refused);
    // A line left waiting by a missed wake-up would refuse everyone behind it: try it first.
    if (this.waiters.length > 0) this.admitWaiters();
    if (this.waiters.length === 0 && this.fits(waiter)) return this.admit(waiter);
    return this.waiters.wait(waiter, () => this.full());
  }

  pushDeferred(req: DeferredRecords, opts: PushOptions): Promise<void> {
    const refused = this.refusal();
    if (refused) return Promise.reject(refused);
    if (this.waiters.length > 0) this.admitWaiters();
    if (this.waiters.length === 0) return pushParsedNow(this, req, opts);
    return this.waiters.wait({ records: [], bytes: 0, deferred: req, frame: undefined, opts }, () => this.full());
  }

  take(maxRecords: number, maxBytes: number): Taken {
    const slice = this.queue.take(maxRecords, maxBytes);
    if (slice.endSeq !== undefined) this.takenEnd = slice.endSeq;
    this.uncutRecords += slice.count;
    this.uncutBytes += slice.bytes;
    this.takeable -= slice.count;
    return takenOf(slice, this.takeable > 0);
  }

  cut(): string {
    const from = this.cutStart;
    const to = this.takenEnd;
    this.cutStart = to;
    const id = this.idPrefix + `${from}-${to}`;
    this.unsettled.set(id, [from, to]);
    this.held.set(id, [this.uncutRecords, this.uncutBytes]);
    this.uncutRecords = this.uncutBytes = 0;
    const durable = this.log.append(encodeRange(FrameType.Cut, from, to), 0, true).catch((err: unknown) => {
      // The WAL stopped: the batch still goes to the sink (its records are in memory), but a
      // crash from here on may replay it under another id.
      this.opts.logger.error({ batch: id, err: errorMessage(err) }, 'wal: cut not logged; this batch is at-least-once');
    });
    this.cutDurable.set(id, durable);
    return id;
  }

  onReadable(listener: () => void): void {
    this.listener = listener;
  }

  stats(): BufferStats {
    return {
      records: this.records,
      bytes: this.bytes,
      maxRecords: this.opts.maxRecords,
      maxBytes: this.opts.maxBytes,
      waiting: this.waiters.length,
    };
  }

  close(): void {
    this.closed = true;
    this.waiters.failAll(() => this.shuttingDown());
  }

  // ---- BatchLedger ----------------------------------------------------------------------

  sealed(batch: Batch): Promise<void> {
    const p = this.cutDurable.get(batch.id);
    if (!p) return Promise.resolve();
    this.cutDurable.delete(batch.id);
    return p;
  }

  started(batch: Batch): void {
    const held = this.held.get(batch.id);
    if (!held) return;
    this.held.delete(batch.id);
    this.records -= held[0];
    this.bytes -= held[1];
    this.admitWaiters();
  }

  settled(batch: Batch): void {
    const range = this.unsettled.get(batch.id);
    if (!range) return;
    this.unsettled.delete(batch.id);
    // Not awaited: a done frame lost in a crash only means the batch is sent again, which the
    // sink recognises by its id.
    this.log.append(encodeRange(FrameType.Done, range[0], range[1]), 0, true).catch(() => undefined);
    let watermark = this.cutStart;
    for (const [from] of this.unsettled.values()) if (from < watermark) watermark = from;
    this.log.release(watermark);
    this.admitWaiters();
  }

  // ---- WAL-specific ---------------------------------------------------------------------

  /** Batches read back at start-up that were cut but not settled; hand them to the writer pool once. */
  recovered(): Batch[] {
    const out = this.replayed;
    this.replayed = [];
    return out;
  }

  walStats(): WalStats {
    return {
      diskBytes: this.log.bytes,
      maxDiskBytes: this.opts.wal.maxBytes,
      segments: this.log.segments,
      unsettledBatches: this.unsettled.size,
      outOfSpace: this.log.outOfSpace,
    };
  }

  /**
   * Writes what is queued (done frames), for at most `waitMs`, and closes the segment. Call after
   * the writers are idle.
   */
  async shutdown(waitMs = Infinity): Promise<void> {
    this.close();
    await this.log.close(waitMs);
    await this.lock.release();
  }

  // ---- internals ------------------------------------------------------------------------

  /** Room in memory and on disk for the request; serialises its frame once memory has room. */
  private fits(w: Waiter): boolean {
    if (this.log.outOfSpace) return false;
    const n = waitingCount(w);
    if (this.records > 0 && (this.records + n > this.opts.maxRecords || this.bytes + w.bytes > this.opts.maxBytes))
      return false;
    if (!w.frame) {
      // A large request let in from the wait line is encoded in steps while it stays at the
      // head of the line: at once, 150k records held the loop over 100 ms.
      if (n > ENCODE_STEP_RECORDS) {
        w.encoding ??= pendingRecordsInSteps(w.records).then(
          (frame) => {
            w.frame = frame;
            this.admitWaiters();
          },
          () => undefined, // never rejects (a record COPY cannot carry falls back to JSON rows)
        );
        return false;
      }
      w.frame = pendingRecords(w.records, this.slab);
    }
    // An idle WAL takes any one request, so a request larger than the cap is not refused forever.
    const idle = this.records === 0 && this.unsettled.size === 0 && this.log.bytes <= 2 * this.opts.wal.segmentBytes;
    return this.log.bytes + recordFrameBytes(w.frame) <= this.opts.wal.maxBytes || idle;
  }

  /** Admits a request `fits` accepted (so its frame is serialised). */
  private admit(w: Waiter): Promise<void> {
    const { records, encoded, bytes, frame, opts } = w as Waiter & { frame: PendingRecords };
    const n = waitingCount(w);
    const firstSeq = this.nextSeq;
    this.nextSeq += n;
    frame.firstSeq = firstSeq;
    this.records += n;
    this.bytes += bytes;
    return this.log.append(frame, firstSeq + n, false).then(
      () => {
        // Takeable only once durable: a batch (and its cut) never refers to records a crash could lose.
        // Held as their tuples only from here, for a sink that sends them (see held-records.ts).
        if (encoded) this.queue.pushTuples(encoded.run, encoded.offsets, firstSeq, opts.ticket, opts.spanContext);
        else {
          const held = this.opts.holdTuples === false ? undefined : frame;
          this.queue.pushAdmitted(records, held, firstSeq, opts.ticket, opts.spanContext);
        }
        this.takeable += n;
        this.listener?.();
      },
      (err: unknown) => {
        this.records -= n;
        this.bytes -= bytes;
        this.admitWaiters();
        throw this.writeFailed(err as Error);
      },
    );
  }

  /** Why no push can be taken now, if so. */
  private refusal(): SluiceError | undefined {
    if (this.closed) return this.shuttingDown();
    if (this.log.failure) return this.writeFailed(this.log.failure);
    if (this.log.outOfSpace) return this.noSpace();
    return undefined;
  }

  private admitWaiters(): void {
    this.waiters.release(
      (w) => this.fits(w),
      (w) => this.admit(w),
    );
  }

  /** Rebuilds in-flight batches exactly as they were cut (see recovery.ts), and queues the records never cut. */
  private recover(replayed: Replayed): void {
    const { logger, metrics } = this.opts;
    const plan = planRecovery(replayed, this.nextSeq);
    for (const run of plan.uncut) {
      this.queue.push(run.records, run.firstSeq, undefined, undefined);
      this.takeable += run.records.length;
      this.records += run.records.length;
      for (const record of run.records) this.bytes += record.size;
    }
    for (const [from, to] of plan.emptyCuts) {
      logger.error({ from, to }, 'wal: a cut batch has no records left (segment damaged); nothing to resend');
    }
    const now = Date.now();
    for (const { from, to, records, cutLost } of plan.resend) {
      if (cutLost) {
        logger.error(
          { from, to, records: records.length },
          'wal: records without their cut frame (segment damaged); resending them as one batch',
        );
      }
      const id = this.idPrefix + `${from}-${to}`;
      this.unsettled.set(id, [from, to]);
      this.replayed.push({
        id,
        count: records.length,
        records,
        bytes: records.reduce((n, r) => n + r.size, 0),
        createdAt: now,
        trigger: 'replay',
        tickets: [],
        links: [],
      });
    }
    this.takenEnd = this.cutStart = plan.cutStart;
    const replayedRecords = this.replayed.reduce((n, b) => n + b.count, 0) + this.takeable;
    if (replayedRecords > 0 || replayed.repaired > 0) {
      logger.info(
        {
          batches: this.replayed.length,
          records: replayedRecords,
          uncut: this.takeable,
          repaired: replayed.repaired,
          segments: replayed.segments.length,
        },
        'wal: replayed',
      );
    }
    metrics?.walReplayedRecords.inc(replayedRecords);
    this.log.release(plan.doneBelow);
  }

  private full(): SluiceError {
    return new SluiceError('SLUICE_ERR_BUFFER_FULL', {}, { retryAfter: this.opts.retryAfterSeconds });
  }

  private shuttingDown(): SluiceError {
    return new SluiceError('SLUICE_ERR_SHUTTING_DOWN', {}, { retryAfter: this.opts.retryAfterSeconds });
  }

  private noSpace(cause?: Error): SluiceError {
    return new SluiceError(
      'SLUICE_ERR_BUFFER_FULL',
      { cause: 'no disk space for the write-ahead log' },
      { retryAfter: this.opts.retryAfterSeconds, cause },
    );
  }

  private writeFailed(err: Error): SluiceError {
    if (DISK_FULL.has((err as NodeJS.ErrnoException).code ?? '')) return this.noSpace(err);
    return new SluiceError(
      'SLUICE_ERR_INTERNAL',
      `the write-ahead log could not store the records: ${errorMessage(err)}`,
      { cause: err },
    );
  }
}
