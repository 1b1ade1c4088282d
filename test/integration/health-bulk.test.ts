// Registering many checks at once: POST /admin/checks with an array validates every item
// before writing any, matches existing checks by name (sending the same list twice changes
// nothing), and what it wrote survives a restart of the app (file store: snapshot + log);
// `sluice checks import|export` drive the same batch from a YAML or JSON file.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parse as parseYaml } from 'yaml';
import type { App } from '../../src/app.js';
import { main } from '../../src/main.js';
import { postJson, startApp, tempDir, testConfig } from '../helpers/app.js';
import { startTarget, type Target } from '../helpers/health-targets.js';
import { createTestDatabase, stopOwnServer, type TestDatabase } from '../helpers/postgres.js';

type Json = Record<string, unknown>;

describe('POST /admin/checks with an array', () => {
  const dir = tempDir('sluice-bulk-');
  let target: Target;
  let app: App;
  const config = () =>
    testConfig(
      {
        'ingest.ack': 'memory',
        'health.dataDir': join(dir.path, 'health'),
        'health.maxChecks': 50,
        'auth.adminTokens': 'admin-token-bulk',
      },
      dir.path,
    );
  const auth = { authorization: 'Bearer admin-token-bulk' };
  const fleet = (n: number, interval = '10s'): Json[] =>
    Array.from({ length: n }, (_, i) => ({ name: `svc-${i}`, kind: 'http', url: `${target.url}/${i}`, interval }));
  const post = async (body: unknown): Promise<{ status: number; body: Json }> => {
    const res = await postJson(`${app.url}/admin/checks`, body, auth);
    return { status: res.status, body: (await res.json()) as Json };
  };
  const names = (): string[] =>
    app.health
      .list()
      .map((v) => String(v.name))
      .sort();

  before(async () => {
    target = await startTarget();
    app = await startApp(config());
  });
  after(async () => {
    await app.stop();
    await target.close();
    dir.remove();
  });

  test('creates them, and the same list again is left unchanged (upsert by name)', async () => {
    const first = await post(fleet(5));
    assert.equal(first.status, 200);
    assert.deepEqual([first.body.created, first.body.updated, first.body.unchanged], [5, 0, 0]);
    const ids = (first.body.checks as Json[]).map((c) => c.id);

    const again = await post(fleet(5));
    assert.deepEqual([again.body.created, again.body.updated, again.body.unchanged], [0, 0, 5]);
    assert.deepEqual(
      (again.body.checks as Json[]).map((c) => c.id),
      ids,
    );

    const changed = fleet(6);
    changed[2]!.interval = '20s';
    const third = await post(changed);
    assert.deepEqual([third.body.created, third.body.updated, third.body.unchanged], [1, 1, 4]);
    assert.equal((third.body.checks as Json[])[2]!.id, ids[2]);
    assert.equal(app.health.get(String(ids[2]))!.interval, 20_000);
    assert.equal(app.health.idOf('svc-5'), (third.body.checks as Json[])[5]!.id);
  });

  test('one bad item refuses the whole batch with a 400 naming its index and field', async () => {
    const before = names();
    const list = fleet(8);
    list[6] = { name: 'svc-bad', kind: 'http', url: 'not a url', interval: '10s' };
    const r = await post(list);
    assert.equal(r.status, 400);
    assert.equal(r.body.error, 'SLUICE_ERR_INVALID_CHECK');
    assert.equal(r.body.index, 6);
    assert.equal(r.body.field, 'url');
    assert.match(String(r.body.message), /\[6\]\.url/);
    assert.deepEqual(names(), before, 'nothing written');

    const dup = await post([...fleet(2), { name: 'svc-0', kind: 'tcp', host: '127.0.0.1', port: 1, interval: '10s' }]);
    assert.equal(dup.status, 400);
    assert.equal(dup.body.index, 2);
    assert.equal(dup.body.field, 'name');
  });

  test('a batch that would pass health.maxChecks is refused whole (409)', async () => {
    const before = names();
    const r = await post(Array.from({ length: 60 }, (_, i) => ({ name: `many-${i}`, kind: 'push', interval: '1m' })));
    assert.equal(r.status, 409);
    assert.deepEqual(names(), before);
  });

  test('a single POST with a name in use is a 409: names address checks', async () => {
    const r = await post({ name: 'svc-1', kind: 'http', url: `${target.url}/x`, interval: '10s' });
    assert.equal(r.status, 409);
    assert.match(String(r.body.message), /named "svc-1"/);
  });

  test('what a batch wrote is there after a restart', async () => {
    const before = app.health.list().map((v) => [v.id, v.name, v.interval]);
    await app.stop();
    app = await startApp(config());
    const afterRestart = app.health.list().map((v) => [v.id, v.name, v.interval]);
    assert.deepEqual(
      afterRestart.sort((a, b) => String(a[0]).localeCompare(String(b[0]))),
      before.sort((a, b) => String(a[0]).localeCompare(String(b[0]))),
    );
    assert.equal(afterRestart.length, 6);
  });
});

