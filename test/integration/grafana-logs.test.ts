// The "Sluice logs" Grafana dashboard's SQL, run against a real PostgreSQL holding records sent
// through POST /logs, with Grafana's macros and variables substituted the way its PostgreSQL
// datasource expands them: each query runs and answers what its panel claims to show. Also:
// the dashboard uses the provisioned datasource, and compose mounts it where Grafana looks.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parse } from 'yaml';
import type { App } from '../../src/app.js';
import { postJson, startApp, tempDir, testConfig } from '../helpers/app.js';
import { createTestDatabase, stopOwnServer, type TestDatabase } from '../helpers/postgres.js';
import { waitFor } from '../helpers/wait-for.js';

const deploy = resolve(import.meta.dirname, '../../deploy');

interface Target {
  rawSql: string;
  format: string;
  datasource: { uid: string; type: string };
}
interface Dashboard {
  title: string;
  panels: Array<{ id: number; type: string; title: string; datasource: { uid: string }; targets: Target[] }>;
  templating: { list: Array<{ name: string; type: string; query: string; datasource?: { uid: string } }> };
}

const dashboard = JSON.parse(readFileSync(join(deploy, 'grafana/sluice-logs.json'), 'utf8')) as Dashboard;
const panel = (type: string, title: RegExp): Target => {
  const p = dashboard.panels.find((x) => x.type === type && title.test(x.title));
  assert.ok(p, `a ${type} panel titled ${title}`);
  return p.targets[0]!;
};

/** What Grafana's PostgreSQL datasource sends for a query, for a time range and variable values. */
function expand(sql: string, from: Date, to: Date, vars: Record<string, string[]>): string {
  const quote = (v: string): string => `'${v.replace(/'/g, "''")}'`;
  let s = sql
    .replace(
      /\$__timeFilter\((\w+)\)/g,
      (_m, col: string) => `${col} BETWEEN '${from.toISOString()}' AND '${to.toISOString()}'`,
    )
    .replace(
      /\$__timeGroupAlias\((\w+),\s*\$__interval\)/g,
      (_m, col: string) => `floor(extract(epoch from ${col})/60)*60 AS "time"`,
    );
  for (const [name, values] of Object.entries(vars)) s = s.replaceAll(`$${name}`, values.map(quote).join(','));
  assert.ok(!s.includes('$'), `every macro and variable substituted: ${s}`);
  return s;
}

