// Hands parsed records to the buffer and, in ack mode `sink`, waits for the commit.
// In `durable` the buffer is the WAL, whose push resolves only once the records are fsynced,
// so nothing more is needed here. Shared by every ingest route so they all answer with the
// same guarantees.
import type { SpanContext } from '@opentelemetry/api';
import type { AccessPolicy } from '../http/access.js';
import type { AuthConfig } from '../http/config.js';
import type { Metrics } from '../observability/metrics.js';
import type { DeferredRecords, EncodedRecords, PushOptions, RecordBuffer } from '../pipeline/buffer.js';
import { Ticket } from '../batch.js';
import { SluiceError } from '../errors.js';
import type { IngestConfig } from './config.js';
import type { ParseLimits } from './parse-body.js';
import type { ParsePool } from './parse-threads/parse-pool.js';

export interface IngestContext {
  config: { ingest: IngestConfig; auth: AuthConfig };
  /** Who may send (tokens, keys; open until one exists). */
  access: AccessPolicy;
  buffer: RecordBuffer;
  /** The request limits from ingest.* (records per request, depth, keys per record). */
  limits: ParseLimits;
  metrics: Metrics;
  /** False once shutdown has begun: ingest answers 503. */
  accepting: () => boolean;
  /** Why records cannot be taken at all right now (ack modes memory and sink while the database is not connected): 503 at once. */
  unavailable?: () => string | undefined;
  /**
   * Ack mode sink: how long a request waits for its commit before it is answered 503 (its
   * records may still be stored: a 503 means "not known stored", as a lost connection would).
   * Unset: as long as it takes. The ingest role sets it, so an outage never holds clients.
   */
  ackTimeoutMs?: number;
  /** Parse threads for POST /logs (ingest.parseThreads), when the buffer holds tuples. */
  parsePool?: ParsePool;
}

/**
 * Resolves when the request's records are accepted as the ack mode promises (`req.records`
 * then holds them; the caller counts them); rejects with the parse error for bad input.
 * The request is parsed at once, or when its turn comes if it has to wait for room.
 * `spanContext`: the request's span, linked from the batch span (undefined when tracing is off).
 * Not async in memory and durable modes: the buffer's promise is returned as is (no extra promise per request).
 */
export function enqueue(ctx: IngestContext, req: DeferredRecords, spanContext?: SpanContext): Promise<void> {
  const opts: PushOptions = { timeoutMs: ctx.config.ingest.enqueueTimeoutMs, spanContext };
  if (ctx.config.ingest.ack === 'sink') {
    // The ticket counts the records, so it is made once they are parsed (before they are admitted).
    const parse = req.parse;
    let ticket: Ticket | undefined;
    req.parse = () => {
      const parsed = parse();
      opts.ticket = ticket = new Ticket(parsed.records.length);
      return parsed;
    };
    return untilCommitted(
      ctx,
      ctx.buffer.pushDeferred(req, opts).then(() => ticket!.done),
    );
  }
  return ctx.buffer.pushDeferred(req, opts);
}

/** `enqueue` for a request a parse thread encoded: the same ack modes, its tuples only. */
export function enqueueEncoded(ctx: IngestContext, req: EncodedRecords, spanContext?: SpanContext): Promise<void> {
  const opts: PushOptions = { timeoutMs: ctx.config.ingest.enqueueTimeoutMs, spanContext };
  if (ctx.config.ingest.ack === 'sink') {
    const ticket = (opts.ticket = new Ticket(req.run.sizes.length));
    return untilCommitted(
      ctx,
      ctx.buffer.pushEncoded(req, opts).then(() => ticket.done),
    );
  }
  return ctx.buffer.pushEncoded(req, opts);
}

/** Ack mode sink: the commit, or a 503 once ackTimeoutMs has passed without it. */
function untilCommitted(ctx: IngestContext, committed: Promise<void>): Promise<void> {
  return ctx.ackTimeoutMs === undefined
    ? committed
    : within(committed, ctx.ackTimeoutMs, ctx.config.ingest.retryAfterSeconds);
}

function within(committed: Promise<void>, ms: number, retryAfter: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new SluiceError(
            'SLUICE_ERR_SINK_FAILED',
            { detail: `not acknowledged within ${ms} ms; they may still be stored` },
            { retryAfter },
          ),
        ),
      ms,
    );
  });
  return Promise.race([committed, late]).finally(() => clearTimeout(timer));
}
