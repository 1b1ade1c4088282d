// The PostgreSQL database the collector uses: the server (embedded, or external at a URL), the
// connection pool, the migrations of every part that keeps tables in it, and the partition
// maintenance timers. Built by the composition root and handed to the sink and to health.
import pg from 'pg';
import type { Logger } from 'pino';
import { errorMessage } from '../errors.js';
import { fullJitterDelay, sleep } from '../pipeline/backoff.js';
import { withTimeout } from '../timeout.js';
import { URL_FILE, startEmbeddedPostgres, type EmbeddedPostgres } from './embedded.js';
import { migrate, type MigrateResult } from './migrate.js';
import type { Migration } from './migration.js';
import { maintainLogPartitions, type PartitionReport } from './partitions.js';
import { safeUrl } from './url.js';

/** The postgres.* and retention.* settings the database needs (config/ validates them). */
export interface PostgresDatabaseConfig {
  url: string;
  poolSize: number;
  statementTimeoutMs: number;
  connectTimeoutMs: number;
  partitionDaysAhead: number;
  embeddedDataDir: string;
  embeddedPort: number;
}

export interface PostgresDatabaseOptions extends PostgresDatabaseConfig {
  retention: { days: number; intervalMs: number; tenants?: Readonly<Record<string, number>> };
  /** writers.count, to size the pool when poolSize is 0. */
  writers: number;
  /** Every migration of every part with tables here (the sink's and health's), any order. */
  migrations: readonly Migration[];
  logger: Logger;
}

/** After a failed maintenance run at start-up, the next try (the interval may be hours). */
const MAINTENANCE_RETRY_MS = 30_000;
/** Background connection attempts: the first retry after ~this, doubling up to the cap. */
const CONNECT_RETRY_BASE_MS = 500;
const CONNECT_RETRY_CAP_MS = 10_000;

export interface DatabaseHealth {
  ok: boolean;
  reason?: string;
}

export class PostgresDatabase {
  private poolRef: pg.Pool | undefined;
  private embedded: EmbeddedPostgres | undefined;
  private maintenance: NodeJS.Timeout | undefined;
  private retryMaintenance: NodeJS.Timeout | undefined;
  private maintaining: Promise<unknown> = Promise.resolve();
  private readonly log: Logger;
  private readonly closing = new AbortController();
  private connecting: Promise<void> | undefined;
  private readonly connectedListeners: Array<() => void> = [];
  private lastError = 'not started';
  private probe: Promise<unknown> | undefined;
  /** What start() found and applied. */
  migration: MigrateResult | undefined;

  constructor(private readonly opts: PostgresDatabaseOptions) {
    this.log = opts.logger;
  }

  /** The connection pool; valid once connected. */
  get pool(): pg.Pool {
    if (!this.poolRef || !this.migration) throw new Error('PostgresDatabase.pool used before it connected');
    return this.poolRef;
  }

  /** The URL in use (the embedded server's once started); contains the password. */
  get url(): string {
    return this.embedded?.url ?? this.opts.url;
  }

  /** Connected and migrated: the tables are there. */
  get connected(): boolean {
    return this.migration !== undefined && this.poolRef !== undefined && !this.poolRef.ended;
  }

  /** Why the database is not connected yet (empty once it is). */
  get notConnectedReason(): string {
    return this.connected ? '' : this.lastError;
  }

  /** Calls `listener` once connected (at once when it already is). */
  onConnected(listener: () => void): void {
    if (this.connected) listener();
    else this.connectedListeners.push(listener);
  }

