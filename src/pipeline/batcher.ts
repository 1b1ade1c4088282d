// The batcher cuts batches from the buffer: at maxRecords, at maxBytes, or maxWait after
// the first record of a batch. It only pulls while the writer pool has room, so a slow
// sink leaves records in the (bounded) buffer, where ingest sees them and pushes back.
import { type SluiceRecord } from '../record.js';
import { uuidv7 } from '../uuidv7.js';
import type { Batch, FlushTrigger, Ticket } from '../batch.js';
import type { RecordBuffer } from './buffer.js';
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
  private records: SluiceRecord[] = [];
  /** The current batch's COPY tuples (see Batch.rows). */
  private rows: Buffer[] | undefined;
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
    if (this.records.length === 0) return;
    const batch: Batch = {
      id: this.source.cut ? this.source.cut() : this.newId(),
      records: this.records,
      rows: this.rows,
      bytes: this.bytes,
      createdAt: this.now(),
      trigger,
      tickets: this.tickets,
      links: this.links,
    };
    this.records = [];
    this.rows = undefined;
    this.bytes = 0;
    this.tickets = [];
    this.links = [];
    this.emit(batch);
  }

  /** Pending records in the current (unflushed) batch. */
  get pending(): number {
    return this.records.length;
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
      const t = this.source.take(this.opts.maxRecords - this.records.length, this.opts.maxBytes - this.bytes);
      if (t.records.length === 0) {
        // Nothing taken while records remain: the next one does not fit the current batch's bytes.
        if (!t.more || this.records.length === 0) return;
        this.flush('bytes');
        continue;
      }
      this.append(t.records, t.bytes, t.tickets, t.links, t.rows);
      if (this.records.length >= this.opts.maxRecords) this.flush('size');
      else if (this.bytes >= this.opts.maxBytes || t.more) this.flush('bytes');
      else return; // the buffer is empty and the batch partial: its timer flushes it
    }
  }

  private append(
    records: SluiceRecord[],
    bytes: number,
    tickets: Array<[Ticket, number]>,
    links: SpanContext[],
    rows: Buffer[] | undefined,
  ): void {
    if (this.records.length === 0) {
      this.records = records;
      this.rows = rows;
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.flush('time');
        this.pump();
      }, this.opts.maxWaitMs);
    } else {
      for (const r of records) this.records.push(r);
      // Tuples for all of the batch's records, or none: the sink then encodes them itself.
      if (this.rows && rows) for (const b of rows) this.rows.push(b);
      else this.rows = undefined;
    }
    this.bytes += bytes;
    for (const t of tickets) this.tickets.push(t);
    for (const l of links) this.links.push(l);
  }
}
