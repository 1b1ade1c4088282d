// The read API against a real PostgreSQL, with data sent through POST /logs: every filter of
// GET /api/logs, keyset pagination while rows keep arriving, 400s naming the parameter,
// /api/services, /api/status, the admin-token guard, and 501 with another sink.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { App } from '../../src/app.js';
import { postJson, startApp, tempDir, testConfig } from '../helpers/app.js';
import { createTestDatabase, stopOwnServer, type TestDatabase } from '../helpers/postgres.js';
import { waitFor } from '../helpers/wait-for.js';

interface Item {
  id: string;
  ts: string;
  received_at: string;
  level: string;
  service: string | null;
  message: string | null;
  attrs: unknown;
  trace_id: string | null;
  span_id: string | null;
}
interface Page {
  items: Item[];
  next: string | null;
}

const MIN = 60_000;
const iso = (msAgo: number): string => new Date(Date.now() - msAgo).toISOString();

describe('GET /api/logs on PostgreSQL', () => {
  let db: TestDatabase;
  let app: App;
  const dir = tempDir('sluice-query-');
  before(async () => {
    db = await createTestDatabase();
    app = await startApp(
      testConfig(
        { 'sink.kind': 'postgres', 'postgres.url': db.url, 'ingest.ack': 'memory', 'batch.maxWaitMs': 20 },
        dir.path,
      ),
    );
    const records = [
      {
        id: 'a1',
        ts: iso(1 * MIN),
        level: 'info',
        service: 'api',
        message: 'GET /users took 12ms',
        attrs: { user: { id: 42 }, route: '/users' },
        trace_id: 't-1',
        span_id: 's-1',
      },
      {
        id: 'a2',
        ts: iso(2 * MIN),
        level: 'error',
        service: 'api',
        message: 'Database TIMEOUT after 5s',
        attrs: { user: { id: '42' } },
        trace_id: 't-1',
        span_id: 's-2',
      },
      {
        id: 'a3',
        ts: iso(3 * MIN),
        level: 'warn',
        service: 'worker',
        message: 'retrying job 100%_done',
        attrs: { user: { id: 7 }, ok: true },
      },
      {
        id: 'a4',
        ts: iso(30 * MIN),
        level: 'fatal',
        service: 'worker',
        message: 'out of memory',
        attrs: { user: { id: 420 } },
      },
      { id: 'a5', ts: iso(5 * 60 * MIN), level: 'debug', service: 'billing', message: 'invoice sent', attrs: [1, 2] },
      { id: 'a6', ts: iso(2 * 24 * 60 * MIN), level: 'error', service: 'billing', message: 'old failure' },
      { id: 'a7', ts: iso(4 * MIN), level: 'info', message: 'no service here', attrs: { user: { id: 42.0 } } },
    ];
    assert.equal((await postJson(`${app.url}/logs`, records)).status, 202);
    await waitFor('7 rows stored', async () => ((await db.count('logs')) === 7 ? true : undefined));
  });
  after(async () => {
    await app.stop();
    await db.drop();
    dir.remove();
    await stopOwnServer();
  });

  const get = async (qs: string): Promise<Page> => {
    const res = await fetch(`${app.url}/api/logs${qs}`);
    assert.equal(res.status, 200, await res.clone().text());
    return (await res.json()) as Page;
  };
  const ids = async (qs: string): Promise<string[]> => (await get(qs)).items.map((i) => i.id);

  test('newest first, every column in the answer', async () => {
    const page = await get('');
    assert.deepEqual(
      page.items.map((i) => i.id),
      ['a1', 'a2', 'a3', 'a7', 'a4', 'a5', 'a6'],
    );
    assert.equal(page.next, null);
    const a1 = page.items[0]!;
    assert.deepEqual(
      { ...a1, ts: undefined, received_at: undefined },
      {
        id: 'a1',
        ts: undefined,
        received_at: undefined,
        level: 'info',
        service: 'api',
        message: 'GET /users took 12ms',
        attrs: { user: { id: 42 }, route: '/users' },
        trace_id: 't-1',
        span_id: 's-1',
      },
    );
    assert.match(a1.ts, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    assert.ok(Math.abs(Date.parse(a1.ts) - (Date.now() - MIN)) < 30_000);
    assert.ok(Date.parse(a1.received_at) >= Date.parse(a1.ts));
  });

  test('service (repeatable), level as a minimum, trace_id', async () => {
    assert.deepEqual(await ids('?service=api'), ['a1', 'a2']);
    assert.deepEqual(await ids('?service=api&service=billing'), ['a1', 'a2', 'a5', 'a6']);
    assert.deepEqual(await ids('?level=warn'), ['a2', 'a3', 'a4', 'a6']);
    assert.deepEqual(await ids('?level=error&service=worker'), ['a4']);
    assert.deepEqual(await ids('?level=FATAL'), ['a4']);
    assert.deepEqual(await ids('?trace_id=t-1'), ['a1', 'a2']);
  });

  test('from/to: relative and RFC 3339; from inclusive, to exclusive', async () => {
    assert.deepEqual(await ids('?from=10m'), ['a1', 'a2', 'a3', 'a7']);
    assert.deepEqual(await ids('?from=24h&level=error'), ['a2', 'a4']);
    assert.deepEqual(await ids('?from=1h&to=2m30s'), ['a3', 'a7', 'a4']);
    const a4 = (await get('?service=worker&level=fatal')).items[0]!;
    assert.deepEqual(await ids(`?from=${encodeURIComponent(a4.ts)}&to=10m`), ['a4']);
    assert.deepEqual(await ids(`?to=${encodeURIComponent(a4.ts)}`), ['a5', 'a6']);
  });

  test('q: case-insensitive substring; % and _ are literal', async () => {
    assert.deepEqual(await ids('?q=timeout'), ['a2']);
    assert.deepEqual(await ids('?q=TIMEOUT%20after'), ['a2']);
    assert.deepEqual(await ids(`?q=${encodeURIComponent('100%_')}`), ['a3']);
    assert.deepEqual(await ids(`?q=${encodeURIComponent('0%')}`), ['a3']);
    assert.deepEqual(await ids(`?q=${encodeURIComponent('_')}`), ['a3']);
    assert.deepEqual(await ids('?q=nothing-like-this'), []);
  });

  test('attr.<path>: a number-like value matches the number and the string, nothing else', async () => {
    assert.deepEqual(await ids('?attr.user.id=42'), ['a1', 'a2', 'a7']);
    assert.deepEqual(await ids('?attr.route=%2Fusers'), ['a1']);
    assert.deepEqual(await ids('?attr.ok=true'), ['a3']);
    assert.deepEqual(await ids('?attr.user.id=42&service=api&level=error'), ['a2']);
    assert.deepEqual(await ids('?attr.user.id=4'), []);
    assert.deepEqual(await ids('?attr.user=42'), []);
  });

  test('pagination: keyset pages cover every row once, stable while newer rows arrive', async () => {
    const seen: string[] = [];
    let page = await get('?limit=2');
    assert.equal(page.items.length, 2);
    seen.push(...page.items.map((i) => i.id));
    // Rows arriving between pages, newer and older than the cursor: neither shifts the next page.
    assert.equal((await postJson(`${app.url}/logs`, [{ id: 'n1', message: 'new', service: 'late' }])).status, 202);
    await waitFor('new row stored', async () => ((await db.count('logs', "id = 'n1'")) === 1 ? true : undefined));
    while (page.next) {
      page = await get(`?limit=2&cursor=${encodeURIComponent(page.next)}`);
      seen.push(...page.items.map((i) => i.id));
    }
    assert.deepEqual(seen, ['a1', 'a2', 'a3', 'a7', 'a4', 'a5', 'a6']);
    // Ties on ts are broken by id, so equal timestamps never repeat or vanish across pages.
    const ts = iso(90 * MIN);
    assert.equal(
      (
        await postJson(
          `${app.url}/logs`,
          ['t1', 't2', 't3'].map((id) => ({ id, ts, service: 'tie' })),
        )
      ).status,
      202,
    );
    await waitFor('ties stored', async () => ((await db.count('logs', "service = 'tie'")) === 3 ? true : undefined));
    const tied: string[] = [];
    let p = await get('?service=tie&limit=1');
    tied.push(...p.items.map((i) => i.id));
    while (p.next) {
      p = await get(`?service=tie&limit=1&cursor=${encodeURIComponent(p.next)}`);
      tied.push(...p.items.map((i) => i.id));
    }
    assert.deepEqual(tied, ['t3', 't2', 't1']);
  });

  test('a bad parameter is a 400 naming it', async () => {
    const cases: Array<[string, string]> = [
      ['?level=loud', 'level'],
      ['?limit=0', 'limit'],
      ['?limit=1001', 'limit'],
      ['?limit=ten', 'limit'],
      ['?from=yesterday', 'from'],
      ['?to=2026-13-01T00:00:00Z', 'to'],
      ['?from=1h&to=2h', 'from'],
      ['?cursor=not-a-cursor', 'cursor'],
      ['?sevrice=api', 'sevrice'],
      ['?attr.=1', 'attr.'],
      ['?attr.user..id=1', 'attr.user..id'],
      ['?level=warn&level=error', 'level'],
    ];
    for (const [qs, field] of cases) {
      const res = await fetch(`${app.url}/api/logs${qs}`);
      const body = (await res.json()) as { error: string; field: string; message: string };
      assert.equal(res.status, 400, qs);
      assert.equal(body.error, 'SLUICE_ERR_INVALID_QUERY', qs);
      assert.equal(body.field, field, qs);
      assert.ok(body.message.includes(field), `${qs}: ${body.message}`);
    }
  });

  test('GET /api/services: counts and last seen over the window', async () => {
    const res = await fetch(`${app.url}/api/services?window=1h`);
    assert.equal(res.status, 200);
    const body = (await res.json()) as {
      window: string;
      services: Array<{ service: string | null; count: number; last_seen: string }>;
    };
    assert.equal(body.window, '1h');
    const byName = Object.fromEntries(body.services.map((s) => [String(s.service), s]));
    assert.deepEqual(Object.keys(byName).sort(), ['api', 'late', 'null', 'worker']);
    assert.equal(byName.api!.count, 2);
    assert.equal(byName.worker!.count, 2);
    const a1 = (await get('?service=api&limit=1')).items[0]!;
    assert.equal(byName.api!.last_seen, a1.ts);
    const day = (await (await fetch(`${app.url}/api/services`)).json()) as {
      window: string;
      services: Array<{ service: string | null; count: number }>;
    };
    assert.equal(day.window, '24h');
    assert.equal(day.services.find((s) => s.service === 'billing')?.count, 1);
    assert.equal((await fetch(`${app.url}/api/services?window=forever`)).status, 400);
  });
});

describe('the read API with other sinks and with tokens', () => {
  test('with the file sink the query endpoints answer 501 saying why; status still answers', async () => {
    const dir = tempDir();
    const app = await startApp(testConfig({ 'ingest.ack': 'memory' }, dir.path));
    try {
      for (const path of ['/api/logs', '/api/services']) {
        const res = await fetch(`${app.url}${path}`);
        const body = (await res.json()) as { error: string; message: string };
        assert.equal(res.status, 501, path);
        assert.equal(body.error, 'SLUICE_ERR_NEEDS_POSTGRES');
        assert.match(body.message, /PostgreSQL/);
        assert.match(body.message, /sink\.kind is file/);
      }
      const status = await fetch(`${app.url}/api/status`);
      assert.equal(status.status, 200);
      assert.deepEqual(await status.json(), { checks: [], incidents: [] });
    } finally {
      await app.stop();
      dir.remove();
    }
  });

  test('admin tokens guard /api/* as they guard /admin/*', async () => {
    const dir = tempDir();
    const token = 'read-api-token-1';
    const app = await startApp(testConfig({ 'ingest.ack': 'memory', 'auth.adminTokens': token }, dir.path));
    try {
      for (const path of ['/api/logs', '/api/logs/tail', '/api/services', '/api/status']) {
        assert.equal((await fetch(`${app.url}${path}`)).status, 401, path);
        assert.equal(
          (await fetch(`${app.url}${path}`, { headers: { authorization: 'Bearer wrong-token-x' } })).status,
          403,
          path,
        );
      }
      const ok = await fetch(`${app.url}/api/status`, { headers: { authorization: `Bearer ${token}` } });
      assert.equal(ok.status, 200);
    } finally {
      await app.stop();
      dir.remove();
    }
  });
});
