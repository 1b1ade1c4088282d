// The collector end to end into a real PostgreSQL: exact counts under many concurrent clients,
// a database outage in the middle of load (breaker, /readyz, exactly-once after recovery), and
// the embedded default keeping its data across restarts.
import assert from 'node:assert/strict';
import { chmodSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import pg from 'pg';
import type { App } from '../../src/app.js';
import { startEmbeddedPostgres } from '../../src/postgres/embedded.js';
import { startApp, tempDir, testConfig } from '../helpers/app.js';
import { TEST_SERVER_SETTINGS, createTestDatabase } from '../helpers/postgres.js';
import { waitFor } from '../helpers/wait-for.js';

const cleanups: Array<() => Promise<void> | void> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

async function pgApp(url: string, over: Record<string, string | number | boolean> = {}): Promise<App> {
  const dir = tempDir();
  cleanups.push(dir.remove);
  return startApp(
    testConfig({ 'sink.kind': 'postgres', 'postgres.url': url, 'batch.maxWaitMs': 20, ...over }, dir.path),
  );
}

async function post(url: string, contentType: string, body: string): Promise<number> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': contentType }, body });
  await res.arrayBuffer();
  return res.status;
}

/** Runs `jobs` with at most `concurrency` in flight. */
async function pooled(jobs: Array<() => Promise<void>>, concurrency: number): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < jobs.length) await jobs[next++]!();
    }),
  );
}

describe('postgres end to end', () => {
  test('N records from many concurrent clients land exactly: logs and health pings, every body form', async () => {
    const db = await createTestDatabase();
    cleanups.push(() => db.drop());
    const app = await pgApp(db.url, { 'writers.count': 4, 'batch.maxRecords': 200 });
    let logs = 0;
    let pings = 0;
    const jobs: Array<() => Promise<void>> = [];
    for (let i = 0; i < 300; i++) {
      const form = i % 3;
      jobs.push(async () => {
        let status: number;
        if (form === 0) {
          status = await post(
            `${app.url}/logs`,
            'application/json',
            JSON.stringify({ id: `one-${i}`, msg: `single ${i}`, level: 'warn', service: 'svc' }),
          );
          if (status === 202) logs += 1;
        } else if (form === 1) {
          const arr = Array.from({ length: 10 }, (_, j) => ({
            id: `arr-${i}-${j}`,
            message: `array ${i}.${j}`,
            attrs: { j },
          }));
          status = await post(`${app.url}/logs`, 'application/json', JSON.stringify(arr));
          if (status === 202) logs += 10;
        } else {
          const lines = Array.from({ length: 25 }, (_, j) =>
            JSON.stringify({ id: `nd-${i}-${j}`, msg: `ndjson ${i}.${j}`, ts: Date.now() }),
          );
          status = await post(`${app.url}/logs`, 'application/x-ndjson', lines.join('\n'));
          if (status === 202) logs += 25;
        }
        assert.equal(status, 202);
      });
      if (i % 10 === 0) {
        jobs.push(async () => {
          const status = await post(
            `${app.url}/health`,
            'application/json',
            JSON.stringify([
              { service: `s${i}`, status: 'up', latency_ms: 3 },
              { service: `s${i}`, status: 'degraded' },
            ]),
          );
          assert.equal(status, 202);
          pings += 2;
        });
      }
    }
    await pooled(jobs, 50);
    await app.stop();
    assert.equal(logs, 100 * 1 + 100 * 10 + 100 * 25);
    assert.equal(await db.count('logs'), logs);
    assert.equal(
      Number((await db.pool.query('SELECT count(DISTINCT id) AS n FROM logs')).rows[0].n),
      logs,
      'no duplicates',
    );
    assert.equal(await db.count('health_pings'), pings);
    assert.equal(await db.count('health_pings', "status = 'degraded'"), pings / 2);
    assert.equal(await db.count('logs', "level = 'warn' AND service = 'svc'"), 100);
  });

  test('the database stops mid-load: writers retry, the breaker opens, /readyz says why; after it returns every accepted record is stored once', async () => {
    // A server of this test's own, so stopping it does not disturb other test files.
    const dir = tempDir('sluice-pg-outage-');
    chmodSync(dir.path, 0o755);
    cleanups.push(dir.remove);
    const dataDir = join(dir.path, 'data');
    let server = await startEmbeddedPostgres({ dataDir, settings: TEST_SERVER_SETTINGS });
    cleanups.push(() => server.stop());
    const app = await pgApp(server.url, {
      'writers.count': 2,
      'batch.maxRecords': 50,
      'buffer.maxRecords': 5000,
      'ingest.enqueueTimeoutMs': 10,
      'retry.baseDelayMs': 20,
      'retry.maxDelayMs': 200,
      'breaker.failureThreshold': 3,
      'breaker.halfOpenAfterMs': 200,
      'postgres.connectTimeoutMs': 500,
    });
    cleanups.push(() => app.stop());

    const accepted: string[] = [];
    let rejected = 0;
    let seq = 0;
    let loading = true;
    const client = async (): Promise<void> => {
      while (loading) {
        const ids = Array.from({ length: 10 }, () => `r-${seq++}`);
        const status = await post(
          `${app.url}/logs`,
          'application/x-ndjson',
          ids.map((id) => JSON.stringify({ id, msg: id })).join('\n'),
        );
        if (status === 202) accepted.push(...ids);
        else {
          assert.equal(status, 429, 'a full buffer pushes back; nothing else');
          rejected++;
          await new Promise((r) => setTimeout(r, 20));
        }
      }
    };
    const load = Promise.all(Array.from({ length: 8 }, client));

    await waitFor('some records stored', () => app.pool.stats().committedRecords > 500, 20_000);
    await server.stop();
    let readyz: { status: number; reasons: string[] } = { status: 0, reasons: [] };
    await waitFor(
      'the breaker to open and /readyz to fail',
      async () => {
        const res = await fetch(`${app.url}/readyz`);
        readyz = { status: res.status, reasons: ((await res.json()) as { reasons?: string[] }).reasons ?? [] };
        return res.status === 503 && readyz.reasons.some((r) => /circuit (open|half-open)/.test(r));
      },
      20_000,
    );
    assert.ok(
      readyz.reasons.some((r) => /sink postgres/.test(r)),
      `names the sink: ${readyz.reasons.join('; ')}`,
    );
    assert.ok(app.pool.stats().failures >= 3, 'writers saw the failures');
    await waitFor('the buffer to fill and push back', () => rejected > 0, 20_000);

    server = await startEmbeddedPostgres({ dataDir, port: server.port, settings: TEST_SERVER_SETTINGS });
    await waitFor(
      'the breaker to close',
      () => app.pool.stats().breaker === 'closed' && app.pool.stats().committedRecords > 0,
      20_000,
    );
    loading = false;
    await load;
    await app.stop();
    assert.equal(app.pool.stats().deadLetteredBatches, 0, 'nothing dead-lettered: the outage held batches');

    const check = new pg.Client({ connectionString: server.url });
    await check.connect();
    try {
      const { rows } = await check.query<{ id: string; n: string }>('SELECT id, count(*) AS n FROM logs GROUP BY id');
      const stored = new Map(rows.map((r) => [r.id, Number(r.n)]));
      const missing = accepted.filter((id) => !stored.has(id));
      const dupes = rows.filter((r) => Number(r.n) > 1);
      assert.deepEqual(missing.slice(0, 5), [], `${missing.length} accepted records missing`);
      assert.deepEqual(dupes.slice(0, 5), [], `${dupes.length} records stored twice`);
      assert.equal(stored.size, accepted.length);
    } finally {
      await check.end();
    }
  });
});

