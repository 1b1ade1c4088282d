// Graceful shutdown: SIGTERM while batches are in flight loses nothing; new requests get 503;
// the deadline dead-letters what the sink could not take; a second signal exits at once.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import type { Batch, Sink } from '../../src/sinks/sink.js';
import { postJson, startApp, tempDir, testConfig } from '../helpers/app.js';

const cleanups: Array<() => void> = [];
after(() => cleanups.forEach((c) => c()));

function spawnCollector(dir: string, extra: string[] = []): Promise<{ child: ChildProcess; url: string; exited: Promise<number | null> }> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'test/helpers/cli.ts', 'serve', '--host', '127.0.0.1', '--port', '0', '--sink', 'file', '--log.pretty', 'false', '--log-level', 'info',
      '--file.dir', join(dir, 'logs'), '--deadLetter.dir', join(dir, 'dead-letter'), '--wal.dir', join(dir, 'wal'), ...extra],
    { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, SLUICE_CONFIG: '' } },
  );
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /"url":"(http:\/\/[^"]+)"/.exec(out);
      if (m) resolve({ child, url: m[1]!, exited });
    });
    child.on('exit', (code) => reject(new Error(`collector exited early (${code}): ${out}`)));
  });
}

function countStored(dir: string): number {
  const logs = join(dir, 'logs');
  return readdirSync(logs).reduce((n, f) => n + readFileSync(join(logs, f), 'utf8').split('\n').filter(Boolean).length, 0);
}

describe('shutdown', () => {
  test('SIGTERM with batches in flight: every accepted record is in the sink and the process exits 0', async () => {
    const dir = tempDir();
    cleanups.push(dir.remove);
    // Long maxWait and one writer: when the signal lands, records sit in the batcher, the queue and the writer.
    const { child, url, exited } = await spawnCollector(dir.path, ['--batch.maxRecords', '250', '--batch.maxWaitMs', '60000', '--writers.count', '1', '--writers.queue', '1']);
    let accepted = 0;
    const requests = Array.from({ length: 40 }, async (_, i) => {
      const body = Array.from({ length: 100 }, (_, j) => JSON.stringify({ msg: `r${i}-${j}` })).join('\n');
      const res = await fetch(`${url}/logs`, { method: 'POST', headers: { 'content-type': 'application/x-ndjson' }, body });
      if (res.status === 202) accepted += 100;
    });
    await Promise.all(requests);
    assert.equal(accepted, 4000);
    child.kill('SIGTERM');
    assert.equal(await exited, 0);
    assert.equal(countStored(dir.path), 4000);
  });

  test('a second signal exits at once, even while a graceful stop is still waiting on the sink', async () => {
    const dir = tempDir();
    cleanups.push(dir.remove);
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/helpers/stuck-collector.ts', dir.path], { stdio: ['ignore', 'pipe', 'inherit'] });
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
      writeBatch: (_b: Batch, signal: AbortSignal) => new Promise<void>((_, reject) => signal.addEventListener('abort', () => reject(new Error('aborted')))),
      close: async () => {},
    };
    // Ack mode memory: with the WAL (durable) the deadline keeps them for the next start instead (wal-shutdown.test.ts).
    const app = await startApp(testConfig({ 'shutdown.timeoutMs': 300, 'batch.maxWaitMs': 5, 'ingest.ack': 'memory' }, dir.path), { sink: stuck });
    assert.equal((await postJson(`${app.url}/logs`, [{ msg: 'a' }, { msg: 'b' }, { msg: 'c' }])).status, 202);
    await new Promise((r) => setTimeout(r, 30));
    const stopping = app.stop();
    const late = await postJson(`${app.url}/logs`, { msg: 'late' }).then((r) => r.status, () => 'refused');
    assert.ok(late === 503 || late === 'refused', `late request got ${late}`);
    const started = Date.now();
    await stopping;
    assert.ok(Date.now() - started < 5000);
    const lines = readFileSync(join(dir.path, 'dead-letter', 'stuck.ndjson'), 'utf8').trim().split('\n');
    assert.equal(lines.length, 3);
    assert.match(lines[0]!, /shutdown deadline/);
  });
});
