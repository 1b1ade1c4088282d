// What /readyz answers, from state already known: shutting down, buffer above its high-water
// mark, WAL disk full, breaker not closed, database not connected, and the sink's own health
// as last seen by a background poll. A request never waits on a query (a stalled database
// would hold /readyz for the query's whole timeout).
import type { RecordBuffer } from '../pipeline/buffer.js';
import type { WalStats } from '../pipeline/wal/wal-buffer.js';
import type { WriterPool } from '../pipeline/writer-pool.js';
import type { Sink, SinkHealth } from '../sinks/sink.js';

export interface ReadinessOptions {
  highWaterMark: number;
  buffer: RecordBuffer;
  pool: WriterPool;
  sink: Sink;
  accepting: () => boolean;
  /** The disk write-ahead buffer's state (ack mode durable only). */
  wal?: (() => WalStats) | undefined;
  /** Why ingest or the pipeline cannot work yet (the database not connected), or undefined. */
  unavailable?: (() => string | undefined) | undefined;
  /** How often the sink's health is asked (ms). */
  pollMs?: number;
}

const POLL_MS = 1000;

export class Readiness {
  private sinkHealth: SinkHealth = { ok: true };
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(private readonly opts: ReadinessOptions) {}

  /** Starts the background poll of the sink's health (one at a time, each bounded by the sink). */
  start(): void {
    if (!this.opts.sink.health) return;
    const poll = async (): Promise<void> => {
      try {
        this.sinkHealth = await this.opts.sink.health!();
      } catch (err) {
        this.sinkHealth = { ok: false, reason: (err as Error).message };
      }
      if (this.stopped) return;
      this.timer = setTimeout(() => void poll(), this.opts.pollMs ?? POLL_MS);
      this.timer.unref();
    };
    void poll();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  /** Why the collector is not ready, or an empty list when it is. */
  reasons(): string[] {
    const { buffer, pool, sink, highWaterMark } = this.opts;
    const reasons: string[] = [];
    if (!this.opts.accepting()) reasons.push('shutting down');
    const unavailable = this.opts.unavailable?.();
    if (unavailable) reasons.push(unavailable);
    const b = buffer.stats();
    const fill = Math.max(b.records / b.maxRecords, b.bytes / b.maxBytes);
    if (fill >= highWaterMark)
      reasons.push(`buffer ${(fill * 100).toFixed(0)}% full (high-water mark ${highWaterMark * 100}%)`);
    if (this.opts.wal?.().outOfSpace) reasons.push('wal disk full: ingest is refused (429) until space frees');
    const w = pool.stats();
    if (w.breaker !== 'closed') reasons.push(`sink ${sink.name} circuit ${w.breaker}: ${w.lastError ?? 'failing'}`);
    if (!unavailable && !this.sinkHealth.ok)
      reasons.push(`sink ${sink.name} unreachable: ${this.sinkHealth.reason ?? 'unknown'}`);
    return reasons;
  }
}
