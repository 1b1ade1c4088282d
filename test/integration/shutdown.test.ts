// Graceful shutdown: SIGTERM while batches are in flight loses nothing; new requests get 503;
// the deadline dead-letters what the sink could not take; a second signal exits at once.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import type { Batch } from '../../src/batch.js';
import type { Sink } from '../../src/sinks/sink.js';
import { postJson, startApp, tempDir, testConfig } from '../helpers/app.js';

const cleanups: Array<() => void> = [];
after(() => cleanups.forEach((c) => c()));

/**
 * A collector in a child process, run as `sluice serve` runs (runUntilSignal), with the file
 * sink slowed by `delayMs` per batch. After a graceful stop it prints its shutdown flush count
 * (sluice_batches_flushed_total{trigger="shutdown"}), which the parent cannot scrape once the
 * listener is closed, and exits with the stop's code.
 */
function spawnSlowCollector(dir: string, overrides: Record<string, string | number>, delayMs: number) {
  const src = (p: string) => JSON.stringify(new URL(p, import.meta.url).href);
  const script = `
    const { pino } = await import('pino');
    const { createApp } = await import(${src('../../src/app.js')});
    const { runUntilSignal } = await import(${src('../../src/cli/serve-command.js')});
    const { createSink } = await import(${src('../../src/sinks/create-sink.js')});
    const { testConfig } = await import(${src('../helpers/app.js')});
    const config = testConfig({ ...${JSON.stringify(overrides)}, 'log.level': 'info' }, ${JSON.stringify(dir)});
    const logger = pino({ level: 'info' });
    const sink = await createSink(config, { logger });
    const write = sink.writeBatch.bind(sink);
    sink.writeBatch = async (batch, signal) => {
      await new Promise((r) => setTimeout(r, ${delayMs}));
      return write(batch, signal);
    };
    const app = await createApp(config, { sink, logger });
    const code = await runUntilSignal(app);
    const flushed = await app.metrics.registry.getSingleMetric('sluice_batches_flushed_total').get();
    const shutdownFlushes = flushed.values.find((v) => v.labels.trigger === 'shutdown')?.value ?? 0;
    process.stdout.write(JSON.stringify({ shutdownFlushes }) + '\\n', () => process.exit(code));
  `;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '--eval', script], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, SLUICE_CONFIG: '' },
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  let out = '';
  return new Promise<{ child: ChildProcess; url: string; exited: Promise<number | null>; output: () => string }>(
    (resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /"url":"(http:\/\/[^"]+)"/.exec(out);
        if (m) resolve({ child, url: m[1]!, exited, output: () => out });
      });
      void exited.then((code) => reject(new Error(`collector exited early (${code}): ${out}`)));
    },
  );
}

function countStored(dir: string): number {
  const logs = join(dir, 'logs');
  return readdirSync(logs).reduce(
    (n, f) => n + readFileSync(join(logs, f), 'utf8').split('\n').filter(Boolean).length,
    0,
  );
}

