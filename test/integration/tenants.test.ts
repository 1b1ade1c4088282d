// Tenants on real PostgreSQL: records take the sending key's tenant (never the body's), and a
// read key with a tenant sees only that tenant's records in the query, the live tail and the
// services list, while a key without one (admin) sees all.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { App } from '../../src/app.js';
import { startApp, tempDir, testConfig } from '../helpers/app.js';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.js';
import { openSse, type SseStream } from '../helpers/sse.js';
import { waitFor } from '../helpers/wait-for.js';

type Json = Record<string, unknown>;

describe('tenants', () => {
  let db: TestDatabase;
  let app: App;
  const dir = tempDir('sluice-tenants-');
  const keys: Record<string, string> = {};
  const streams: SseStream[] = [];

  async function post(path: string, key: string | undefined, body: unknown): Promise<{ status: number; body: Json }> {
    const res = await fetch(`${app.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Json };
  }
  async function get(path: string, key: string | undefined): Promise<{ status: number; body: Json }> {
    const res = await fetch(`${app.url}${path}`, { headers: key ? { authorization: `Bearer ${key}` } : {} });
    return { status: res.status, body: (await res.json()) as Json };
  }
  const ids = (body: Json): string[] => (body.items as Array<{ id: string }>).map((i) => i.id).sort();

  before(async () => {
    db = await createTestDatabase();
    // Ack mode sink: a 202 means committed, so queries see it at once.
    app = await startApp(
      testConfig(
        { 'sink.kind': 'postgres', 'postgres.url': db.url, 'ingest.ack': 'sink', 'batch.maxWaitMs': 10 },
        dir.path,
      ),
    );
    keys.admin = String((await post('/admin/keys', undefined, { scope: 'admin' })).body.key);
    for (const [name, body] of [
      ['ingestAcme', { scope: 'ingest', tenant: 'acme' }],
      ['ingestGlobex', { scope: 'ingest', tenant: 'globex' }],
      ['ingestNone', { scope: 'ingest' }],
      ['readAcme', { scope: 'read', tenant: 'acme' }],
      ['readGlobex', { scope: 'read', tenant: 'globex' }],
      ['readAll', { scope: 'read' }],
    ] as const) {
      const r = await post('/admin/keys', keys.admin, body);
      assert.equal(r.status, 201);
      keys[name] = String(r.body.key);
    }
  });
  after(async () => {
    for (const s of streams) s.close();
    await app.stop();
    await db.drop();
    dir.remove();
  });

  test('records take the key’s tenant; a tenant field in the body is kept in attrs and changes nothing', async () => {
    const tails: Record<string, SseStream> = {};
    for (const who of ['readAcme', 'readGlobex', 'readAll'] as const) {
      tails[who] = await openSse(`${app.url}/api/logs/tail`, { authorization: `Bearer ${keys[who]}` });
      assert.equal(tails[who].status, 200);
      streams.push(tails[who]);
    }
    assert.equal(
      (
        await post('/logs', keys.ingestAcme, [
          { id: 'a1', service: 'shop', message: 'acme one' },
          { id: 'a2', service: 'shop', message: 'acme two', tenant: 'globex' },
        ])
      ).status,
      202,
    );
    assert.equal(
      (await post('/logs', keys.ingestGlobex, { id: 'g1', service: 'mail', message: 'globex' })).status,
      202,
    );
    assert.equal(
      (await post('/logs', keys.ingestNone, { id: 'n1', service: 'misc', message: 'no tenant' })).status,
      202,
    );

    const { rows } = await db.pool.query<{ id: string; tenant: string | null; attrs: Json | null }>(
      'SELECT id, tenant, attrs FROM logs ORDER BY id',
    );
    assert.deepEqual(
      rows.map((r) => [r.id, r.tenant]),
      [
        ['a1', 'acme'],
        ['a2', 'acme'],
        ['g1', 'globex'],
        ['n1', null],
      ],
    );
    assert.equal(rows.find((r) => r.id === 'a2')!.attrs!.tenant, 'globex');

    // The tail: each stream gets its tenant's records only; the one without a tenant all four.
    const seen = (s: SseStream): string[] =>
      s.events.filter((e) => e.event !== 'dropped').map((e) => (JSON.parse(e.data) as { id: string }).id);
    // A last record per tenant, sent after all the others: once a stream has it, anything
    // else that stream was going to get has arrived before it (one stream is one ordered socket).
    assert.equal((await post('/logs', keys.ingestAcme, { id: 'a3', service: 'shop' })).status, 202);
    assert.equal((await post('/logs', keys.ingestGlobex, { id: 'g2', service: 'mail' })).status, 202);
    await waitFor('the last acme record on the acme tail', () => seen(tails.readAcme!).includes('a3'));
    await waitFor('the last globex record on the globex tail', () => seen(tails.readGlobex!).includes('g2'));
    await waitFor('all six on the untenanted tail', () => seen(tails.readAll!).length === 6);
    assert.deepEqual(seen(tails.readAcme!), ['a1', 'a2', 'a3']);
    assert.deepEqual(seen(tails.readGlobex!), ['g1', 'g2']);
  });

  test('queries and the services list show a tenant’s key only its tenant; keys without one see all', async () => {
    const all = ['a1', 'a2', 'a3', 'g1', 'g2', 'n1'];
    assert.deepEqual(ids((await get('/api/logs', keys.readAcme)).body), ['a1', 'a2', 'a3']);
    assert.deepEqual(ids((await get('/api/logs', keys.readGlobex)).body), ['g1', 'g2']);
    assert.deepEqual(ids((await get('/api/logs', keys.readAll)).body), all);
    assert.deepEqual(ids((await get('/api/logs', keys.admin)).body), all);
    // A filter cannot widen it: asking for another tenant's service finds nothing.
    assert.deepEqual(ids((await get('/api/logs?service=mail', keys.readAcme)).body), []);
    const services = (key: string) =>
      get('/api/services', key).then((r) => (r.body.services as Array<{ service: string }>).map((s) => s.service));
    assert.deepEqual(await services(keys.readAcme!), ['shop']);
    assert.deepEqual(await services(keys.readGlobex!), ['mail']);
    assert.deepEqual(await services(keys.admin!), ['mail', 'misc', 'shop']);
    // There is no query parameter to choose a tenant.
    assert.equal((await get('/api/logs?tenant=globex', keys.readAcme)).status, 400);
  });
  test('Loki push and Elasticsearch _bulk records take the key’s tenant too', async () => {
    const ns = `${Date.now()}000000`;
    const loki = await fetch(`${app.url}/loki/api/v1/push`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${keys.ingestGlobex}` },
      body: JSON.stringify({ streams: [{ stream: { service: 'loki-svc' }, values: [[ns, 'from loki']] }] }),
    });
    assert.equal(loki.status, 204);
    const bulk = await fetch(`${app.url}/_bulk`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-ndjson', authorization: `Bearer ${keys.ingestGlobex}` },
      body: `${JSON.stringify({ index: { _index: 'app' } })}\n${JSON.stringify({ message: 'from bulk', service: 'es-svc' })}\n`,
    });
    assert.equal(bulk.status, 200);
    assert.equal(((await bulk.json()) as { errors: boolean }).errors, false);
    await waitFor('both stored', async () =>
      (await db.count('logs', "message IN ('from loki', 'from bulk')")) === 2 ? true : undefined,
    );
    const { rows } = await db.pool.query<{ tenant: string }>(
      "SELECT tenant FROM logs WHERE message IN ('from loki', 'from bulk')",
    );
    assert.deepEqual(
      rows.map((r) => r.tenant),
      ['globex', 'globex'],
    );
    const services = (await get('/api/services', keys.readAcme)).body.services as Array<{ service: string }>;
    assert.ok(!services.some((x) => x.service === 'loki-svc' || x.service === 'es-svc'));
  });
});

