// Pings by URL for push checks, so a cron job needs nothing but curl: `/health/<check>` (the
// job succeeded), `/health/<check>/start` (it began: the next success records its duration) and
// `/health/<check>/fail`. GET or POST; a body is optional and, when text, kept as the result's
// message. Same auth, rate limits and shutdown gate as POST /health.
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { SluiceError } from '../errors.js';
import { INGEST_ROUTE } from '../http/ingest-route.js';
import type { IngestContext } from './enqueue.js';
import { refuseWhenStopping } from './ingest-routes.js';

export type PingSignal = 'success' | 'start' | 'fail';
/**
 * What the health checker made of a ping (see HealthChecker.pingCheck); `unavailable`: it was
 * relayed to the node running the push checks (scale-out) and none answered.
 */
export type PingAnswer = 'ok' | 'unknown' | 'not_push' | 'disabled' | 'unavailable';
export type CheckPinger = (
  check: string,
  signal: PingSignal,
  message: string | null,
) => PingAnswer | Promise<PingAnswer>;

/** Plenty for a line of job output; a bigger body is refused (413), not truncated silently. */
const MAX_PING_BODY_BYTES = 10_000;
const MAX_MESSAGE_CHARS = 1000;

type PingRequest = FastifyRequest<{ Params: { check: string } }>;

export function pingRoutes(ctx: IngestContext, ping: CheckPinger): FastifyPluginAsync {
  return async (app: FastifyInstance) => {
    // Whatever curl sends (no type, form-encoded, text): read as bytes, used as a message.
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: MAX_PING_BODY_BYTES }, (_req, body, done) =>
      done(null, body),
    );
    app.addHook('onRequest', ctx.access.hook('ingest'));

    const handler =
      (signal: PingSignal) =>
      async (req: PingRequest, reply: FastifyReply): Promise<FastifyReply> => {
        refuseWhenStopping(ctx);
        const check = req.params.check;
        const answer = await ping(check, signal, messageOf(req.body));
        if (answer === 'unavailable')
          throw new SluiceError('SLUICE_ERR_SINK_FAILED', {
            subject: 'the ping was not taken',
            detail: 'no node running the push checks answered (health lease not held yet, or NATS away); retry',
          });
        if (answer === 'unknown')
          throw new SluiceError('SLUICE_ERR_NOT_FOUND', { what: `check with id or name "${check}"` });
        if (answer === 'not_push')
          throw new SluiceError(
            'SLUICE_ERR_CONFLICT',
            `check "${check}" is not a push check: only push checks take pings`,
          );
        if (answer === 'disabled')
          throw new SluiceError('SLUICE_ERR_CONFLICT', `check "${check}" is disabled: its pings are not watched`);
        ctx.metrics.countRequest(req.routeOptions.url ?? 'unmatched', 200);
        return reply.code(200).send({ check, ping: signal });
      };
    for (const [suffix, signal] of [
      ['', 'success'],
      ['/start', 'start'],
      ['/fail', 'fail'],
    ] as const) {
      app.route({ method: ['GET', 'POST'], url: `/health/:check${suffix}`, ...INGEST_ROUTE, handler: handler(signal) });
    }
  };
}

function messageOf(body: unknown): string | null {
  if (!Buffer.isBuffer(body) || body.length === 0) return null;
  const text = body.toString('utf8').trim();
  return text === '' ? null : text.slice(0, MAX_MESSAGE_CHARS);
}
