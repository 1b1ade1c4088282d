// Backpressure, auth, readiness and ack modes, against a real app with a controllable sink.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import type { App } from '../../src/app.js';
import type { Batch } from '../../src/batch.js';
import type { Sink } from '../../src/sinks/sink.js';
import { postJson, startApp, tempDir, testConfig } from '../helpers/app.js';
import { waitFor } from '../helpers/wait-for.js';

/** A sink whose speed and health the test controls. */
class ControlledSink implements Sink {
  readonly name = 'controlled';
  stored = 0;
  delayMs = 0;
  failing = false;
  async writeBatch(batch: Batch): Promise<void> {
    if (this.delayMs) await new Promise((r) => setTimeout(r, this.delayMs));
    if (this.failing) throw new Error('connection refused');
    this.stored += batch.records.length;
  }
  async close(): Promise<void> {}
}

const cleanups: Array<() => Promise<void> | void> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

async function appWith(overrides: Record<string, string | number>, sink: Sink): Promise<App> {
  const dir = tempDir();
  const app = await startApp(testConfig(overrides, dir.path), { sink });
  cleanups.push(dir.remove, () => app.stop());
  return app;
}

const ndjson = (n: number, tag: string) =>
  Array.from({ length: n }, (_, i) => JSON.stringify({ msg: `${tag}-${i}` })).join('\n');

describe('backpressure', () => {
  test('answers 429 with Retry-After when the buffer is full, keeps the buffer within its bound, and loses nothing accepted', async () => {
    const sink = new ControlledSink();
    sink.delayMs = 50;
    const app = await appWith(
      {
        'buffer.maxRecords': 500,
        'batch.maxRecords': 100,
        'batch.maxWaitMs': 10,
        'writers.count': 1,
        'writers.queue': 1,
        'ingest.enqueueTimeoutMs': 20,
        'ingest.retryAfterSeconds': 2,
      },
      sink,
    );
    let accepted = 0;
    let rejected = 0;
    let retryAfter: string | null = null;
    let maxBuffered = 0;
    let samples = 0;
    // The buffer's depth sampled on a timer all through the load, not only when a response arrives.
    const sampler = setInterval(() => {
      samples++;
      maxBuffered = Math.max(maxBuffered, app.buffer.stats().records);
    }, 1);
    // 40 concurrent requests of 100 records: far more than the slow sink drains in time.
    await Promise.all(
      Array.from({ length: 40 }, async (_, i) => {
        const res = await fetch(`${app.url}/logs`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-ndjson' },
          body: ndjson(100, `bp${i}`),
        });
        if (res.status === 202) accepted += ((await res.json()) as { accepted: number }).accepted;
        else {
          assert.equal(res.status, 429);
          retryAfter = res.headers.get('retry-after');
          assert.equal(((await res.json()) as Record<string, unknown>).error, 'SLUICE_ERR_BUFFER_FULL');
          rejected++;
        }
      }),
    ).finally(() => clearInterval(sampler));
    assert.ok(rejected > 0, 'some requests were pushed back');
    assert.equal(retryAfter, '2');
    assert.ok(
      samples > 0 && maxBuffered > 0,
      `the sampler saw the buffer in use during the load (${samples} samples, max ${maxBuffered})`,
    );
    assert.ok(maxBuffered <= 500, `buffer stayed within its bound (saw ${maxBuffered} in ${samples} samples)`);
    sink.delayMs = 0;
    await app.stop();
    assert.equal(sink.stored, accepted, 'every accepted record reached the sink');
  });
});

/** A sink that takes no batch until the test opens its gate. */
class GatedSink implements Sink {
  readonly name = 'gated';
  stored = 0;
  calls = 0;
  private opened!: () => void;
  private readonly gate = new Promise<void>((resolve) => (this.opened = resolve));
  async writeBatch(batch: Batch): Promise<void> {
    this.calls++;
    await this.gate;
    this.stored += batch.records.length;
  }
  open(): void {
    this.opened();
  }
  async close(): Promise<void> {}
}

