// The in-memory buffer: a FIFO of request-sized chunks bounded by record count and bytes.
// Producers that do not fit wait in a bounded line (wait-line.ts) up to their timeout, then get 429.
import { SluiceError } from '../errors.js';
import type { SluiceRecord } from '../record.js';
import type { BufferStats, DeferredRecords, PushOptions, RecordBuffer, Taken } from './buffer.js';
import type { SpanContext } from '@opentelemetry/api';
import type { Ticket } from '../batch.js';
import { ChunkQueue, takenOf } from './chunk-queue.js';
import { WaitLine, pushParsedNow, type Waiting } from './wait-line.js';

export interface MemoryBufferOptions {
  maxRecords: number;
  maxBytes: number;
  retryAfterSeconds: number;
  /** Bytes the producers waiting for room may hold (buffer.maxWaitingBytes); default unbounded. */
  maxWaitingBytes?: number;
}

export class MemoryBuffer implements RecordBuffer {
  private readonly queue = new ChunkQueue();
  private records = 0;
  private bytes = 0;
  private readonly waiters: WaitLine<Waiting>;
  private listener: (() => void) | undefined;
  private closed = false;

  constructor(private readonly opts: MemoryBufferOptions) {
    this.waiters = new WaitLine(opts.maxWaitingBytes ?? Infinity, () => this.admitWaiters());
  }

  push(records: SluiceRecord[], bytes: number, opts: PushOptions): Promise<void> {
    if (this.closed) return Promise.reject(this.shuttingDown());
    if (records.length === 0) return Promise.resolve();
    if (this.waiters.length === 0 && this.fits(records.length, bytes)) {
      this.admit(records, bytes, opts.ticket, opts.spanContext);
      return Promise.resolve();
    }
    return this.waiters.wait({ records, bytes, deferred: undefined, opts }, () => this.full());
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

  private admit(
    records: SluiceRecord[],
    bytes: number,
    ticket: Ticket | undefined,
    spanContext: SpanContext | undefined,
  ): void {
    this.queue.push(records, 0, ticket, spanContext);
    this.records += records.length;
    this.bytes += bytes;
    this.listener?.();
  }

  private admitWaiters(): void {
    this.waiters.release(
      (w) => this.fits(w.records.length, w.bytes),
      (w) => this.admit(w.records, w.bytes, w.opts.ticket, w.opts.spanContext),
    );
  }

  private full(): SluiceError {
    return new SluiceError('SLUICE_ERR_BUFFER_FULL', {}, { retryAfter: this.opts.retryAfterSeconds });
  }

  private shuttingDown(): SluiceError {
    return new SluiceError('SLUICE_ERR_SHUTTING_DOWN', {}, { retryAfter: this.opts.retryAfterSeconds });
  }
}
