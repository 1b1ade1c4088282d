// One holder at a time among processes sharing a database: a session-level advisory lock, held
// on a connection of its own. PostgreSQL releases it when that session ends (the holder
// stopped, died, or lost its connection), and another process's next try takes it, so no
// lease expiry has to be tuned against clock or GC pauses. The holder checks its connection
// every round; when the check fails it has lost the lease (another may hold it already).
import type pg from 'pg';
import type { Logger } from 'pino';
import { errorMessage } from '../errors.js';
import { withTimeout } from '../timeout.js';

export interface AdvisoryLeaseOptions {
  /** The pool to take the lock's connection from; undefined while not connected. */
  pool: () => pg.Pool | undefined;
  /** The lock key (a 64-bit integer, as text), the same in every process. */
  key: string;
  /** How often a process without the lease tries, and the holder checks its session. */
  everyMs: number;
  logger: Logger;
  what: string;
  onAcquired: () => void;
  onLost: (reason: string) => void;
}

export class AdvisoryLease {
  private client: pg.PoolClient | undefined;
  private timer: NodeJS.Timeout | undefined;
  private busy = false;
  private stopped = false;
  private lost = false;
  private toldHeldElsewhere = false;

  constructor(private readonly opts: AdvisoryLeaseOptions) {}

  get held(): boolean {
    return this.client !== undefined;
  }

  start(): void {
    void this.tick();
    this.timer = setInterval(() => void this.tick(), this.opts.everyMs);
    this.timer.unref();
  }

  /** Gives the lease up (the next process's try takes it at once). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    const client = this.client;
    this.client = undefined;
    if (!client) return;
    try {
      await withTimeout(client.query('SELECT pg_advisory_unlock($1::bigint)', [this.opts.key]), 2000, () => undefined);
      client.release();
    } catch (err) {
      client.release(err instanceof Error ? err : new Error(String(err)));
    }
  }

  private async tick(): Promise<void> {
    if (this.busy || this.stopped || this.lost) return;
    this.busy = true;
    try {
      if (this.client) await this.check(this.client);
      else await this.tryAcquire();
    } finally {
      this.busy = false;
    }
  }

  private async tryAcquire(): Promise<void> {
    const pool = this.opts.pool();
    if (!pool) return;
    let client: pg.PoolClient | undefined;
    try {
      client = await pool.connect();
      const r = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1::bigint) AS ok', [this.opts.key]);
      if (!r.rows[0]?.ok || this.stopped) {
        if (r.rows[0]?.ok) await client.query('SELECT pg_advisory_unlock($1::bigint)', [this.opts.key]);
        client.release();
        if (!r.rows[0]?.ok && !this.toldHeldElsewhere) {
          this.toldHeldElsewhere = true;
          this.opts.logger.info(
            { lease: this.opts.what, everyMs: this.opts.everyMs },
            `${this.opts.what} lease held by another process; trying again every ${this.opts.everyMs} ms`,
          );
        }
        return;
      }
      this.client = client;
      client.on('error', (err) => this.drop(errorMessage(err)));
      this.opts.logger.info({ lease: this.opts.what }, `${this.opts.what} lease acquired`);
      this.opts.onAcquired();
    } catch (err) {
      client?.release(err instanceof Error ? err : new Error(String(err)));
      this.opts.logger.debug({ err: errorMessage(err) }, `${this.opts.what} lease: try failed`);
    }
  }

  private async check(client: pg.PoolClient): Promise<void> {
    try {
      await withTimeout(client.query('SELECT 1'), this.opts.everyMs, () => {
        throw new Error(`its session did not answer in ${this.opts.everyMs} ms`);
      });
    } catch (err) {
      this.drop(errorMessage(err));
    }
  }

  private drop(reason: string): void {
    const client = this.client;
    if (!client || this.lost) return;
    this.client = undefined;
    this.lost = true;
    clearInterval(this.timer);
    client.release(new Error(reason));
    this.opts.logger.error({ lease: this.opts.what, err: reason }, `${this.opts.what} lease lost`);
    this.opts.onLost(reason);
  }
}
