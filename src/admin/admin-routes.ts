// Operational endpoints: /healthz (alive), /readyz (readiness.ts: from known state, no query),
// /metrics (Prometheus) and /admin/jobs (pipeline state).
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import type { BodyGuardStats } from '../ingest/body-guard.js';
import type { AccessPolicy } from '../http/access.js';
import { securityHeadersHook } from '../http/security-headers.js';
import type { AuthConfig } from '../http/config.js';
import type { Metrics } from '../observability/metrics.js';
import type { Batcher } from '../pipeline/batcher.js';
import type { RecordBuffer } from '../pipeline/buffer.js';
import type { DeadLetter } from '../pipeline/dead-letter.js';
import type { WalStats } from '../pipeline/wal/wal-buffer.js';
import type { JetStreamSourceStats } from '../observability/metrics.js';
import type { WriterPool } from '../pipeline/writer-pool.js';
import type { Readiness } from './readiness.js';
import type { Sink } from '../sinks/sink.js';

export interface AdminContext {
  config: { auth: AuthConfig };
  access: AccessPolicy;
  metrics: Metrics;
  buffer: RecordBuffer;
  batcher: Batcher;
  pool: WriterPool;
  sink: Sink;
  deadLetter: DeadLetter;
  accepting: () => boolean;
  startedAt: number;
  /** The disk write-ahead buffer's state (ack mode durable only). */
  wal?: () => WalStats;
  /** /readyz's answer, from state already known. */
  readiness: Readiness;
  /** Request bodies being received or parsed (ingest.maxInFlightBodyBytes). */
  bodies?: () => BodyGuardStats;
  /** Role writer: the JetStream consumer's batches (held, fetched, acked). */
  jetstream?: () => JetStreamSourceStats;
}

export function adminRoutes(ctx: AdminContext): FastifyPluginAsync {
  return async (app: FastifyInstance) => {
    app.addHook('onRequest', securityHeadersHook('data'));
    app.get('/healthz', async () => ({ status: 'ok' }));

    app.get('/readyz', async (_req, reply) => {
      const reasons = ctx.readiness.reasons();
      if (reasons.length > 0) return reply.code(503).send({ status: 'not ready', reasons });
      return { status: 'ready' };
    });

    app.get('/metrics', async (_req, reply) => {
      const text = await ctx.metrics.render();
      return reply.type(ctx.metrics.registry.contentType).send(text);
    });

    await app.register(async (admin) => {
      // The pipeline view of the UI reads this: a read key may see it.
      admin.addHook('onRequest', ctx.access.hook('read'));
      admin.get('/admin/jobs', async () => ({
        uptime_s: Math.round((Date.now() - ctx.startedAt) / 1000),
        accepting: ctx.accepting(),
        buffer: ctx.buffer.stats(),
        batcher: { pending: ctx.batcher.pending },
        sink: ctx.sink.name,
        writers: ctx.pool.stats(),
        dead_letter: { records: ctx.deadLetter.records, file: ctx.deadLetter.pathFor(ctx.sink.name) },
        ...(ctx.wal ? { wal: ctx.wal() } : {}),
        ...(ctx.bodies ? { bodies_in_flight: ctx.bodies() } : {}),
        ...(ctx.jetstream ? { jetstream: ctx.jetstream() } : {}),
      }));
    });
  };
}
