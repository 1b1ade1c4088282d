// Applies the rate limits to ingest routes (those marked INGEST_ROUTE): before the body is
// read, a request is admitted against its client's requests and bytes buckets, or refused with
// 429, Retry-After and the RateLimit-Limit / -Remaining / -Reset headers (IETF httpapi draft
// names). Records, known only once parsed, are charged after (`chargeRecords`), as debt that
// the next request waits out. The client is the API key when one was presented (after the auth
// hook), else the client address.
import type { FastifyInstance, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import { SluiceError } from '../../errors.js';
import type { Metrics } from '../../observability/metrics.js';
import { onIngestRequest } from '../ingest-route.js';
import { addressKey } from './client-address.js';
import type { RateLimitConfig } from './config.js';
import { RateLimiter, type ClientBuckets, type LimitName, type RateLimits } from './limiter.js';

/** How often clients whose buckets have refilled are forgotten. */
const SWEEP_MS = 10_000;
/** A refused request with a larger body closes its connection rather than have its body read and dropped. */
const CLOSE_ABOVE_BYTES = 64 * 1024;

interface Charge {
  limiter: RateLimiter;
  client: ClientBuckets;
  /** The body's size was not declared: it is charged with the records. */
  bytesLater: boolean;
}

declare module 'fastify' {
  interface FastifyRequest {
    sluiceRateLimit: Charge | null;
  }
}

const SETTING: Record<LimitName, Exclude<keyof RateLimits, 'burst'>> = {
  requests: 'requestsPerSecond',
  records: 'recordsPerSecond',
  bytes: 'bytesPerSecond',
};

export interface RateLimitOptions {
  config: RateLimitConfig;
  metrics: Metrics;
  /** Milliseconds (tests). */
  now?: () => number;
}

/** Call before the ingest routes are registered. Returns the limiter (its table size is what tests watch). */
export function installRateLimit(app: FastifyInstance, opts: RateLimitOptions): RateLimiter {
  const { config, metrics } = opts;
  const limiter = new RateLimiter({
    limits: {
      requestsPerSecond: config.requestsPerSecond,
      recordsPerSecond: config.recordsPerSecond,
      bytesPerSecond: config.bytesPerSecond,
      burst: config.burst,
    },
    maxClients: config.maxClients,
    ...(opts.now ? { now: opts.now } : {}),
  });
  const globalOff = config.requestsPerSecond <= 0 && config.recordsPerSecond <= 0 && config.bytesPerSecond <= 0;
  for (const limit of Object.keys(SETTING)) metrics.rateLimited.labels('anonymous', limit).inc(0);
  app.decorateRequest('sluiceRateLimit', null);
  const sweep = setInterval(() => limiter.sweep(), SWEEP_MS);
  sweep.unref();
  app.addHook('onClose', (_app, done) => {
    clearInterval(sweep);
    done();
  });

  // Callback style: it runs on every ingest request.
  onIngestRequest(app, (req: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => {
    const key = req.apiKey;
    // Only a key can bring limits of its own: without one, nothing to do when all are off.
    if (!key && globalOff) return done();
    const address = key ? undefined : addressKey(req.ip);
    const length = req.headers['content-length'];
    const bytes =
      length !== undefined ? Number(length) || 0 : req.headers['transfer-encoding'] !== undefined ? undefined : 0;
    const a = limiter.admit(key ? { id: `key:${key.id}`, limits: key.rateLimit } : { id: `addr:${address}` }, bytes);
    if (!a) return done();
    void reply.header('ratelimit-limit', String(a.shown.size));
    void reply.header('ratelimit-remaining', String(a.shown.remaining));
    void reply.header('ratelimit-reset', String(a.shown.resetSeconds));
    if (a.refused) {
      const { limit, retryAfterSeconds } = a.refused;
      metrics.rateLimited.labels(key ? key.id : 'anonymous', limit).inc();
      if (bytes === undefined || bytes > CLOSE_ABOVE_BYTES) void reply.header('connection', 'close');
      const rate = limiter.limitsOf(key ? { id: '', limits: key.rateLimit } : { id: '' });
      const perSecond = rate[SETTING[limit]];
      const setting =
        key?.rateLimit?.[SETTING[limit]] !== undefined ? "the key's own limit" : `rateLimit.${SETTING[limit]}`;
      return done(
        new SluiceError(
          'SLUICE_ERR_RATE_LIMITED',
          {
            limit: `${perSecond} ${limit}/s (burst ${rate.burst} s, ${setting})`,
            client: key ? `key ${key.id}` : `client ${address}`,
            retry: retryAfterSeconds,
          },
          { retryAfter: retryAfterSeconds },
        ),
      );
    }
    req.sluiceRateLimit = { limiter, client: a.client, bytesLater: bytes === undefined };
    done();
  });
  return limiter;
}

/**
 * Charges an accepted request's records (and its body's bytes, when they were not declared up
 * front) to its client; a no-op on routes or clients without limits. Every ingest handler calls
 * it once its records are accepted.
 */
export function chargeRecords(req: FastifyRequest, records: number, bodyBytes: number): void {
  const c = req.sluiceRateLimit;
  if (c) c.limiter.charge(c.client, records, c.bytesLater ? bodyBytes : 0);
}