describe('shutdown', () => {
  test(
    'SIGTERM with batches in flight and a partial batch: every accepted record is in the sink, the partial one by the shutdown flush, and the process exits 0',
    { timeout: 60_000 },
    async () => {
      const dir = tempDir();
      cleanups.push(dir.remove);
      const batchSize = 250;
      const requests = 40;
      const perRequest = 101; // 4040 records: 16 full batches and a partial one of 40 only the shutdown flush cuts
      assert.notEqual((requests * perRequest) % batchSize, 0);
      // A real collector process (the serve command's signal handling) whose file sink takes
      // 100 ms per batch, with one writer and a queue of one: when the signal lands, batches wait
      // in the queue and the writer, and the partial batch in the batcher (maxWait is a minute).
      const { child, url, exited, output } = await spawnSlowCollector(
        dir.path,
        { 'batch.maxRecords': batchSize, 'batch.maxWaitMs': 60_000, 'writers.count': 1, 'writers.queue': 1 },
        100,
      );
      let accepted = 0;
      await Promise.all(
        Array.from({ length: requests }, async (_, i) => {
          const body = Array.from({ length: perRequest }, (_, j) => JSON.stringify({ msg: `r${i}-${j}` })).join('\n');
          const res = await fetch(`${url}/logs`, {
            method: 'POST',
            headers: { 'content-type': 'application/x-ndjson' },
            body,
          });
          if (res.status === 202) accepted += ((await res.json()) as { accepted: number }).accepted;
        }),
      );
      assert.equal(accepted, requests * perRequest);
      // Batches really are in flight, and records wait behind them.
      const jobs = (await (await fetch(`${url}/admin/jobs`)).json()) as {
        writers: { inFlight: unknown[]; committedRecords: number };
      };
      assert.equal(jobs.writers.inFlight.length, 1, 'a batch is in the writer');
      assert.ok(
        jobs.writers.committedRecords < accepted - batchSize,
        `most records are still to be written (${jobs.writers.committedRecords} committed)`,
      );
      child.kill('SIGTERM');
      const code = await Promise.race([
        exited,
        new Promise<string>((r) => setTimeout(() => r('still running 30 s after SIGTERM'), 30_000)),
      ]);
      assert.equal(code, 0, output());
      assert.equal(countStored(dir.path), accepted, 'every accepted record is stored');
      const m = /"shutdownFlushes":(\d+)/.exec(output());
      assert.ok(m, `the collector reported its flush counters: ${output()}`);
      assert.ok(
        Number(m[1]) >= 1,
        `the shutdown flush cut the partial batch (sluice_batches_flushed_total{trigger="shutdown"} = ${m[1]})`,
      );
    },
  );

  test('a second signal exits at once, even while a graceful stop is still waiting on the sink', async () => {
    const dir = tempDir();
    cleanups.push(dir.remove);
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/helpers/stuck-collector.ts', dir.path], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const url = await new Promise<string>((resolve) => {
      let out = '';
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /"url":"(http:\/\/[^"]+)"/.exec(out);
        if (m) resolve(m[1]!);
      });
    });
    assert.equal((await postJson(`${url}/logs`, { msg: 'never written' })).status, 202);
    child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(child.exitCode, null, 'still draining after the first signal');
    child.kill('SIGINT');
    const code = await Promise.race([exited, new Promise((r) => setTimeout(() => r('timeout'), 10_000))]);
    assert.equal(code, 1);
  });

  test('once stopping, new requests are refused and the deadline dead-letters what the sink never took', async () => {
    const dir = tempDir();
    cleanups.push(dir.remove);
    const stuck: Sink = {
      name: 'stuck',
      writeBatch: (_b: Batch, signal: AbortSignal) =>
        new Promise<void>((_, reject) => signal.addEventListener('abort', () => reject(new Error('aborted')))),
      close: async () => {},
    };
    // Ack mode memory: with the WAL (durable) the deadline keeps them for the next start instead (wal-shutdown.test.ts).
    const app = await startApp(
      testConfig({ 'shutdown.timeoutMs': 300, 'batch.maxWaitMs': 5, 'ingest.ack': 'memory' }, dir.path),
      { sink: stuck },
    );
    assert.equal((await postJson(`${app.url}/logs`, [{ msg: 'a' }, { msg: 'b' }, { msg: 'c' }])).status, 202);
    await new Promise((r) => setTimeout(r, 30));
    const stopping = app.stop();
    const late = await postJson(`${app.url}/logs`, { msg: 'late' }).then(
      (r) => r.status,
      () => 'refused',
    );
    assert.ok(late === 503 || late === 'refused', `late request got ${late}`);
    const started = Date.now();
    await stopping;
    assert.ok(Date.now() - started < 5000);
    const lines = readFileSync(join(dir.path, 'dead-letter', 'stuck.ndjson'), 'utf8')
      .trim()
      .split('\n');
    assert.equal(lines.length, 3);
    assert.match(lines[0]!, /shutdown deadline/);
  });
});
