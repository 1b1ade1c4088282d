// /admin/checks: register, read, replace and remove health checks, and read their history and
// uptime. Same bearer auth as the other /admin routes. Bad input is a 400 naming the field.
// Secrets in a check (header values, URL passwords) are never answered back.
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { SluiceError } from '../errors.js';
import type { HealthChecker } from '../health/checker.js';
import { labelFilterOf, matchesLabels } from '../health/check-labels.js';
import { readOrAdmin, type AccessPolicy } from '../http/access.js';
import { securityHeadersHook } from '../http/security-headers.js';
import type { AuthConfig } from '../http/config.js';
import { toMicros } from '../timestamp.js';
import { maskHeaders, maskUrl } from '../observability/secrets.js';

export interface ChecksRoutesContext {
  config: { auth: AuthConfig };
  access: AccessPolicy;
  health: HealthChecker;
}

const MAX_LIMIT = 10_000;
const DEFAULT_LIMIT = 100;

/** `:check` is a check's id or its name (names are unique; an id matching wins). */
type IdRequest = FastifyRequest<{ Params: { check: string } }>;

export function checksRoutes(ctx: ChecksRoutesContext): FastifyPluginAsync {
  return async (app: FastifyInstance) => {
    // Reading checks is a read; adding, changing or removing one is administration.
    app.addHook('onRequest', securityHeadersHook('data'));
    app.addHook('onRequest', ctx.access.hook(readOrAdmin));
    // Definitions are small JSON: compressed bodies are not decoded here, so say so (415)
    // rather than fail to parse them as if they were plain.
    app.addHook('onRequest', async (req) => {
      const encoding = req.headers['content-encoding']?.trim().toLowerCase();
      if (encoding && encoding !== 'identity') {
        throw new SluiceError('SLUICE_ERR_UNSUPPORTED_ENCODING', {
          encoding,
          accepted: 'send plain JSON to /admin/checks',
        });
      }
    });
    const h = ctx.health;
    const idOf = (idOrName: string): string => {
      const id = h.idOf(idOrName);
      if (id === undefined) throw notFound(idOrName);
      return id;
    };

    // ?group=…&tag=…&tag=…: the checks in that group carrying every named tag.
    app.get('/admin/checks', async (req: FastifyRequest<{ Querystring: Record<string, unknown> }>) => {
      const filter = labelFilterOf(req.query);
      return h
        .list()
        .filter((v) => matchesLabels(v, filter))
        .map(masked);
    });

    // An array is a batch: every item validated before any is written, matched by name (an
    // upsert), so sending the same list twice changes nothing the second time.
    app.post('/admin/checks', async (req, reply) => {
      if (!Array.isArray(req.body)) return reply.code(201).send(masked(await h.create(req.body)));
      const applied = await h.applyMany(req.body);
      const count = (a: string): number => applied.filter((x) => x.action === a).length;
      return { created: count('created'), updated: count('updated'), unchanged: count('unchanged'), checks: applied };
    });

    app.get('/admin/checks/:check', async (req: IdRequest) => {
      const id = idOf(req.params.check);
      const view = h.get(id);
      if (!view) throw notFound(req.params.check);
      const uptime = await h.uptimeOf(id);
      return { ...masked(view), uptime: Object.fromEntries(Object.entries(uptime).map(([w, u]) => [w, u.percent])) };
    });

    app.put('/admin/checks/:check', async (req: IdRequest) => masked(await h.update(idOf(req.params.check), req.body)));

    app.delete('/admin/checks/:check', async (req: IdRequest, reply: FastifyReply) => {
      await h.remove(idOf(req.params.check));
      return reply.code(204).send();
    });

    app.get(
      '/admin/checks/:check/history',
      async (req: FastifyRequest<{ Params: { check: string }; Querystring: Record<string, unknown> }>, reply) => {
        const id = idOf(req.params.check);
        const q = req.query;
        const limit = intParam(q.limit, 'limit', 1, MAX_LIMIT) ?? DEFAULT_LIMIT;
        const from = timeParam(q.from, 'from');
        const to = timeParam(q.to, 'to');
        if (from !== undefined && to !== undefined && from > to) throw badQuery('from', 'must not be after to');
        const rows = await h.historyOf(id, { limit, from, to });
        // Which store answered: with a non-postgres sink, history is an in-memory ring (lost on restart).
        void reply.header('x-sluice-history-source', h.history.source);
        return rows;
      },
    );

    app.get('/admin/checks/:check/uptime', async (req: IdRequest) => {
      const id = idOf(req.params.check);
      const uptime = await h.uptimeOf(id);
      return { id, source: h.history.source, method: 'time-weighted', windows: uptime };
    });
  };
}

/**
 * A check as the API shows it: header values with secret names and URL passwords or tokens
 * masked (observability/secrets.ts). They are write-only: a PUT must send them again.
 */
function masked<T extends Record<string, unknown>>(view: T): T {
  const out: Record<string, unknown> = { ...view };
  if (typeof out.url === 'string') out.url = maskUrl(out.url);
  if (out.headers && typeof out.headers === 'object') out.headers = maskHeaders(out.headers as Record<string, string>);
  return out as T;
}

function notFound(idOrName: string): SluiceError {
  return new SluiceError('SLUICE_ERR_NOT_FOUND', { what: `check with id or name "${idOrName}"` });
}

function badQuery(field: string, message: string): SluiceError {
  return new SluiceError('SLUICE_ERR_INVALID_QUERY', { field, problem: message }, { problems: [{ field, message }] });
}

function intParam(v: unknown, field: string, min: number, max: number): number | undefined {
  if (v === undefined || v === '') return undefined;
  const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : NaN;
  if (!Number.isInteger(n) || n < min || n > max) throw badQuery(field, `must be an integer from ${min} to ${max}`);
  return n;
}

/** RFC 3339 or epoch (s/ms/µs/ns by magnitude) → epoch ms. */
function timeParam(v: unknown, field: string): number | undefined {
  if (v === undefined || v === '') return undefined;
  const us = typeof v === 'string' ? toMicros(v) : null;
  if (us === null) throw badQuery(field, 'must be an RFC 3339 time or epoch seconds/milliseconds');
  return us / 1000;
}
