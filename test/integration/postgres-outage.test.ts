// Starting while PostgreSQL is unreachable, and /readyz from known state: a child collector
// pointed at a gate proxy (test/helpers/gate-proxy.ts) in front of the real test server, the
// gate closed (connection refused) or stalled (a hung database), then opened.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { freePort } from '../../src/postgres/embedded.js';
import { tempDir } from '../helpers/app.js';
import { startChildCollector, type ChildCollector } from '../helpers/child-collector.js';
import { GateProxy } from '../helpers/gate-proxy.js';
import { createTestDatabase, stopOwnServer, type TestDatabase } from '../helpers/postgres.js';
import { waitFor } from '../helpers/wait-for.js';

const dir = tempDir('sluice-outage-');
after(async () => {
  dir.remove();
  await stopOwnServer();
});

/** The database's URL with its host and port replaced by the proxy's. */
function viaProxy(db: TestDatabase, port: number): string {
  const u = new URL(db.url);
  u.hostname = '127.0.0.1';
  u.port = String(port);
  return u.toString();
}

function targetOf(db: TestDatabase): { host: string; port: number } {
  const u = new URL(db.url);
  return { host: u.hostname, port: Number(u.port || 5432) };
}

function startCollector(name: string, pgUrl: string, flags: Record<string, string> = {}): Promise<ChildCollector> {
  return startChildCollector({
    sink: 'postgres',
    'postgres.url': pgUrl,
    'postgres.connectTimeoutMs': 500,
    'wal.dir': join(dir.path, name, 'wal'),
    'deadLetter.dir': join(dir.path, name, 'dead-letter'),
    'health.dataDir': join(dir.path, name, 'health'),
    'batch.maxWaitMs': 20,
    'breaker.halfOpenAfterMs': 200,
    ...flags,
  });
}

async function readyz(url: string): Promise<{ status: number; reasons: string[]; ms: number }> {
  const t0 = performance.now();
  const res = await fetch(`${url}/readyz`);
  const body = (await res.json()) as { reasons?: string[] };
  return { status: res.status, reasons: body.reasons ?? [], ms: performance.now() - t0 };
}

describe('PostgreSQL unreachable at start', () => {
  test(
    'ack durable: starts, takes records into the WAL, is not ready with the reason, and stores each once when the database comes',
    { timeout: 90_000 },
    async () => {
      const db = await createTestDatabase();
      const gate = new GateProxy(await freePort(), targetOf(db));
      const app = await startCollector('durable', viaProxy(db, gate.port), { 'ingest.ack': 'durable' });
      try {
        const notReady = await readyz(app.url);
        assert.equal(notReady.status, 503);
        assert.ok(
          notReady.reasons.some((r) => /database not connected/.test(r)),
          notReady.reasons.join('; '),
        );
        const ids: string[] = [];
        for (let r = 0; r < 10; r++) {
          const batch = Array.from({ length: 20 }, (_, i) => `outage-${r}-${i}`);
          ids.push(...batch);
          const res = await fetch(`${app.url}/logs`, {
            method: 'POST',
            headers: { 'content-type': 'application/x-ndjson' },
            body: batch.map((id) => JSON.stringify({ id, service: 'outage', msg: id })).join('\n'),
          });
          assert.equal(res.status, 202, await res.text());
        }
        // Health's PostgreSQL storage is not there yet: its API says so rather than failing.
        const early = await fetch(`${app.url}/admin/checks`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ name: 'x', kind: 'tcp', host: '127.0.0.1', port: 1, interval: '1m' }),
        });
        assert.equal(early.status, 503);
        await gate.open();
        // Until the collector has migrated, the table is not there.
        await waitFor(
          'every record posted during the outage stored',
          async () => (await db.count('logs').catch(() => -1)) === ids.length,
          30_000,
        );
        const { rows } = await db.pool.query<{ id: string; n: string }>(
          'SELECT id, count(*) AS n FROM logs GROUP BY id HAVING count(*) > 1',
        );
        assert.deepEqual(rows, [], 'no record stored twice');
        assert.equal(await db.count('logs', `id = ANY(ARRAY[${ids.map((id) => `'${id}'`).join(',')}])`), ids.length);
        await waitFor('/readyz ready', async () => (await readyz(app.url)).status === 200, 15_000);
        assert.match(app.output(), /health checks loaded/);
        const created = await fetch(`${app.url}/admin/checks`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ name: 'y', kind: 'tcp', host: '127.0.0.1', port: 1, interval: '1m' }),
        });
        assert.equal(created.status, 201, await created.text());
      } finally {
        await app.stop();
        await gate.close();
        await db.drop();
      }
    },
  );

  test(
    'ack memory: starts and answers ingest 503 with Retry-After at once until the database comes',
    { timeout: 60_000 },
    async () => {
      const db = await createTestDatabase();
      const gate = new GateProxy(await freePort(), targetOf(db));
      const app = await startCollector('memory', viaProxy(db, gate.port), { 'ingest.ack': 'memory' });
      try {
        const t0 = performance.now();
        const res = await fetch(`${app.url}/logs`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ msg: 'early' }),
        });
        const took = performance.now() - t0;
        assert.equal(res.status, 503, await res.text());
        assert.equal(res.headers.get('retry-after'), '1');
        assert.ok(took < 1000, `answered in ${took.toFixed(0)} ms`);
        await gate.open();
        await waitFor(
          'ingest accepted once connected',
          async () => {
            const r = await fetch(`${app.url}/logs`, {
              method: 'POST',
              headers: { 'content-type': 'application/json' },
              body: JSON.stringify({ id: 'late', msg: 'late' }),
            });
            return r.status === 202;
          },
          20_000,
        );
        await waitFor(
          'the record stored',
          async () => (await db.count('logs', "id = 'late'").catch(() => 0)) === 1,
          20_000,
        );
      } finally {
        await app.stop();
        await gate.close();
        await db.drop();
      }
    },
  );
});

describe('/readyz from known state', () => {
  test(
    'with the database stalled after start it answers at once, not ready, with the reason',
    { timeout: 60_000 },
    async () => {
      const db = await createTestDatabase();
      const gate = new GateProxy(await freePort(), targetOf(db));
      await gate.open();
      const app = await startCollector('stall', viaProxy(db, gate.port), { 'ingest.ack': 'durable' });
      try {
        await waitFor('/readyz ready', async () => (await readyz(app.url)).status === 200, 15_000);
        await gate.stall();
        const seen = await waitFor(
          '/readyz to say the sink is unreachable',
          async () => {
            const r = await readyz(app.url);
            // Every answer is quick, before the stall is noticed and after.
            assert.ok(r.ms < 1000, `/readyz took ${r.ms.toFixed(0)} ms`);
            return r.status === 503 ? r : undefined;
          },
          15_000,
        );
        assert.ok(
          seen.reasons.some((r) => /sink postgres unreachable/.test(r)),
          seen.reasons.join('; '),
        );
      } finally {
        // Dropped first: a collector stopping against held connections waits out its deadlines.
        await gate.close();
        await app.stop();
        await db.drop();
      }
    },
  );
});
