// What the latency percentiles cost in the bucketed history: the per-bucket query with counts and
// average only (as before p50/p95) against bucketsFromPostgres (with percentile_cont), on 90 days
// of a 10 s check in an embedded PostgreSQL, alternated, median of 5; and the in-memory
// computation (bucketsOf) over health.historySize's largest ring, 100,000 results, since it runs
// on the event loop. Prints a Markdown table and writes bench/results/latency-buckets-<date>.md.
//   node --import tsx bench/latency-buckets.ts [--rows 777600]
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { MIGRATIONS } from '../src/database.js';
import { startEmbeddedPostgres } from '../src/postgres/embedded.js';
import { migrate } from '../src/postgres/migrate.js';
import { bucketsFromPostgres, bucketsOf, firstBucketStart, type BucketUnit } from '../src/ui/check-buckets.js';

const i = process.argv.indexOf('--rows');
const ROWS = i > 0 ? Number(process.argv[i + 1]) : 777_600;
const ROUNDS = 5;
const now = Date.UTC(2026, 11, 1, 12, 0, 0);
const step = (90 * 86_400_000) / ROWS;
/** Deterministic latencies with a tail: mostly 5–25 ms, every 50th 200–400 ms. */
const latency = (n: number) => (n % 50 === 0 ? 200 + ((n * 7919) % 200) : 5 + ((n * 104_729) % 20));

/** The query as it was before the percentiles: counts and the latency sum per bucket. */
async function countsOnly(pool: pg.Pool, unit: BucketUnit): Promise<void> {
  const ms = unit === 'hour' ? 3_600_000 : 86_400_000;
  await pool.query(
    `SELECT floor(extract(epoch FROM ts) * 1000 / $2)::bigint::text AS b,
            count(*) FILTER (WHERE ok)::text AS up, count(*) FILTER (WHERE NOT ok)::text AS down,
            sum(latency_ms)::float8 AS lat, count(latency_ms)::text AS n
       FROM check_results
      WHERE check_id = $1 AND ts >= to_timestamp($3::double precision / 1000) AND ts <= to_timestamp($4::double precision / 1000)
      GROUP BY 1`,
    ['bench', ms, firstBucketStart(unit, now), now],
  );
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
async function time(f: () => unknown): Promise<number> {
  const t0 = performance.now();
  await f();
  return performance.now() - t0;
}

const dir = mkdtempSync(join(tmpdir(), 'sluice-bench-buckets-'));
chmodSync(dir, 0o755);
const server = await startEmbeddedPostgres({ dataDir: join(dir, 'data') });
const pool = new pg.Pool({ connectionString: server.url, max: 2 });
try {
  await migrate(pool, MIGRATIONS);
  await pool.query(
    `INSERT INTO check_results (id, ts, received_at, check_id, check_name, kind, ok, status, latency_ms)
     SELECT 'r' || n, to_timestamp(($2::double precision - n * $3::double precision) / 1000), now(), 'bench', 'bench', 'http',
            n % 97 <> 0, CASE WHEN n % 97 <> 0 THEN 'up' ELSE 'down' END,
            CASE WHEN n % 50 = 0 THEN 200 + (n::bigint * 7919) % 200 ELSE 5 + (n::bigint * 104729) % 20 END
       FROM generate_series(0, $1::int - 1) AS n`,
    [ROWS, now, step],
  );
  await pool.query('VACUUM ANALYZE check_results');
  const lines: string[] = [];
  for (const unit of ['hour', 'day'] as const) {
    const before: number[] = [];
    const after: number[] = [];
    await countsOnly(pool, unit); // warm the cache for both
    for (let r = 0; r < ROUNDS; r++) {
      before.push(await time(() => countsOnly(pool, unit)));
      after.push(await time(() => bucketsFromPostgres(pool, 'bench', unit, now)));
    }
    const [b, a] = [median(before), median(after)];
    console.error(`${unit}: counts ${b.toFixed(1)} ms, with p50/p95 ${a.toFixed(1)} ms`);
    lines.push(`| PostgreSQL, ${unit} buckets | ${b.toFixed(1)} ms | ${a.toFixed(1)} ms | ${(a / b).toFixed(2)}× |`);
  }
  // In memory: the largest ring health.historySize allows, one result every 10 s up to now.
  const ring = Array.from({ length: 100_000 }, (_, n) => ({
    ts: new Date(now - n * 10_000).toISOString(),
    ok: n % 97 !== 0,
    latency_ms: latency(n),
  }));
  const withoutLatency = ring.map((e) => ({ ...e, latency_ms: null }));
  for (const unit of ['hour', 'day'] as const) {
    const before: number[] = [];
    const after: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      // Without latencies nothing is sorted: the cost of the counts alone.
      before.push(await time(() => bucketsOf(withoutLatency, unit, now)));
      after.push(await time(() => bucketsOf(ring, unit, now)));
    }
    const [b, a] = [median(before), median(after)];
    lines.push(
      `| memory (100,000 results), ${unit} buckets | ${b.toFixed(1)} ms | ${a.toFixed(1)} ms | ${(a / b).toFixed(2)}× |`,
    );
  }
  const table = [
    `# Latency percentiles in the bucketed history — ${new Date().toISOString()}`,
    '',
    `PostgreSQL: ${ROWS} results of one check over 90 days (embedded server, warm cache); memory: bucketsOf over`,
    `100,000 results. Median of ${ROUNDS}, alternated. "before": counts and average only; "after": with p50/p95.`,
    `Machine: ${cpus().length} cores, load average ${loadavg()[0]!.toFixed(1)} at the end (others' work too: compare`,
    'the ratio, not the times).',
    '',
    '| path | before | after | after / before |',
    '|---|---:|---:|---:|',
    ...lines,
    '',
  ].join('\n');
  console.log(table);
  mkdirSync('bench/results', { recursive: true });
  writeFileSync(`bench/results/latency-buckets-${new Date().toISOString().slice(0, 10)}.md`, table);
} finally {
  await pool.end();
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
}
