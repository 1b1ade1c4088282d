// What the sink sets up, checked on a real server: the indexes docs/postgres.md promises (time,
// service + time, level + time) are used by the queries they exist for, the pool is sized from
// the writer count, and record dedupe is off unless asked for.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { pino } from 'pino';
import { standalonePostgresSink } from '../../src/database.js';
import type { PostgresSink } from '../../src/sinks/postgres/postgres-sink.js';
import { testConfig } from '../helpers/app.js';
import { createTestDatabase, stopOwnServer, type TestDatabase } from '../helpers/postgres.js';

describe('the PostgreSQL schema and pool', () => {
  let db: TestDatabase;
  let sink: PostgresSink;
  before(async () => {
    db = await createTestDatabase();
    const config = testConfig({ 'sink.kind': 'postgres', 'postgres.url': db.url, 'writers.count': 3 });
    assert.equal(config.postgres.dedupe, false, 'dedupe is off by default');
    sink = standalonePostgresSink(config, pino({ level: 'silent' }));
    await sink.start();
  });
  after(async () => {
    await sink.close();
    await db.drop();
    await stopOwnServer();
  });

  test('the pool holds one connection per writer plus two (maintenance, the health checker)', () => {
    assert.equal(sink.database.pool.options.max, 5);
  });

  test('the logs indexes exist and serve the queries they are for', async () => {
    const { rows } = await db.pool.query<{ indexdef: string }>(
      "SELECT indexdef FROM pg_indexes WHERE tablename = 'logs'",
    );
    const defs = rows.map((r) => r.indexdef.replace(/^.* USING btree /, ''));
    for (const cols of ['(ts)', '(service, ts)', '(level, ts)'])
      assert.ok(defs.includes(cols), `an index on ${cols}: ${defs.join('; ')}`);
    // Planner choices on an empty table are not telling; with sequential scans off they show
    // which index each query can use at all.
    const client = await db.pool.connect();
    try {
      await client.query('SET enable_seqscan = off');
      const plan = async (sql: string): Promise<string> =>
        (await client.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${sql}`)).rows.map((r) => r['QUERY PLAN']).join('\n');
      assert.match(
        await plan("SELECT * FROM logs WHERE service = 'api' AND ts > now() - interval '1 hour'"),
        /service_ts/,
      );
      assert.match(
        await plan("SELECT * FROM logs WHERE level = 'error' AND ts > now() - interval '1 hour'"),
        /level_ts/,
      );
      const byTime = await plan("SELECT * FROM logs WHERE ts > now() - interval '1 hour' ORDER BY ts DESC LIMIT 50");
      assert.match(byTime, /Index/, byTime);
      assert.doesNotMatch(byTime, /service_ts|level_ts/, byTime);
    } finally {
      client.release();
    }
  });

  test(
    'a collector starts even when partition maintenance cannot get its locks (rows go to logs_default meanwhile)',
    { timeout: 60_000 },
    async () => {
      const own = await createTestDatabase();
      try {
        const config = testConfig({ 'sink.kind': 'postgres', 'postgres.url': own.url });
        const make = () =>
          standalonePostgresSink({ ...config, writers: { ...config.writers, count: 1 } }, pino({ level: 'silent' }));
        const first = make();
        await first.start();
        // Partitions for a month ago: expired, so the next maintenance run drops them.
        await first.database.maintain(Date.now() - 30 * 86_400_000);
        await first.close();
        // A long read on logs holds a lock the drop must wait for (past maintenance's lock_timeout).
        const reader = await own.pool.connect();
        const second = make();
        try {
          await reader.query('BEGIN');
          await reader.query('SELECT count(*) FROM logs');
          await second.start();
          const now = Date.now() * 1000;
          await second.writeBatch(
            {
              id: 'after-start',
              count: 1,
              records: [
                {
                  type: 'log',
                  id: 'r1',
                  ts: now,
                  received_at: now,
                  size: 100,
                  level: 'info',
                  service: 'lock',
                  message: 'm',
                  attrs: null,
                  trace_id: null,
                  span_id: null,
                },
              ],
              bytes: 100,
            },
            new AbortController().signal,
          );
        } finally {
          await reader.query('ROLLBACK');
          reader.release();
          await second.close();
        }
        assert.equal(await own.count('logs', "service = 'lock'"), 1);
      } finally {
        await own.drop();
      }
    },
  );
});
