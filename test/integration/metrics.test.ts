// /metrics against a real app: after real traffic, every counter, histogram and gauge moved
// by exactly the amounts the traffic implies, in the Prometheus text format, with label
// values from fixed sets only.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import type { App } from '../../src/app.js';
import type { Sink } from '../../src/sinks/sink.js';
import { postJson, startApp, tempDir, testConfig } from '../helpers/app.js';
import { startTarget } from '../helpers/health-targets.js';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses the Prometheus text exposition format (the subset prom-client writes). */
function parseExposition(text: string): { samples: Sample[]; types: Map<string, string> } {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line.startsWith('# TYPE ')) {
      const [, , name, type] = line.split(' ');
      types.set(name!, type!);
      continue;
    }
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(m, `not an exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, k, v] of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[k!] = v!;
    samples.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return { samples, types };
}

class Scrape {
  constructor(
    readonly samples: Sample[],
    readonly types: Map<string, string>,
    readonly text: string,
  ) {}

  static async of(app: App): Promise<Scrape> {
    const res = await fetch(`${app.url}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    const { samples, types } = parseExposition(text);
    return new Scrape(samples, types, text);
  }

  /** The one series with exactly these labels (0 when the series does not exist). */
  value(name: string, labels: Record<string, string> = {}): number {
    const found = this.samples.filter((s) => s.name === name && sameLabels(s.labels, labels));
    assert.ok(found.length <= 1, `${name} ${JSON.stringify(labels)} is ambiguous`);
    return found[0]?.value ?? 0;
  }

  /** Sum over every series of `name` whose labels include `labels`. */
  sum(name: string, labels: Record<string, string> = {}): number {
    return this.samples
      .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
      .reduce((a, s) => a + s.value, 0);
  }

  series(name: string): Sample[] {
    return this.samples.filter((s) => s.name === name);
  }
}

function sameLabels(a: Record<string, string>, b: Record<string, string>): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => a[k] === b[k]);
}

async function until(what: string, cond: () => boolean): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (cond()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.fail(`timed out waiting for ${what}`);
}

function logs(n: number, tag: string): Array<{ message: string }> {
  return Array.from({ length: n }, (_, i) => ({ message: `${tag}-${i}` }));
}

const dir = tempDir();
after(() => dir.remove());

