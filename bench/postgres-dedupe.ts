// What postgres.dedupe costs: the PostgreSQL sink's write rate with record dedupe off and on,
// same rows, same server, same run (an embedded PostgreSQL started here). Prints a Markdown
// table and writes it to bench/results/postgres-dedupe-<date>.md.
//   node --import tsx bench/postgres-dedupe.ts [--rows 200000] [--batch 2000]
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import pg from 'pg';
import { loadConfig } from '../src/config/load.js';
import { type LogRecord } from '../src/record.js';
import { uuidv7 } from '../src/uuidv7.js';
import { startEmbeddedPostgres } from '../src/postgres/embedded.js';
import { standalonePostgresSink } from '../src/database.js';
import type { Batch } from '../src/batch.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}
const ROWS = arg('rows', 200_000);
const BATCH = arg('batch', 2000);
const WRITERS = 4;

function rows(n: number): LogRecord[] {
  const now = Date.now() * 1000;
  return Array.from({ length: n }, (_, i) => ({
    type: 'log',
    id: uuidv7(),
    ts: now + i,
    received_at: now + i,
    size: 160,
    level: 'info',
    service: `svc-${i % 20}`,
    message: `GET /api/items/${i} 200 in ${i % 97} ms`,
    attrs: JSON.stringify({ route: '/api/items/:id', status: 200, bytes: 512 + (i % 1000) }),
    trace_id: null,
    span_id: null,
  }));
}

async function measure(url: string, dedupe: boolean, records: LogRecord[]): Promise<number> {
  const config = loadConfig({ env: {}, flags: { 'postgres.url': url, 'postgres.dedupe': String(dedupe) } }).config;
  const sink = standalonePostgresSink(
    { ...config, writers: { ...config.writers, count: WRITERS } },
    pino({ level: 'warn' }),
  );
  await sink.start();
  const batches: Batch[] = [];
  for (let i = 0; i < records.length; i += BATCH) {
    const part = records.slice(i, i + BATCH);
    batches.push({
      id: uuidv7(),
      count: part.length,
      records: part,
      bytes: part.length * 160,
      createdAt: Date.now(),
      trigger: 'size',
      tickets: [],
      links: [],
    });
  }
  const signal = new AbortController().signal;
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: WRITERS }, async () => {
      while (next < batches.length) await sink.writeBatch(batches[next++]!, signal);
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  await sink.close();
  return records.length / seconds;
}

const dir = mkdtempSync(join(tmpdir(), 'sluice-bench-pg-'));
chmodSync(dir, 0o755);
const server = await startEmbeddedPostgres({ dataDir: join(dir, 'data') });
try {
  const results: Array<{ run: string; off: number; on: number }> = [];
  for (let round = 1; round <= 3; round++) {
    // A fresh database per measurement so neither starts with the other's indexes warm or bloated.
    const rates: number[] = [];
    for (const dedupe of [false, true]) {
      const name = `bench_${round}_${dedupe ? 'on' : 'off'}`;
      const admin = new pg.Client({ connectionString: server.url });
      await admin.connect();
      await admin.query(`CREATE DATABASE ${name}`);
      await admin.end();
      const u = new URL(server.url);
      u.pathname = `/${name}`;
      rates.push(await measure(u.toString(), dedupe, rows(ROWS)));
    }
    results.push({ run: `round ${round}`, off: rates[0]!, on: rates[1]! });
    console.error(`round ${round}: off ${rates[0]!.toFixed(0)} rows/s, on ${rates[1]!.toFixed(0)} rows/s`);
  }
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const off = median(results.map((r) => r.off));
  const on = median(results.map((r) => r.on));
  const table = [
    `# postgres.dedupe cost — ${new Date().toISOString()}`,
    '',
    `${ROWS} log rows, batches of ${BATCH}, ${WRITERS} concurrent writers, binary COPY, embedded PostgreSQL; median of 3 rounds.`,
    '',
    '| dedupe | rows/s | vs off |',
    '|---|---:|---:|',
    `| off | ${off.toFixed(0)} | 1.00× |`,
    `| on | ${on.toFixed(0)} | ${(on / off).toFixed(2)}× |`,
    '',
  ].join('\n');
  console.log(table);
  mkdirSync('bench/results', { recursive: true });
  writeFileSync(`bench/results/postgres-dedupe-${new Date().toISOString().slice(0, 10)}.md`, table);
} finally {
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
}