describe('Grafana "Sluice logs" dashboard', () => {
  let db: TestDatabase;
  let app: App;
  const dir = tempDir('sluice-grafana-');
  const now = Date.now();
  const from = new Date(now - 3_600_000);
  const to = new Date(now + 60_000);
  before(async () => {
    db = await createTestDatabase();
    app = await startApp(
      testConfig(
        { 'sink.kind': 'postgres', 'postgres.url': db.url, 'ingest.ack': 'memory', 'batch.maxWaitMs': 20 },
        dir.path,
      ),
    );
    const at = (minAgo: number): string => new Date(now - minAgo * 60_000).toISOString();
    const records = [
      { ts: at(5), level: 'info', service: 'api', message: 'ok 1' },
      { ts: at(5), level: 'info', service: 'api', message: 'ok 2' },
      { ts: at(4), level: 'error', service: 'api', message: 'failed 1', attrs: { code: 500 } },
      { ts: at(3.5), level: 'fatal', service: 'web', message: 'crashed' },
      { ts: at(3), level: 'error', service: 'web', message: 'failed 2' },
      { ts: at(2), level: 'warn', service: 'worker', message: 'slow' },
      { ts: at(1), level: 'error', message: 'no service' },
      { ts: at(180), level: 'error', service: 'api', message: 'outside the range' },
    ];
    assert.equal((await postJson(`${app.url}/logs`, records)).status, 202);
    await waitFor('8 rows', async () => ((await db.count('logs')) === 8 ? true : undefined));
  });
  after(async () => {
    await app.stop();
    await db.drop();
    dir.remove();
    await stopOwnServer();
  });

  const all = { service: ['api', 'web', 'worker'], level: ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] };

  test('the service variable lists the services seen in the range', async () => {
    const v = dashboard.templating.list.find((x) => x.name === 'service')!;
    const { rows } = await db.pool.query<{ service: string }>(expand(v.query, from, to, {}));
    assert.deepEqual(
      rows.map((r) => r.service),
      ['api', 'web', 'worker'],
    );
    const level = dashboard.templating.list.find((x) => x.name === 'level')!;
    assert.deepEqual(level.query.split(','), all.level);
  });

  test('volume by level: a time series per level whose counts add up to the records in range', async () => {
    const t = panel('timeseries', /volume by level/i);
    assert.equal(t.format, 'time_series');
    const { rows } = await db.pool.query<{ time: string; metric: string; value: string }>(
      expand(t.rawSql, from, to, all),
    );
    const byLevel: Record<string, number> = {};
    for (const r of rows) byLevel[r.metric] = (byLevel[r.metric] ?? 0) + Number(r.value);
    // The record without a service is not in the chosen services ($service lists names).
    assert.deepEqual(byLevel, { info: 2, error: 2, fatal: 1, warn: 1 });
    assert.ok(
      rows.every((r, i) => i === 0 || Number(rows[i - 1]!.time) <= Number(r.time)),
      'ordered by time',
    );
    const errorsOnly = await db.pool.query<{ metric: string; value: string }>(
      expand(t.rawSql, from, to, { service: ['web'], level: ['error', 'fatal'] }),
    );
    assert.deepEqual(errorsOnly.rows.map((r) => [r.metric, Number(r.value)]).sort(), [
      ['error', 1],
      ['fatal', 1],
    ]);
  });

  test('errors by service: error and fatal counts per service, a missing service shown as (none)', async () => {
    const t = panel('timeseries', /errors by service/i);
    const { rows } = await db.pool.query<{ metric: string; value: string }>(expand(t.rawSql, from, to, all));
    const bySvc: Record<string, number> = {};
    for (const r of rows) bySvc[r.metric] = (bySvc[r.metric] ?? 0) + Number(r.value);
    assert.deepEqual(bySvc, { api: 1, web: 2, '(none)': 1 });
  });

  test('the logs panel: newest first, with time, level, service and message', async () => {
    const t = panel('logs', /logs/i);
    assert.equal(t.format, 'table');
    const { rows } = await db.pool.query<{ time: Date; level: string; service: string; message: string }>(
      expand(t.rawSql, from, to, { service: ['api', 'web'], level: ['error', 'fatal'] }),
    );
    assert.deepEqual(
      rows.map((r) => r.message),
      ['failed 2', 'crashed', 'failed 1'],
    );
    assert.ok(rows[0]!.time instanceof Date);
    assert.ok(rows.every((r, i) => i === 0 || rows[i - 1]!.time.getTime() >= r.time.getTime()));
  });

  test('every query uses the provisioned PostgreSQL datasource; compose mounts the dashboard where Grafana reads', () => {
    const provisioned = parse(readFileSync(join(deploy, 'grafana/provisioning/datasources/postgres.yml'), 'utf8')) as {
      datasources: Array<{ uid: string; type: string; url: string; jsonData: { database: string } }>;
    };
    const ds = provisioned.datasources[0]!;
    for (const p of dashboard.panels) {
      assert.equal(p.datasource.uid, ds.uid, p.title);
      for (const t of p.targets) assert.equal(t.datasource.uid, ds.uid, p.title);
    }
    for (const v of dashboard.templating.list) if (v.type === 'query') assert.equal(v.datasource?.uid, ds.uid);
    const compose = parse(readFileSync(join(deploy, 'docker-compose.yml'), 'utf8')) as {
      services: Record<string, { volumes?: string[]; environment?: Record<string, string> }>;
    };
    const provider = parse(readFileSync(join(deploy, 'grafana/provisioning/dashboards/sluice.yml'), 'utf8')) as {
      providers: Array<{ options: { path: string } }>;
    };
    const mount = compose.services.grafana!.volumes!.find((v) => v.startsWith('./grafana/sluice-logs.json:'));
    assert.ok(mount);
    assert.equal(mount.split(':')[1], `${provider.providers[0]!.options.path}/sluice-logs.json`);
    // The datasource reaches the compose postgres service and the database the collector writes.
    assert.equal(ds.url, 'postgres:5432');
    assert.ok(compose.services.postgres);
    assert.match(
      compose.services.collector!.environment!.POSTGRES_DSN!,
      new RegExp(`@postgres:5432/${ds.jsonData.database}$`),
    );
  });
});
