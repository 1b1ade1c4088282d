// Where API keys are kept: the `api_keys` table when the collector has its PostgreSQL database,
// otherwise one JSON file (auth.keysFile), rewritten whole and atomically (temp file, fsync,
// rename, directory fsync) so a crash leaves the old or the new set, never half of one.
import { mkdir, open, readFile, rename } from 'node:fs/promises';
import { dirname } from 'node:path';
import type pg from 'pg';
import { fsyncPath, writeFully } from '../durable-fs.js';
import type { ApiKeyIdentity, Scope } from '../http/access.js';

export type KeyRateLimit = NonNullable<ApiKeyIdentity['rateLimit']>;

export interface StoredKey {
  id: string;
  /** SHA-256 of the secret, hex. */
  hash: string;
  scope: Scope;
  tenant: string | null;
  /** Epoch ms. */
  createdAt: number;
  expiresAt: number | null;
  /** The key's own limits (fields it sets replace the configured ones); absent: the configured ones. */
  rateLimit?: KeyRateLimit | null;
}

export interface KeyStore {
  readonly kind: 'postgres' | 'file';
  load(): Promise<StoredKey[]>;
  insert(key: StoredKey): Promise<void>;
  /** False when there was no such key. */
  delete(id: string): Promise<boolean>;
}

interface KeyRow {
  id: string;
  secret_hash: string;
  scope: Scope;
  tenant: string | null;
  created_at: Date;
  expires_at: Date | null;
  rate_limit: KeyRateLimit | null;
}

export class PostgresKeyStore implements KeyStore {
  readonly kind = 'postgres';

  constructor(private readonly pool: () => pg.Pool) {}

  async load(): Promise<StoredKey[]> {
    const { rows } = await this.pool().query<KeyRow>(
      'SELECT id, secret_hash, scope, tenant, created_at, expires_at, rate_limit FROM api_keys ORDER BY created_at, id',
    );
    return rows.map((r) => ({
      id: r.id,
      hash: r.secret_hash,
      scope: r.scope,
      tenant: r.tenant,
      createdAt: r.created_at.getTime(),
      expiresAt: r.expires_at ? r.expires_at.getTime() : null,
      rateLimit: r.rate_limit,
    }));
  }

  async insert(k: StoredKey): Promise<void> {
    await this.pool().query(
      `INSERT INTO api_keys (id, secret_hash, scope, tenant, created_at, expires_at, rate_limit)
       VALUES ($1, $2, $3, $4, to_timestamp($5::double precision / 1000), to_timestamp($6::double precision / 1000), $7)`,
      [k.id, k.hash, k.scope, k.tenant, k.createdAt, k.expiresAt, k.rateLimit ? JSON.stringify(k.rateLimit) : null],
    );
  }

  async delete(id: string): Promise<boolean> {
    return ((await this.pool().query('DELETE FROM api_keys WHERE id = $1', [id])).rowCount ?? 0) > 0;
  }
}

export class FileKeyStore implements KeyStore {
  readonly kind = 'file';
  private keys: StoredKey[] = [];
  private writing: Promise<void> = Promise.resolve();

  constructor(readonly path: string) {}

  async load(): Promise<StoredKey[]> {
    try {
      this.keys = (JSON.parse(await readFile(this.path, 'utf8')) as { keys: StoredKey[] }).keys;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
        throw new Error(`key store ${this.path}: ${(err as Error).message}`, { cause: err });
      this.keys = [];
    }
    return [...this.keys];
  }

  async insert(k: StoredKey): Promise<void> {
    await this.write((keys) => [...keys, k]);
  }

  async delete(id: string): Promise<boolean> {
    let found = false;
    await this.write((keys) => {
      found = keys.some((k) => k.id === id);
      return found ? keys.filter((k) => k.id !== id) : undefined;
    });
    return found;
  }

  /** Changes apply one after another; the in-memory set changes only once its file is on disk. */
  private write(change: (keys: StoredKey[]) => StoredKey[] | undefined): Promise<void> {
    const run = this.writing.then(async () => {
      const next = change(this.keys);
      if (!next) return;
      await mkdir(dirname(this.path), { recursive: true });
      const tmp = `${this.path}.tmp`;
      const fh = await open(tmp, 'w', 0o600);
      try {
        await writeFully(fh, Buffer.from(JSON.stringify({ keys: next }, null, 2)));
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(tmp, this.path);
      await fsyncPath(dirname(this.path));
      this.keys = next;
    });
    this.writing = run.catch(() => undefined);
    return run;
  }
}
