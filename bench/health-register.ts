// Registering health checks: time to add 10,000 HTTP checks (20 s interval, one local target)
// through POST /admin/checks one by one, and in one batch (an array), for both check stores
// (file: snapshot + log under health.dataDir; postgres: a database of its own on the local
// server). The per-add cost is shown at 100, 1,000 and 10,000 checks (mean of the 100 adds
// before each point): flat when an add does not depend on the number of checks.
//   node --import tsx bench/health-register.ts [--quick] [--checks N] [--stores file,postgres]
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import pg from 'pg';
import { createApp, type App } from '../src/app.js';
import { loadConfig } from '../src/config/load.js';
import { resultsDir } from './lib/results-dir.js';

interface Row {
  store: 'file' | 'postgres';
  mode: 'one by one' | 'batch';
  checks: number;
  seconds: number;
  /** One by one: mean ms per add over the 100 adds before each point. */
  perAddMs?: Record<string, number>;
}

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const flag = (name: string): string | undefined => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const N = Number(flag('checks') ?? (quick ? 1000 : 10_000));
const STORES = (flag('stores') ?? 'file,postgres').split(',') as Array<'file' | 'postgres'>;
const POINTS = [100, 1000, 10_000, 20_000].filter((p) => p <= N);
const PG_SERVER = process.env.SLUICE_BENCH_PG ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const log = (s: string): void => void process.stderr.write(`health-register: ${s}\n`);

async function startApp(store: 'file' | 'postgres', dir: string, dbUrl: string | undefined): Promise<App> {
  const config = loadConfig({
    env: {},
    flags: {
      'server.host': '127.0.0.1',
      'server.port': '0',
      'log.level': 'warn',
      'sink.kind': store === 'file' ? 'blackhole' : 'postgres',
      ...(dbUrl ? { 'postgres.url': dbUrl } : {}),
      'ingest.ack': 'memory',
      'wal.dir': join(dir, 'wal'),
      'deadLetter.dir': join(dir, 'dead-letter'),
      'health.dataDir': join(dir, 'health'),
      'health.maxChecks': String(N * 2),
      'auth.adminTokens': 'bench-admin',
    },
  }).config;
  const app = await createApp(config, { logger: pino({ level: 'warn' }), defaultMetrics: false });
  await app.start();
  return app;
}

async function database(name: string): Promise<{ url: string; drop: () => Promise<void> }> {
  const admin = new pg.Client({ connectionString: PG_SERVER });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${name}`);
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const u = new URL(PG_SERVER);
  u.pathname = `/${name}`;
  return {
    url: u.toString(),
    drop: async () => {
      const c = new pg.Client({ connectionString: PG_SERVER });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

async function measure(store: 'file' | 'postgres', mode: Row['mode'], targetUrl: string): Promise<Row> {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-bench-register-'));
  const db = store === 'postgres' ? await database(`sluice_bench_register_${process.pid}`) : undefined;
  const app = await startApp(store, dir, db?.url);
  const headers = { authorization: 'Bearer bench-admin', 'content-type': 'application/json' };
  const def = (i: number) => ({ name: `svc-${i}`, kind: 'http', url: `${targetUrl}/${i}`, interval: '20s' });
  try {
    const t0 = performance.now();
    const perAddMs: Record<string, number> = {};
    if (mode === 'batch') {
      const res = await fetch(`${app.url}/admin/checks`, {
        method: 'POST',
        headers,
        body: JSON.stringify(Array.from({ length: N }, (_, i) => def(i))),
      });
      if (res.status !== 200) throw new Error(`batch: ${res.status} ${await res.text()}`);
    } else {
      let windowStart = t0;
      for (let i = 0; i < N; i++) {
        if ((i + 100) % 100 === 0) windowStart = performance.now();
        const res = await fetch(`${app.url}/admin/checks`, { method: 'POST', headers, body: JSON.stringify(def(i)) });
        if (res.status !== 201) throw new Error(`add ${i}: ${res.status} ${await res.text()}`);
        await res.arrayBuffer();
        if (POINTS.includes(i + 1)) perAddMs[String(i + 1)] = (performance.now() - windowStart) / 100;
        if ((i + 1) % 2000 === 0) log(`${store} ${mode}: ${i + 1}`);
      }
    }
    const seconds = (performance.now() - t0) / 1000;
    if (app.health.list().length !== N) throw new Error(`${app.health.list().length} checks registered, not ${N}`);
    const row: Row = { store, mode, checks: N, seconds, ...(mode === 'batch' ? {} : { perAddMs }) };
    log(JSON.stringify(row));
    return row;
  } finally {
    await app.stop();
    await db?.drop();
    rmSync(dir, { recursive: true, force: true });
  }
}

function markdown(rows: Row[]): string {
  const out = [
    `# Registering health checks (${new Date().toISOString().slice(0, 10)})`,
    '',
    `${N} HTTP checks (interval 20 s, one local target) through POST /admin/checks, sequentially`,
    'one by one, and as one array. Per add: mean of the 100 adds before each point.',
    '',
    `| store | mode | checks | total s | ${POINTS.map((p) => `ms/add at ${p}`).join(' | ')} | ratio last/first |`,
    `|---|---|---|---|${POINTS.map(() => '---|').join('')}---|`,
  ];
  for (const r of rows) {
    const per = POINTS.map((p) => (r.perAddMs?.[String(p)] ?? NaN).toFixed(2));
    const ratio = r.perAddMs ? r.perAddMs[String(POINTS.at(-1))]! / r.perAddMs[String(POINTS[0])]! : NaN;
    out.push(
      `| ${r.store} | ${r.mode} | ${r.checks} | ${r.seconds.toFixed(2)} | ${per.map((p) => (p === 'NaN' ? '–' : p)).join(' | ')} | ${Number.isNaN(ratio) ? '–' : ratio.toFixed(2)} |`,
    );
  }
  return `${out.join('\n')}\n`;
}

async function main(): Promise<void> {
  const target = createServer((req, res) => {
    req.resume();
    res.end('ok');
  });
  await new Promise<void>((r) => target.listen(0, '127.0.0.1', r));
  const targetUrl = `http://127.0.0.1:${(target.address() as AddressInfo).port}`;
  const rows: Row[] = [];
  try {
    for (const store of STORES) {
      rows.push(await measure(store, 'one by one', targetUrl));
      rows.push(await measure(store, 'batch', targetUrl));
    }
  } finally {
    target.close();
  }
  const md = markdown(rows);
  process.stdout.write(md);
  const dir = resultsDir(quick);
  mkdirSync(dir, { recursive: true });
  const base = join(dir, `health-register-${new Date().toISOString().slice(0, 10)}${quick ? '-quick' : ''}`);
  writeFileSync(`${base}.md`, md);
  writeFileSync(`${base}.json`, `${JSON.stringify(rows, null, 2)}\n`);
  log(`wrote ${base}.md`);
}

await main();
