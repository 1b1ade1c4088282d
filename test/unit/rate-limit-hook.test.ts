// The rate-limit hook on a real Fastify instance (requests injected, clock moved by the test):
// which routes it guards, how it answers a refusal (429, Retry-After, RateLimit-* headers,
// a message naming the limit), keys vs addresses, records charged after the fact, and the
// metrics it counts (by key id, never by address).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { fastify, type FastifyInstance } from 'fastify';
import { installErrorHandler } from '../../src/http/error-handler.js';
import { INGEST_ROUTE } from '../../src/http/ingest-route.js';
import { chargeRecords, installRateLimit } from '../../src/http/rate-limit/rate-limit-hook.js';
import type { RateLimitConfig } from '../../src/http/rate-limit/config.js';
import type { RateLimiter } from '../../src/http/rate-limit/limiter.js';
import { Metrics } from '../../src/observability/metrics.js';
import { useFakeTime } from '../helpers/fake-time.js';

interface Harness {
  app: FastifyInstance;
  metrics: Metrics;
  limiter: RateLimiter;
  clock: { t: number };
}

async function harness(config: Partial<RateLimitConfig>, now?: () => number): Promise<Harness> {
  const clock = { t: 0 };
  const metrics = new Metrics({ defaultMetrics: false });
  const app = fastify();
  installErrorHandler(app, metrics);
  const limiter = installRateLimit(app, {
    config: { requestsPerSecond: 0, recordsPerSecond: 0, bytesPerSecond: 0, burst: 1, maxClients: 1000, ...config },
    metrics,
    now: now ?? (() => clock.t),
  });
  await app.register(async (scope) => {
    // Stands in for lane access's auth hook: the key named in a header, its limits in another.
    scope.addHook('onRequest', (req, _reply, done) => {
      const id = req.headers['x-key'];
      if (typeof id === 'string') {
        const own = req.headers['x-key-rps'];
        Object.assign(req, { apiKey: { id, ...(own ? { rateLimit: { requestsPerSecond: Number(own) } } : {}) } });
      }
      done();
    });
    scope.post('/ingest', INGEST_ROUTE, async (req) => {
      const lines = String(req.body).split('\n').length;
      chargeRecords(req, lines, Buffer.byteLength(String(req.body)));
      return { accepted: lines };
    });
    scope.post('/other', async () => ({ ok: true }));
  });
  await app.ready();
  return { app, metrics, limiter, clock };
}

const send = (h: Harness, opts: { body?: string; from?: string; key?: string; keyRps?: number; url?: string } = {}) =>
  h.app.inject({
    method: 'POST',
    url: opts.url ?? '/ingest',
    remoteAddress: opts.from ?? '10.0.0.1',
    headers: {
      'content-type': 'text/plain',
      ...(opts.key ? { 'x-key': opts.key } : {}),
      ...(opts.keyRps ? { 'x-key-rps': String(opts.keyRps) } : {}),
    },
    payload: opts.body ?? 'a',
  });

async function metricValue(m: Metrics, key: string, limit: string): Promise<number> {
  const text = await m.render();
  const line = text.split('\n').find((l) => l.startsWith(`sluice_rate_limited_total{key="${key}",limit="${limit}"}`));
  return line ? Number(line.split(' ').pop()) : NaN;
}

