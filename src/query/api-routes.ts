// The read API: GET /api/logs (query), /api/logs/tail (live, SSE), /api/services and
// /api/status. Guarded by the admin tokens like /admin/*. The log queries read PostgreSQL; with
// another sink they answer 501 and the tail (fed by ingest, not the database) still works.
import type { FastifyInstance, FastifyPluginAsync, FastifyRequest } from 'fastify';
import type pg from 'pg';
import { securityHeaders, securityHeadersHook } from '../http/security-headers.js';
import type { AuthConfig } from '../http/config.js';
import type { SinkConfig } from '../sinks/config.js';
import { SluiceError } from '../errors.js';
import type { HealthChecker } from '../health/checker.js';
import { parseDuration } from '../health/duration.js';
import type { AccessPolicy } from '../http/access.js';
import { nowMicros } from '../timestamp.js';
import { badParam, parseLogFilter, type LogFilter } from './log-filter.js';
import { queryLogs } from './log-query.js';
import { matcherOf } from './match.js';
import { servicesSeen } from './services.js';
import { statusOf, type IncidentLog } from './status.js';
import { labelFilterOf } from '../health/check-labels.js';
import type { LogTail } from './tail.js';

export interface ApiContext {
  config: { auth: AuthConfig; sink: SinkConfig };
  access: AccessPolicy;
  health: HealthChecker;
  tail: LogTail;
  incidents: IncidentLog;
  /** The PostgreSQL pool the log queries read, or undefined with another sink. */
  db: () => pg.Pool | undefined;
}

type QueryRequest = FastifyRequest<{ Querystring: Record<string, unknown> }>;

const DAY_MS = 86_400_000;

/** A key with a tenant reads that tenant's records only; one without (or loopback, or a config token) reads all. */
function tenanted(req: FastifyRequest, filter: LogFilter): LogFilter {
  const tenant = req.apiKey?.tenant;
  return tenant === undefined ? filter : { ...filter, tenant };
}

export function apiRoutes(ctx: ApiContext): FastifyPluginAsync {
  return async (app: FastifyInstance) => {
    app.addHook('onRequest', securityHeadersHook('data'));
    app.addHook('onRequest', ctx.access.hook('read'));

    const pool = (route: string): pg.Pool => {
      const p = ctx.db();
      if (!p) {
        throw new SluiceError(
          'SLUICE_ERR_NEEDS_POSTGRES',
          `${route} reads stored logs back from PostgreSQL, and sink.kind is ${ctx.config.sink.kind}: run with sink.kind postgres to query logs (GET /api/logs/tail works with every sink)`,
        );
      }
      return p;
    };

    app.get('/api/logs', async (req: QueryRequest, reply) => {
      const filter = tenanted(req, parseLogFilter(req.query, { range: true }));
      const body = await queryLogs(pool('GET /api/logs'), filter);
      return reply.type('application/json; charset=utf-8').send(body);
    });

    app.get('/api/logs/tail', (req: QueryRequest, reply) => {
      const matches = matcherOf(tenanted(req, parseLogFilter(req.query, { range: false })));
      // Hijacked: the stream's head is written by the tail, so it gets the headers here.
      ctx.tail.subscribe(matches, reply.raw, { 'x-request-id': req.id, ...securityHeaders('data') });
      // From here the stream is ours, not Fastify's: it is never "sent".
      reply.hijack();
    });

    app.get('/api/services', async (req: QueryRequest) => {
      for (const key of Object.keys(req.query))
        if (key !== 'window') throw badParam(key, 'is not known; accepted: window');
      const raw = req.query.window;
      const windowMs = raw === undefined ? DAY_MS : parseDuration(raw);
      if (
        windowMs === null ||
        typeof raw === 'number' ||
        (typeof raw === 'string' && /^\d+$/.test(raw)) ||
        windowMs < 1000 ||
        windowMs > 366 * DAY_MS
      ) {
        throw badParam('window', 'must be a duration from 1s to 366d (15m, 24h, 7d)');
      }
      const services = await servicesSeen(pool('GET /api/services'), nowMicros() - windowMs * 1000, req.apiKey?.tenant);
      return { window: raw === undefined ? '24h' : String(raw), services };
    });

    app.get('/api/status', async (req: QueryRequest) => statusOf(ctx.health, ctx.incidents, labelFilterOf(req.query)));
  };
}
