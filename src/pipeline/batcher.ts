// The batcher cuts batches from the buffer: at maxRecords, at maxBytes, or maxWait after
// the first record of a batch. It only pulls while the writer pool has room, so a slow
// sink leaves records in the (bounded) buffer, where ingest sees them and pushes back.
import { uuidv7 } from '../uuidv7.js';
import type { Batch, FlushTrigger, Ticket } from '../batch.js';
import type { RecordBuffer, Taken } from './buffer.js';
import { heldBatch, type Held } from './held-records.js';
import type { SpanContext } from '@opentelemetry/api';

export interface BatcherOptions {
  maxRecords: number;
  maxBytes: number;
  maxWaitMs: number;
  /** Batch id source when the buffer has no `cut()` (a durable buffer derives ids from positions). */
  newId?: () => string;
  now?: () => number;
}

export class Batcher {
  /** The current batch's records, in runs as the buffer held them. */
  private parts: Held[] = [];
  private count = 0;
  private bytes = 0;
  private tickets: Array<[Ticket, number]> = [];
  private links: SpanContext[] = [];
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly newId: () => string;
  private readonly now: () => number;

  constructor(
    private readonly source: RecordBuffer,
    private readonly opts: BatcherOptions,
    private readonly emit: (batch: Batch) => void,
    /** Whether downstream can take another batch now. */
    private readonly hasRoom: () => boolean,
  ) {
    this.newId = opts.newId ?? (() => uuidv7());
    this.now = opts.now ?? Date.now;
    source.onReadable(() => this.pump());
  }

  /** Moves records from the buffer into batches while downstream has room. */
  pump(): void {
    if (!this.stopped) this.fill(this.hasRoom);
  }

  /** Emits the current batch, if any. */
  flush(trigger: FlushTrigger): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.count === 0) return;
    const batch = heldBatch(
      {
        id: this.source.cut ? this.source.cut() : this.newId(),
        count: this.count,
        bytes: this.bytes,
        createdAt: this.now(),
        trigger,
        tickets: this.tickets,
        links: this.links,
      },
      this.parts,
    );
    this.parts = [];
    this.count = 0;
    this.bytes = 0;
    this.tickets = [];
    this.links = [];
    this.emit(batch);
  }

  /** Pending records in the current (unflushed) batch. */
  get pending(): number {
    return this.count;
  }

  /**
   * Shutdown: cuts everything the buffer still holds into batches, regardless of
   * downstream room (the records are in memory either way), ending with a `shutdown` flush.
   */
  drain(): void {
    this.stopped = true;
    this.fill(() => true);
    this.flush('shutdown');
  }

  private fill(hasRoom: () => boolean): void {
    while (hasRoom()) {
      const t = this.source.take(this.opts.maxRecords - this.count, this.opts.maxBytes - this.bytes);
      if (t.count === 0) {
        // Nothing taken while records remain: the next one does not fit the current batch's bytes.
        if (!t.more || this.count === 0) return;
        this.flush('bytes');
        continue;
      }
      this.append(t);
      if (this.count >= this.opts.maxRecords) this.flush('size');
      else if (this.bytes >= this.opts.maxBytes || t.more) this.flush('bytes');
      else return; // the buffer is empty and the batch partial: its timer flushes it
    }
  }

  private append(t: Taken): void {
    if (this.count === 0) {
      this.parts = t.parts;
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.flush('time');
        this.pump();
      }, this.opts.maxWaitMs);
    } else {
      for (const part of t.parts) {
        // Objects join the last part when it is objects too (every take's arrays are its own).
        const last = this.parts[this.parts.length - 1];
        if (Array.isArray(part) && Array.isArray(last)) for (const r of part) last.push(r);
        else this.parts.push(part);
      }
    }
    this.count += t.count;
    this.bytes += t.bytes;
    for (const ticket of t.tickets) this.tickets.push(ticket);
    for (const l of t.links) this.links.push(l);
  }
}