describe('rate-limit hook', () => {
  test('refuses past the limit with 429, Retry-After, RateLimit-* headers and a message naming the setting', async () => {
    const h = await harness({ requestsPerSecond: 2, burst: 2 });
    for (let i = 0; i < 4; i++) {
      const res = await send(h);
      assert.equal(res.statusCode, 200);
      assert.equal(res.headers['ratelimit-limit'], '4');
      assert.equal(res.headers['ratelimit-remaining'], String(3 - i));
    }
    const res = await send(h);
    assert.equal(res.statusCode, 429);
    assert.equal(res.headers['retry-after'], '1');
    assert.equal(res.headers['ratelimit-limit'], '4');
    assert.equal(res.headers['ratelimit-remaining'], '0');
    assert.equal(res.headers['ratelimit-reset'], '2');
    const body = res.json<{ error: string; message: string }>();
    assert.equal(body.error, 'SLUICE_ERR_RATE_LIMITED');
    assert.match(
      body.message,
      /client 10\.0\.0\.1 sent more than 2 requests\/s \(burst 2 s, rateLimit\.requestsPerSecond\)/,
    );
    h.clock.t = 500;
    assert.equal((await send(h)).statusCode, 200, 'one token back after 500 ms at 2/s');
    assert.equal(await metricValue(h.metrics, 'anonymous', 'requests'), 1);
    await h.app.close();
  });

  test('guards only ingest routes: other routes get no buckets and no headers', async () => {
    const h = await harness({ requestsPerSecond: 1, burst: 1 });
    for (let i = 0; i < 5; i++) {
      const res = await send(h, { url: '/other' });
      assert.equal(res.statusCode, 200);
      assert.equal(res.headers['ratelimit-limit'], undefined);
    }
    assert.equal(h.limiter.size, 0);
    await h.app.close();
  });

  test('with every limit off a request passes untouched (no headers)', async () => {
    const h = await harness({});
    const res = await send(h);
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['ratelimit-limit'], undefined);
    await h.app.close();
  });

  test('one noisy key cannot starve another key, even from the same address; counted by key id', async () => {
    const h = await harness({ requestsPerSecond: 5, burst: 1 });
    let noisyRefused = 0;
    for (let i = 0; i < 50; i++) if ((await send(h, { key: 'noisy' })).statusCode === 429) noisyRefused++;
    assert.equal(noisyRefused, 45);
    for (let i = 0; i < 5; i++) assert.equal((await send(h, { key: 'quiet' })).statusCode, 200);
    assert.equal(await metricValue(h.metrics, 'noisy', 'requests'), 45);
    assert.ok(Number.isNaN(await metricValue(h.metrics, 'quiet', 'requests')), 'no series for a key never limited');
    const text = await h.metrics.render();
    assert.doesNotMatch(text, /10\.0\.0\.1/, 'no client address in any label');
    await h.app.close();
  });

  test("a key's own limit replaces the configured one", async () => {
    const h = await harness({ requestsPerSecond: 1, burst: 1 });
    for (let i = 0; i < 20; i++) assert.equal((await send(h, { key: 'big', keyRps: 20 })).statusCode, 200);
    const res = await send(h, { key: 'big', keyRps: 20 });
    assert.equal(res.statusCode, 429);
    assert.match(
      res.json<{ message: string }>().message,
      /key big sent more than 20 requests\/s .*the key's own limit/,
    );
    await h.app.close();
  });

  test('records are charged once counted: a large request puts its client in debt, and the next one waits', async () => {
    const h = await harness({ recordsPerSecond: 10, burst: 1 });
    const big = Array.from({ length: 35 }, (_, i) => `r${i}`).join('\n');
    assert.equal((await send(h, { body: big })).statusCode, 200);
    const res = await send(h);
    assert.equal(res.statusCode, 429);
    assert.equal(res.headers['retry-after'], '3', '25 records in debt, one more needed, at 10/s: 2.6 s');
    assert.equal(await metricValue(h.metrics, 'anonymous', 'records'), 1);
    h.clock.t = 2600;
    assert.equal((await send(h)).statusCode, 200);
    await h.app.close();
  });

  test('bytes: a declared body that does not fit is refused before it is read, and a large one closes the connection', async () => {
    const h = await harness({ bytesPerSecond: 100_000, burst: 1 });
    assert.equal((await send(h, { body: 'x'.repeat(90_000) })).statusCode, 200);
    const res = await send(h, { body: 'x'.repeat(70_000) });
    assert.equal(res.statusCode, 429);
    assert.equal(res.headers.connection, 'close');
    assert.equal(await metricValue(h.metrics, 'anonymous', 'bytes'), 1);
    const small = await send(h, { body: 'x'.repeat(5000) });
    assert.equal(small.statusCode, 200, '10 kB left takes a small body');
    await h.app.close();
  });

  test('a spray of client addresses keeps the table within rateLimit.maxClients', async () => {
    const h = await harness({ requestsPerSecond: 1, burst: 1, maxClients: 50 });
    for (let i = 0; i < 500; i++) {
      assert.equal((await send(h, { from: `10.1.${i >> 8}.${i & 255}` })).statusCode, 200);
    }
    assert.equal(h.limiter.size, 50);
    await h.app.close();
  });

  test('every 10 s the clients whose buckets have refilled are forgotten', async (t) => {
    const time = useFakeTime(t);
    const h = await harness({ requestsPerSecond: 1, burst: 5 }, () => Date.now());
    for (let i = 0; i < 20; i++) assert.equal((await send(h, { from: `10.2.0.${i}` })).statusCode, 200);
    await time.advance(8000);
    for (let i = 0; i < 5; i++) assert.equal((await send(h, { from: '10.2.1.1' })).statusCode, 200);
    assert.equal(h.limiter.size, 21);
    await time.advance(2000);
    assert.equal(h.limiter.size, 1, 'at 10 s: the 20 were full again after 1 s; the busy one needs 5 s from 8 s');
    await time.advance(10_000);
    assert.equal(h.limiter.size, 0);
    await h.app.close();
  });
});
