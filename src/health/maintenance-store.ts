// Where maintenance windows created through the admin API are kept: a PostgreSQL table, or
// one JSON file beside the file check store (at most 1,000 small windows, so each change
// rewrites it whole: written to a temporary file, fsynced, renamed over the old one).
import { mkdir, open, readFile, rename } from 'node:fs/promises';
import { dirname } from 'node:path';
import type pg from 'pg';
import { fsyncPath, writeFully } from '../durable-fs.js';
import type { MaintenanceStore, MaintenanceWindow } from './maintenance.js';

export class PostgresMaintenanceStore implements MaintenanceStore {
  constructor(private readonly pool: pg.Pool) {}

  async load(): Promise<MaintenanceWindow[]> {
    const { rows } = await this.pool.query<{ definition: MaintenanceWindow }>(
      'SELECT definition FROM maintenance_windows ORDER BY id',
    );
    return rows.map((r) => r.definition);
  }

  async put(w: MaintenanceWindow): Promise<void> {
    await this.pool.query(
      `INSERT INTO maintenance_windows (id, definition) VALUES ($1, $2)
       ON CONFLICT (id) DO UPDATE SET definition = EXCLUDED.definition, updated_at = now()`,
      [w.id, JSON.stringify(w)],
    );
  }

  async delete(id: string): Promise<void> {
    await this.pool.query('DELETE FROM maintenance_windows WHERE id = $1', [id]);
  }
}

export class FileMaintenanceStore implements MaintenanceStore {
  private readonly windows = new Map<string, MaintenanceWindow>();
  /** Rewrites run one after another, each writing the map as it is then. */
  private writing: Promise<void> = Promise.resolve();

  constructor(readonly path: string) {}

  async load(): Promise<MaintenanceWindow[]> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    const list = JSON.parse(text) as MaintenanceWindow[];
    for (const w of list) this.windows.set(w.id, w);
    return list;
  }

  put(w: MaintenanceWindow): Promise<void> {
    this.windows.set(w.id, w);
    return this.rewrite();
  }

  delete(id: string): Promise<void> {
    this.windows.delete(id);
    return this.rewrite();
  }

  private rewrite(): Promise<void> {
    const next = this.writing.catch(() => {}).then(() => this.writeNow());
    this.writing = next;
    return next;
  }

  private async writeNow(): Promise<void> {
    const dir = dirname(this.path);
    await mkdir(dir, { recursive: true });
    const tmp = `${this.path}.tmp`;
    const fh = await open(tmp, 'w');
    try {
      await writeFully(fh, Buffer.from(JSON.stringify([...this.windows.values()], null, 1)));
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, this.path);
    await fsyncPath(dir);
  }
}