describe('sluice checks import / export', () => {
  const dir = tempDir('sluice-checks-cli-');
  let target: Target;
  let app: App;
  const token = 'admin-token-cli';
  const run = async (...argv: string[]): Promise<{ code: number; text: string }> => {
    const lines: string[] = [];
    const code = await main(['checks', ...argv, '--url', app.url, '--token', token], (s) => lines.push(s));
    return { code, text: lines.join('\n') };
  };

  before(async () => {
    target = await startTarget();
    app = await startApp(
      testConfig(
        { 'ingest.ack': 'memory', 'health.dataDir': join(dir.path, 'health'), 'auth.adminTokens': token },
        dir.path,
      ),
    );
  });
  after(async () => {
    await app.stop();
    await target.close();
    dir.remove();
  });

  test('imports a config-shaped YAML file by name, twice without change, and exports what it imported', async () => {
    const file = join(dir.path, 'fleet.yaml');
    writeFileSync(
      file,
      [
        'checks:',
        '  - name: web',
        '    kind: http',
        `    url: ${target.url}/health`,
        '    interval: 30s',
        '    group: storefront',
        '    tags: [prod, critical]',
        '  - name: db-port',
        '    kind: tcp',
        '    host: 127.0.0.1',
        `    port: ${target.port}`,
        '    interval: 1m',
        '',
      ].join('\n'),
    );
    assert.deepEqual(await run('import', file), { code: 0, text: '2 created, 0 updated, 0 unchanged' });
    assert.deepEqual(await run('import', file), { code: 0, text: '0 created, 0 updated, 2 unchanged' });

    const exported = await run('export');
    assert.equal(exported.code, 0);
    const doc = parseYaml(exported.text) as { checks: Array<Record<string, unknown>> };
    assert.deepEqual(doc.checks.map((c) => c.name).sort(), ['db-port', 'web']);
    assert.equal(doc.checks.find((c) => c.name === 'web')!.interval, 30_000);
    assert.deepEqual(
      [doc.checks.find((c) => c.name === 'web')!.group, doc.checks.find((c) => c.name === 'web')!.tags],
      ['storefront', ['prod', 'critical']],
      'group and tags go out with the definition',
    );
    assert.equal(doc.checks[0]!.state, undefined, 'state is not part of a definition');

    // What export printed imports as it is: nothing changes.
    const back = join(dir.path, 'back.json');
    writeFileSync(back, (await run('export', '--format', 'json')).text);
    assert.deepEqual(await run('import', back), { code: 0, text: '0 created, 0 updated, 2 unchanged' });
  });

  test('a bad file is refused naming the item, and nothing is written', async () => {
    const before = app.health.list().length;
    const file = join(dir.path, 'bad.json');
    writeFileSync(
      file,
      JSON.stringify([
        { name: 'ok', kind: 'push', interval: '1m' },
        { name: 'x', kind: 'nope' },
      ]),
    );
    const r = await run('import', file);
    assert.equal(r.code, 1);
    assert.match(r.text, /400.*\[1\]\.kind/);
    assert.equal(app.health.list().length, before);
  });
});

describe('a batch with the postgres store', () => {
  const dir = tempDir('sluice-bulk-pg-');
  let db: TestDatabase;
  let target: Target;
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
    testConfig({ 'sink.kind': 'postgres', 'postgres.url': db.url, 'ingest.ack': 'memory' }, dir.path);

  test('writes one row per check, upserts by name, and is there after a restart', async () => {
    let app = await startApp(config());
    try {
      const list = Array.from({ length: 30 }, (_, i) => ({
        name: `pg-${i}`,
        kind: 'http',
        url: `${target.url}/${i}`,
        interval: '30s',
      }));
      const first = await postJson(`${app.url}/admin/checks`, list);
      assert.equal(first.status, 200);
      list[3]!.interval = '45s';
      const second = (await (await postJson(`${app.url}/admin/checks`, list)).json()) as Json;
      assert.deepEqual([second.created, second.updated, second.unchanged], [0, 1, 29]);
      const rows = await db.pool.query<{ n: string }>(
        "SELECT count(*) AS n FROM checks WHERE definition->>'name' LIKE 'pg-%'",
      );
      assert.equal(Number(rows.rows[0]!.n), 30);
    } finally {
      await app.stop();
    }
    app = await startApp(config());
    try {
      const views = app.health.list();
      assert.equal(views.length, 30);
      assert.equal(views.find((v) => v.name === 'pg-3')!.interval, 45_000);
    } finally {
      await app.stop();
    }
  });
});
