// The collector in ack modes durable (the WAL) and memory, through HTTP: batches reach a sink
// that sends rows (as the PostgreSQL sink does) without any record being decoded from its tuples
// on the way — not by the batcher, the writer pool, the metrics or the traces — and the records
// decoded on request are the ones posted, with the end-to-end latency histogram counting each.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { decodedRuns } from '../../src/pipeline/held-records.js';
import type { Sink, SinkBatch } from '../../src/sinks/sink.js';
import { startApp, tempDir, testConfig } from '../helpers/app.js';
import { waitFor } from '../helpers/wait-for.js';

const cleanups: Array<() => Promise<void> | void> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

/** Keeps what it was given, reading only what the PostgreSQL sink reads of a batch of rows. */
class RowsSink implements Sink {
  readonly name = 'rows';
  readonly sendsRows = true;
  readonly batches: SinkBatch[] = [];
  written = 0;
  async writeBatch(batch: SinkBatch): Promise<void> {
    assert.ok(batch.rows, `batch ${batch.id} came with rows`);
    assert.equal(
      batch.rows.reduce((n, r) => n + r.count, 0),
      batch.count,
      'rows for every record',
    );
    this.batches.push(batch);
    this.written += batch.count;
  }
  async close(): Promise<void> {}
}

for (const ack of ['durable', 'memory'])
  test(`ack ${ack}: batches (logs and a health ping) reach the sink as rows, none decoded on the way; decoded on request, they are what was posted`, async () => {
    const dir = tempDir();
    const sink = new RowsSink();
    // Batches are cut at 40 records only (the timer never fires first): 160 records, 4 batches.
    const app = await startApp(
      testConfig({ 'ingest.ack': ack, 'batch.maxWaitMs': 60_000, 'batch.maxRecords': 40 }, dir.path),
      { sink },
    );
    cleanups.push(dir.remove, () => app.stop());
    const before = decodedRuns.count;
    const ids: string[] = [];
    const post = async (tag: string, n: number): Promise<void> => {
      const lines = Array.from({ length: n }, (_, i) => ({ id: `${tag}-${i}`, msg: `m ${tag} ${i}`, level: 'warn' }));
      for (const l of lines) ids.push(l.id);
      const res = await fetch(`${app.url}/logs`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-ndjson' },
        body: lines.map((l) => JSON.stringify(l)).join('\n'),
      });
      assert.equal(res.status, 202);
    };
    await post('a', 50);
    // A health ping between two log requests: the second batch holds both types.
    const ping = await fetch(`${app.url}/health`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ service: 'db', status: 'up', latency_ms: 4 }),
    });
    assert.equal(ping.status, 202);
    await post('b', 50);
    await post('c', 59);
    await waitFor(`160 records written (${sink.written})`, () => sink.written === 160, 10_000);
    const metrics = await (await fetch(`${app.url}/metrics`)).text();
    assert.match(metrics, /^sluice_e2e_latency_seconds_count 160$/m, 'every record observed once');
    assert.match(metrics, /^sluice_batch_size_sum 160$/m);
    assert.equal(decodedRuns.count, before, 'no record was built from its tuples before the sink');
    assert.deepEqual(
      sink.batches.map((b) => b.rows!.map((r) => [r.type, r.count])),
      [
        [['log', 40]],
        [
          ['log', 39],
          ['health', 1],
        ],
        [['log', 40]],
        [['log', 40]],
      ],
      'by type, in the order each first appears',
    );
    const stored = sink.batches.flatMap((b) => b.records);
    assert.deepEqual(
      stored.filter((r) => r.type === 'log').map((r) => r.id),
      ids,
    );
    assert.ok(stored.every((r) => r.type !== 'log' || (r.level === 'warn' && r.message?.startsWith('m '))));
    const pinged = stored.filter((r) => r.type === 'health');
    assert.deepEqual(
      pinged.map((r) => r.type === 'health' && [r.service, r.status, r.latency_ms]),
      [['db', 'up', 4]],
    );
    assert.ok(decodedRuns.count > before, 'reading records decodes them');
  });
