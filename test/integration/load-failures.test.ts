// `sluice load` when things go wrong: the collector dies mid-run (the run stops, says so, and
// exits non-zero; refused requests are not "sent" and not in the latency), Ctrl-C during a
// paced run (ends at once, sends nothing more), absurd --clients (a usage error), and the
// --verify database connection dropping mid-run (the load's results are still printed).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import type { App } from '../../src/app.js';
import { main } from '../../src/main.js';
import { runLoad, type LoadRunOptions } from '../../src/load/run-load.js';
import { newRunId } from '../../src/load/records.js';
import { startApp, tempDir, testConfig } from '../helpers/app.js';
import { createTestDatabase, stopOwnServer } from '../helpers/postgres.js';
import { waitFor } from '../helpers/wait-for.js';

const CLI = fileURLToPath(new URL('../helpers/cli.ts', import.meta.url));

async function load(args: string[]): Promise<{ code: number; out: string }> {
  let out = '';
  const code = await main(['load', ...args], (s) => (out += s + '\n'));
  return { code, out };
}

function opts(url: string, o: Partial<LoadRunOptions>): LoadRunOptions {
  const runId = newRunId();
  return {
    url,
    path: '/logs',
    records: 1000,
    clients: 4,
    batch: 1,
    format: 'json',
    gzip: false,
    rate: 0,
    durationMs: 0,
    timeoutMs: 5000,
    runId,
    service: `load-${runId}`,
    ...o,
  };
}

test(
  'the collector dies mid-run: the run stops by itself, counts only answered requests, and exits 1',
  { timeout: 60_000 },
  async () => {
    const dir = tempDir();
    const app: App = await startApp(testConfig({ 'sink.kind': 'blackhole' }, dir.path));
    try {
      const started = Date.now();
      const run = load(['--url', app.url, '--records', '1000000', '--clients', '8', '--json', '--quiet']);
      setTimeout(() => void app.stop(), 500);
      const { code, out } = await run;
      const r = JSON.parse(out) as {
        load: {
          requests: number;
          recordsSent: number;
          recordsAccepted: number;
          transportErrors: number;
          stoppedEarly?: string;
          latency: { count: number };
          statusCounts: Record<string, number>;
        };
      };
      assert.equal(code, 1);
      assert.match(r.load.stoppedEarly ?? '', /no answer/);
      assert.ok(r.load.transportErrors >= 20, `${r.load.transportErrors} unanswered`);
      assert.ok(r.load.recordsSent < 1_000_000, 'not every record claimed as sent');
      assert.equal(r.load.latency.count, r.load.requests, 'latency only of answered requests');
      const answered = Object.entries(r.load.statusCounts)
        .filter(([k]) => !k.startsWith('error:'))
        .reduce((n, [, v]) => n + v, 0);
      assert.equal(answered, r.load.requests);
      assert.ok(Date.now() - started < 30_000, 'stopped well before sending a million records');
    } finally {
      await app.stop();
      dir.remove();
    }
  },
);

test('an abort (Ctrl-C) ends a paced run at once: no request due later is sent', { timeout: 30_000 }, async () => {
  const dir = tempDir();
  const app = await startApp(testConfig({ 'sink.kind': 'blackhole' }, dir.path));
  try {
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 300);
    const started = Date.now();
    // 2 records/s: the 10 records are due over 5 s.
    const r = await runLoad(opts(app.url, { records: 10, clients: 10, rate: 2 }), { signal: ac.signal });
    assert.ok(Date.now() - started < 2000, `ended ${Date.now() - started} ms after the start`);
    assert.ok(r.requests <= 1, `${r.requests} requests (only the one due at 0 s)`);
  } finally {
    await app.stop();
    dir.remove();
  }
});

test('absurd --clients, or a --path that is not a path, is a usage error (exit 2) naming the flag', () => {
  for (const [flag, value] of [
    ['--clients', '1e12'],
    ['--path', 'http://elsewhere/x'],
  ]) {
    const r = spawnSync(
      process.execPath,
      ['--import', 'tsx', CLI, 'load', '--url', 'http://127.0.0.1:1', flag!, value!, '--quiet'],
      { encoding: 'utf8' },
    );
    assert.equal(r.status, 2, `${flag} ${value}: ${r.stderr}`);
    assert.match(r.stderr, new RegExp(`${flag} must be`));
  }
});

test(
  '--verify losing its database connection mid-run still prints the load results, and exits 1',
  { timeout: 60_000 },
  async () => {
    const db = await createTestDatabase();
    const dir = tempDir();
    const app = await startApp(
      testConfig({ 'sink.kind': 'postgres', 'postgres.url': db.url, 'ingest.ack': 'memory' }, dir.path),
    );
    try {
      const run = load([
        '--url',
        app.url,
        '--records',
        '3000',
        '--clients',
        '2',
        '--rate',
        '1500',
        '--verify',
        db.url,
        '--json',
        '--quiet',
      ]);
      // Connected and watching (it has run a query), so cutting it fails the verify, not the start.
      await waitFor('the verifier to watch the database', async () => {
        const { rows } = await db.pool.query<{ n: number }>(
          "SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'sluice-load-verify' AND query_start IS NOT NULL",
        );
        return rows[0]!.n > 0;
      });
      const killed = await db.pool.query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'sluice-load-verify'",
      );
      const { code, out } = await run;
      const r = JSON.parse(out) as { load: { recordsAccepted: number }; verify: { error?: string } | null };
      assert.equal(r.load.recordsAccepted, 3000);
      assert.equal(killed.rowCount, 1, 'the verifier was connected');
      assert.equal(code, 1);
      assert.match(r.verify?.error ?? '', /--verify failed/);
    } finally {
      await app.stop();
      dir.remove();
      await db.drop();
      await stopOwnServer();
    }
  },
);
