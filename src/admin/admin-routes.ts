// Operational endpoints: /healthz (alive), /readyz (sink reachable, buffer below its
// high-water mark, not shutting down), /metrics (Prometheus) and /admin/jobs (pipeline state).
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import { bearerAuth } from '../http/auth.js';
import type { AuthConfig } from '../http/config.js';
import type { Metrics } from '../observability/metrics.js';
import type { Batcher } from '../pipeline/batcher.js';
import type { BufferConfig } from '../pipeline/config.js';
import type { RecordBuffer } from '../pipeline/buffer.js';
import type { DeadLetter } from '../pipeline/dead-letter.js';
import type { WalStats } from '../pipeline/wal/wal-buffer.js';
import type { WriterPool } from '../pipeline/writer-pool.js';
import type { Sink } from '../sinks/sink.js';

export interface AdminContext {
  config: { buffer: BufferConfig; auth: AuthConfig };
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
}

/** Why the collector is not ready, or an empty list when it is. */
export async function notReadyReasons(ctx: AdminContext): Promise<string[]> {
  const reasons: string[] = [];
  if (!ctx.accepting()) reasons.push('shutting down');
  const b = ctx.buffer.stats();
  const fill = Math.max(b.records / b.maxRecords, b.bytes / b.maxBytes);
  if (fill >= ctx.config.buffer.highWaterMark) {
    reasons.push(`buffer ${(fill * 100).toFixed(0)}% full (high-water mark ${ctx.config.buffer.highWaterMark * 100}%)`);
  }
  const w = ctx.pool.stats();
  if (w.breaker !== 'closed') reasons.push(`sink ${ctx.sink.name} circuit ${w.breaker}: ${w.lastError ?? 'failing'}`);
  if (ctx.sink.health) {
    try {
      const h = await ctx.sink.health();
      if (!h.ok) reasons.push(`sink ${ctx.sink.name} unreachable: ${h.reason ?? 'unknown'}`);
    } catch (err) {
      reasons.push(`sink ${ctx.sink.name} unreachable: ${(err as Error).message}`);
    }
  }
  return reasons;
}

export function adminRoutes(ctx: AdminContext): FastifyPluginAsync {
  return async (app: FastifyInstance) => {
    app.get('/healthz', async () => ({ status: 'ok' }));

    app.get('/readyz', async (_req, reply) => {
      const reasons = await notReadyReasons(ctx);
      if (reasons.length > 0) return reply.code(503).send({ status: 'not ready', reasons });
      return { status: 'ready' };
    });

    app.get('/metrics', async (_req, reply) => {
      const text = await ctx.metrics.render();
      return reply.type(ctx.metrics.registry.contentType).send(text);
    });

    await app.register(async (admin) => {
      const auth = bearerAuth(ctx.config.auth.adminTokens);
      if (auth) admin.addHook('onRequest', auth);
      admin.get('/admin/jobs', async () => ({
        uptime_s: Math.round((Date.now() - ctx.startedAt) / 1000),
        accepting: ctx.accepting(),
        buffer: ctx.buffer.stats(),
        batcher: { pending: ctx.batcher.pending },
        sink: ctx.sink.name,
        writers: ctx.pool.stats(),
        dead_letter: { records: ctx.deadLetter.records, file: ctx.deadLetter.pathFor(ctx.sink.name) },
        ...(ctx.wal ? { wal: ctx.wal() } : {}),
      }));
    });
  };
}
