// Alert delivery against real local webhook servers: order per check survives retries, newer
// events replace unsent ones, requests per webhook and queued events are capped, and stop()
// cancels retries at once. Tests wait on what the server saw (waitFor); where silence must be
// shown, the retry timers run on fake time and are all made due at once.
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { pino } from 'pino';
import { webhookSchema, type AlertEvent } from '../../src/health/alert-schema.js';
import { Alerter, type AlerterOptions } from '../../src/health/alerts.js';
import type { CheckStateName } from '../../src/health/state.js';
import { waitFor } from '../helpers/wait-for.js';

interface Received {
  check: string;
  to: CheckStateName;
  tag: string | null;
  status: number;
}

type Answer = (r: Received, n: number) => { status: number; delayMs?: number } | 'hang';

interface Hook {
  url: string;
  /** Every request, in arrival order, with the status it was answered with (0 until answered). */
  seen: Received[];
  active: { now: number; max: number };
  answer: Answer;
  /** Answers every request held with 'hang'. */
  release(status?: number): void;
  close(): Promise<void>;
}

async function startHook(answer: Answer): Promise<Hook> {
  const held: Array<(status: number) => void> = [];
  const hook: Hook = {
    url: '',
    seen: [],
    active: { now: 0, max: 0 },
    answer,
    release: (status = 200) => held.splice(0).forEach((h) => h(status)),
    close: async () => {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    hook.active.now++;
    hook.active.max = Math.max(hook.active.max, hook.active.now);
    res.on('close', () => hook.active.now--);
    let data = '';
    req.on('data', (c: Buffer) => (data += c.toString()));
    req.on('end', () => {
      const body = JSON.parse(data) as {
        check: { id: string };
        to: CheckStateName;
        result: { message: string | null };
      };
      const r: Received = { check: body.check.id, to: body.to, tag: body.result.message, status: 0 };
      hook.seen.push(r);
      const reply = (status: number): void => {
        r.status = status;
        res.writeHead(status).end();
      };
      const a = hook.answer(r, hook.seen.length);
      if (a === 'hang') held.push(reply);
      else if (a.delayMs) setTimeout(() => reply(a.status), a.delayMs);
      else reply(a.status);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  hook.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  return hook;
}

function event(check: string, from: CheckStateName, to: CheckStateName, tag: string | null = null): AlertEvent {
  return {
    check: { id: check, name: check, kind: 'http', target: null },
    from,
    to,
    at: new Date().toISOString(),
    result: { error_class: null, message: tag, latency_ms: null, status_code: null },
  };
}

function alerter(hook: Hook, extra: Partial<AlerterOptions> = {}): Alerter {
  return new Alerter({
    webhooks: [webhookSchema.parse(hook.url)],
    retries: 5,
    baseDelayMs: 20,
    timeoutMs: 10_000,
    logger: pino({ level: 'silent' }),
    ...extra,
  });
}

const delivered = (h: Hook, check?: string): Received[] =>
  h.seen.filter((r) => r.status === 200 && (check === undefined || r.check === check));

test('a retried down never lands after the later up: one delivery per check at a time', async () => {
  // The first attempt fails; without ordering the `up` would arrive first and the retried
  // `down` after it, leaving the receiver on the wrong state.
  const hook = await startHook((_r, n) => ({ status: n === 1 ? 503 : 200 }));
  const a = alerter(hook);
  try {
    a.notify(event('api', 'up', 'down'));
    a.notify(event('api', 'down', 'up'));
    await waitFor('two deliveries', () => delivered(hook).length === 2);
    assert.deepEqual(
      hook.seen.map((r) => `${r.to}:${r.status}`),
      ['down:503', 'down:200', 'up:200'],
    );
    assert.equal(delivered(hook).at(-1)?.to, 'up');
  } finally {
    await a.stop();
    await hook.close();
  }
});

test('a newer event replaces an unsent one for the same check, both behind a delivery and waiting for a slot', async () => {
  const hook = await startHook(() => 'hang');
  const a = alerter(hook, { maxInFlightPerWebhook: 1 });
  try {
    a.notify(event('api', 'up', 'down', 'a1'));
    await waitFor('first request', () => hook.seen.length === 1);
    // Behind api's delivery under way: a2 and a3 are replaced by a4.
    a.notify(event('api', 'down', 'up', 'a2'));
    a.notify(event('api', 'up', 'down', 'a3'));
    a.notify(event('api', 'down', 'up', 'a4'));
    // db waits for the single request slot: b1 is replaced by b2.
    a.notify(event('db', 'up', 'down', 'b1'));
    a.notify(event('db', 'down', 'up', 'b2'));
    assert.deepEqual(
      { ...a.stats(), inFlight: undefined },
      { queued: 2, inFlight: undefined, lanes: 2, replaced: 3, dropped: 0 },
    );
    hook.answer = () => ({ status: 200 });
    hook.release();
    await waitFor('three deliveries', () => delivered(hook).length === 3);
    assert.deepEqual(
      delivered(hook, 'api').map((r) => r.tag),
      ['a1', 'a4'],
    );
    assert.deepEqual(
      delivered(hook, 'db').map((r) => r.tag),
      ['b2'],
    );
    await waitFor('idle', () => a.stats().lanes === 0);
  } finally {
    await a.stop();
    await hook.close();
  }
});

test('past maxQueued the oldest unsent events are dropped and counted in rate-limited warnings', async () => {
  const hook = await startHook(() => 'hang');
  const lines: Array<{ msg: string; dropped?: number }> = [];
  const sink = new Writable({
    write: (chunk: Buffer, _e, cb) => (lines.push(JSON.parse(chunk.toString()) as { msg: string }), cb()),
  });
  const a = alerter(hook, { maxInFlightPerWebhook: 1, maxQueued: 5, logger: pino({ level: 'warn' }, sink) });
  try {
    a.notify(event('c0', 'up', 'down'));
    await waitFor('first request', () => hook.seen.length === 1);
    for (let i = 1; i < 10; i++) a.notify(event(`c${i}`, 'up', 'down'));
    assert.equal(a.stats().queued, 5);
    assert.equal(a.stats().dropped, 4);
    hook.answer = () => ({ status: 200 });
    hook.release();
    await waitFor('six deliveries', () => delivered(hook).length === 6);
    assert.deepEqual(
      delivered(hook).map((r) => r.check),
      ['c0', 'c5', 'c6', 'c7', 'c8', 'c9'],
    );
  } finally {
    await a.stop();
    await hook.close();
  }
  // The first drop is told at once, the rest within the rate limit (here: at stop), so a
  // storm does not flood the log but every drop is counted.
  const warned = lines.filter((l) => l.msg.includes('oldest alerts dropped'));
  assert.ok(warned.length >= 1 && warned.length <= 2, `${warned.length} warnings`);
  assert.equal(
    warned.reduce((n, l) => n + (l.dropped ?? 0), 0),
    4,
  );
});

test('200 checks changing state against a slow, flaky webhook: never more than the cap in flight, each ends on its true state', async () => {
  const warnings: Error[] = [];
  const onWarning = (w: Error): number => warnings.push(w);
  process.on('warning', onWarning);
  // Slow answers, and every third one a 500 so retries and backoff timers are in play too.
  const hook = await startHook((_r, n) => ({ status: n % 3 === 0 ? 500 : 200, delayMs: 30 }));
  const cap = 8;
  const a = alerter(hook, { maxInFlightPerWebhook: cap, baseDelayMs: 10 });
  try {
    const checks = Array.from({ length: 200 }, (_, i) => `check-${i}`);
    for (const c of checks) a.notify(event(c, 'up', 'down'));
    for (const c of checks) a.notify(event(c, 'down', 'up'));
    for (const c of checks.slice(0, 100)) a.notify(event(c, 'up', 'down'));
    assert.ok(a.stats().inFlight <= cap);
    await waitFor('all settled', () => a.stats().lanes === 0, 60_000);
    assert.ok(hook.active.max <= cap, `${hook.active.max} concurrent requests at the webhook`);
    assert.ok(hook.active.max >= 2, 'deliveries ran concurrently');
    for (const [i, c] of checks.entries()) {
      const got = delivered(hook, c).map((r) => r.to);
      assert.equal(got.at(-1), i < 100 ? 'down' : 'up', `${c}: ${got.join(',')}`);
    }
    assert.deepEqual(
      warnings.map((w) => w.name),
      [],
    );
  } finally {
    process.off('warning', onWarning);
    await a.stop();
    await hook.close();
  }
});

test('stop() during retries and a hanging request resolves promptly and nothing is sent afterwards', async (t) => {
  // The backoff timers run on fake time: the test moves it on while it waits for the retries,
  // and after stop() makes every timer due at once, which would fire any retry left behind.
  t.mock.timers.enable({ apis: ['setTimeout'] });
  // Check "slow" hangs forever; the others fail and sit in backoff with retries due soon.
  const hook = await startHook((r) => (r.check === 'slow' ? 'hang' : { status: 503 }));
  const a = alerter(hook, { baseDelayMs: 200, timeoutMs: 60_000 });
  for (let i = 0; i < 5; i++) a.notify(event(`c${i}`, 'up', 'down'));
  a.notify(event('slow', 'up', 'down'));
  const retried = (): boolean =>
    ['c0', 'c1', 'c2', 'c3', 'c4'].every((c) => hook.seen.filter((r) => r.check === c).length >= 2);
  await waitFor('a retry of each failing check', () => (t.mock.timers.tick(50), retried()));
  await waitFor('the hanging request', () => hook.seen.some((r) => r.check === 'slow'));
  // Failures since the last retry sit in backoff now, their timers pending.
  const t0 = Date.now();
  await a.stop();
  const took = Date.now() - t0;
  // The hanging request would hold for 60 s: this only has to tell "cancelled" from "waited".
  assert.ok(took < 5000, `stop took ${took} ms`);
  const seen = hook.seen.length;
  a.notify(event('c0', 'down', 'up'));
  // Retries are due within 200 × 2^5 ms; a timer left behind would start its request here,
  // synchronously, and show as a request in flight.
  t.mock.timers.tick(60_000);
  assert.deepEqual(a.stats(), { queued: 0, inFlight: 0, lanes: 0, replaced: 0, dropped: 0 });
  // The hook answers one more request of the test's own, so any request sent before it
  // would have been seen too.
  await fetch(hook.url, {
    method: 'POST',
    body: JSON.stringify({ check: { id: 'probe' }, to: 'up', result: { message: null } }),
  });
  assert.deepEqual(
    hook.seen.slice(seen).map((r) => r.check),
    ['probe'],
    'requests after stop()',
  );
  await hook.close();
});

test('close(ms) lets a working webhook receive what is queued before stopping', async () => {
  const hook = await startHook(() => ({ status: 200, delayMs: 20 }));
  const a = alerter(hook, { maxInFlightPerWebhook: 2 });
  for (let i = 0; i < 10; i++) a.notify(event(`c${i}`, 'up', 'down'));
  await a.close(20_000);
  assert.equal(delivered(hook).length, 10);
  await hook.close();
});
