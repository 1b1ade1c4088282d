// `sluice load` against a real collector (blackhole sink): exact request and record counts
// for single-record, bulk NDJSON + gzip and paced runs, 429s counted when the buffer is full,
// the --json shape, and usage mistakes. Counts, and the pacing of --rate as a lower bound on
// time: speed itself belongs to the benchmarks.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { App } from '../../src/app.js';
import { main } from '../../src/main.js';
import type { Sink } from '../../src/sinks/sink.js';
import { startApp, tempDir, testConfig } from '../helpers/app.js';
import { waitFor } from '../helpers/wait-for.js';

interface LoadJson {
  load: {
    requests: number;
    recordsSent: number;
    recordsAccepted: number;
    statusCounts: Record<string, number>;
    latency: { count: number; p50: number; p95: number; p99: number; max: number };
    runId: string;
    service: string;
  };
  verify: null;
}

async function load(args: string[]): Promise<{ code: number; out: string }> {
  let out = '';
  const code = await main(['load', ...args], (s) => (out += s + '\n'));
  return { code, out };
}

/** Committed records since `from`, once the batcher's timer has flushed what it holds (or after 10 s). */
async function committedSince(app: App, from: number, expected: number): Promise<number> {
  // A shortfall is for the caller's assertion to report, so the wait's own timeout is not an error.
  await waitFor(
    `${expected} records committed`,
    () => app.pool.stats().committedRecords - from >= expected,
    10_000,
  ).catch(() => undefined);
  await app.pool.idle();
  return app.pool.stats().committedRecords - from;
}

async function loadJson(args: string[]): Promise<{ code: number; r: LoadJson }> {
  const { code, out } = await load([...args, '--json', '--quiet']);
  return { code, r: JSON.parse(out) as LoadJson };
}

describe('sluice load against a running collector', () => {
  const dir = tempDir();
  let app: App;
  before(async () => {
    app = await startApp(testConfig({ 'sink.kind': 'blackhole', 'batch.maxWaitMs': 20 }, dir.path));
  });
  after(async () => {
    await app.stop();
    dir.remove();
  });

  test('single-record JSON: every record is one request, all 202, latency recorded per request', async () => {
    const before = app.pool.stats().committedRecords;
    const { code, r } = await loadJson(['--url', app.url, '--records', '300', '--clients', '7']);
    assert.equal(code, 0);
    assert.equal(r.load.requests, 300);
    assert.equal(r.load.recordsAccepted, 300);
    assert.deepEqual(r.load.statusCounts, { '202': 300 });
    assert.equal(r.load.latency.count, 300);
    assert.ok(r.load.latency.p50 <= r.load.latency.p99 && r.load.latency.p99 <= r.load.latency.max);
    assert.match(r.load.service, /^load-/);
    assert.equal(await committedSince(app, before, 300), 300);
  });

  test('bulk NDJSON with gzip: 100-record requests, the last one partial', async () => {
    const before = app.pool.stats().committedRecords;
    const { code, r } = await loadJson([
      '--url',
      app.url,
      '--records',
      '1050',
      '--clients',
      '3',
      '--batch',
      '100',
      '--format',
      'ndjson',
      '--gzip',
    ]);
    assert.equal(code, 0);
    assert.equal(r.load.requests, 11);
    assert.equal(r.load.recordsAccepted, 1050);
    assert.equal(await committedSince(app, before, 1050), 1050);
  });

  test('JSON arrays at a fixed rate send exactly the records asked for, no faster than the rate', async () => {
    const records = 200;
    const batch = 10;
    const rate = 200; // records per second
    const started = performance.now();
    const { code, r } = await loadJson([
      '--url',
      app.url,
      '--records',
      String(records),
      '--clients',
      '4',
      '--batch',
      String(batch),
      '--rate',
      String(rate),
    ]);
    const elapsedMs = performance.now() - started;
    assert.equal(code, 0);
    assert.equal(r.load.requests, records / batch);
    assert.deepEqual(r.load.statusCounts, { '202': records / batch });
    // The last request is due when the records before it have had their time: (200 - 10) / 200 s.
    // A lower bound only (a loaded machine is slower, never faster); 10 ms for timer rounding.
    const lastDueMs = ((records - batch) / rate) * 1000;
    assert.ok(
      elapsedMs >= lastDueMs - 10,
      `paced: ${records} records at ${rate}/s took ${elapsedMs.toFixed(0)} ms, expected at least ${lastDueMs} ms`,
    );
  });

  test('the text summary names throughput, status codes and percentiles', async () => {
    const { code, out } = await load(['--url', app.url, '--records', '50', '--clients', '5', '--quiet']);
    assert.equal(code, 0);
    assert.match(out, /requests\/s, \d+ records\/s accepted/);
    assert.match(out, /202: 50/);
    assert.match(out, /p50 .* p95 .* p99 .* max /);
  });

  test('usage mistakes exit 2 without sending anything; --help exits 0', async () => {
    assert.equal((await load(['--url', app.url, '--format', 'xml'])).code, 2);
    assert.equal((await load(['--url', app.url, '--clients', '0'])).code, 2);
    assert.equal((await load(['--url', app.url, '--bogus', '1'])).code, 2);
    assert.equal((await load(['--verify', 'http://not-postgres'])).code, 2);
    const help = await load(['--help']);
    assert.equal(help.code, 0);
    assert.match(help.out, /--verify URL/);
  });
});

describe('sluice load when the collector pushes back', () => {
  const dir = tempDir();
  let app: App;
  // A sink that finishes no write until the shutdown deadline aborts it: the buffer fills and stays full.
  const stuck: Sink = {
    name: 'stuck',
    writeBatch: (_batch, signal) =>
      new Promise<void>((_resolve, reject) =>
        signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true }),
      ),
    close: async () => {},
  };
  before(async () => {
    const config = testConfig(
      {
        'buffer.maxRecords': 20,
        'batch.maxRecords': 5,
        'writers.count': 1,
        'writers.queue': 1,
        'ingest.enqueueTimeoutMs': 0,
        'shutdown.timeoutMs': 200,
      },
      dir.path,
    );
    app = await startApp(config, { sink: stuck });
  });
  after(async () => {
    await app.stop();
    dir.remove();
  });

  test('429s are counted per status and only 2xx records count as accepted', async () => {
    const { code, r } = await loadJson(['--url', app.url, '--records', '200', '--clients', '4', '--batch', '5']);
    assert.equal(code, 0);
    assert.equal(r.load.requests, 40);
    assert.ok((r.load.statusCounts['429'] ?? 0) > 0, JSON.stringify(r.load.statusCounts));
    assert.equal((r.load.statusCounts['202'] ?? 0) + (r.load.statusCounts['429'] ?? 0), 40);
    assert.equal(r.load.recordsAccepted, (r.load.statusCounts['202'] ?? 0) * 5);
  });

  test('nothing accepted at all exits 1', async () => {
    const { code, r } = await loadJson(['--url', app.url, '--records', '10', '--clients', '1']);
    assert.equal(r.load.recordsAccepted, 0);
    assert.equal(code, 1);
  });
});
