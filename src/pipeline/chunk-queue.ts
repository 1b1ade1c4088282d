// The FIFO both buffers hold records in: request-sized chunks, taken from the front in
// batch-sized slices that may end inside a chunk. The WAL numbers records (seq), so a slice
// also says where it ended; the memory buffer leaves the numbers at 0. A chunk holds its
// records as objects (the memory buffer, a replay) or as COPY tuples only (the WAL after
// admission, see held-records.ts); a slice hands them on as they are held.
import type { SpanContext } from '@opentelemetry/api';
import type { Ticket } from '../batch.js';
import type { SluiceRecord } from '../record.js';
import type { Taken } from './buffer.js';
import { heldRecords, sliceRun, tupleRun, type Held, type TupleRun } from './held-records.js';
import type { PendingRecords } from './wal/frame.js';

interface Chunk {
  /** The records as objects, or (undefined) as `tuples`. */
  records: SluiceRecord[] | undefined;
  tuples: TupleRun | undefined;
  /** Where record i's tuple starts in `tuples` (and, last, where the last one ends). */
  offsets: readonly number[] | undefined;
  count: number;
  /** Sequence number of the first record (the WAL's numbering; 0 in memory). */
  firstSeq: number;
  ticket: Ticket | undefined;
  spanContext: SpanContext | undefined;
  /** Records before this index have been taken. */
  offset: number;
}

export interface Slice {
  /** The taken records, in order, in runs as they were held. */
  parts: Held[];
  count: number;
  bytes: number;
  tickets: Array<[Ticket, number]>;
  links: SpanContext[];
  /** Sequence number just past the last record taken; undefined when none was. */
  endSeq: number | undefined;
}

export class ChunkQueue {
  private chunks: Chunk[] = [];
  private head = 0;

  /** Queues one request's records (one object per request: this is the hot path). */
  push(
    records: SluiceRecord[],
    firstSeq: number,
    ticket: Ticket | undefined,
    spanContext: SpanContext | undefined,
  ): void {
    this.chunks.push({
      records,
      tuples: undefined,
      offsets: undefined,
      count: records.length,
      firstSeq,
      ticket,
      spanContext,
      offset: 0,
    });
  }

  /**
   * Queues an admitted request: as its tuples only when `frame` has them and they make one run
   * (see held-records.ts), else as the objects.
   */
  pushAdmitted(
    records: SluiceRecord[],
    frame: PendingRecords | undefined,
    firstSeq: number,
    ticket: Ticket | undefined,
    spanContext: SpanContext | undefined,
  ): void {
    const run = frame?.tuples && tupleRun(records, frame.tuples, frame.sizes!);
    if (run) this.pushTuples(run, frame!.offsets!, firstSeq, ticket, spanContext);
    else this.push(records, firstSeq, ticket, spanContext);
  }

  /** Queues one request's records held as tuples only. */
  pushTuples(
    tuples: TupleRun,
    offsets: readonly number[],
    firstSeq: number,
    ticket: Ticket | undefined,
    spanContext: SpanContext | undefined,
  ): void {
    const count = tuples.sizes.length;
    this.chunks.push({ records: undefined, tuples, offsets, count, firstSeq, ticket, spanContext, offset: 0 });
  }

  /** Takes up to maxRecords and maxBytes from the front (an oversized record still goes, alone). */
  take(maxRecords: number, maxBytes: number): Slice {
    const parts: Held[] = [];
    /** The last part when it is objects this take made (records of consecutive chunks join it). */
    let objects: SluiceRecord[] | undefined;
    const tickets: Array<[Ticket, number]> = [];
    const links: SpanContext[] = [];
    let count = 0;
    let bytes = 0;
    let endSeq: number | undefined;
    while (this.head < this.chunks.length && count < maxRecords) {
      const chunk = this.chunks[this.head]!;
      const { records, tuples } = chunk;
      const start = chunk.offset;
      let i = start;
      while (i < chunk.count && count < maxRecords) {
        const size = tuples ? tuples.sizes[i]! : records![i]!.size;
        // An oversized record still goes out, alone, so it can never block the queue.
        if (bytes + size > maxBytes && count > 0) break;
        bytes += size;
        i++;
        count++;
      }
      if (i > start) {
        if (tuples) {
          parts.push(start === 0 && i === chunk.count ? tuples : sliceRun(tuples, chunk.offsets!, start, i));
          objects = undefined;
        } else {
          if (!objects) parts.push((objects = []));
          for (let k = start; k < i; k++) objects.push(records![k]!);
        }
        endSeq = chunk.firstSeq + i;
        if (chunk.ticket) tickets.push([chunk.ticket, i - start]);
        if (chunk.spanContext && start === 0) links.push(chunk.spanContext);
      }
      chunk.offset = i;
      if (i < chunk.count) break; // a limit stopped us inside this chunk
      this.chunks[this.head] = undefined as unknown as Chunk; // let the chunk be collected
      this.head++;
    }
    if (this.head > 1024 && this.head * 2 > this.chunks.length) {
      this.chunks = this.chunks.slice(this.head);
      this.head = 0;
    }
    return { parts, count, bytes, tickets, links, endSeq };
  }
}

/**
 * What a buffer's take returns for `slice`; `more`: whether records are left. A class, so the
 * `records` getter lives on its prototype: an object literal with a getter costs a property
 * definition per take (1.7% of a single-record request's CPU in a profile).
 */
class TakenSlice implements Taken {
  private decoded: SluiceRecord[] | undefined;
  readonly parts: Held[];
  readonly count: number;
  readonly bytes: number;
  readonly tickets: Array<[Ticket, number]>;
  readonly links: SpanContext[];

  constructor(
    slice: Slice,
    readonly more: boolean,
  ) {
    this.parts = slice.parts;
    this.count = slice.count;
    this.bytes = slice.bytes;
    this.tickets = slice.tickets;
    this.links = slice.links;
  }

  get records(): SluiceRecord[] {
    return (this.decoded ??= heldRecords(this.parts));
  }
}

export function takenOf(slice: Slice, more: boolean): Taken {
  return new TakenSlice(slice, more);
}
