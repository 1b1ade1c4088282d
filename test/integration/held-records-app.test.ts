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
    assert.ok(batch.rows && batch.rowsType === 'log', `batch ${batch.id} came with rows of logs`);
    this.batches.push(batch);
    this.written += batch.count;
  }
  async close(): Promise<void> {}
}

for (const ack of ['durable', 'memory'])
  test(`ack ${ack}: batches reach the sink as rows, no record decoded on the way; decoded on request, they are what was posted`, async () => {
    const dir = tempDir();
    const sink = new RowsSink();
    const app = await startApp(
      testConfig({ 'ingest.ack': ack, 'batch.maxWaitMs': 5, 'batch.maxRecords': 40 }, dir.path),
      { sink },
    );
    cleanups.push(dir.remove, () => app.stop());
    const before = decodedRuns.count;
    const ids: string[] = [];
    for (let r = 0; r < 3; r++) {
      const lines = Array.from({ length: 50 }, (_, i) => ({ id: `req${r}-${i}`, msg: `m ${r} ${i}`, level: 'warn' }));
      for (const l of lines) ids.push(l.id);
      const res = await fetch(`${app.url}/logs`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-ndjson' },
        body: lines.map((l) => JSON.stringify(l)).join('\n'),
      });
      assert.equal(res.status, 202);
    }
    await waitFor(`150 records written (${sink.written})`, () => sink.written === 150, 10_000);
    const metrics = await (await fetch(`${app.url}/metrics`)).text();
    assert.match(metrics, /^sluice_e2e_latency_seconds_count 150$/m, 'every record observed once');
    assert.match(metrics, /^sluice_batch_size_sum 150$/m);
    assert.equal(decodedRuns.count, before, 'no record was built from its tuples before the sink');
    assert.ok(sink.batches.length >= 4, 'cut at 40 records: batches end inside requests');
    const stored = sink.batches.flatMap((b) => b.records);
    assert.deepEqual(
      stored.map((r) => r.id),
      ids,
    );
    assert.ok(stored.every((r) => r.type === 'log' && r.level === 'warn' && r.message?.startsWith('m ')));
    assert.ok(decodedRuns.count > before, 'reading records decodes them');
  });