describe('/metrics', () => {
  test('counters and histograms move by exactly what real traffic implies', async () => {
    const app = await startApp(testConfig({ 'sink.kind': 'file', 'batch.maxWaitMs': 20 }, dir.path), {
      defaultMetrics: true,
    });
    try {
      for (const n of [2, 3, 5]) assert.equal((await postJson(`${app.url}/logs`, logs(n, 'm'))).status, 202);
      assert.equal((await postJson(`${app.url}/health`, { service: 'billing', status: 'up' })).status, 202);
      const bad = await fetch(`${app.url}/logs`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{not json',
      });
      assert.equal(bad.status, 400);
      const text = await fetch(`${app.url}/logs`, {
        method: 'POST',
        headers: { 'content-type': 'text/plain' },
        body: 'hello',
      });
      assert.equal(text.status, 415);
      assert.equal((await fetch(`${app.url}/no-such-route`)).status, 404);
      await until('11 records committed', () => app.pool.stats().committedRecords === 11);

      const m = await Scrape.of(app);
      // Requests by registered route pattern, status code and protocol; 'unmatched' for no route.
      assert.equal(m.value('sluice_ingest_requests_total', { route: '/logs', code: '202', protocol: 'sluice' }), 3);
      assert.equal(m.value('sluice_ingest_requests_total', { route: '/health', code: '202', protocol: 'sluice' }), 1);
      assert.equal(m.value('sluice_ingest_requests_total', { route: '/logs', code: '400', protocol: 'sluice' }), 1);
      assert.equal(m.value('sluice_ingest_requests_total', { route: '/logs', code: '415', protocol: 'sluice' }), 1);
      assert.equal(m.value('sluice_ingest_requests_total', { route: 'unmatched', code: '404', protocol: 'sluice' }), 1);
      assert.equal(m.sum('sluice_ingest_requests_total'), 7);
      // Errors by route and stable error code.
      assert.equal(
        m.value('sluice_ingest_errors_total', {
          route: '/logs',
          reason: 'SLUICE_ERR_INVALID_JSON',
          protocol: 'sluice',
        }),
        1,
      );
      assert.equal(
        m.value('sluice_ingest_errors_total', {
          route: '/logs',
          reason: 'SLUICE_ERR_UNSUPPORTED_MEDIA_TYPE',
          protocol: 'sluice',
        }),
        1,
      );
      assert.equal(
        m.value('sluice_ingest_errors_total', {
          route: 'unmatched',
          reason: 'SLUICE_ERR_NOT_FOUND',
          protocol: 'sluice',
        }),
        1,
      );
      assert.equal(m.sum('sluice_ingest_errors_total'), 3);
      // Records by type; rejected requests add none.
      assert.equal(m.value('sluice_ingest_records_total', { type: 'log', protocol: 'sluice' }), 10);
      assert.equal(m.value('sluice_ingest_records_total', { type: 'health', protocol: 'sluice' }), 1);
      assert.equal(m.value('sluice_ingest_records_total', { type: 'check', protocol: 'checker' }), 0);
      // Batches: every record in exactly one batch, every batch written once.
      const batches = m.sum('sluice_batches_flushed_total');
      assert.ok(batches >= 1 && batches <= 4, `${batches} batches`);
      assert.equal(
        m.value('sluice_batches_flushed_total', { trigger: 'time' }),
        batches,
        'small batches are cut by maxWait',
      );
      assert.equal(m.value('sluice_batch_size_count'), batches);
      assert.equal(m.value('sluice_batch_size_sum'), 11);
      assert.equal(m.value('sluice_batch_bytes_count'), batches);
      assert.ok(m.value('sluice_batch_bytes_sum') > 11 * 20, 'bytes of 11 records');
      assert.equal(m.value('sluice_write_latency_seconds_count', { sink: 'file' }), batches);
      assert.ok(m.value('sluice_write_latency_seconds_sum', { sink: 'file' }) > 0);
      assert.equal(m.value('sluice_write_latency_seconds_bucket', { sink: 'file', le: '+Inf' }), batches);
      assert.equal(m.value('sluice_records_written_total', { sink: 'file' }), 11);
      // End-to-end latency: one observation per committed record; each batch's first record waited maxWait (20 ms).
      assert.equal(m.value('sluice_e2e_latency_seconds_count'), 11);
      assert.ok(m.value('sluice_e2e_latency_seconds_sum') >= batches * 0.015, 'at least maxWait per batch');
      assert.ok(m.value('sluice_e2e_latency_seconds_sum') < 11 * 5, 'plausible: seconds, not microseconds');
      // Nothing failed, nothing held.
      assert.equal(m.value('sluice_worker_failures_total', { sink: 'file' }), 0);
      assert.equal(m.value('sluice_worker_retries_total', { sink: 'file' }), 0);
      assert.equal(m.value('sluice_dead_letter_total', { sink: 'file' }), 0);
      assert.equal(m.value('sluice_circuit_state', { sink: 'file' }), 0);
      assert.equal(m.value('sluice_buffer_records'), 0);
      assert.equal(m.value('sluice_buffer_bytes'), 0);
      // The health checker's metrics are registered (it sets them) and typed as specified.
      assert.equal(m.types.get('sluice_check_up'), 'gauge');
      assert.equal(m.types.get('sluice_check_duration_seconds'), 'histogram');
      assert.equal(m.types.get('sluice_scheduler_lag_seconds'), 'histogram');
      // Node's default process metrics, under the standard unprefixed names dashboards expect.
      assert.ok(m.value('process_resident_memory_bytes') > 1e6);
      assert.ok(m.value('nodejs_heap_size_used_bytes') > 1e6);
      assert.equal(m.types.get('nodejs_eventloop_lag_seconds'), 'gauge');
      assert.equal(m.types.get('nodejs_gc_duration_seconds'), 'histogram');
      assert.deepEqual(
        [...m.types.keys()].filter((n) => /^sluice_(process|nodejs)_/.test(n)),
        [],
      );
    } finally {
      await app.stop();
    }
  });

  test('buffer gauges report what is held while the sink is stalled, and drop to zero after', async () => {
    let release!: () => void;
    const stalled = new Promise<void>((r) => (release = r));
    const sink: Sink = { name: 'stalled', writeBatch: () => stalled, close: async () => {} };
    // One writer busy with batch 1, batch 2 queued: the batcher stops and 6 of 10 records stay buffered.
    // (Ack mode memory: with the WAL, batches waiting for their cut's sync are not held to writers.queue.)
    const app = await startApp(
      testConfig(
        {
          'ingest.ack': 'memory',
          'writers.count': 1,
          'writers.queue': 1,
          'batch.maxRecords': 2,
          'batch.maxWaitMs': 10,
        },
        dir.path,
      ),
      { sink },
    );
    try {
      assert.equal((await postJson(`${app.url}/logs`, logs(10, 'held'))).status, 202);
      const held = await Scrape.of(app);
      assert.equal(held.value('sluice_buffer_records'), 6);
      assert.equal(held.value('sluice_buffer_bytes'), app.buffer.stats().bytes);
      assert.ok(held.value('sluice_buffer_bytes') > 6 * 20);
      // The limits come with the levels, so a dashboard can show fill as a fraction.
      assert.equal(held.value('sluice_buffer_max_records'), app.config.buffer.maxRecords);
      assert.equal(held.value('sluice_buffer_max_bytes'), app.config.buffer.maxBytes);
      assert.equal(held.value('sluice_batches_flushed_total', { trigger: 'size' }), 2);
      release();
      await until('10 records committed', () => app.pool.stats().committedRecords === 10);
      const drained = await Scrape.of(app);
      assert.equal(drained.value('sluice_buffer_records'), 0);
      assert.equal(drained.value('sluice_buffer_bytes'), 0);
      assert.equal(drained.value('sluice_records_written_total', { sink: 'stalled' }), 10);
    } finally {
      release();
      await app.stop();
    }
  });

  test('counts each failed attempt, each retry and dead-lettered records per sink', async () => {
    let calls = 0;
    const failing: Sink = {
      name: 'failing',
      writeBatch: async () => {
        calls++;
        throw new Error('disk on fire');
      },
      close: async () => {},
    };
    const app = await startApp(
      testConfig(
        { 'retry.maxRetries': 2, 'retry.baseDelayMs': 1, 'retry.maxDelayMs': 2, 'batch.maxWaitMs': 5 },
        dir.path,
      ),
      { sink: failing },
    );
    try {
      assert.equal((await postJson(`${app.url}/logs`, logs(4, 'doomed'))).status, 202);
      await until('the batch dead-lettered', () => app.pool.stats().deadLetteredBatches === 1);
      const m = await Scrape.of(app);
      assert.equal(calls, 3);
      assert.equal(m.value('sluice_worker_failures_total', { sink: 'failing' }), 3, 'every failed attempt');
      assert.equal(m.value('sluice_worker_retries_total', { sink: 'failing' }), 2, 'attempts after the first');
      assert.equal(m.value('sluice_dead_letter_total', { sink: 'failing' }), 4, 'records, not batches');
      assert.equal(
        m.value('sluice_write_latency_seconds_count', { sink: 'failing' }),
        0,
        'only successful writes are timed',
      );
      assert.equal(
        m.value('sluice_circuit_state', { sink: 'failing' }),
        0,
        '3 failures are below the breaker threshold',
      );
    } finally {
      await app.stop();
    }
  });

  test('shows the circuit breaker open (1) while a failing sink is cut off', async () => {
    const down: Sink = {
      name: 'down',
      writeBatch: () => Promise.reject(new Error('connection refused')),
      close: async () => {},
    };
    const app = await startApp(
      testConfig(
        {
          'breaker.failureThreshold': 2,
          'breaker.halfOpenAfterMs': 60_000,
          'retry.baseDelayMs': 1,
          'retry.maxDelayMs': 2,
          'batch.maxWaitMs': 5,
          'shutdown.timeoutMs': 200,
        },
        dir.path,
      ),
      { sink: down },
    );
    try {
      assert.equal((await Scrape.of(app)).value('sluice_circuit_state', { sink: 'down' }), 0);
      assert.equal((await postJson(`${app.url}/logs`, logs(1, 'cut-off'))).status, 202);
      await until('the breaker open', () => app.pool.breakerState === 'open');
      const m = await Scrape.of(app);
      assert.equal(m.value('sluice_circuit_state', { sink: 'down' }), 1);
      assert.equal(m.value('sluice_worker_failures_total', { sink: 'down' }), 2);
    } finally {
      await app.stop(); // the deadline dead-letters the held batch
    }
  });

  test('label values never come from client input', async () => {
    const app = await startApp(testConfig({ 'sink.kind': 'blackhole', 'batch.maxWaitMs': 5 }, dir.path));
    try {
      const seriesCount = async (): Promise<number[]> => {
        const m = await Scrape.of(app);
        return ['sluice_ingest_requests_total', 'sluice_ingest_errors_total', 'sluice_ingest_records_total'].map(
          (n) => m.series(n).length,
        );
      };
      const send = async (i: number): Promise<void> => {
        const headers = { 'x-request-id': `client-req-${i}`, 'user-agent': `client-agent-${i}` };
        await postJson(
          `${app.url}/logs`,
          { message: `client-msg-${i}`, service: `client-svc-${i}`, level: 'info' },
          headers,
        );
        await postJson(`${app.url}/health`, { service: `client-svc-${i}`, status: 'up' }, headers);
        await postJson(`${app.url}/client-path-${i}`, {}, headers);
        await fetch(`${app.url}/logs`, {
          method: 'POST',
          headers: { 'content-type': `application/client-type-${i}` },
          body: 'x',
        });
        await postJson(
          `${app.url}/logs`,
          { message: 'bad level', level: `client-level-${i}`, service: `client-svc-${i}` },
          headers,
        );
      };
      for (let i = 0; i < 3; i++) await send(i);
      const before = await seriesCount();
      for (let i = 3; i < 30; i++) await send(i);
      assert.deepEqual(await seriesCount(), before, '27 more distinct clients add no series');
      const m = await Scrape.of(app);
      assert.ok(!m.text.includes('client-'), 'no client-supplied string in any label');
      const routes = new Set(m.series('sluice_ingest_requests_total').map((s) => s.labels.route));
      assert.deepEqual([...routes].sort(), ['/health', '/logs', 'unmatched']);
    } finally {
      await app.stop();
    }
  });

  test('health check results count as ingested records of type check; check metrics carry the name and the id', async () => {
    const app = await startApp(testConfig({ 'sink.kind': 'file', 'batch.maxWaitMs': 20 }, dir.path));
    // A check may not reach the collector's own port: it probes a server of its own.
    const target = await startTarget();
    try {
      const res = await postJson(`${app.url}/admin/checks`, {
        name: 'self',
        kind: 'http',
        url: `${target.url}/healthz`,
        interval: '100ms',
        timeout: '90ms',
      });
      assert.equal(res.status, 201);
      const { id } = (await res.json()) as { id: string };
      let m = await Scrape.of(app);
      for (
        let i = 0;
        i < 200 &&
        (m.value('sluice_ingest_records_total', { type: 'check', protocol: 'checker' }) < 3 ||
          m.value('sluice_check_up', { check: 'self', id }) !== 1);
        i++
      ) {
        await new Promise((r) => setTimeout(r, 50));
        m = await Scrape.of(app);
      }
      assert.ok(
        m.value('sluice_ingest_records_total', { type: 'check', protocol: 'checker' }) >= 3,
        'check results counted',
      );
      assert.equal(m.value('sluice_check_up', { check: 'self', id }), 1);
      assert.ok(m.value('sluice_check_duration_seconds_count', { check: 'self', id }) >= 3);
      assert.equal((await fetch(`${app.url}/admin/checks/self`, { method: 'DELETE' })).status, 204);
      assert.deepEqual((await Scrape.of(app)).series('sluice_check_up'), [], 'a deleted check leaves no series');
    } finally {
      await app.stop();
      await target.close();
    }
  });
});
