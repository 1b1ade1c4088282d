// A check's result as a record: built from a probe's (or push monitor's) outcome, and handed
// to the same buffer as ingested records in small groups rather than one push each.
import type { Logger } from 'pino';
import type { RecordBuffer } from '../pipeline/buffer.js';
import { RECORD_OVERHEAD_BYTES, strBytes, type CheckRecord } from '../record.js';
import { uuidv7 } from '../uuidv7.js';
import type { Check } from './check-schema.js';
import type { ProbeResult } from './probe-result.js';

/** What one run (or one push, or one missed deadline) found. */
export type Outcome = Pick<ProbeResult, 'status' | 'latencyMs' | 'errorClass' | 'message' | 'details'> & {
  statusCode?: number | null;
};

const WARN_EVERY_MS = 10_000;
// At 1,000 runs a second that is ~50 pushes instead of 1,000, and one WAL append each in ack
// mode durable.
const RESULT_GROUP_MS = 20;
const RESULT_GROUP_MAX = 500;

/** The record of one result, received at `receivedAt` (epoch µs). */
export function checkRecordOf(c: Check, o: Outcome, receivedAt: number): CheckRecord {
  const details = o.details === null ? null : JSON.stringify(o.details);
  const rec: CheckRecord = {
    type: 'check',
    id: uuidv7(Math.floor(receivedAt / 1000)),
    ts: receivedAt,
    received_at: receivedAt,
    check_id: c.id,
    check_name: c.name,
    kind: c.kind,
    ok: o.status !== 'down',
    status: o.status,
    latency_ms: o.latencyMs,
    status_code: o.statusCode ?? null,
    error_class: o.errorClass,
    message: o.message,
    details,
    size: 0,
  };
  rec.size =
    RECORD_OVERHEAD_BYTES + rec.id.length + c.id.length + c.name.length + strBytes(o.message) + strBytes(details) + 32;
  return rec;
}

export interface ResultQueueOptions {
  /** Called with the count of results the buffer took. */
  onAccepted?: (count: number) => void;
  buffer: RecordBuffer;
  enqueueTimeoutMs: number;
  logger: Logger;
}

/** Groups results for ~20 ms (or 500 of them) and pushes each group into the buffer. */
export class ResultQueue {
  private pending: CheckRecord[] = [];
  private pendingBytes = 0;
  private timer: NodeJS.Timeout | undefined;
  private lastDropWarn = 0;
  private dropped = 0;

  constructor(private readonly opts: ResultQueueOptions) {}

  add(rec: CheckRecord): void {
    this.pending.push(rec);
    this.pendingBytes += rec.size;
    if (this.pending.length >= RESULT_GROUP_MAX) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), RESULT_GROUP_MS);
  }

  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending.length === 0) return;
    const records = this.pending;
    const bytes = this.pendingBytes;
    this.pending = [];
    this.pendingBytes = 0;
    // Counted as ingested records of type check once the buffer took them, as docs/observability.md says.
    this.opts.buffer.push(records, bytes, { timeoutMs: this.opts.enqueueTimeoutMs }).then(
      () => this.opts.onAccepted?.(records.length),
      (err: unknown) => this.dropWarn(err, records.length),
    );
  }

  /** Results are not client data: when the buffer refuses one it is logged (rate-limited) and counted. */
  private dropWarn(err: unknown, n: number): void {
    this.dropped += n;
    const now = Date.now();
    if (now - this.lastDropWarn < WARN_EVERY_MS) return;
    this.lastDropWarn = now;
    this.opts.logger.warn(
      { dropped: this.dropped, err: (err as Error).message },
      'health results not buffered (buffer full or closing)',
    );
  }
}
