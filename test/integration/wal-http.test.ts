// Ack mode durable over HTTP: a full WAL answers 429 (the process carries on and admits
// again once the sink catches up), and the shutdown deadline keeps unwritten batches in the
// WAL, to be sent (once) by the next start instead of going to the dead-letter file.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import type { Batch } from '../../src/batch.js';
import type { Sink } from '../../src/sinks/sink.js';
import { postJson, startApp, tempDir, testConfig } from '../helpers/app.js';
import { waitFor } from '../helpers/wait-for.js';

const cleanups: Array<() => Promise<void> | void> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

/** Holds every write until `open()`; then writes go through and are recorded. */
class GateSink implements Sink {
  readonly name = 'gate';
  readonly ids: string[] = [];
  readonly batches: string[] = [];
  private release: (() => void) | undefined;
  private gate = new Promise<void>((r) => (this.release = r));
  open(): void {
    this.release?.();
  }
  async writeBatch(batch: Batch, signal: AbortSignal): Promise<void> {
    await Promise.race([
      this.gate,
      new Promise<never>((_, reject) =>
        signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true }),
      ),
    ]);
    this.batches.push(batch.id);
    for (const r of batch.records) this.ids.push(r.id);
  }
  async close(): Promise<void> {}
}

const body = (n: number, tag: string) =>
  Array.from({ length: n }, (_, i) => JSON.stringify({ id: `${tag}-${i}`, msg: 'x'.repeat(200) })).join('\n');
const post = (url: string, n: number, tag: string) =>
  fetch(`${url}/logs`, { method: 'POST', headers: { 'content-type': 'application/x-ndjson' }, body: body(n, tag) });

describe('ack mode durable', () => {
  test('a full WAL answers 429 with Retry-After, not a crash, and admits again once the sink catches up', async () => {
    const dir = tempDir();
    const sink = new GateSink();
    const app = await startApp(
      testConfig(
        {
          'ingest.ack': 'durable',
          'wal.segmentBytes': 8192,
          'wal.maxBytes': 32_768,
          'ingest.enqueueTimeoutMs': 0,
          'batch.maxWaitMs': 5,
          'ingest.retryAfterSeconds': 3,
        },
        dir.path,
      ),
      { sink },
    );
    cleanups.push(dir.remove, () => app.stop());
    let accepted = 0;
    let res: Response | undefined;
    for (let i = 0; i < 100; i++) {
      res = await post(app.url, 10, `a${i}`);
      if (res.status !== 202) break;
      accepted += 10;
    }
    assert.equal(res?.status, 429);
    assert.equal(res.headers.get('retry-after'), '3');
    assert.equal(((await res.json()) as { error: string }).error, 'SLUICE_ERR_BUFFER_FULL');
    assert.ok(accepted > 0);
    assert.equal((await fetch(`${app.url}/healthz`)).status, 200, 'still serving');
    const jobs = (await (await fetch(`${app.url}/admin/jobs`)).json()) as {
      wal?: { diskBytes: number; maxDiskBytes: number; unsettledBatches: number };
    };
    assert.equal(jobs.wal?.maxDiskBytes, 32_768, '/admin/jobs shows the WAL');
    assert.ok(jobs.wal.diskBytes > 16_384, `the WAL is near its cap (${jobs.wal.diskBytes} bytes)`);
    sink.open();
    await waitFor(
      () => `every accepted record written (${sink.ids.length} of ${accepted})`,
      () => sink.ids.length >= accepted,
      10_000,
    );
    assert.equal(sink.ids.length, accepted);
    // Segments are deleted as their batches settle, and the room they free takes requests again.
    await waitFor('a request admitted again', async () => (await post(app.url, 10, 'later')).status === 202, 10_000);
  });

  test('at the shutdown deadline unwritten batches stay in the WAL; the next start sends each of them once', async () => {
    const dir = tempDir();
    cleanups.push(dir.remove);
    const config = testConfig(
      { 'ingest.ack': 'durable', 'shutdown.timeoutMs': 300, 'batch.maxWaitMs': 5, 'batch.maxRecords': 7 },
      dir.path,
    );
    const stuck = new GateSink();
    const first = await startApp(config, { sink: stuck });
    for (let i = 0; i < 5; i++) assert.equal((await post(first.url, 10, `k${i}`)).status, 202);
    await waitFor('batches cut and in the writers', () => first.pool.stats().inFlight.length > 0);
    await first.stop();
    assert.equal(first.pool.stats().keptBatches > 0, true);
    assert.equal(existsSync(join(dir.path, 'dead-letter', 'gate.ndjson')), false, 'nothing dead-lettered');
    const sink = new GateSink();
    sink.open();
    const second = await startApp(config, { sink });
    await waitFor(
      () => `the kept records sent (${sink.ids.length} of 50)`,
      () => sink.ids.length >= 50,
      10_000,
    );
    await second.stop();
    assert.equal(sink.ids.length, 50);
    assert.equal(new Set(sink.ids).size, 50, 'no record twice');
    assert.ok(
      sink.batches.every((id) => id.startsWith('wal-')),
      'ids derived from WAL positions',
    );
    // A third start has nothing left to send: stop() drains what start-up replayed into the
    // open sink, so anything replayed would be in it by the time stop() returns.
    const none = new GateSink();
    none.open();
    const third = await startApp(config, { sink: none });
    await third.stop();
    assert.equal(none.ids.length, 0);
  });

  test('ack mode memory does not touch the WAL directory', async () => {
    const dir = tempDir();
    cleanups.push(dir.remove);
    const app = await startApp(testConfig({ 'ingest.ack': 'memory', 'sink.kind': 'blackhole' }, dir.path));
    assert.equal((await postJson(`${app.url}/logs`, { msg: 'hi' })).status, 202);
    await app.stop();
    assert.equal(existsSync(join(dir.path, 'wal')), false);
  });
});
