// POST /loki/api/v1/push: Loki's push API, so Promtail, Alloy, pino-loki, winston-loki, Vector's
// loki sink and Fluent Bit's loki output ship into Sluice unchanged. Protobuf (Snappy block
// format, Loki's default when no Content-Type is sent) and JSON (optionally gzip/deflate).
// Answers as Loki does: 204 with no body; errors as plain text (clients log the body), 400 for
// a bad push (nothing stored), 429/503 with Retry-After, which Loki clients retry.
// A push larger than SYNC_MAX_BYTES (decompressed) is decoded and mapped in steps (steps.ts).
import type { FastifyError, FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { SluiceError } from '../../errors.js';
import { toSluiceError } from '../../http/error-handler.js';
import { INGEST_ROUTE } from '../../http/ingest-route.js';
import { type LogRecord } from '../../record.js';
import { nowMicros } from '../../timestamp.js';
import { decodeBody } from '../body.js';
import type { IngestContext } from '../enqueue.js';
import { refuseWhenFull, refuseWhenStopping } from '../ingest-routes.js';
import { SYNC_MAX_BYTES } from '../parse-body.js';
import { pushLogs } from '../push-logs.js';
import { runAtOnce, runInSteps, type Steps } from '../../steps.js';
import { decodePushJsonSteps } from './push-json.js';
import { decodePushProtoSteps, snappyLength, unsnappySteps } from './push-proto.js';
import { streamsToRecordsSteps, type Mapped } from './to-records.js';

export const LOKI_PUSH_PATH = '/loki/api/v1/push';
const PROTOCOL = 'loki';

export interface LokiHooks {
  onLogs?: (records: readonly LogRecord[]) => void;
}

function mediaType(req: FastifyRequest): string {
  return (req.headers['content-type'] ?? '').split(';', 1)[0]!.trim().toLowerCase();
}

/** Content-Encoding as Loki takes it: none or snappy (the protobuf is Snappy-framed anyway), gzip, deflate. */
function encodingOf(req: FastifyRequest): 'identity' | 'gzip' | 'deflate' {
  const e = (req.headers['content-encoding'] ?? '').trim().toLowerCase();
  if (e === '' || e === 'identity' || e === 'snappy') return 'identity';
  if (e === 'gzip' || e === 'x-gzip') return 'gzip';
  if (e === 'deflate') return 'deflate';
  throw new SluiceError('SLUICE_ERR_UNSUPPORTED_ENCODING', {
    encoding: e,
    accepted: 'use gzip, deflate, snappy or none',
  });
}

/** A push from its bytes (after Content-Encoding) to records: Snappy, decoding, mapping, in steps. */
export function* lokiPushSteps(
  body: Buffer,
  json: boolean,
  maxEntries: number,
  maxBytes: number,
  receivedAt: number,
): Steps<Mapped> {
  let streams;
  if (json) streams = yield* decodePushJsonSteps(body, maxEntries);
  else {
    const bytes = yield* unsnappySteps(body, maxBytes);
    streams = yield* decodePushProtoSteps(bytes, maxEntries);
  }
  return yield* streamsToRecordsSteps(streams, receivedAt);
}

export function lokiRoutes(ctx: IngestContext, hooks: LokiHooks = {}): FastifyPluginAsync {
  return async (app: FastifyInstance) => {
    const limit = ctx.config.ingest.maxBodyBytes;
    app.removeAllContentTypeParsers();
    // Any Content-Type: Loki reads everything but application/json as protobuf.
    app.addContentTypeParser(
      '*',
      { parseAs: 'buffer', bodyLimit: limit },
      (req: FastifyRequest, body: Buffer, done: (err: Error | null, body?: Buffer) => void) => {
        let encoding: ReturnType<typeof encodingOf>;
        try {
          encoding = encodingOf(req);
        } catch (err) {
          return done(err as Error);
        }
        if (encoding === 'identity') return done(null, body);
        (decodeBody(body, encoding, limit) as Promise<Buffer>).then((decoded) => done(null, decoded), done);
      },
    );
    app.setErrorHandler((err: FastifyError, req: FastifyRequest, reply: FastifyReply) => {
      const e = toSluiceError(err, req.routeOptions.bodyLimit);
      ctx.metrics.ingestErrors.labels(LOKI_PUSH_PATH, e.code, PROTOCOL).inc();
      ctx.metrics.countRequest(LOKI_PUSH_PATH, e.statusCode, PROTOCOL);
      if (e.code === 'SLUICE_ERR_INTERNAL') req.log.error({ err }, 'request failed');
      if (e.retryAfter !== undefined) void reply.header('retry-after', String(e.retryAfter));
      if (e.statusCode === 401) void reply.header('www-authenticate', 'Bearer realm="sluice"');
      // Loki answers errors as text/plain ending in a newline; its clients log the body as is.
      void reply.code(e.statusCode).type('text/plain; charset=utf-8').send(`${e.message}\n`);
    });
    app.addHook('onRequest', ctx.access.hook('ingest'));

    // Vector's loki sink checks GET /ready at start (its healthcheck), as Loki answers it.
    app.get('/ready', (_req, reply) =>
      ctx.accepting()
        ? reply.type('text/plain; charset=utf-8').send('ready\n')
        : reply.code(503).type('text/plain; charset=utf-8').send('shutting down\n'),
    );

    ctx.metrics.initProtocol(PROTOCOL);
    app.post(
      LOKI_PUSH_PATH,
      { config: { ...INGEST_ROUTE.config, protocol: PROTOCOL } },
      (req: FastifyRequest, reply: FastifyReply): void => {
        refuseWhenStopping(ctx);
        const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
        req.body = undefined;
        const json = mediaType(req) === 'application/json';
        const receivedAt = nowMicros();
        const steps = () => lokiPushSteps(body, json, ctx.limits.maxRecords, limit, receivedAt);
        const push = (parse: () => Mapped): void => {
          pushLogs(ctx, req, { parse, rawBytes: body.length }, PROTOCOL, body.length, hooks.onLogs).then(
            () => {
              ctx.metrics.countRequest(LOKI_PUSH_PATH, 204, PROTOCOL);
              void reply.code(204).send();
            },
            (err: unknown) => reply.send(err),
          );
        };
        if ((json ? body.length : snappyLength(body)) <= SYNC_MAX_BYTES) {
          push(() => runAtOnce(steps()));
          return;
        }
        // A large push is decoded a slice at a time so the loop keeps serving others meanwhile;
        // one that would have to wait for room anyway is refused before that work is spent.
        refuseWhenFull(ctx);
        runInSteps(steps()).then(
          (mapped) => push(() => mapped),
          (err: unknown) => reply.send(err),
        );
      },
    );
  };
}
