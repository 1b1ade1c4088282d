// The FIFO both buffers hold records in: request-sized chunks, taken from the front in
// batch-sized slices that may end inside a chunk. The WAL numbers records (seq), so a slice
// also says where it ended; the memory buffer leaves the numbers at 0. The WAL also gives each
// chunk its records' COPY tuples, so a slice carries them on as views (`rows`).
import type { SpanContext } from '@opentelemetry/api';
import type { Ticket } from '../batch.js';
import type { SluiceRecord } from '../record.js';

/** A chunk's records as COPY tuples: `bytes[offsets[i], offsets[i + 1])` is record i's. */
export interface ChunkTuples {
  bytes: Buffer;
  offsets: readonly number[];
}

interface Chunk {
  records: SluiceRecord[];
  tuples: ChunkTuples | undefined;
  /** Sequence number of records[0] (the WAL's numbering; 0 in memory). */
  firstSeq: number;
  ticket: Ticket | undefined;
  spanContext: SpanContext | undefined;
  /** Records before this index have been taken. */
  offset: number;
}

export interface Slice {
  records: SluiceRecord[];
  bytes: number;
  tickets: Array<[Ticket, number]>;
  links: SpanContext[];
  /** Sequence number just past the last record taken; undefined when none was. */
  endSeq: number | undefined;
  /** The taken records' COPY tuples, in order; undefined unless every chunk taken from had them. */
  rows: Buffer[] | undefined;
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
    tuples?: ChunkTuples,
  ): void {
    this.chunks.push({ records, tuples, firstSeq, ticket, spanContext, offset: 0 });
  }

  /** Takes up to maxRecords and maxBytes from the front (an oversized record still goes, alone). */
  take(maxRecords: number, maxBytes: number): Slice {
    const out: SluiceRecord[] = [];
    const tickets: Array<[Ticket, number]> = [];
    const links: SpanContext[] = [];
    let rows: Buffer[] | undefined = [];
    let bytes = 0;
    let endSeq: number | undefined;
    while (this.head < this.chunks.length && out.length < maxRecords) {
      const chunk = this.chunks[this.head]!;
      const start = chunk.offset;
      let i = start;
      while (i < chunk.records.length && out.length < maxRecords) {
        const size = chunk.records[i]!.size;
        // An oversized record still goes out, alone, so it can never block the queue.
        if (bytes + size > maxBytes && out.length > 0) break;
        out.push(chunk.records[i]!);
        bytes += size;
        i++;
      }
      if (i > start) {
        const t = chunk.tuples;
        if (!t) rows = undefined;
        else rows?.push(t.bytes.subarray(t.offsets[start], t.offsets[i]));
        endSeq = chunk.firstSeq + i;
        if (chunk.ticket) tickets.push([chunk.ticket, i - start]);
        if (chunk.spanContext && start === 0) links.push(chunk.spanContext);
      }
      chunk.offset = i;
      if (i < chunk.records.length) break; // a limit stopped us inside this chunk
      this.chunks[this.head] = undefined as unknown as Chunk; // let the chunk be collected
      this.head++;
    }
    if (this.head > 1024 && this.head * 2 > this.chunks.length) {
      this.chunks = this.chunks.slice(this.head);
      this.head = 0;
    }
    return { records: out, bytes, tickets, links, endSeq, rows: out.length > 0 ? rows : undefined };
  }
}
