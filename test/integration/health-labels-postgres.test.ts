// Groups, tags and latency history with the PostgreSQL store: labels survive a restart (they
// live in the stored definition) and filter the API; the per-bucket p50/p95 computed by
// percentile_cont equal the in-memory computation on the same rows, and reach the UI's API.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { App } from '../../src/app.js';
import { MIGRATIONS } from '../../src/database.js';
import { migrate } from '../../src/postgres/migrate.js';
import { bucketsFromPostgres, bucketsOf, type Bucket } from '../../src/ui/check-buckets.js';
import { postJson, startApp, tempDir, testConfig } from '../helpers/app.js';
import { createTestDatabase, stopOwnServer, type TestDatabase } from '../helpers/postgres.js';

type Row = { ts: string; ok: boolean; latency_ms: number | null };

async function insert(db: TestDatabase, checkId: string, rows: readonly Row[]): Promise<void> {
  await db.pool.query(
    `INSERT INTO check_results (id, ts, received_at, check_id, check_name, kind, ok, status, latency_ms)
     SELECT $1 || '-' || n, ts, now(), $1, $1, 'http', ok, CASE WHEN ok THEN 'up' ELSE 'down' END, lat
       FROM unnest($2::timestamptz[], $3::boolean[], $4::double precision[]) WITH ORDINALITY AS x(ts, ok, lat, n)`,
    [checkId, rows.map((r) => r.ts), rows.map((r) => r.ok), rows.map((r) => r.latency_ms)],
  );
}

const pick = (b: Bucket) => [b.start, b.total, b.avg_latency_ms, b.latency_p50_ms, b.latency_p95_ms];

describe('groups, tags and latency history on PostgreSQL', () => {
  let db: TestDatabase;
  const dir = tempDir('sluice-labels-pg-');
  before(async () => {
    db = await createTestDatabase();
    await migrate(db.pool, MIGRATIONS);
  });
  after(async () => {
    await db.drop();
    dir.remove();
    await stopOwnServer();
  });

  test('percentile_cont per hour and per day equals the in-memory buckets for chosen latencies', async () => {
    const now = Date.UTC(2026, 10, 20, 12, 30, 0);
    const at = (h: number, m: number) => new Date(Date.UTC(2026, 10, 20, h, m, 0)).toISOString();
    const rows: Row[] = [
      ...[70, 10, 100, 40, 20, 90, 30, 60, 80, 50].map((l, i) => ({ ts: at(11, i), ok: true, latency_ms: l })),
      { ts: at(11, 30), ok: false, latency_ms: null },
      { ts: at(12, 5), ok: true, latency_ms: 7 },
      { ts: at(9, 15), ok: false, latency_ms: null },
      // Yesterday, for the day buckets: 1, 2, 3, 4 → p50 2.5, p95 3.85.
      ...[4, 1, 3, 2].map((l, i) => ({
        ts: new Date(Date.UTC(2026, 10, 19, 8, i)).toISOString(),
        ok: true,
        latency_ms: l,
      })),
    ];
    await insert(db, 'lat', rows);
    await insert(db, 'other', [{ ts: at(11, 1), ok: true, latency_ms: 5000 }]);

    const hours = await bucketsFromPostgres(db.pool, 'lat', 'hour', now);
    assert.deepEqual(hours.map(pick), bucketsOf(rows, 'hour', now).map(pick));
    const h11 = hours.find((b) => b.start === '2026-11-20T11:00:00.000Z')!;
    assert.deepEqual([h11.total, h11.latency_p50_ms, h11.latency_p95_ms], [11, 55, 95.5]);
    const h09 = hours.find((b) => b.start === '2026-11-20T09:00:00.000Z')!;
    assert.deepEqual([h09.total, h09.latency_p50_ms, h09.latency_p95_ms], [1, null, null]);

    const days = await bucketsFromPostgres(db.pool, 'lat', 'day', now);
    assert.deepEqual(days.map(pick), bucketsOf(rows, 'day', now).map(pick));
    assert.deepEqual([days.at(-1)!.latency_p50_ms, days.at(-1)!.latency_p95_ms], [50, 95]);
    assert.deepEqual([days.at(-2)!.latency_p50_ms, days.at(-2)!.latency_p95_ms], [2.5, 3.9]);
  });

  test('labels survive a restart, filter /admin/checks and /api/status, and the UI history has p50/p95', async () => {
    const config = testConfig(
      { 'sink.kind': 'postgres', 'postgres.url': db.url, 'ingest.ack': 'memory', 'batch.maxWaitMs': 20 },
      dir.path,
    );
    const push = (name: string, extra: object) => ({ name, kind: 'push', interval: '1d', ...extra });
    let app: App = await startApp(config);
    let id: string;
    try {
      const res = await postJson(`${app.url}/admin/checks`, [
        push('pay-job', { group: 'payments', tags: ['prod', 'critical'] }),
        push('web-job', { group: 'web', tags: ['prod'] }),
        push('plain-job', {}),
      ]);
      const body = (await res.json()) as { checks: Array<{ id: string; name: string }> };
      assert.equal(res.status, 200, JSON.stringify(body));
      id = body.checks[0]!.id;
    } finally {
      await app.stop();
    }
    app = await startApp(config);
    try {
      const names = async (path: string) =>
        ((await (await fetch(`${app.url}${path}`)).json()) as Array<{ name: string }>).map((c) => c.name).sort();
      assert.deepEqual(await names('/admin/checks?group=payments'), ['pay-job']);
      assert.deepEqual(await names('/admin/checks?tag=prod'), ['pay-job', 'web-job']);
      assert.deepEqual(await names('/admin/checks?tag=prod&tag=critical'), ['pay-job']);
      assert.deepEqual(await names('/admin/checks'), ['pay-job', 'plain-job', 'web-job']);
      const status = (await (await fetch(`${app.url}/api/status?group=web`)).json()) as {
        checks: Array<{ name: string; group: string; tags: string[] }>;
      };
      assert.deepEqual(status.checks, [{ ...status.checks[0]!, name: 'web-job', group: 'web', tags: ['prod'] }]);

      // Results two hours back (away from an hour boundary's edge cases: the bucket is found by its start).
      const base = Math.floor(Date.now() / 3_600_000) * 3_600_000 - 2 * 3_600_000;
      await insert(
        db,
        id,
        [12, 4, 8, 20].map((l, i) => ({
          ts: new Date(base + (i + 1) * 60_000).toISOString(),
          ok: true,
          latency_ms: l,
        })),
      );
      const h = (await (await fetch(`${app.url}/api/checks/${id}/history?bucket=hour`)).json()) as { items: Bucket[] };
      const b = h.items.find((x) => x.start === new Date(base).toISOString())!;
      // 4, 8, 12, 20: p50 halfway between 8 and 12, p95 at rank 2.85.
      assert.deepEqual([b.total, b.latency_p50_ms, b.latency_p95_ms], [4, 10, 18.8]);
    } finally {
      await app.stop();
    }
  });
});
