// The in-memory buffer: a FIFO of request-sized chunks bounded by record count and bytes.
// Producers that do not fit wait in a bounded line (wait-line.ts) up to their timeout, then get 429.
// When the sink sends COPY tuples as they are (`holdTuples`), a request is encoded to them on
// admission and held as those bytes, as the WAL does (held-records.ts): the encoding the sink
// would do per batch, done per request, and no record objects held until the commit.
import { SluiceError } from '../errors.js';
import type { SluiceRecord } from '../record.js';
import type { BufferStats, DeferredRecords, EncodedRecords, PushOptions, RecordBuffer, Taken } from './buffer.js';
import { ChunkQueue, takenOf } from './chunk-queue.js';
import { ENCODE_STEP_RECORDS, pendingRecords, pendingRecordsInSteps, type PendingRecords } from './wal/frame.js';
import { TupleSlab } from './wal/tuple-slab.js';
import { WaitLine, pushParsedNow, waitingCount, type Waiting } from './wait-line.js';

export interface MemoryBufferOptions {
  maxRecords: number;
  maxBytes: number;
  retryAfterSeconds: number;
  /** Bytes the producers waiting for room may hold (buffer.maxWaitingBytes); default unbounded. */
  maxWaitingBytes?: number;
  /** Hold admitted records as COPY tuples (the sink sends `Batch.rows`); default objects. */
  holdTuples?: boolean;
}

interface Waiter extends Waiting {
  /** Its tuples, when encoded before it was admitted (a large request, in steps). */
  frame?: PendingRecords;
}

export class MemoryBuffer implements RecordBuffer {
  private readonly queue = new ChunkQueue();
  private records = 0;
  private bytes = 0;
  private readonly waiters: WaitLine<Waiter>;
  private readonly slab: TupleSlab | undefined;
  private listener: (() => void) | undefined;
  private closed = false;

  constructor(private readonly opts: MemoryBufferOptions) {
    this.waiters = new WaitLine(opts.maxWaitingBytes ?? Infinity, () => this.admitWaiters());
    this.slab = opts.holdTuples ? new TupleSlab() : undefined;
  }

  push(records: SluiceRecord[], bytes: number, opts: PushOptions): Promise<void> {
    if (this.closed) return Promise.reject(this.shuttingDown());
    if (records.length === 0) return Promise.resolve();
    // A large request that can be let in now is encoded first, in steps, so encoding never
    // holds the loop long (one that must wait or be refused is not encoded for nothing).
    if (
      this.slab &&
      records.length > ENCODE_STEP_RECORDS &&
      this.waiters.length === 0 &&
      this.fits(records.length, bytes)
    )
      return pendingRecordsInSteps(records).then((frame) =>
        this.enter({ records, bytes, deferred: undefined, opts, frame }),
      );
    return this.enter({ records, bytes, deferred: undefined, opts });
  }

  pushEncoded(req: EncodedRecords, opts: PushOptions): Promise<void> {
    if (!this.slab) return Promise.reject(new Error('memory buffer: encoded requests need holdTuples'));
    return this.enter({ records: [], encoded: req, bytes: req.bytes, deferred: undefined, opts });
  }

  /** A parsed request: admitted now if nobody waits and it fits, else in the wait line. */
  private enter(waiter: Waiter): Promise<void> {
    if (this.closed) return Promise.reject(this.shuttingDown());
    if (this.waiters.length === 0 && this.fits(waitingCount(waiter), waiter.bytes)) {
      this.admit(waiter);
      return Promise.resolve();
    }
    return this.waiters.wait(waiter, () => this.full());
  }

  pushDeferred(req: DeferredRecords, opts: PushOptions): Promise<void> {
    if (this.closed) return Promise.reject(this.shuttingDown());
    if (this.waiters.length === 0) return pushParsedNow(this, req, opts);
    return this.waiters.wait({ records: [], bytes: 0, deferred: req, opts }, () => this.full());
  }

  take(maxRecords: number, maxBytes: number): Taken {
    const slice = this.queue.take(maxRecords, maxBytes);
    this.records -= slice.count;
    this.bytes -= slice.bytes;
    if (slice.count > 0) this.admitWaiters();
    return takenOf(slice, this.records > 0);
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

  private fits(n: number, bytes: number): boolean {
    // An empty buffer takes any one request, so a request larger than the caps still gets in.
    if (this.records === 0) return true;
    return this.records + n <= this.opts.maxRecords && this.bytes + bytes <= this.opts.maxBytes;
  }

  private admit({ records, encoded, bytes, opts, frame }: Waiter): void {
    const { ticket, spanContext } = opts;
    if (encoded) {
      this.queue.pushTuples(encoded.run, encoded.offsets, 0, ticket, spanContext);
      this.records += encoded.run.sizes.length;
      this.bytes += bytes;
      this.listener?.();
      return;
    }
    // A large request let in from the wait line comes unencoded: encoding it here, at once,
    // would hold the loop (150k records: 122 ms), so it is held as objects and the sink encodes it.
    if (this.slab && records.length <= ENCODE_STEP_RECORDS) frame ??= pendingRecords(records, this.slab);
    this.queue.pushAdmitted(records, frame, 0, ticket, spanContext);
    this.records += records.length;
    this.bytes += bytes;
    this.listener?.();
  }

  private admitWaiters(): void {
    this.waiters.release(
      (w) => this.fits(waitingCount(w), w.bytes),
      (w) => this.admit(w),
    );
  }

  private full(): SluiceError {
    return new SluiceError('SLUICE_ERR_BUFFER_FULL', {}, { retryAfter: this.opts.retryAfterSeconds });
  }

  private shuttingDown(): SluiceError {
    return new SluiceError('SLUICE_ERR_SHUTTING_DOWN', {}, { retryAfter: this.opts.retryAfterSeconds });
  }
}
