// Push schedules and maintenance windows through a running collector: a cron job's pings by
// URL with real curl (start, success with a body, fail; no body needed), the same auth as
// POST /health, late → down with a short grace, and a maintenance window created through the
// admin API holding a real alert from a local webhook receiver until the window is removed.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import type { App } from '../../src/app.js';
import { webhookSchema } from '../../src/health/alert-schema.js';
import { postJson, startApp, tempDir, testConfig } from '../helpers/app.js';
import { startTarget, type Target } from '../helpers/health-targets.js';
import { startReceivers, type Receivers } from '../helpers/notify-receivers.js';
import { createTestDatabase, stopOwnServer, type TestDatabase } from '../helpers/postgres.js';
import { waitFor } from '../helpers/wait-for.js';

type Json = Record<string, unknown>;
const run = promisify(execFile);
const ADMIN = 'admin-token-123';
const INGEST = 'ingest-token-456';
const admin = { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' };

/** curl as a crontab line runs it: -sS, status code printed last. */
async function curl(args: string[]): Promise<{ status: number; body: string }> {
  const { stdout } = await run('curl', ['-sS', '-w', '\n%{http_code}', ...args]);
  const at = stdout.lastIndexOf('\n');
  return { status: Number(stdout.slice(at + 1)), body: stdout.slice(0, at) };
}

describe('push schedules and maintenance windows over HTTP', () => {
  const dir = tempDir('sluice-schedules-');
  let app: App;
  let target: Target;
  let rx: Receivers;
  let failing = false;

  const get = async (path: string): Promise<Json> => {
    const res = await fetch(app.url + path, { headers: admin });
    assert.equal(res.status, 200, `GET ${path}`);
    return (await res.json()) as Json;
  };
  const send = (method: string, path: string, body?: unknown): Promise<Response> =>
    fetch(app.url + path, {
      method,
      headers: body === undefined ? { authorization: admin.authorization } : admin,
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });

  before(async () => {
    target = await startTarget();
    rx = await startReceivers();
    target.set('/svc', () => (failing ? { status: 503, body: 'maintenance' } : { status: 200, body: 'ok' }));
    const config = testConfig({ 'auth.adminTokens': ADMIN, 'auth.ingestTokens': INGEST }, dir.path);
    config.health.webhooks = [webhookSchema.parse(`${rx.url}/hook`)];
    config.health.webhookBaseDelayMs = 20;
    app = await startApp(config);
  });

  after(async () => {
    await app?.stop();
    await target?.close();
    await rx?.close();
    dir.remove();
  });

  test('a cron push check: new, then start / success (duration, body as message) / fail by curl', async () => {
    const created = await send('POST', '/admin/checks', {
      name: 'nightly-backup',
      kind: 'push',
      cron: '30 2 * * *',
      timezone: 'Europe/Berlin',
      grace: '30m',
    });
    assert.equal(created.status, 201, await created.clone().text());
    const view = (await created.json()) as Json;
    assert.equal(view.failureThreshold, 1);
    assert.equal((view.push as Json).state, 'new');
    // Due at the next 02:30 in Berlin: 00:30Z or 01:30Z depending on the season.
    assert.match(String((view.push as Json).dueAt), /T0[01]:30:00\.000Z$/);

    const base = `${app.url}/health/nightly-backup`;
    const bearer = ['-H', `authorization: Bearer ${INGEST}`];
    assert.equal((await curl([...bearer, `${base}/start`])).status, 200); // GET, no body
    const started = (await get('/admin/checks/nightly-backup')).push as Json;
    assert.ok(started.startedAt, 'the start is shown');
    await new Promise((r) => setTimeout(r, 60));
    const ok = await curl([...bearer, '--data-raw', 'backup of 3 GB done', base]); // POST, form-encoded body
    assert.equal(ok.status, 200, ok.body);
    assert.deepEqual(JSON.parse(ok.body), { check: 'nightly-backup', ping: 'success' });
    const up = await waitFor('up', async () => {
      const b = await get('/admin/checks/nightly-backup');
      return b.state === 'up' ? b : undefined;
    });
    const last = up.lastResult as Json;
    assert.equal(last.message, 'backup of 3 GB done');
    assert.ok((last.latency_ms as number) >= 50, `duration ${String(last.latency_ms)} ms`);
    assert.equal((up.push as Json).state, 'up');
    assert.ok(((up.push as Json).lastDurationMs as number) >= 50);

    assert.equal((await curl([...bearer, '-X', 'POST', `${base}/fail`])).status, 200); // POST, no body at all
    const down = await waitFor('down after a fail ping', async () => {
      const b = await get('/admin/checks/nightly-backup');
      return b.state === 'down' ? b : undefined;
    });
    assert.equal((down.lastResult as Json).error_class, 'reported_down');
    assert.equal((down.push as Json).state, 'down');
  });

  test('pings by URL take the ingest auth and answer 404/409 for what cannot be pinged', async () => {
    const base = `${app.url}/health/nightly-backup`;
    assert.equal((await curl([base])).status, 401, 'no token');
    assert.equal((await curl(['-H', `authorization: Bearer ${ADMIN}`, base])).status, 403, 'wrong scope');
    const bearer = ['-H', `authorization: Bearer ${INGEST}`];
    const missing = await curl([...bearer, `${app.url}/health/no-such-job`]);
    assert.equal(missing.status, 404);
    assert.match(missing.body, /no-such-job/);
    assert.equal(
      (await send('POST', '/admin/checks', { name: 'web', kind: 'http', url: `${target.url}/svc`, interval: '1h' }))
        .status,
      201,
    );
    const notPush = await curl([...bearer, `${app.url}/health/web/start`]);
    assert.equal(notPush.status, 409);
    assert.match(notPush.body, /not a push check/);
    const big = await curl([...bearer, '--data-binary', 'x'.repeat(20_000), base]);
    assert.equal(big.status, 413);
    assert.equal((await send('DELETE', '/admin/checks/web')).status, 204);
  });

  test('late within grace, then down (missed) with a short grace; a ping by URL brings it back', async () => {
    const created = await send('POST', '/admin/checks', {
      name: 'ticker',
      kind: 'push',
      interval: '300ms',
      grace: '1500ms',
      failureThreshold: 1,
    });
    assert.equal(created.status, 201);
    const createdAt = Date.now();
    const late = await waitFor('late', async () => {
      const b = await get('/admin/checks/ticker');
      return (b.push as Json).state === 'late' ? b : undefined;
    });
    assert.notEqual(late.state, 'down', 'late is not down');
    const down = await waitFor('down', async () => {
      const b = await get('/admin/checks/ticker');
      return b.state === 'down' ? b : undefined;
    });
    assert.ok(Date.now() - createdAt >= 1800, 'not down before interval + grace');
    assert.equal((down.lastResult as Json).error_class, 'missed');
    assert.equal((down.push as Json).state, 'down');
    const bearer = ['-H', `authorization: Bearer ${INGEST}`];
    assert.equal((await curl([...bearer, `${app.url}/health/ticker`])).status, 200);
    await waitFor('up again', async () => (await get('/admin/checks/ticker')).state === 'up');
    assert.equal((await send('DELETE', '/admin/checks/ticker')).status, 204);
  });

  test('a maintenance window from the admin API holds the alert; removing it lets the alert through', async () => {
    for (const name of ['held', 'control']) {
      const res = await send('POST', '/admin/checks', {
        name,
        kind: 'http',
        url: `${target.url}/svc`,
        interval: '200ms',
        failureThreshold: 1,
      });
      assert.equal(res.status, 201, await res.text());
    }
    await waitFor('both up', async () => {
      const [a, b] = [await get('/admin/checks/held'), await get('/admin/checks/control')];
      return a.state === 'up' && b.state === 'up';
    });

    const bad = await send('POST', '/admin/maintenance', {
      checks: ['held'],
      start: '2026-01-02T00:00:00Z',
      end: '2026-01-01T00:00:00Z',
    });
    assert.equal(bad.status, 400);
    assert.equal(((await bad.json()) as Json).field, 'end');
    assert.equal((await fetch(`${app.url}/admin/maintenance`, { method: 'POST', body: '{}' })).status, 401);
    const win = await send('POST', '/admin/maintenance', {
      id: 'db-upgrade',
      checks: ['held'],
      start: new Date(Date.now() - 1000).toISOString(),
      end: new Date(Date.now() + 3_600_000).toISOString(),
    });
    assert.equal(win.status, 201, await win.clone().text());
    assert.deepEqual(
      ((await get('/admin/maintenance')) as unknown as Json[]).map((w) => w.id),
      ['db-upgrade'],
    );
    assert.equal(((await get('/admin/checks/held')).maintenance as Json).window, 'db-upgrade');

    failing = true;
    await waitFor('the control check alerted', () =>
      rx.seen.some((s) => (s.json?.check as Json | undefined)?.name === 'control' && s.json?.to === 'down'),
    );
    const history = await waitFor('three maintenance results', async () => {
      const res = await fetch(`${app.url}/admin/checks/held/history?limit=50`, { headers: admin });
      const rows = (await res.json()) as Json[];
      return rows.filter((r) => r.status === 'maintenance').length >= 3 ? rows : undefined;
    });
    const row = history.find((r) => r.status === 'maintenance')!;
    assert.equal(row.ok, false, 'what the run found is kept');
    assert.deepEqual((row.details as Json).maintenance, { window: 'db-upgrade', status: 'down' });
    assert.equal((await get('/admin/checks/held')).state, 'up', 'the state does not move in the window');
    assert.ok(!rx.seen.some((s) => (s.json?.check as Json | undefined)?.name === 'held'), 'nothing sent for held');

    // The window ends (removed) while the service is still down: the change is alerted now.
    assert.equal((await send('DELETE', '/admin/maintenance/db-upgrade')).status, 204);
    const alert = await waitFor('the held check alerted after the window', () =>
      rx.seen.find((s) => (s.json?.check as Json | undefined)?.name === 'held'),
    );
    assert.equal(alert.json?.from, 'up');
    assert.equal(alert.json?.to, 'down');
    assert.equal((await send('DELETE', '/admin/maintenance/db-upgrade')).status, 404);
    failing = false;
  });
});

describe('maintenance windows on PostgreSQL', () => {
  let db: TestDatabase;
  let target: Target;
  const dir = tempDir('sluice-schedules-pg-');
  before(async () => {
    db = await createTestDatabase();
    target = await startTarget();
  });
  after(async () => {
    await target?.close();
    await db?.drop();
    dir.remove();
    await stopOwnServer();
  });
  const config = () =>
    testConfig(
      { 'sink.kind': 'postgres', 'postgres.url': db.url, 'ingest.ack': 'memory', 'batch.maxWaitMs': 20 },
      dir.path,
    );

  test('uptime in SQL leaves maintenance results out; an API window outlives a restart', async () => {
    let failing = false;
    target.set('/pg', () => (failing ? { status: 503 } : { status: 200, body: 'ok' }));
    let app = await startApp(config());
    try {
      const res = await postJson(`${app.url}/admin/checks`, {
        id: 'pg-svc',
        name: 'pg-svc',
        kind: 'http',
        url: `${target.url}/pg`,
        interval: '150ms',
        failureThreshold: 1,
      });
      assert.equal(res.status, 201);
      await waitFor('3 up results stored', async () =>
        (await db.count('check_results', `check_id = 'pg-svc' AND status = 'up'`)) >= 3 ? true : undefined,
      );
      const win = await postJson(`${app.url}/admin/maintenance`, {
        id: 'pg-window',
        checks: ['pg-svc'],
        start: new Date(Date.now() - 1000).toISOString(),
        end: new Date(Date.now() + 3_600_000).toISOString(),
      });
      assert.equal(win.status, 201, await win.clone().text());
      failing = true;
      await waitFor('5 maintenance results stored', async () =>
        (await db.count('check_results', `check_id = 'pg-svc' AND status = 'maintenance' AND NOT ok`)) >= 5
          ? true
          : undefined,
      );
      const up = (await (await fetch(`${app.url}/admin/checks/pg-svc/uptime`)).json()) as Json;
      assert.equal(up.source, 'postgres');
      const hour = (up.windows as Record<string, Json>)['1h']!;
      assert.equal(hour.percent, 100, JSON.stringify(hour));
      assert.equal(await db.count('maintenance_windows', `id = 'pg-window'`), 1);
    } finally {
      await app.stop();
    }
    app = await startApp(config());
    try {
      const list = (await (await fetch(`${app.url}/admin/maintenance`)).json()) as Json[];
      assert.deepEqual(
        list.map((w) => `${String(w.id)}:${String(w.source)}`),
        ['pg-window:api'],
      );
      assert.equal(((await (await fetch(`${app.url}/admin/checks/pg-svc`)).json()) as Json).state, 'up');
      assert.equal((await fetch(`${app.url}/admin/maintenance/pg-window`, { method: 'DELETE' })).status, 204);
      assert.equal(await db.count('maintenance_windows', `id = 'pg-window'`), 0);
    } finally {
      await app.stop();
    }
  });
});
