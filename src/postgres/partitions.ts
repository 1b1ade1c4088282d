// Daily partitions of `logs`: created ahead of time, dropped once wholly older than
// retention.days. Rows that landed in logs_default (timestamps outside the daily partitions)
// move into a day's partition when it is created, and are deleted once past retention.
import type { ClientBase, Pool } from 'pg';
import { ADVISORY_LOCK_CLASS, PARTITION_LOCK } from './migrate.js';

const DAY_MS = 86_400_000;
const PARTITION_NAME = /^logs_p(\d{4})(\d{2})(\d{2})$/;

export interface PartitionOptions {
  retentionDays: number;
  /** Days kept per tenant, overriding retentionDays for that tenant's rows. */
  tenantDays?: Readonly<Record<string, number>>;
  daysAhead: number;
  /** Epoch ms; injected by tests to move through time. */
  now?: number;
  /** How long DDL may wait for writers' locks before giving up until the next run. */
  lockTimeoutMs?: number;
}

export interface PartitionReport {
  created: string[];
  dropped: string[];
  /** Rows deleted from logs_default (older than the longest retention). */
  purged: number;
  /** Rows deleted inside kept partitions because their tenant's (or the default) retention is shorter. */
  expired: number;
}

export function partitionName(dayStartMs: number): string {
  return `logs_p${new Date(dayStartMs).toISOString().slice(0, 10).replace(/-/g, '')}`;
}

function dayOf(name: string): number | null {
  const m = PARTITION_NAME.exec(name);
  return m ? Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) : null;
}

/** Names of the daily partitions that exist, oldest first. */
export async function logPartitions(db: Pick<ClientBase, 'query'>): Promise<string[]> {
  const { rows } = await db.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
      WHERE i.inhparent = 'logs'::regclass`,
  );
  return rows
    .map((r) => r.name)
    .filter((n) => PARTITION_NAME.test(n))
    .sort();
}

export async function maintainLogPartitions(pool: Pool, opts: PartitionOptions): Promise<PartitionReport> {
  const now = opts.now ?? Date.now();
  // Partitions hold every tenant's rows: one goes only when the longest retention is past it.
  const tenantDays = Object.entries(opts.tenantDays ?? {});
  const longest = Math.max(opts.retentionDays, ...tenantDays.map(([, d]) => d));
  const cutoff = now - longest * DAY_MS;
  const first = Math.floor(cutoff / DAY_MS) * DAY_MS;
  const last = Math.floor(now / DAY_MS) * DAY_MS + opts.daysAhead * DAY_MS;
  const report: PartitionReport = { created: [], dropped: [], purged: 0, expired: 0 };
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await client.query('BEGIN');
    await client.query(`SET LOCAL lock_timeout = ${Math.max(1, Math.floor(opts.lockTimeoutMs ?? 5000))}`);
    await client.query('SELECT pg_advisory_xact_lock($1, $2)', [ADVISORY_LOCK_CLASS, PARTITION_LOCK]);
    const existing = new Set(await logPartitions(client));
    let defaultLocked = false;
    for (let day = first; day <= last; day += DAY_MS) {
      const name = partitionName(day);
      if (existing.has(name)) continue;
      // A row for this day committed into logs_default between the move below and the ATTACH
      // would fail the ATTACH (and roll back the whole run): writers wait for this moment instead.
      if (!defaultLocked) await client.query('LOCK TABLE logs_default IN SHARE ROW EXCLUSIVE MODE');
      defaultLocked = true;
      const from = new Date(day).toISOString();
      const to = new Date(day + DAY_MS).toISOString();
      // LIKE + ATTACH rather than CREATE … PARTITION OF, so that rows already in the default
      // partition for this day can be moved in first (ATTACH fails if any were left behind).
      await client.query(`CREATE TABLE ${name} (LIKE logs INCLUDING DEFAULTS INCLUDING CONSTRAINTS)`);
      await client.query(
        'WITH moved AS (DELETE FROM logs_default WHERE ts >= $1 AND ts < $2 RETURNING *) ' +
          `INSERT INTO ${name} SELECT * FROM moved`,
        [from, to],
      );
      await client.query(`ALTER TABLE logs ATTACH PARTITION ${name} FOR VALUES FROM ('${from}') TO ('${to}')`);
      report.created.push(name);
    }
    for (const name of existing) {
      const day = dayOf(name)!;
      if (day + DAY_MS <= cutoff) {
        await client.query(`DROP TABLE ${name}`);
        report.dropped.push(name);
      }
    }
    const cut = new Date(cutoff).toISOString();
    report.purged = (await client.query('DELETE FROM logs_default WHERE ts < $1', [cut])).rowCount ?? 0;
    // Rows whose own retention is shorter than the longest go row by row.
    const before = (days: number): string => new Date(now - days * DAY_MS).toISOString();
    for (const [tenant, days] of tenantDays) {
      if (days >= longest) continue;
      const r = await client.query('DELETE FROM logs WHERE tenant = $1 AND ts < $2', [tenant, before(days)]);
      report.expired += r.rowCount ?? 0;
    }
    if (opts.retentionDays < longest) {
      const r = await client.query(
        'DELETE FROM logs WHERE ts < $1 AND (tenant IS NULL OR NOT (tenant = ANY($2::text[])))',
        [before(opts.retentionDays), tenantDays.map(([t]) => t)],
      );
      report.expired += r.rowCount ?? 0;
    }
    // Batch and record ids only matter for retries and duplicates within the retention window.
    await client.query('DELETE FROM sluice_batches WHERE committed_at < $1', [cut]);
    await client.query('DELETE FROM sluice_record_ids WHERE seen_at < $1', [cut]);
    await client.query('COMMIT');
    return report;
  } catch (err) {
    broken = err as Error;
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release(broken);
  }
}