describe('per-tenant retention', () => {
  test('retention.tenants keeps each tenant’s rows for its own days, the rest for retention.days', async () => {
    const db = await createTestDatabase();
    const dir = tempDir('sluice-tenant-retention-');
    const app = await startApp(
      testConfig(
        {
          'sink.kind': 'postgres',
          'postgres.url': db.url,
          'ingest.ack': 'sink',
          'batch.maxWaitMs': 10,
          'retention.days': 2,
          'retention.tenants': '{"acme": 5, "globex": 1}',
        },
        dir.path,
      ),
    );
    try {
      const create = async (body: Json): Promise<string> => {
        const res = await fetch(`${app.url}/admin/keys`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
        return String(((await res.json()) as Json).key);
      };
      const acme = await create({ scope: 'ingest', tenant: 'acme' });
      const globex = await create({ scope: 'ingest', tenant: 'globex' });
      const none = await create({ scope: 'ingest' });
      const ago = (days: number): string => new Date(Date.now() - days * 86_400_000).toISOString();
      const send = async (key: string, records: Json[]): Promise<void> => {
        const res = await fetch(`${app.url}/logs`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
          body: JSON.stringify(records),
        });
        assert.equal(res.status, 202);
      };
      await send(acme, [
        { id: 'acme-4d', ts: ago(4) },
        { id: 'acme-7d', ts: ago(7) },
      ]);
      await send(globex, [
        { id: 'globex-0.5d', ts: ago(0.5) },
        { id: 'globex-1.5d', ts: ago(1.5) },
      ]);
      await send(none, [
        { id: 'none-1.5d', ts: ago(1.5) },
        { id: 'none-3d', ts: ago(3) },
      ]);
      const report = await app.database!.maintain();
      const { rows } = await db.pool.query<{ id: string }>('SELECT id FROM logs ORDER BY id');
      assert.deepEqual(
        rows.map((r) => r.id),
        ['acme-4d', 'globex-0.5d', 'none-1.5d'],
      );
      assert.equal(report.expired, 2, JSON.stringify(report));
      // Partitions are kept for the longest retention (acme's 5 days), not the default 2.
      const oldest = (
        await db.pool.query<{ name: string }>(
          "SELECT min(relname) AS name FROM pg_class WHERE relname ~ '^logs_p[0-9]{8}$'",
        )
      ).rows[0]!.name;
      const fiveDaysAgo = new Date(Math.floor(Date.now() / 86_400_000 - 5) * 86_400_000).toISOString().slice(0, 10);
      assert.equal(oldest, `logs_p${fiveDaysAgo.replace(/-/g, '')}`);
    } finally {
      await app.stop();
      await db.drop();
      dir.remove();
    }
  });
});
