// The buffer contract between ingest and the batcher. The in-memory buffer and the disk
// write-ahead buffer (wal/) implement it; ingest and the batcher do not know which they have.
import type { SluiceRecord } from '../record.js';
import type { Batch, Ticket } from '../batch.js';
import type { SpanContext } from '@opentelemetry/api';
import type { Held, TupleRun } from './held-records.js';

export interface PushOptions {
  /** How long to wait for room before failing with SLUICE_ERR_BUFFER_FULL. */
  timeoutMs: number;
  /** Answered when the records are committed (or dead-lettered) downstream. */
  ticket?: Ticket;
  /** The request's span, so the batch span can link back to it. */
  spanContext?: SpanContext;
}

/**
 * An ingest request not parsed yet. A request that has to wait for room waits as its raw body
 * (`rawBytes`) and is parsed when its turn comes; one that fits at once is parsed at once.
 */
export interface DeferredRecords {
  /** Parses the request: its records and their accounted bytes; throws (a 400) on bad input. Called once. */
  parse(): { records: SluiceRecord[]; bytes: number };
  /** What the request holds while it waits. */
  rawBytes: number;
  /** Set by the buffer once parsed. */
  records?: SluiceRecord[];
}

/**
 * A request parsed and COPY-encoded before it reached the buffer (by a parse thread): its
 * tuples only, as a buffer that holds tuples keeps any request (see held-records.ts).
 */
export interface EncodedRecords {
  run: TupleRun;
  /** Where each record's tuple starts in `run.tuples`, and (last) where the last one ends. */
  offsets: number[];
  /** The records' accounted bytes. */
  bytes: number;
}

export interface Taken {
  /** The records taken, in arrival order, in runs as the buffer held them (what the batcher reads). */
  parts: Held[];
  count: number;
  /** The records themselves, decoded from `parts` when read. */
  readonly records: SluiceRecord[];
  bytes: number;
  tickets: Array<[Ticket, number]>;
  /** Spans of the requests whose records were taken (each once). */
  links: SpanContext[];
  /** True when the buffer still holds records after this take (a limit stopped it). */
  more: boolean;
}

export interface BufferStats {
  records: number;
  bytes: number;
  maxRecords: number;
  maxBytes: number;
  /** Producers currently waiting for room. */
  waiting: number;
}

export interface RecordBuffer {
  /**
   * Admits the records, waiting up to `timeoutMs` for room. Resolves once they are held
   * as the buffer promises (in memory, or on disk for a durable buffer); rejects with a
   * SluiceError (BUFFER_FULL or SHUTTING_DOWN) otherwise, in which case nothing was admitted.
   */
  push(records: SluiceRecord[], bytes: number, opts: PushOptions): Promise<void>;
  /**
   * `push` for a request still to be parsed: rejects with its parse error, or as `push` does;
   * `req.records` holds the records once it resolves. `opts` is read when the records are
   * admitted, so a ticket may be set by `parse`.
   */
  pushDeferred(req: DeferredRecords, opts: PushOptions): Promise<void>;
  /**
   * `push` for a request encoded elsewhere (`EncodedRecords`). Only for a buffer that holds
   * tuples (`holdTuples`: the sink sends them as they are), which is the only kind that could
   * ever hand them on without their records.
   */
  pushEncoded(req: EncodedRecords, opts: PushOptions): Promise<void>;
  /** Takes records in arrival order, up to both limits; takes one oversized record alone rather than none. */
  take(maxRecords: number, maxBytes: number): Taken;
  /** Called (synchronously, once per push) when records arrive. One listener. */
  onReadable(listener: () => void): void;
  stats(): BufferStats;
  /** Refuses new pushes and fails waiting producers; records already held stay takeable. */
  close(): void;
  /**
   * Durable buffers: ends the current batch (everything taken since the previous cut) and
   * returns its id, derived from the records' positions so a replay rebuilds the same id.
   * Without it the batcher makes its own ids.
   */
  cut?(): string;
}

/** What the writer pool tells a durable buffer about the batches it cut. */
export interface BatchLedger {
  /** Resolves (never rejects) once the batch's boundaries are durable; no sink may see the batch before. */
  sealed(batch: Batch): Promise<void>;
  /** A writer took the batch: from here the pool bounds it, so the buffer stops counting its records. */
  started(batch: Batch): void;
  /** The batch is settled: it left the collector (committed, or dead-lettered), and its space may be freed. */
  settled(batch: Batch): void;
}
