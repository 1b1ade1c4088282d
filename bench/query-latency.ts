// The read API's cost and speed on PostgreSQL, same server, same run (an embedded PostgreSQL
// started here): (1) what each read index (migration 3) costs ingest — COPY rate with and
// without it; (2) GET /api/logs latency p50/p95 for the API's typical queries on N generated
// rows (generate_series in SQL, spread over the last 7 days), with and without the indexes that
// serve q and attr.*; (3) the tail's cost per accepted request when nobody subscribes.
//   node --import tsx bench/query-latency.ts [--rows 1000000] [--ingest-rows 100000 | --skip-ingest] [--runs 40]
// Also the `query` section of bench/run.ts (smaller with --quick).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { LogTail } from '../src/query/tail.js';
import { parseLogFilter } from '../src/query/log-filter.js';
import { queryLogs } from '../src/query/log-query.js';
import { startBenchPostgres } from './lib/postgres.js';
import { encodeTextBatches, rawCopy } from './lib/raw-copy.js';
import { logRows } from './lib/rows.js';
import { mdTable, median, num, ratio } from './lib/table.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}
export interface QueryBenchOptions {
  /** Rows generated for the latency part. */
  rows?: number;
  /** Rows COPYed per variant in the ingest-cost part; 0 skips it. */
  ingestRows?: number;
  /** Timed runs per query. */
  runs?: number;
}

let ROWS = 1_000_000;
let INGEST_ROWS = 100_000;
let RUNS = 40;
const ROUNDS = 3;

/** Migration 3's index (the name matches the migration's), and the two it leaves to operators. */
const INDEXES: Record<string, { drop: string; create: string }> = {
  'message trigram (q; not shipped)': {
    drop: 'DROP INDEX IF EXISTS logs_message_trgm_idx',
    create: 'CREATE INDEX logs_message_trgm_idx ON logs USING gin (message gin_trgm_ops)',
  },
  'trace_id (partial)': {
    drop: 'DROP INDEX IF EXISTS logs_trace_id_idx',
    create: 'CREATE INDEX logs_trace_id_idx ON logs (trace_id) WHERE trace_id IS NOT NULL',
  },
  'attrs jsonb_path_ops (attr.*; not shipped)': {
    drop: 'DROP INDEX IF EXISTS logs_attrs_idx',
    create: 'CREATE INDEX logs_attrs_idx ON logs USING gin (attrs jsonb_path_ops)',
  },
};

const SHIPPED = ['trace_id (partial)'];
const OPT_IN = Object.keys(INDEXES).filter((n) => !SHIPPED.includes(n));

async function setIndexes(pool: pg.Pool, on: readonly string[]): Promise<void> {
  await pool.query('CREATE EXTENSION IF NOT EXISTS pg_trgm');
  for (const [name, ix] of Object.entries(INDEXES))
    await pool.query(on.includes(name) ? ix.create.replace('CREATE INDEX', 'CREATE INDEX IF NOT EXISTS') : ix.drop);
}

async function ingestCost(url: string): Promise<Array<{ variant: string; rate: number }>> {
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  // Load-generator rows, half of them with a trace id so the partial index has work to do.
  const rows = logRows(INGEST_ROWS).map((r, i) =>
    i % 2 === 0
      ? { ...r, trace_id: `trace-${i >> 3}`, message: `${r.message} GET /api/items/${i % 5000} took ${i % 997}ms` }
      : r,
  );
  const batches = encodeTextBatches(rows, 2000);
  const variants: Array<[string, string[]]> = [
    ['migration 1 indexes only', []],
    ...Object.keys(INDEXES).map((n): [string, string[]] => [`+ ${n}`, [n]]),
    ['+ all three', Object.keys(INDEXES)],
  ];
  const rates = new Map<string, number[]>();
  for (let round = 0; round < ROUNDS; round++) {
    for (const [variant, on] of variants) {
      await pool.query('TRUNCATE logs');
      await setIndexes(pool, on);
      await pool.query('CHECKPOINT');
      const run = await rawCopy(url, batches, rows.length, 2);
      rates.set(variant, [...(rates.get(variant) ?? []), run.recordsPerSec]);
    }
  }
  await pool.query('TRUNCATE logs');
  await pool.end();
  return variants.map(([variant]) => ({ variant, rate: median(rates.get(variant)!) }));
}