describe('embedded default', () => {
  test('with no URL the collector starts its own PostgreSQL, stores there, and keeps the data across restarts', async () => {
    const dir = tempDir('sluice-embedded-');
    chmodSync(dir.path, 0o755);
    cleanups.push(dir.remove);
    const dataDir = join(dir.path, 'postgres');
    const run = async (tag: string): Promise<number> => {
      const app = await pgApp('', { 'postgres.embeddedDataDir': dataDir });
      try {
        assert.equal(
          await post(`${app.url}/logs`, 'application/json', JSON.stringify([{ msg: `${tag}-1` }, { msg: `${tag}-2` }])),
          202,
        );
      } finally {
        await app.stop();
      }
      // The server is stopped with the collector; start it again just to look.
      const server = await startEmbeddedPostgres({ dataDir });
      const c = new pg.Client({ connectionString: server.url });
      await c.connect();
      const n = Number((await c.query('SELECT count(*) AS n FROM logs')).rows[0].n);
      await c.end();
      await server.stop();
      return n;
    };
    assert.equal(await run('first'), 2);
    assert.equal(await run('second'), 4, 'the first run’s rows are still there');
    // The database says which server it used, for the start-up log line.
    const app = await pgApp('', { 'postgres.embeddedDataDir': dataDir });
    assert.match(app.database?.url ?? '', /^postgres:\/\/postgres:.+@127\.0\.0\.1:\d+\/postgres$/);
    await app.stop();
  });
});
