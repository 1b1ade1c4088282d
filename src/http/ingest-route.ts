// Marks a route as an ingest route, so the edge's per-route guards (rate limits, the mTLS
// client-certificate check) attach to it: `app.post('/v1/logs', INGEST_ROUTE, handler)`.
import type { FastifyInstance, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** An ingest route: rate limited, and behind the client-certificate check when mTLS is on. */
    ingest?: boolean;
  }
}

export const INGEST_ROUTE = { config: { ingest: true } } as const;

export type IngestHook = (req: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => void;

/**
 * Adds `hook` as the last onRequest hook of every ingest route registered after this call (in
 * any plugin): route hooks run after the plugins' own, so after the auth hook that identifies
 * the key. Other routes pay nothing.
 */
export function onIngestRequest(app: FastifyInstance, hook: IngestHook): void {
  app.addHook('onRoute', (route) => {
    if (route.config?.ingest !== true) return;
    const existing = route.onRequest;
    const hooks = existing === undefined ? [] : Array.isArray(existing) ? [...existing] : [existing];
    route.onRequest = [...hooks, hook] as typeof hooks;
  });
}
