// Hands parsed records to the buffer and, in ack mode `sink`, waits for the commit.
// Shared by every ingest route so they all answer with the same guarantees.
import type { Config } from '../config/schema.js';
import type { Metrics } from '../observability/metrics.js';
import type { RecordType, SluiceRecord } from '../record.js';
import type { RecordBuffer } from '../pipeline/buffer.js';
import { Ticket } from '../pipeline/ticket.js';

export interface IngestContext {
  config: Config;
  buffer: RecordBuffer;
  metrics: Metrics;
  /** False once shutdown has begun: ingest answers 503. */
  accepting: () => boolean;
}

export async function enqueue(ctx: IngestContext, type: RecordType, records: SluiceRecord[], bytes: number): Promise<void> {
  const timeoutMs = ctx.config.ingest.enqueueTimeoutMs;
  if (ctx.config.ingest.ack === 'sink') {
    const ticket = new Ticket(records.length);
    await ctx.buffer.push(records, bytes, { timeoutMs, ticket });
    ctx.metrics.ingestRecords.labels(type).inc(records.length);
    await ticket.done;
    return;
  }
  await ctx.buffer.push(records, bytes, { timeoutMs });
  ctx.metrics.ingestRecords.labels(type).inc(records.length);
}
