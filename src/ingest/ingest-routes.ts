// The ingest route family: POST /logs and POST /health. The plugin owns its body parsing
// (raw bytes, gzip, limits), auth and the shutdown gate, and touches nothing global. With parse
// threads (ingest.parseThreads), a POST /logs body is parsed on one and comes back as tuples.
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { SluiceError } from '../errors.js';
import type { DeferredRecords } from '../pipeline/buffer.js';
import { SLUICE_PROTOCOL } from '../observability/metrics.js';
import { requestSpanContext } from '../observability/tracing.js';
import { type HealthRecord, type LogRecord, type RecordType, type SluiceRecord } from '../record.js';
import { nowMicros } from '../timestamp.js';
import { INGEST_ROUTE } from '../http/ingest-route.js';
import { chargeRecords } from '../http/rate-limit/rate-limit-hook.js';
import { heldRecords } from '../pipeline/held-records.js';
import { checkEncoding, decodeBody } from './body.js';
import { enqueue, enqueueEncoded, type IngestContext } from './enqueue.js';
import { normaliseHealth, normaliseLog, withTenant, type Normaliser } from './normalise.js';
import {
  JSON_TYPES,
  NDJSON_TYPES,
  SYNC_MAX_BYTES,
  checkCharset,
  isNdjson,
  parseBody,
  parseBodyAsync,
} from './parse-body.js';

export interface IngestHooks {
  /** Health pings once accepted (the health checker's push monitors listen here). */
  onHealthPings?: (records: readonly HealthRecord[]) => void;
  /** Log records once accepted (the live tail listens here). */
  onLogs?: (records: readonly LogRecord[]) => void;
  /** Whether onLogs wants records now: a request a parse thread encoded has none to give unless decoded. */
  wantsLogs?: () => boolean;
}

export function ingestRoutes(ctx: IngestContext, hooks: IngestHooks = {}): FastifyPluginAsync {
  return async (app: FastifyInstance) => {
    const limit = ctx.config.ingest.maxBodyBytes;
    app.removeAllContentTypeParsers();
    // Fastify collects the bytes (fast path, bodyLimit on the wire size); we only decode.
    // Callback style: an async parser costs a promise and a microtask on every request.
    app.addContentTypeParser(
      [...JSON_TYPES, ...NDJSON_TYPES],
      { parseAs: 'buffer', bodyLimit: limit },
      (req: FastifyRequest, body: Buffer, done: (err: Error | null, body?: Buffer) => void) => {
        let encoding: ReturnType<typeof checkEncoding>;
        try {
          checkCharset(req.headers['content-type']);
          encoding = checkEncoding(req.headers);
        } catch (err) {
          return done(err as Error);
        }
        if (encoding === 'identity') return done(null, body);
        (decodeBody(body, encoding, limit) as Promise<Buffer>).then((decoded) => done(null, decoded), done);
      },
    );

    app.addHook('onRequest', ctx.access.hook('ingest'));

    app.post('/logs', INGEST_ROUTE, ingestHandler(ctx, 'log', normaliseLog, hooks.onLogs, hooks.wantsLogs));
    app.post('/health', INGEST_ROUTE, ingestHandler(ctx, 'health', normaliseHealth, hooks.onHealthPings));
  };
}

/**
 * One handler shape for every JSON/NDJSON route: parse all or nothing, enqueue, 202.
 * Not an async function: the only await is the buffer's, and a plain `then` saves a promise.
 * It returns nothing and answers later: a returned reply is a thenable to fastify, whose `then`
 * hooks end-of-stream listeners on every request (so do the other ingest routes).
 */
