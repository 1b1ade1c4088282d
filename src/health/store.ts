// Where checks added through the admin API (and every check's last state) are kept so they
// survive a restart: PostgreSQL's `checks` and `check_state` tables when the sink is postgres,
// otherwise one JSON file under health.dataDir, rewritten atomically (temp file + rename).
import { mkdir, open, readFile, rename } from 'node:fs/promises';
import { dirname } from 'node:path';
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

interface FileData {
  checks: Check[];
  states: Record<string, StoredState>;
}

export class FileCheckStore implements CheckStore {
  readonly kind = 'file';
  private data: FileData = { checks: [], states: {} };
  private writing: Promise<void> = Promise.resolve();
  private queued: Promise<void> | undefined;

  constructor(readonly path: string) {}

  async load(): Promise<{ checks: Check[]; states: Map<string, StoredState> }> {
    try {
      const parsed = JSON.parse(await readFile(this.path, 'utf8')) as Partial<FileData>;
      this.data = { checks: parsed.checks ?? [], states: parsed.states ?? {} };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
        throw new Error(`health store ${this.path}: ${(err as Error).message}`, { cause: err });
    }
    return { checks: [...this.data.checks], states: new Map(Object.entries(this.data.states)) };
  }

  // A change that could not be written is undone in memory too, or the next write (of any
  // change) would store it after all; and the file is rewritten, because a write already under
  // way when the change was made may have carried it to disk before its own write failed.

  async put(check: Check): Promise<void> {
    const i = this.data.checks.findIndex((c) => c.id === check.id);
    const previous = i >= 0 ? this.data.checks[i] : undefined;
    if (i >= 0) this.data.checks[i] = check;
    else this.data.checks.push(check);
    await this.writeOrUndo(() => {
      const j = this.data.checks.indexOf(check);
      if (j >= 0 && previous) this.data.checks[j] = previous;
      else if (j >= 0) this.data.checks.splice(j, 1);
    });
  }

  async delete(id: string): Promise<boolean> {
    const removed = this.data.checks.find((c) => c.id === id);
    const state = this.data.states[id];
    this.data.checks = this.data.checks.filter((c) => c.id !== id);
    delete this.data.states[id];
    await this.writeOrUndo(() => {
      if (removed && !this.data.checks.some((c) => c.id === id)) {
        this.data.checks.push(removed);
        if (state) this.data.states[id] = state;
      }
    });
    return removed !== undefined;
  }

  /** Writes the change just made; if that fails, `undo`es it and rewrites (see above), then throws. */
  private async writeOrUndo(undo: () => void): Promise<void> {
    try {
      await this.flush();
    } catch (err) {
      undo();
      await this.flush().catch(() => undefined);
      throw err;
    }
  }

  saveState(id: string, s: StoredState): Promise<void> {
    this.data.states[id] = { ...this.data.states[id], ...s };
    return this.flush();
  }

  savePush(id: string, mark: PushMark): Promise<void> {
    const current = this.data.states[id] ?? { state: 'unknown', since: mark.lastResultAt };
    this.data.states[id] = { ...current, push: mark };
    return this.flush();
  }

  /**
   * Writes are chained so two never interleave, and each writes the whole current state, so
   * changes made while a write is waiting ride along with it (1,000 quick adds: a few writes).
   */
  private flush(): Promise<void> {
    if (this.queued) return this.queued;
    const next = this.writing.then(async () => {
      this.queued = undefined;
      await mkdir(dirname(this.path), { recursive: true });
      const tmp = `${this.path}.tmp`;
      // Synced before the rename: after a power loss the file is the old or the new version,
      // never an empty one (which would stop the next start-up).
      const fh = await open(tmp, 'w');
      try {
        await fh.writeFile(JSON.stringify(this.data, null, 2));
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(tmp, this.path);
    });
    this.queued = next;
    this.writing = next.catch(() => undefined);
    return next;
  }
}