async function generate(pool: pg.Pool, n: number): Promise<void> {
  // Spread evenly over the last 7 days (the default retention); 20 services; levels weighted
  // like real logs (1% fatal, 4% error, 10% warn); a rare phrase for q to find; user ids for attr.*.
  // Migration 3's indexes are built after the rows, as a restore would (much faster than per row).
  await setIndexes(pool, []);
  await pool.query(
    `INSERT INTO logs (id, ts, received_at, level, service, message, attrs, trace_id, span_id)
     SELECT lpad(to_hex(g), 12, '0'),
            now() - (g * (interval '7 days' / $1::int)),
            now() - (g * (interval '7 days' / $1::int)),
            CASE WHEN g % 100 = 0 THEN 'fatal' WHEN g % 100 < 5 THEN 'error' WHEN g % 100 < 15 THEN 'warn' WHEN g % 100 < 70 THEN 'info' ELSE 'debug' END,
            'svc-' || (g % 20),
            CASE WHEN g % 5000 = 7 THEN 'upstream connection reset by peer after ' || (g % 97) || 'ms'
                 ELSE 'GET /api/items/' || (g % 5000) || ' ' || (200 + (g % 3) * 100) || ' in ' || (g % 997) || 'ms' END,
            jsonb_build_object('user', jsonb_build_object('id', g % 100000), 'route', '/api/items/:id', 'status', 200 + (g % 3) * 100),
            CASE WHEN g % 2 = 0 THEN md5(g::text) END,
            CASE WHEN g % 2 = 0 THEN left(md5(g::text), 16) END
       FROM generate_series(1, $1::int) AS g`,
    [n],
  );
  await setIndexes(pool, SHIPPED);
  await pool.query('VACUUM ANALYZE logs');
}

interface QueryCase {
  name: string;
  windowed: boolean;
  params: (i: number) => Record<string, string>;
}

const CASES: QueryCase[] = [
  { name: 'latest 100', windowed: false, params: () => ({}) },
  { name: 'one service, 1 h', windowed: true, params: (i) => ({ service: `svc-${i % 20}`, from: '1h' }) },
  { name: 'level ≥ error, 24 h', windowed: true, params: () => ({ level: 'error', from: '24h' }) },
  {
    name: 'q (rare phrase), 1 h',
    windowed: true,
    params: (i) => ({ q: i % 2 ? 'reset by peer' : 'RESET BY', from: '1h' }),
  },
  // Ids of users with records in the last hour (user id = g % 100000, newest rows have small g).
  {
    name: 'attr.user.id, 1 h',
    windowed: true,
    params: (i) => ({ 'attr.user.id': String(1 + ((i * 7919) % Math.max(1, Math.floor(ROWS / 168)))), from: '1h' }),
  },
  { name: 'q (rare phrase), 7 d', windowed: false, params: (i) => ({ q: i % 2 ? 'reset by peer' : 'RESET BY' }) },
  {
    name: 'trace_id (any time)',
    windowed: false,
    params: (i) => ({ trace_id: md5Of(2 * (1 + ((i * 104729) % Math.floor(ROWS / 2)))) }),
  },
];

let md5Impl: ((s: string) => string) | undefined;
function md5Of(g: number): string {
  return md5Impl!(String(g));
}

async function latencies(
  pool: pg.Pool,
): Promise<Array<{ name: string; windowed: boolean; p50: number; p95: number; rows: number }>> {
  const out = [];
  for (const c of CASES) {
    const times: number[] = [];
    let rows = 0;
    for (let i = 0; i < RUNS + 3; i++) {
      const f = parseLogFilter(c.params(i), { range: true });
      const t0 = performance.now();
      const body = await queryLogs(pool, f);
      const ms = performance.now() - t0;
      if (i >= 3) times.push(ms); // the first runs warm the cache
      rows += (JSON.parse(body) as { items: unknown[] }).items.length;
    }
    times.sort((a, b) => a - b);
    out.push({
      name: c.name,
      windowed: c.windowed,
      p50: times[Math.floor(times.length * 0.5)]!,
      p95: times[Math.min(times.length - 1, Math.ceil(times.length * 0.95) - 1)]!,
      rows: rows / (RUNS + 3),
    });
  }
  return out;
}