function ingestHandler<T extends SluiceRecord>(
  ctx: IngestContext,
  type: RecordType,
  normalise: Normaliser<T>,
  onAccepted?: (records: T[]) => void,
  wantsRecords: () => boolean = () => true,
) {
  const counter = ctx.metrics.recordsCounter(type, SLUICE_PROTOCOL);
  // Parse threads take log records only: a health ping feeds the push monitors, which need its record.
  const threads = type === 'log' ? ctx.parsePool : undefined;
  const threadEncoded = threads && ctx.metrics.parseThreadCounter('encoded');
  const threadGaveBack = threads && ctx.metrics.parseThreadCounter('main_thread');
  return (req: FastifyRequest, reply: FastifyReply): void => {
    refuseWhenStopping(ctx);
    const body = bodyOf(req.body);
    // From here the body belongs to the pending request: parsed at once, or (when it has to
    // wait for room) at its turn, so a waiting request holds its raw bytes, not its records.
    req.body = undefined;
    const ndjson = isNdjson(req.headers['content-type']);
    const receivedAt = nowMicros();
    const spanContext = requestSpanContext(req);
    const tenant = req.apiKey?.tenant;
    const norm = tenant === undefined || type !== 'log' ? normalise : withTenant(normalise, tenant);
    const done = (n: number, records?: () => T[]): void => {
      counter.inc(n);
      try {
        if (onAccepted && records) onAccepted(records());
      } catch (err) {
        // The records are accepted: the client still gets its 202 (a listener's fault is ours).
        req.log.error({ err: (err as Error).message }, 'ingest: a listener of accepted records failed');
      }
      chargeRecords(req, n, body.length);
      accepted(ctx, req, reply, n);
    };
    const push = (pending: DeferredRecords): void => {
      enqueue(ctx, pending, spanContext).then(
        () => done(pending.records!.length, () => pending.records as T[]),
        (err: unknown) => reply.send(err),
      );
    };
    const parseHere = (): void => {
      if (body.length <= SYNC_MAX_BYTES) {
        push({ parse: () => parseBody(body, ndjson, receivedAt, norm, ctx.limits), rawBytes: body.length });
        return;
      }
      // A large body is parsed a slice at a time so the loop keeps serving others meanwhile; one
      // that would have to wait for room anyway is refused before that work (and memory) is spent.
      refuseWhenFull(ctx);
      parseBodyAsync(body, ndjson, receivedAt, norm, ctx.limits).then(
        (parsed) => push({ parse: () => parsed, rawBytes: parsed.bytes }),
        (err: unknown) => reply.send(err),
      );
    };
    // A thread parses before the buffer has room, so only a request that should find room goes
    // to one: under pressure a request waits as its raw body and is parsed at its turn, as without
    // threads. Only small bodies, which the main thread would parse in one go too (a large one is
    // parsed in steps, by rules of its own for records larger than a step).
    if (!threads || body.length > SYNC_MAX_BYTES || !hasRoom(ctx)) return parseHere();
    threads
      .parse(body, ndjson, receivedAt, tenant, ctx.limits)
      .then((encoded) => {
        // Bad input, or no thread: parsed here, which gives the exact error (or stores it).
        if (!encoded) {
          threadGaveBack!.inc();
          return parseHere();
        }
        threadEncoded!.inc();
        const run = { tuples: encoded.tuples, sizes: encoded.sizes, type, receivedAt };
        enqueueEncoded(ctx, { run, offsets: encoded.offsets, bytes: encoded.bytes }, spanContext).then(
          () => done(encoded.sizes.length, wantsRecords() ? () => heldRecords([run]) as T[] : undefined),
          (err: unknown) => reply.send(err),
        );
      })
      .catch((err: unknown) => reply.send(err));
  };
}

/** Nobody waits for room, and there is some. */
function hasRoom(ctx: IngestContext): boolean {
  const s = ctx.buffer.stats();
  return s.waiting === 0 && s.records < s.maxRecords && s.bytes < s.maxBytes;
}

export function refuseWhenFull(ctx: IngestContext): void {
  if (hasRoom(ctx)) return;
  throw new SluiceError('SLUICE_ERR_BUFFER_FULL', {}, { retryAfter: ctx.config.ingest.retryAfterSeconds });
}

// The shutdown gate lives in the handlers rather than an onRequest hook: one hook less per request.
export function refuseWhenStopping(ctx: IngestContext): void {
  if (!ctx.accepting()) {
    throw new SluiceError('SLUICE_ERR_SHUTTING_DOWN', {}, { retryAfter: ctx.config.ingest.retryAfterSeconds });
  }
  // Without a WAL to hold them, records the sink cannot take are refused at once rather than
  // left to wait out enqueueTimeoutMs (or, ack sink, the breaker).
  const why = ctx.unavailable?.();
  if (why)
    throw new SluiceError(
      'SLUICE_ERR_SINK_FAILED',
      { subject: 'not accepting records yet', detail: why },
      { retryAfter: ctx.config.ingest.retryAfterSeconds },
    );
}

function accepted(ctx: IngestContext, req: FastifyRequest, reply: FastifyReply, n: number): FastifyReply {
  ctx.metrics.countRequest(req.routeOptions.url ?? 'unmatched', 202);
  return reply.code(202).type('application/json').send(`{"accepted":${n}}`);
}

function bodyOf(body: unknown): Buffer {
  // No body at all (no Content-Type) never reaches our parser.
  if (!Buffer.isBuffer(body))
    throw new SluiceError(
      'SLUICE_ERR_EMPTY_BODY',
      'request body is empty; send application/json or application/x-ndjson',
    );
  return body;
}
