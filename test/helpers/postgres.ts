// Real PostgreSQL for tests. The server is DATABASE_URL when given; otherwise the embedded
// server the test runner started for the whole suite (SLUICE_TEST_PG_URL); otherwise (a file
// run on its own) an embedded server started here for this process. Each caller gets a
// database of its own, so test files running in parallel never see each other's rows.
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../../src/postgres/embedded.js';
import { withDatabase } from '../../src/postgres/url.js';

/** Settings for a throwaway test server: speed over crash safety of the server itself. */
export const TEST_SERVER_SETTINGS = { fsync: 'off', full_page_writes: 'off', max_connections: '300' };

let own: Promise<{ url: string; server: EmbeddedPostgres; dir: string }> | undefined;

async function serverUrl(): Promise<string> {
  if (process.env.SLUICE_TEST_NO_PG) {
    throw new Error(
      'this run has no PostgreSQL (only test/integration/ gets one): a test that needs a database belongs there',
    );
  }
  const given = process.env.DATABASE_URL ?? process.env.SLUICE_TEST_PG_URL;
  if (given) return given;
  own ??= (async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-pg-'));
    // As root the server runs as the `postgres` user, which must be able to enter the directory.
    chmodSync(dir, 0o755);
    const server = await startEmbeddedPostgres({ dataDir: join(dir, 'data'), settings: TEST_SERVER_SETTINGS });
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    return { url: server.url, server, dir };
  })();
  return (await own).url;
}

export interface TestDatabase {
  /** URL of a fresh, empty database of this caller's own. */
  url: string;
  /** A small pool on that database, for assertions. */
  pool: pg.Pool;
  /** Count of rows in a table. */
  count(table: string, where?: string): Promise<number>;
  drop(): Promise<void>;
}

export async function createTestDatabase(): Promise<TestDatabase> {
  const server = await serverUrl();
  const name = `sluice_t_${process.pid}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: server, connectionTimeoutMillis: 10_000 });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = withDatabase(server, name);
  const pool = new pg.Pool({ connectionString: url, max: 4 });
  pool.on('error', () => undefined);
  return {
    url,
    pool,
    count: async (table, where) =>
      Number(
        (await pool.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}${where ? ` WHERE ${where}` : ''}`))
          .rows[0]!.n,
      ),
    drop: async () => {
      await pool.end();
      const c = new pg.Client({ connectionString: server });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}

/** Stops the server this process started itself, if any (test files call it in `after`). */
export async function stopOwnServer(): Promise<void> {
  if (!own) return;
  const { server } = await own;
  own = undefined;
  await server.stop();
}
