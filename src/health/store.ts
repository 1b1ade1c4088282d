// Where checks added through the admin API (and every check's last state) are kept so they
// survive a restart: PostgreSQL's `checks` and `check_state` tables when the sink is postgres,
// otherwise a snapshot and an append-only log under health.dataDir (file-store.ts). Either
// way a change writes one row or one line: its cost does not grow with the number of checks.
import type pg from 'pg';
import type { Check } from './check-schema.js';
import type { CheckStateName } from './state.js';

export interface StoredState {
  state: CheckStateName;
  /** Epoch ms. */
  since: number;
  /** Push checks, file store only (PostgreSQL has the results themselves): the newest result. */
  push?: PushMark;
}

/** When a push check last had a result, and when its service last pinged (epoch ms). */
export interface PushMark {
  lastResultAt: number;
  lastPingAt: number | null;
}

export interface CheckStore {
  readonly kind: 'postgres' | 'file';
  /** API-registered checks and the last state of every check. */
  load(): Promise<{ checks: Check[]; states: Map<string, StoredState> }>;
  put(check: Check): Promise<void>;
  delete(id: string): Promise<boolean>;
  saveState(id: string, s: StoredState): Promise<void>;
  /** Only where the results are not stored (the file store): a push check's deadline must survive a restart. */
  savePush?(id: string, mark: PushMark): Promise<void>;
  /** Releases what the store holds open (the file store's log). */
  close?(): Promise<void>;
}

export class PostgresCheckStore implements CheckStore {
  readonly kind = 'postgres';

  constructor(private readonly pool: pg.Pool) {}

  async load(): Promise<{ checks: Check[]; states: Map<string, StoredState> }> {
    const checks = await this.pool.query<{ id: string; definition: Check }>(
      'SELECT id, definition FROM checks ORDER BY created_at, id',
    );
    const states = await this.pool.query<{ check_id: string; state: CheckStateName; since: Date }>(
      'SELECT check_id, state, since FROM check_state',
    );
    return {
      checks: checks.rows.map((r) => ({ ...r.definition, id: r.id })),
      states: new Map(states.rows.map((r) => [r.check_id, { state: r.state, since: r.since.getTime() }])),
    };
  }

  async put(check: Check): Promise<void> {
    await this.pool.query(
      `INSERT INTO checks (id, definition, created_at, updated_at) VALUES ($1, $2, $3, $4)
       ON CONFLICT (id) DO UPDATE SET definition = EXCLUDED.definition, updated_at = EXCLUDED.updated_at`,
      [check.id, JSON.stringify(check), check.createdAt, check.updatedAt],
    );
  }

  async delete(id: string): Promise<boolean> {
    const r = await this.pool.query('DELETE FROM checks WHERE id = $1', [id]);
    await this.pool.query('DELETE FROM check_state WHERE check_id = $1', [id]);
    return (r.rowCount ?? 0) > 0;
  }

  async saveState(id: string, s: StoredState): Promise<void> {
    await this.pool.query(
      `INSERT INTO check_state (check_id, state, since, updated_at) VALUES ($1, $2, to_timestamp($3::double precision / 1000), now())
       ON CONFLICT (check_id) DO UPDATE SET state = EXCLUDED.state, since = EXCLUDED.since, updated_at = now()`,
      [id, s.state, s.since],
    );
  }
}