  /** Starts the server if embedded, connects, migrates and schedules maintenance; throws when any of it fails. */
  async start(): Promise<void> {
    let url = this.opts.url;
    if (url === '') {
      this.embedded ??= await startEmbeddedPostgres({
        dataDir: this.opts.embeddedDataDir,
        port: this.opts.embeddedPort,
        logger: this.log,
      });
      url = this.embedded.url;
    }
    const pool = new pg.Pool({
      connectionString: url,
      max: this.opts.poolSize > 0 ? this.opts.poolSize : this.opts.writers + 2,
      connectionTimeoutMillis: this.opts.connectTimeoutMs,
      statement_timeout: this.opts.statementTimeoutMs > 0 ? this.opts.statementTimeoutMs : undefined,
      keepAlive: true,
      idleTimeoutMillis: 30_000,
      application_name: 'sluice',
    });
    // An idle connection dropped by a restarting server is not our error to crash on; the next
    // checkout simply opens a new one.
    pool.on('error', (err) => this.log.warn({ err: errorMessage(err) }, 'postgres: idle connection lost'));
    this.poolRef = pool;
    try {
      const m = await migrate(pool, this.opts.migrations);
      if (m.applied.length > 0) this.log.info({ applied: m.applied, version: m.version }, 'postgres: schema migrated');
      // Not a reason to refuse to start: maintenance needs short exclusive locks that a long
      // query or another collector's COPY can hold past lock_timeout, and until it runs new
      // rows simply land in logs_default (moved into their partition by the next run).
      await this.maintainOn(pool).catch((err: unknown) => {
        this.log.warn(
          { err: errorMessage(err) },
          `postgres: partition maintenance failed at start-up (rows go to logs_default meanwhile); retrying in ` +
            `${MAINTENANCE_RETRY_MS / 1000} s`,
        );
        this.retryMaintenance = setTimeout(() => this.runMaintenance(), MAINTENANCE_RETRY_MS);
        this.retryMaintenance.unref();
      });
      this.migration = m;
    } catch (err) {
      this.poolRef = undefined;
      await pool.end().catch(() => undefined);
      const reason = errorMessage(err) || (err as { code?: string }).code || 'connection failed';
      this.lastError = `postgres at ${safeUrl(url)}: ${reason}`;
      throw new Error(this.lastError, { cause: err });
    }
    this.maintenance = setInterval(() => this.runMaintenance(), this.opts.retention.intervalMs);
    this.maintenance.unref();
    if (this.embedded) {
      const dir = this.embedded.dataDir;
      this.log.info(
        { database: 'embedded', url: safeUrl(url), dataDir: dir },
        `postgres: using the embedded PostgreSQL (data in ${dir}; psql "$(cat ${dir}/${URL_FILE})" to look); set ` +
          `DATABASE_URL=postgres://user:pass@host:5432/db to use your own`,
      );
    } else {
      this.log.info({ database: safeUrl(url) }, `postgres: using ${safeUrl(url)}`);
    }
    for (const listener of this.connectedListeners.splice(0)) listener();
  }

  /**
   * Tries start() until it succeeds or close() is called, waiting a capped, jittered backoff
   * between tries: the collector runs (and its WAL accepts) while the database is away.
   */
  connectInBackground(): Promise<void> {
    this.connecting ??= (async () => {
      const signal = this.closing.signal;
      for (let attempt = 1; !signal.aborted; attempt++) {
        try {
          await this.start();
          return;
        } catch (err) {
          if (signal.aborted) return;
          const delay = CONNECT_RETRY_BASE_MS + fullJitterDelay(attempt, CONNECT_RETRY_BASE_MS, CONNECT_RETRY_CAP_MS);
          this.log.warn(
            { err: errorMessage(err), attempt, retryInMs: delay },
            'postgres: not connected; retrying in the background',
          );
          await sleep(delay, signal);
        }
      }
    })();
    return this.connecting;
  }

  /** One round trip, bounded by connectTimeoutMs; for the background readiness poll, not a request path. */
  async health(): Promise<DatabaseHealth> {
    if (!this.connected) return { ok: false, reason: this.lastError };
    // A query that never answered (a stalled server) still holds its connection: ask again
    // on it rather than tie up one more pool connection per poll.
    this.probe ??= this.pool.query('SELECT 1').finally(() => (this.probe = undefined));
    try {
      await withTimeout(this.probe, this.opts.connectTimeoutMs, () => {
        throw new Error(`no answer within ${this.opts.connectTimeoutMs} ms`);
      });
      return { ok: true };
    } catch (err) {
      return {
        ok: false,
        reason: `postgres: ${errorMessage(err) || (err as { code?: string }).code || 'connection failed'}`,
      };
    }
  }

  private runMaintenance(): void {
    this.maintaining = this.maintain().then(
      () => undefined,
      (err: unknown) => this.log.warn({ err: errorMessage(err) }, 'postgres: partition maintenance failed; will retry'),
    );
  }

  /** Creates partitions ahead and drops those past retention (also run every retention.intervalMs). */
  maintain(now?: number): Promise<PartitionReport> {
    return this.maintainOn(this.pool, now);
  }

  private async maintainOn(pool: pg.Pool, now?: number): Promise<PartitionReport> {
    const report = await maintainLogPartitions(pool, {
      retentionDays: this.opts.retention.days,
      ...(this.opts.retention.tenants ? { tenantDays: this.opts.retention.tenants } : {}),
      daysAhead: this.opts.partitionDaysAhead,
      ...(now === undefined ? {} : { now }),
    });
    if (report.created.length + report.dropped.length + report.purged + report.expired > 0)
      this.log.info(report, 'postgres: log partitions maintained');
    return report;
  }

  async close(): Promise<void> {
    this.closing.abort();
    await this.connecting;
    clearInterval(this.maintenance);
    clearTimeout(this.retryMaintenance);
    await this.maintaining;
    const pool = this.poolRef;
    if (pool && !pool.ended) await pool.end();
    await this.embedded?.stop();
  }
}
