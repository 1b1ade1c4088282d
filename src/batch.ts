// Types every stage shares (a leaf: imports no stage). A batch is what the batcher cuts and
// the writer pool writes; a ticket lets a request wait until each of its records is committed
// by the sink (ack mode `sink`): batches carry (ticket, count) pairs, the writer pool answers them.
import type { SpanContext } from '@opentelemetry/api';
import type { RecordType, SluiceRecord } from './record.js';

/**
 * Why a batch was cut; `replay`: read back from the WAL at start-up, as first cut; `stream`:
 * cut by an ingest node and fetched from JetStream (role writer).
 */
export type FlushTrigger = 'size' | 'bytes' | 'time' | 'shutdown' | 'replay' | 'stream';

/** One record type's COPY tuples in a batch (see Batch.rows): `count` records, back to back in `tuples`. */
export interface TypedRows {
  readonly type: RecordType;
  readonly count: number;
  readonly tuples: readonly Buffer[];
}

export interface Batch {
  /** Unique per batch and stable across retries; sinks use it for idempotency. */
  readonly id: string;
  /** How many records it holds (read this, not `records.length`: see `records`). */
  readonly count: number;
  /**
   * The records. A batch of records a buffer holds as their COPY tuples decodes them on first
   * access, so a sink that sends `rows` never has them built.
   */
  readonly records: readonly SluiceRecord[];
  /**
   * The records as PostgreSQL COPY binary tuples, by record type, when they were encoded once on
   * admission (by the WAL, or the memory buffer): the sink sends these bytes instead of encoding again.
   * Absent unless every record has its tuple here; a batch made from part of another has none.
   */
  readonly rows?: readonly TypedRows[];
  /**
   * When the records were received, as runs: `[receivedAt, count, receivedAt, count, …]` in
   * record order (the records of one request share theirs). Absent: read from the records.
   */
  readonly received?: readonly number[];
  readonly bytes: number;
  /** Epoch ms when the batch was cut. */
  readonly createdAt: number;
  readonly trigger: FlushTrigger;
  /** Requests waiting on this batch (ack mode `sink`), with how many of their records it holds. */
  readonly tickets: ReadonlyArray<readonly [Ticket, number]>;
  /** Spans of the requests that brought these records (for span links). */
  readonly links: readonly SpanContext[];
}

export class Ticket {
  private remaining: number;
  private failed: Error | undefined;
  readonly done: Promise<void>;
  private resolveFn!: () => void;
  private rejectFn!: (err: Error) => void;

  constructor(records: number) {
    this.remaining = records;
    this.done = new Promise<void>((resolve, reject) => {
      this.resolveFn = resolve;
      this.rejectFn = reject;
    });
    // A rejection nobody awaits (ack mode memory) must not crash the process.
    this.done.catch(() => undefined);
    if (records === 0) this.resolveFn();
  }

  /** Answers for `count` of its records (written, or failed with `err`); it fails if any of them failed. */
  answer(count: number, err?: Error): void {
    if (err && !this.failed) this.failed = err;
    this.remaining -= count;
    if (this.remaining <= 0) {
      if (this.failed) this.rejectFn(this.failed);
      else this.resolveFn();
    }
  }
}

export function answerTickets(tickets: ReadonlyArray<readonly [Ticket, number]>, err?: Error): void {
  for (const [ticket, count] of tickets) ticket.answer(count, err);
}

/** Adds `n` records received at `at` to receive-time runs (see Batch.received), joining the last run. */
export function addReceived(runs: number[], at: number, n: number): void {
  if (runs.length > 0 && runs[runs.length - 2] === at) runs[runs.length - 1]! += n;
  else runs.push(at, n);
}

/** The batch's receive times as runs (see Batch.received), from the records when it has none. */
export function receivedRuns(batch: Batch): readonly number[] {
  if (batch.received) return batch.received;
  const runs: number[] = [];
  for (const r of batch.records) addReceived(runs, r.received_at, 1);
  return runs;
}