async function until(cond: () => boolean, what: string, ms = 10_000): Promise<void> {
  for (const deadline = Date.now() + ms; !cond(); await new Promise((r) => setTimeout(r, 2))) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting until ${what}`);
  }
}

/**
 * Fills the buffer behind a gated sink with 10-record requests until one has to wait for room
 * (the buffer's wait line holds it); returns that request's pending response and when it was sent.
 * Every request before it must have been accepted.
 */
async function fillUntilOneWaits(app: App): Promise<{ waiting: Promise<Response>; sentAt: number; accepted: number }> {
  let accepted = 0;
  for (let i = 0; i < 200; i++) {
    const sentAt = performance.now();
    let answered: Response | undefined;
    let failed: unknown;
    const res = fetch(`${app.url}/logs`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-ndjson' },
      body: ndjson(10, `fill${i}`),
    });
    res.then(
      (r) => (answered = r),
      (err: unknown) => (failed = err),
    );
    // Whichever comes first: the answer, or the request showing up in the wait line.
    for (
      const deadline = Date.now() + 30_000;
      !answered && failed === undefined && app.buffer.stats().waiting === 0;
      await new Promise((r) => setTimeout(r, 2))
    ) {
      if (Date.now() > deadline) throw new Error(`request ${i} was neither answered nor seen waiting within 30 s`);
    }
    if (failed !== undefined) throw failed;
    if (!answered) return { waiting: res, sentAt, accepted };
    assert.equal(answered.status, 202, `request ${i} fits and is accepted at once`);
    accepted += 10;
  }
  throw new Error(`200 requests were all accepted: the buffer never filled (${JSON.stringify(app.buffer.stats())})`);
}

describe('waiting for room (ingest.enqueueTimeoutMs)', () => {
  const limits = {
    'buffer.maxRecords': 40,
    'batch.maxRecords': 10,
    'batch.maxWaitMs': 5,
    'writers.count': 1,
    'writers.queue': 1,
    'ingest.retryAfterSeconds': 3,
  };

  test(
    'a request that arrives while the buffer is full waits, and gets its 202 once room frees within the timeout',
    { timeout: 60_000 },
    async () => {
      const sink = new GatedSink();
      const timeoutMs = 20_000;
      const app = await appWith({ ...limits, 'ingest.enqueueTimeoutMs': timeoutMs }, sink);
      try {
        const { waiting, accepted } = await fillUntilOneWaits(app);
        assert.ok(accepted > 0, 'the buffer took requests before it was full');
        assert.equal(app.buffer.stats().waiting, 1, 'one request waits for room');
        // Still waiting a while later: neither answered nor refused.
        const early = await Promise.race([
          waiting.then((r) => r.status),
          new Promise<'pending'>((r) => setTimeout(() => r('pending'), 300)),
        ]);
        assert.equal(early, 'pending', 'the request is held, not refused');
        sink.open();
        const res = await waiting;
        assert.equal(res.status, 202, `admitted once the sink made room: ${await res.clone().text()}`);
        assert.deepEqual(await res.json(), { accepted: 10 });
        await until(() => sink.stored === accepted + 10, `all ${accepted + 10} accepted records are stored`);
      } finally {
        sink.open();
      }
    },
  );

  test(
    'while no room frees, the waiting request gets 429 with Retry-After, and only once the timeout has passed',
    { timeout: 60_000 },
    async () => {
      const sink = new GatedSink();
      const timeoutMs = 800;
      const app = await appWith({ ...limits, 'ingest.enqueueTimeoutMs': timeoutMs }, sink);
      try {
        const { waiting, sentAt } = await fillUntilOneWaits(app);
        const res = await waiting;
        const waitedMs = performance.now() - sentAt;
        assert.equal(res.status, 429);
        assert.equal(res.headers.get('retry-after'), '3');
        assert.equal(((await res.json()) as Record<string, unknown>).error, 'SLUICE_ERR_BUFFER_FULL');
        // A lower bound only; 5 ms for timer rounding.
        assert.ok(
          waitedMs >= timeoutMs - 5,
          `refused after ${waitedMs.toFixed(0)} ms, not before the ${timeoutMs} ms timeout`,
        );
        assert.equal(app.buffer.stats().waiting, 0, 'the refused request left the wait line');
      } finally {
        sink.open();
      }
    },
  );
});

describe('auth', () => {
  test('401 without a token, 403 with a wrong one, 202 with a right one; probes stay open', async () => {
    const app = await appWith(
      { 'auth.ingestTokens': 'secret-token-1', 'auth.adminTokens': 'admin-token-1' },
      new ControlledSink(),
    );
    const none = await postJson(`${app.url}/logs`, { msg: 'x' });
    assert.equal(none.status, 401);
    assert.match(none.headers.get('www-authenticate') ?? '', /Bearer/);
    const wrong = await postJson(`${app.url}/logs`, { msg: 'x' }, { authorization: 'Bearer nope-nope-nope' });
    assert.equal(wrong.status, 403);
    const right = await postJson(`${app.url}/logs`, { msg: 'x' }, { authorization: 'Bearer secret-token-1' });
    assert.equal(right.status, 202);
    assert.equal((await fetch(`${app.url}/admin/jobs`)).status, 401);
    assert.equal(
      (await fetch(`${app.url}/admin/jobs`, { headers: { authorization: 'Bearer secret-token-1' } })).status,
      403,
      'an ingest token is not an admin token',
    );
    assert.equal(
      (await fetch(`${app.url}/admin/jobs`, { headers: { authorization: 'Bearer admin-token-1' } })).status,
      200,
    );
    assert.equal((await fetch(`${app.url}/healthz`)).status, 200);
  });
});

describe('readiness', () => {
  test('/readyz is 503 with the reason while the sink is failing and the breaker is open, and ready again after', async () => {
    const sink = new ControlledSink();
    sink.failing = true;
    const app = await appWith(
      {
        'breaker.failureThreshold': 2,
        'breaker.halfOpenAfterMs': 50,
        'retry.baseDelayMs': 1,
        'retry.maxDelayMs': 5,
        'batch.maxWaitMs': 5,
      },
      sink,
    );
    assert.equal((await postJson(`${app.url}/logs`, [{ msg: 'a' }, { msg: 'b' }])).status, 202);
    const body = await waitFor('/readyz to answer 503', async () => {
      const res = await fetch(`${app.url}/readyz`);
      const b = (await res.json()) as { status: string; reasons?: string[] };
      return res.status === 503 ? b : undefined;
    });
    assert.equal(body.status, 'not ready');
    assert.match(body.reasons!.join(' '), /sink controlled circuit (open|half-open): connection refused/);
    sink.failing = false;
    await waitFor('the held records written after recovery', () => sink.stored >= 2);
    assert.equal(sink.stored, 2, 'held records were written after recovery');
    const ready = await fetch(`${app.url}/readyz`);
    assert.equal(ready.status, 200);
    assert.equal(app.pool.stats().deadLetteredBatches, 0);
  });

  test('/readyz is 503 when the buffer is above its high-water mark', async () => {
    const sink = new ControlledSink();
    sink.delayMs = 300;
    const app = await appWith(
      {
        'buffer.maxRecords': 100,
        'buffer.highWaterMark': 0.5,
        'batch.maxRecords': 10,
        'writers.count': 1,
        'writers.queue': 1,
      },
      sink,
    );
    await fetch(`${app.url}/logs`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-ndjson' },
      body: ndjson(90, 'hw'),
    });
    const res = await fetch(`${app.url}/readyz`);
    assert.equal(res.status, 503);
    assert.match(((await res.json()) as { reasons: string[] }).reasons.join(' '), /buffer \d+% full/);
  });
});

describe('ack modes', () => {
  test('ack=sink answers 202 only after the sink committed the records', async () => {
    const sink = new ControlledSink();
    sink.delayMs = 100;
    const app = await appWith({ 'ingest.ack': 'sink', 'batch.maxWaitMs': 10 }, sink);
    const res = await postJson(`${app.url}/logs`, [{ msg: 'a' }, { msg: 'b' }, { msg: 'c' }]);
    assert.equal(res.status, 202);
    assert.equal(sink.stored, 3, 'committed before the 202');
  });

  test('ack=sink answers 503 when the records were dead-lettered instead of stored', async () => {
    const sink = new ControlledSink();
    sink.failing = true;
    const app = await appWith(
      {
        'ingest.ack': 'sink',
        'batch.maxWaitMs': 5,
        'retry.maxRetries': 1,
        'retry.baseDelayMs': 1,
        'breaker.failureThreshold': 50,
      },
      sink,
    );
    const res = await postJson(`${app.url}/logs`, { msg: 'doomed' });
    assert.equal(res.status, 503);
    assert.equal(((await res.json()) as Record<string, unknown>).error, 'SLUICE_ERR_SINK_FAILED');
    assert.equal(app.deadLetter.records, 1);
  });
});
