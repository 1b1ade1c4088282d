// The sink contract (see docs/architecture.md): a sink writes one batch all-or-nothing,
// throws to have it retried, and never swallows an error.
import type { Batch } from '../batch.js';

/** What a sink sees of a batch: its id (for idempotency), its records (or their tuples) and their size. */
export type SinkBatch = Pick<Batch, 'id' | 'count' | 'records' | 'bytes' | 'rows'>;

export interface SinkHealth {
  ok: boolean;
  reason?: string;
}

export interface Sink {
  readonly name: string;
  /**
   * The sink sends a batch's `rows` as they are (PostgreSQL, binary COPY): the buffers then hold
   * admitted records as their tuples instead of the objects (see pipeline/held-records.ts).
   */
  readonly sendsRows?: boolean;
  /** Connect, migrate. Called once before the first write. */
  start?(): Promise<void>;
  /** Write the whole batch or throw. The signal aborts on the shutdown deadline. */
  writeBatch(batch: SinkBatch, signal: AbortSignal): Promise<void>;
  /**
   * Optional: whether a batch with this id was committed. Asked when the shutdown deadline cut
   * a write short (possibly after COMMIT was sent), so that a committed batch is not also
   * dead-lettered (re-ingesting the dead letters would then duplicate it).
   */
  wasCommitted?(batchId: string): Promise<boolean>;
  /** Optional readiness probe used by /readyz. */
  health?(): Promise<SinkHealth>;
  /** Flush and release. */
  close(): Promise<void>;
}
