// What the shippers' protocol routes (Loki push, Elasticsearch _bulk) share once a request is
// decoded: the same enqueue as POST /logs (buffer, ack modes, WAL, limits), the records counted
// under their protocol, and the accepted records handed to the live tail.
import type { FastifyRequest } from 'fastify';
import type { DeferredRecords } from '../pipeline/buffer.js';
import { chargeRecords } from '../http/rate-limit/rate-limit-hook.js';
import { requestSpanContext } from '../observability/tracing.js';
import type { LogRecord } from '../record.js';
import { enqueue, type IngestContext } from './enqueue.js';

/** Resolves with the request's records once accepted as the ack mode promises; rejects as enqueue does. */
export function pushLogs(
  ctx: IngestContext,
  req: FastifyRequest,
  pending: DeferredRecords,
  protocol: string,
  bodyBytes: number,
  onLogs?: (records: readonly LogRecord[]) => void,
): Promise<LogRecord[]> {
  // The sending key's tenant, as POST /logs sets it (never a field of the body).
  const tenant = req.apiKey?.tenant;
  if (tenant !== undefined) {
    const parse = pending.parse.bind(pending);
    pending.parse = () => {
      const parsed = parse();
      for (const r of parsed.records) if (r.type === 'log') r.tenant = tenant;
      return parsed;
    };
  }
  return enqueue(ctx, pending, requestSpanContext(req)).then(() => {
    const records = pending.records as LogRecord[];
    ctx.metrics.recordsCounter('log', protocol).inc(records.length);
    chargeRecords(req, records.length, bodyBytes);
    if (records.length > 0) onLogs?.(records);
    return records;
  });
}
