// Applies the schema migrations in order, each once, under a PostgreSQL advisory lock so that
// several collectors (or `sluice migrate`) starting together take turns instead of racing.
import type { Pool, PoolClient } from 'pg';
import type { Migration } from './migration.js';

/** pg_advisory_lock(key1, key2) keys: 'sluc' as an int4, then one number per lock. */
export const ADVISORY_LOCK_CLASS = 0x736c7563;
export const MIGRATION_LOCK = 1;
export const PARTITION_LOCK = 2;

export interface MigrateResult {
  /** Versions applied by this call (empty when the schema was already current). */
  applied: number[];
  /** The highest version in the database afterwards. */
  version: number;
}

export async function migrate(pool: Pool, migrations: readonly Migration[]): Promise<MigrateResult> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await client.query('SELECT pg_advisory_lock($1, $2)', [ADVISORY_LOCK_CLASS, MIGRATION_LOCK]);
    try {
      return await applyPending(client, migrations);
    } finally {
      // A session lock is also released when the connection closes, so a failed unlock only
      // means this connection must not go back to the pool.
      await client
        .query('SELECT pg_advisory_unlock($1, $2)', [ADVISORY_LOCK_CLASS, MIGRATION_LOCK])
        .catch((err: Error) => {
          broken = err;
        });
    }
  } catch (err) {
    broken = err as Error;
    throw err;
  } finally {
    client.release(broken);
  }
}

async function applyPending(client: PoolClient, migrations: readonly Migration[]): Promise<MigrateResult> {
  await client.query(`CREATE TABLE IF NOT EXISTS sluice_migrations (
    version    integer PRIMARY KEY,
    name       text        NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
  )`);
  const { rows } = await client.query<{ version: number }>('SELECT version FROM sluice_migrations');
  const done = new Set(rows.map((r) => r.version));
  const applied: number[] = [];
  for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
    if (done.has(m.version)) continue;
    try {
      await client.query('BEGIN');
      await client.query(m.sql);
      await client.query('INSERT INTO sluice_migrations (version, name) VALUES ($1, $2)', [m.version, m.name]);
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw new Error(`migration ${m.version} (${m.name}) failed: ${(err as Error).message}`, { cause: err });
    }
    applied.push(m.version);
    done.add(m.version);
  }
  return { applied, version: Math.max(0, ...done) };
}
