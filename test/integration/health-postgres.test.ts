// The health checker with the PostgreSQL sink: a check added through the admin API runs, its
// results go through the pipeline into check_results, and after a restart the check, its state,
// history and uptime are all served from PostgreSQL. Also: the SQL uptime equals uptime.ts's.
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import type { App } from '../../src/app.js';
import { PostgresHistory } from '../../src/health/history.js';
import { computeUptime } from '../../src/health/uptime.js';
import { postJson, startApp, tempDir, testConfig } from '../helpers/app.js';
import { startTarget, type Target } from '../helpers/health-targets.js';
import { createTestDatabase, stopOwnServer, type TestDatabase } from '../helpers/postgres.js';
import { waitFor } from '../helpers/wait-for.js';

type Json = Record<string, unknown>;

describe('health checks on PostgreSQL', () => {
  let db: TestDatabase;
  let target: Target;
  const dir = tempDir('sluice-health-pg-');
  before(async () => {
    db = await createTestDatabase();
    target = await startTarget();
  });
  after(async () => {
    await target.close();
    await db.drop();
    dir.remove();
    await stopOwnServer();
  });

  const config = () =>
    testConfig(
      { 'sink.kind': 'postgres', 'postgres.url': db.url, 'ingest.ack': 'memory', 'batch.maxWaitMs': 20 },
      dir.path,
    );

  test('added via the admin API, it runs; after a restart its definition, state, history and uptime come from PostgreSQL', async () => {
    let failing = false;
    target.set('/pg', () => (failing ? { status: 503 } : { status: 200, body: 'ok' }));
    let app: App = await startApp(config());
    let stateBefore: Json;
    try {
      const res = await postJson(`${app.url}/admin/checks`, {
        name: 'pg-api',
        kind: 'http',
        url: `${target.url}/pg`,
        interval: '150ms',
        timeout: '100ms',
        failureThreshold: 2,
      });
      assert.equal(res.status, 201);
      const id = ((await res.json()) as Json).id as string;
      assert.equal(await db.count('checks', `id = '${id}'`), 1);
      await waitFor('5 results stored', async () =>
        (await db.count('check_results', `check_id = '${id}'`)) >= 5 ? true : undefined,
      );
      failing = true;
      await waitFor('down', async () => {
        const b = (await (await fetch(`${app.url}/admin/checks/${id}`)).json()) as Json;
        return b.state === 'down' ? b : undefined;
      });
      await waitFor('failures stored', async () =>
        (await db.count('check_results', `check_id = '${id}' AND NOT ok`)) >= 2 ? true : undefined,
      );
      stateBefore = (await (await fetch(`${app.url}/admin/checks/${id}`)).json()) as Json;
      await app.stop();
      const stored = await db.count('check_results', `check_id = '${id}'`);
      assert.equal(
        (await db.pool.query('SELECT state FROM check_state WHERE check_id = $1', [id])).rows[0]?.state,
        'down',
      );

      // Restart: nothing in memory survives; everything below is read from PostgreSQL.
      app = await startApp(config());
      const back = (await (await fetch(`${app.url}/admin/checks/${id}`)).json()) as Json;
      assert.equal(back.name, 'pg-api');
      assert.equal(back.state, 'down');
      assert.equal(back.since, stateBefore.since);
      assert.equal(
        (back.lastResult as Json | null)?.ok,
        false,
        'the last stored result is shown before the first run here',
      );
      const histRes = await fetch(`${app.url}/admin/checks/${id}/history?limit=1000`);
      assert.equal(histRes.headers.get('x-sluice-history-source'), 'postgres');
      const hist = (await histRes.json()) as Json[];
      assert.ok(hist.length >= stored, `${hist.length} results served, ${stored} stored before the restart`);
      const times = hist.map((h) => Date.parse(h.ts as string));
      assert.deepEqual(
        times,
        [...times].sort((a, b) => b - a),
        'newest first',
      );
      assert.ok(hist.some((h) => h.ok === false && h.status_code === 503 && h.error_class === 'status'));
      assert.ok(hist.some((h) => h.ok === true && h.status_code === 200));
      // from/to narrow the range; limit caps it.
      const oldest = hist[hist.length - 1]!.ts as string;
      const narrow = (await (
        await fetch(`${app.url}/admin/checks/${id}/history?to=${encodeURIComponent(oldest)}`)
      ).json()) as Json[];
      assert.equal(narrow.length, 1);
      assert.equal(((await (await fetch(`${app.url}/admin/checks/${id}/history?limit=2`)).json()) as Json[]).length, 2);

      const up = (await (await fetch(`${app.url}/admin/checks/${id}/uptime`)).json()) as {
        source: string;
        windows: Record<string, { percent: number; observedSeconds: number }>;
      };
      assert.equal(up.source, 'postgres');
      const w = up.windows['1h']!;
      assert.ok(w.percent > 0 && w.percent < 100, `uptime ${w.percent}% mixes up and down`);
      assert.ok(w.observedSeconds > 0.5, String(w.observedSeconds));
      assert.equal(up.windows['30d']!.percent, w.percent, 'all data is within the hour');
    } finally {
      await app.stop();
    }
  });

  test('the SQL uptime equals the in-memory maths on the same results', async () => {
    const now = Date.UTC(2026, 10, 20, 12, 0, 0);
    const H = 3_600_000;
    // Irregular results over two days: outages, a gap longer than maxGap, and results before the windows.
    const points: Array<{ ts: number; ok: boolean }> = [];
    let t = now - 40 * 86_400_000;
    let i = 0;
    while (t < now) {
      points.push({ ts: t, ok: i % 7 !== 3 && !(t > now - 5 * H && t < now - 4 * H) });
      t += i % 50 === 49 ? 3 * H : ((i * 7919) % 600) * 1000 + 30_000;
      i++;
    }
    await db.pool.query(
      `INSERT INTO check_results (id, ts, received_at, check_id, check_name, kind, ok, status)
       SELECT 'u' || n, to_timestamp(ts / 1000.0), now(), 'maths', 'maths', 'http', ok, CASE WHEN ok THEN 'up' ELSE 'down' END
         FROM unnest($1::double precision[], $2::boolean[]) WITH ORDINALITY AS x(ts, ok, n)`,
      [points.map((p) => p.ts), points.map((p) => p.ok)],
    );
    const maxGap = 20 * 60_000;
    const sql = await new PostgresHistory(db.pool).uptime('maths', maxGap, now);
    const js = computeUptime(points, now, maxGap);
    for (const w of ['1h', '24h', '7d', '30d'] as const) {
      assert.ok(js[w].observedSeconds > 0, w);
      assert.ok(
        Math.abs(sql[w].observedSeconds - js[w].observedSeconds) < 0.01,
        `${w}: ${sql[w].observedSeconds} vs ${js[w].observedSeconds}`,
      );
      assert.ok(Math.abs(sql[w].upSeconds - js[w].upSeconds) < 0.01, `${w}: ${sql[w].upSeconds} vs ${js[w].upSeconds}`);
      assert.equal(sql[w].percent, js[w].percent, w);
    }
    assert.ok(js['24h'].percent! < 100 && js['24h'].percent! > 50, String(js['24h'].percent));
  });

  test("a push check's deadline runs on from its last ping across a restart, not afresh from the start", async () => {
    let app: App = await startApp(config());
    let id: string;
    let pingAt: number;
    try {
      const res = await postJson(`${app.url}/admin/checks`, {
        name: 'cron-restart',
        kind: 'push',
        service: 'cron-restart',
        interval: '2s',
        grace: '1s',
        failureThreshold: 1,
      });
      id = ((await res.json()) as Json).id as string;
      assert.equal((await postJson(`${app.url}/health`, { service: 'cron-restart', status: 'up' })).status, 202);
      pingAt = Date.now();
      await waitFor('the ping stored as a result', async () =>
        (await db.count('check_results', `check_id = '${id}'`)) >= 1 ? true : undefined,
      );
    } finally {
      await app.stop();
    }
    // Down 2 s (a deploy): the deadline is 3 s after the ping, 1 s after this start.
    await sleep(Math.max(0, pingAt + 2000 - Date.now()));
    app = await startApp(config());
    try {
      const down = await waitFor(
        'down after the missed ping',
        async () => {
          const b = (await (await fetch(`${app.url}/admin/checks/${id}`)).json()) as Json;
          return b.state === 'down' ? b : undefined;
        },
        10_000,
      );
      const missedAt = Date.parse((down.lastResult as Json).ts as string);
      // Afresh from the start it would be 3 s after the restart: ≥ 5 s after the ping.
      assert.ok(missedAt - pingAt < 4500, `missed ${missedAt - pingAt} ms after the ping (deadline 3000 ms)`);
      assert.match((down.lastResult as Json).message as string, /since 20\d\d-/, 'the message names the last ping');
    } finally {
      await app.stop();
    }
  });

  test('deleting checks while their results are still saving state leaves no state rows behind', async () => {
    let n = 0;
    target.set('/flap', () => (n++ % 2 ? { status: 500 } : { status: 200, body: 'ok' }));
    const app = await startApp(config());
    try {
      const ids: string[] = [];
      for (let i = 0; i < 30; i++) {
        const res = await postJson(`${app.url}/admin/checks`, {
          id: `flap-${i}`,
          name: `flap-${i}`,
          kind: 'http',
          url: `${target.url}/flap`,
          interval: '100ms',
          timeout: '80ms',
          failureThreshold: 1,
        });
        assert.equal(res.status, 201);
        ids.push(`flap-${i}`);
      }
      await waitFor('state rows saved', async () =>
        (await db.count('check_state', "check_id LIKE 'flap-%'")) >= 20 ? true : undefined,
      );
      const deletes = await Promise.all(ids.map((id) => fetch(`${app.url}/admin/checks/${id}`, { method: 'DELETE' })));
      assert.deepEqual([...new Set(deletes.map((r) => r.status))], [204]);
      await sleep(300);
      assert.equal(await db.count('checks', "id LIKE 'flap-%'"), 0);
      assert.equal(await db.count('check_state', "check_id LIKE 'flap-%'"), 0, 'a state save raced a delete');
    } finally {
      await app.stop();
    }
  });
});
