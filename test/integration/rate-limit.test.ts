// Rate limits against a real collector over real connections: two clients on two loopback
// addresses (127.0.0.1 and 127.0.0.2), one flooding. The quiet one gets every request
// accepted; the flooder gets 429s with Retry-After and the RateLimit-* headers.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { Agent, request } from 'undici';
import type { App } from '../../src/app.js';
import { startApp, tempDir, testConfig } from '../helpers/app.js';
import { metric } from '../helpers/metric.js';

const cleanups: Array<() => Promise<void> | void> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

async function collector(overrides: Record<string, string | number>): Promise<App> {
  const dir = tempDir();
  const app = await startApp(testConfig({ 'ingest.ack': 'memory', ...overrides }, dir.path));
  cleanups.push(dir.remove, () => app.stop());
  return app;
}

function clientFrom(localAddress: string): Agent {
  const agent = new Agent({ localAddress, connections: 16 });
  cleanups.push(() => agent.close());
  return agent;
}

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
}

async function post(app: App, agent: Agent, body: string, path = '/logs'): Promise<Answer> {
  const res = await request(`${app.url}${path}`, {
    method: 'POST',
    dispatcher: agent,
    headers: { 'content-type': 'application/x-ndjson' },
    body,
  });
  await res.body.dump();
  return { status: res.statusCode, headers: res.headers };
}

describe('rate limits (two client addresses)', () => {
  test('a flooding client gets 429s with the rate-limit headers; a quiet one gets all its requests accepted', async () => {
    const app = await collector({ 'rateLimit.requestsPerSecond': 20, 'rateLimit.burst': 1 });
    const flooder = clientFrom('127.0.0.2');
    const quiet = clientFrom('127.0.0.1');
    let flooding = true;
    const floodAnswers: Answer[] = [];
    const refusals = (): number => floodAnswers.filter((a) => a.status === 429).length;
    const startedAt = performance.now();
    const flood = Promise.all(
      Array.from({ length: 16 }, async () => {
        while (flooding) floodAnswers.push(await post(app, flooder, '{"msg":"flood"}'));
      }),
    );
    // The quiet client sends fewer requests than its bucket holds, one at a time, each only once
    // the flooder has been refused once more: every one of them lands while the flood is limited.
    const quietAnswers: Answer[] = [];
    for (let i = 0; i < 15; i++) {
      const seen = refusals();
      while (refusals() <= seen) floodAnswers.push(await post(app, flooder, '{"msg":"flood"}'));
      quietAnswers.push(await post(app, quiet, `{"msg":"quiet-${i}"}`));
    }
    flooding = false;
    await flood;
    const seconds = (performance.now() - startedAt) / 1000;

    assert.deepEqual(
      quietAnswers.map((a) => a.status),
      Array<number>(15).fill(202),
    );
    const refused = floodAnswers.filter((a) => a.status === 429);
    const accepted = floodAnswers.filter((a) => a.status === 202);
    assert.ok(refused.length > 0 && accepted.length > 0);
    // The bucket holds 20 and refills 20 a second: the flooder cannot have got more through.
    assert.ok(accepted.length <= 20 + Math.ceil(20 * seconds), `${accepted.length} accepted in ${seconds} s`);
    assert.equal(refused.length + accepted.length, floodAnswers.length, 'nothing but 202 and 429');
    for (const a of refused) {
      assert.ok(Number(a.headers['retry-after']) >= 1);
      assert.equal(a.headers['ratelimit-limit'], '20');
      assert.equal(a.headers['ratelimit-remaining'], '0');
      assert.ok(Number(a.headers['ratelimit-reset']) >= 1);
    }
    for (const a of accepted) assert.equal(a.headers['ratelimit-limit'], '20');
    assert.equal(await metric(app, 'sluice_rate_limited_total{key="anonymous",limit="requests"}'), refused.length);
  });

  test('records a second: a client over its records limit is refused until its debt is paid; /health is limited too', async () => {
    const app = await collector({ 'rateLimit.recordsPerSecond': 10, 'rateLimit.burst': 1 });
    const client = clientFrom('127.0.0.2');
    const other = clientFrom('127.0.0.1');
    const hundred = Array.from({ length: 100 }, (_, i) => `{"msg":"m${i}"}`).join('\n');
    assert.equal((await post(app, client, hundred)).status, 202);
    const next = await post(app, client, '{"msg":"more"}');
    assert.equal(next.status, 429);
    assert.ok(Number(next.headers['retry-after']) >= 9, '90 records in debt at 10/s');
    assert.equal((await post(app, client, '{"service":"svc","status":"up"}', '/health')).status, 429);
    assert.equal((await post(app, other, '{"msg":"fine"}')).status, 202, 'another address is not in debt');
    assert.equal(await metric(app, 'sluice_rate_limited_total{key="anonymous",limit="records"}'), 2);
  });

  test('two ingest tokens from one address: each has its own bucket, counted by key id', async () => {
    const app = await collector({
      'auth.ingestTokens': 'token-noisy,token-quiet',
      'rateLimit.requestsPerSecond': 2,
      'rateLimit.burst': 3,
    });
    const client = clientFrom('127.0.0.1');
    const send = (token: string): Promise<Answer> =>
      request(`${app.url}/logs`, {
        method: 'POST',
        dispatcher: client,
        headers: { 'content-type': 'application/x-ndjson', authorization: `Bearer ${token}` },
        body: '{"msg":"x"}',
      }).then(async (res) => {
        await res.body.dump();
        return { status: res.statusCode, headers: res.headers };
      });
    const flood = await Promise.all(Array.from({ length: 30 }, () => send('token-noisy')));
    const refused = flood.filter((a) => a.status === 429).length;
    assert.ok(refused >= 20, `the noisy key is limited (${refused} of 30 refused)`);
    // Same address, other key: its bucket is untouched by the flood.
    for (let i = 0; i < 3; i++) assert.equal((await send('token-quiet')).status, 202);
    assert.equal(await metric(app, 'sluice_rate_limited_total{key="config:ingest:1",limit="requests"}'), refused);
    assert.ok(Number.isNaN(await metric(app, 'sluice_rate_limited_total{key="config:ingest:2",limit="requests"}')));
  });

  test('off by default: no headers, no 429', async () => {
    const app = await collector({});
    const client = clientFrom('127.0.0.1');
    const answers = await Promise.all(Array.from({ length: 50 }, () => post(app, client, '{"msg":"x"}')));
    for (const a of answers) {
      assert.equal(a.status, 202);
      assert.equal(a.headers['ratelimit-limit'], undefined);
    }
  });
});
