// The browser-facing routes: the web UI (/ and /assets), the UI's per-bucket check history
// (/api/checks/:id/history, admin auth), and the public, token-free status page (/status,
// /status.json) and badges (/badge/<check>/status.svg, /badge/<check>/uptime.svg), which show
// only what statusPage.* allows and answer 404 for everything else.
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type pg from 'pg';
import { securityHeadersHook } from '../http/security-headers.js';
import type { AuthConfig } from '../http/config.js';
import type { StatusPageConfig } from './config.js';
import { SluiceError } from '../errors.js';
import type { HealthChecker } from '../health/checker.js';
import type { AccessPolicy } from '../http/access.js';
import { labelFilterOf } from '../health/check-labels.js';
import { badgeSvg, stateColour, uptimeColour } from './badge-svg.js';
import { PublicStatusSource, checkBuckets } from './public-status.js';
import { renderStatusPage } from './status-page.js';
import { webAssets } from './web-assets.js';

export interface UiRoutesContext {
  config: { auth: AuthConfig; statusPage: StatusPageConfig };
  access: AccessPolicy;
  health: HealthChecker;
  pool: () => pg.Pool | undefined;
  /** Where the built UI is (tests); default dist/web of this checkout. */
  webDir?: string;
}

const UPTIME_WINDOWS = ['24h', '7d', '30d'] as const;
const STATUS_BADGE_CACHE = 'public, max-age=30';
const UPTIME_BADGE_CACHE = 'public, max-age=300';

type GroupRequest = FastifyRequest<{ Querystring: Record<string, unknown> }>;
const groupOf = (req: GroupRequest): string | undefined => labelFilterOf({ group: req.query.group }).group;

type BadgeRequest = FastifyRequest<{ Params: { check: string }; Querystring: { window?: string } }>;

export function uiRoutes(ctx: UiRoutesContext): FastifyPluginAsync {
  return async (app: FastifyInstance) => {
    // Before every route below (and before auth, so refusals carry them too).
    app.addHook(
      'onRequest',
      securityHeadersHook((req) => {
        const route = req.routeOptions.url;
        return route === '/' || route === '/ui' ? 'ui' : route === '/status' ? 'status' : 'data';
      }),
    );
    await app.register(webAssets(ctx.webDir));

    await app.register(async (api) => {
      api.addHook('onRequest', ctx.access.hook('read'));
      api.get(
        '/api/checks/:id/history',
        async (req: FastifyRequest<{ Params: { id: string }; Querystring: { bucket?: string } }>) => {
          const bucket = req.query.bucket ?? 'hour';
          if (bucket !== 'hour' && bucket !== 'day') {
            throw new SluiceError(
              'SLUICE_ERR_INVALID_QUERY',
              { field: 'bucket', problem: 'must be hour or day' },
              { problems: [{ field: 'bucket', message: 'must be hour or day' }] },
            );
          }
          // An id, or a name (names are unique), as every /admin/checks route takes.
          const id = ctx.health.idOf(req.params.id);
          if (id === undefined)
            throw new SluiceError('SLUICE_ERR_NOT_FOUND', { what: `check with id or name "${req.params.id}"` });
          return { id, bucket, items: await checkBuckets(ctx, id, bucket) };
        },
      );
    });

    const sp = ctx.config.statusPage;
    if (!sp.enabled) return;
    const source = new PublicStatusSource({ health: ctx.health, config: sp, pool: ctx.pool });

    // ?group=… narrows the page (and its overall state) to one group of the visible checks.
    app.get('/status', async (req: GroupRequest, reply) => {
      const html = renderStatusPage(await source.status(Date.now(), groupOf(req)));
      return reply.type('text/html; charset=utf-8').header('cache-control', 'no-cache').send(html);
    });

    app.get('/status.json', async (req: GroupRequest, reply) => {
      void reply.header('cache-control', 'no-cache').header('access-control-allow-origin', '*');
      return source.status(Date.now(), groupOf(req));
    });

    const badge = (reply: FastifyReply, code: number, cache: string, label: string, value: string, colour: string) =>
      reply
        .code(code)
        .type('image/svg+xml; charset=utf-8')
        .header('cache-control', cache)
        .header('x-content-type-options', 'nosniff')
        .send(badgeSvg(label, value, colour));

    app.get('/badge/:check/status.svg', async (req: BadgeRequest, reply) => {
      const c = source.find(req.params.check);
      if (!c)
        return badge(reply, 404, 'no-cache', req.params.check.slice(0, 40), 'not found', stateColour('not found'));
      const state = c.enabled === false ? 'paused' : c.state;
      return badge(reply, 200, STATUS_BADGE_CACHE, String(c.name), state, stateColour(state));
    });

    app.get('/badge/:check/uptime.svg', async (req: BadgeRequest, reply) => {
      const window = req.query.window ?? '24h';
      if (!(UPTIME_WINDOWS as readonly string[]).includes(window)) {
        throw new SluiceError(
          'SLUICE_ERR_INVALID_QUERY',
          { field: 'window', problem: 'must be 24h, 7d or 30d' },
          { problems: [{ field: 'window', message: 'must be 24h, 7d or 30d' }] },
        );
      }
      const c = source.find(req.params.check);
      if (!c)
        return badge(reply, 404, 'no-cache', req.params.check.slice(0, 40), 'not found', stateColour('not found'));
      const p = (await ctx.health.uptimeOf(c.id))[window as (typeof UPTIME_WINDOWS)[number]].percent;
      return badge(
        reply,
        200,
        UPTIME_BADGE_CACHE,
        `uptime ${window}`,
        p === null ? 'no data' : `${p.toFixed(2)}%`,
        uptimeColour(p),
      );
    });
  };
}
