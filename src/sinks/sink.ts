// The sink contract (see docs/architecture.md): a sink writes one batch all-or-nothing,
// throws to have it retried, and never swallows an error.
import type { SpanContext } from '@opentelemetry/api';
import type { SluiceRecord } from '../record.js';
import type { Ticket } from '../pipeline/ticket.js';

/** Why a batch was cut; `replay`: read back from the WAL at start-up, as first cut. */
export type FlushTrigger = 'size' | 'bytes' | 'time' | 'shutdown' | 'replay';

export interface Batch {
  /** Unique per batch and stable across retries; sinks use it for idempotency. */
  readonly id: string;
  readonly records: readonly SluiceRecord[];
  readonly bytes: number;
  /** Epoch ms when the batch was cut. */
  readonly createdAt: number;
  readonly trigger: FlushTrigger;
  /** Requests waiting on this batch (ack mode `sink`), with how many of their records it holds. */
  readonly tickets: ReadonlyArray<readonly [Ticket, number]>;
  /** Spans of the requests that brought these records (for span links). */
  readonly links: readonly SpanContext[];
}

export interface SinkHealth {
  ok: boolean;
  reason?: string;
}

export interface Sink {
  readonly name: string;
  /** Connect, migrate. Called once before the first write. */
  start?(): Promise<void>;
  /** Write the whole batch or throw. The signal aborts on the shutdown deadline. */
  writeBatch(batch: Batch, signal: AbortSignal): Promise<void>;
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