function tailCost(): { nsPerCall: number } {
  const tail = new LogTail({ maxSubscribers: 1, queueRecords: 1, heartbeatMs: 15_000 });
  const records = logRows(100, 'tail');
  const n = 20_000_000;
  let t0 = performance.now();
  for (let i = 0; i < n; i++) tail.publish(records);
  const ms = performance.now() - t0;
  // The same loop calling nothing: what the loop itself costs.
  const noop = (_r: unknown): void => undefined;
  t0 = performance.now();
  for (let i = 0; i < n; i++) noop(records);
  const base = performance.now() - t0;
  return { nsPerCall: Math.max(0, ((ms - base) * 1e6) / n) };
}

/** Runs the bench; writes bench/results/query-latency-<date>-<rows>.md and returns its Markdown. */
export async function runQueryBench(opts: QueryBenchOptions = {}): Promise<string> {
  ROWS = opts.rows ?? ROWS;
  INGEST_ROWS = opts.ingestRows ?? INGEST_ROWS;
  RUNS = opts.runs ?? RUNS;
  const { createHash } = await import('node:crypto');
  md5Impl = (s) => createHash('md5').update(s).digest('hex');
  const server = await startBenchPostgres();
  try {
    let ingestTable = '(skipped)';
    if (INGEST_ROWS > 0) {
      const ingestUrl = await server.database('ingest_cost');
      console.log(`# ingest cost: ${INGEST_ROWS} rows by COPY, 2 writers, median of ${ROUNDS} interleaved rounds`);
      const ingest = await ingestCost(ingestUrl);
      const base = ingest[0]!.rate;
      ingestTable = mdTable(
        ['indexes on logs', 'rows/s', 'vs migration 1 only'],
        ingest.map((r) => [r.variant, num(Math.round(r.rate)), ratio(r.rate / base)]),
      );
      console.log(ingestTable);
    }

    const url = await server.database('query_latency');
    const pool = new pg.Pool({ connectionString: url, max: 2 });
    const t0 = performance.now();
    await generate(pool, ROWS);
    console.log(`# ${ROWS} rows generated in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    const shipped = await latencies(pool);
    await setIndexes(pool, [...SHIPPED, ...OPT_IN]);
    await pool.query('ANALYZE logs');
    const optIn = await latencies(pool);
    await setIndexes(pool, []);
    await pool.query('ANALYZE logs');
    const none = await latencies(pool);
    await pool.end();
    const ms = (x: { p50: number; p95: number }): string => `${x.p50.toFixed(1)} / ${x.p95.toFixed(1)}`;
    const rows = shipped.map((w, i) => [
      w.name,
      num(Math.round(w.rows)),
      ms(w),
      ms(none[i]!),
      ms(optIn[i]!),
      w.windowed ? (w.p95 < 200 ? 'yes' : 'NO') : '–',
    ]);
    const latencyTable = mdTable(
      [
        'query',
        'rows answered',
        'p50 / p95 ms (migration 3)',
        'without migration 3',
        '+ attrs GIN + trigram',
        'p95 < 200 ms',
      ],
      rows,
    );
    console.log(`# GET /api/logs on ${ROWS} rows over 7 days (${RUNS} runs each, after 3 warm-up runs)`);
    console.log(latencyTable);

    const tail = tailCost();
    const tailLine = `tail with no subscriber: ${tail.nsPerCall.toFixed(2)} ns per accepted request (one check of an empty set)`;
    console.log(tailLine);

    const date = new Date().toISOString().slice(0, 10);
    const dir = join(import.meta.dirname, 'results');
    mkdirSync(dir, { recursive: true });
    const md = `# Read API bench, ${date}\n\n\`node --import tsx bench/query-latency.ts --rows ${ROWS}\`\n\n## Ingest cost of each read index\n\n${INGEST_ROWS} rows by COPY, 2 writers, median of ${ROUNDS} interleaved rounds.\n\n${ingestTable}\n\n## Query latency, ${ROWS} rows over 7 days\n\n${latencyTable}\n\n## Tail\n\n${tailLine}\n`;
    writeFileSync(join(dir, `query-latency-${date}-${ROWS}.md`), md);
    return md;
  } finally {
    await server.stop();
  }
}

if (process.argv[1] && import.meta.filename === process.argv[1]) {
  await runQueryBench({
    rows: arg('rows', ROWS),
    ingestRows: process.argv.includes('--skip-ingest') ? 0 : arg('ingest-rows', INGEST_ROWS),
    runs: arg('runs', RUNS),
  });
}
