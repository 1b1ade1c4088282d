// Hands parsed records to the buffer and, in ack mode `sink`, waits for the commit.
// In `durable` the buffer is the WAL, whose push resolves only once the records are fsynced,
// so nothing more is needed here. Shared by every ingest route so they all answer with the
// same guarantees.
import type { SpanContext } from '@opentelemetry/api';
import type { Config } from '../config/schema.js';
import type { Metrics } from '../observability/metrics.js';
import type { SluiceRecord } from '../record.js';
import type { RecordBuffer } from '../pipeline/buffer.js';
import { Ticket } from '../pipeline/ticket.js';

export interface IngestContext {
  config: Config;
  buffer: RecordBuffer;
  metrics: Metrics;
  /** False once shutdown has begun: ingest answers 503. */
  accepting: () => boolean;
}

/**
 * Resolves when the records are accepted as the ack mode promises; the caller counts them.
 * `spanContext`: the request's span, linked from the batch span (undefined when tracing is off).
 * Not async in memory and durable modes: the buffer's promise is returned as is (no extra promise per request).
 */
export function enqueue(ctx: IngestContext, records: SluiceRecord[], bytes: number, spanContext?: SpanContext): Promise<void> {
  const timeoutMs = ctx.config.ingest.enqueueTimeoutMs;
  if (ctx.config.ingest.ack === 'sink') {
    const ticket = new Ticket(records.length);
    return ctx.buffer.push(records, bytes, { timeoutMs, ticket, spanContext }).then(() => ticket.done);
  }
  return ctx.buffer.push(records, bytes, { timeoutMs, spanContext });
}
