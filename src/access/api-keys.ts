// The API keys the collector knows: created, listed and revoked through /admin/keys, looked up
// by the auth hook on every request (from memory: no query per request). A change made here is
// in effect at once; keys changed by another collector on the same database are picked up by
// a reload every RELOAD_MS.
import type { Logger } from 'pino';
import { SluiceError, errorMessage } from '../errors.js';
import type { ApiKeyIdentity, KeyIndex, Scope } from '../http/access.js';
import { newKey, parseKey, sameDigest } from './key-secret.js';
import type { KeyRateLimit, KeyStore, StoredKey } from './key-store.js';

const RELOAD_MS = 10_000;

/** What may be said about a key after its creation: everything but the secret. */
export interface KeyInfo {
  id: string;
  scope: Scope;
  tenant: string | null;
  created_at: string;
  expires_at: string | null;
  expired: boolean;
  /** The key's own rate limits, or null for the configured ones. */
  rate_limit: KeyRateLimit | null;
}

export class ApiKeys implements KeyIndex {
  private byId = new Map<string, StoredKey>();
  /** Keys per scope, kept with byId: `has` runs on every request. */
  private scopes = new Map<Scope, number>();
  private reloader: NodeJS.Timeout | undefined;
  loaded = false;

  constructor(
    private readonly store: KeyStore,
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  /** Reads the store; with PostgreSQL, keeps re-reading it (other collectors may share it). */
  async start(): Promise<void> {
    this.replace(await this.store.load());
    this.loaded = true;
    if (this.store.kind === 'postgres' && !this.reloader) {
      this.reloader = setInterval(() => {
        this.store.load().then(
          (keys) => this.replace(keys),
          (err: unknown) =>
            this.logger.warn({ err: errorMessage(err) }, 'api keys: reload failed; keeping the last set'),
        );
      }, RELOAD_MS);
      this.reloader.unref();
    }
  }

  stop(): void {
    clearInterval(this.reloader);
    this.reloader = undefined;
  }

  private replace(keys: StoredKey[]): void {
    this.byId = new Map(keys.map((k) => [k.id, k]));
    this.count();
  }

  private count(): void {
    this.scopes = new Map();
    for (const k of this.byId.values()) this.scopes.set(k.scope, (this.scopes.get(k.scope) ?? 0) + 1);
  }

  find(secret: string): ApiKeyIdentity | undefined {
    const parsed = parseKey(secret);
    if (!parsed) return undefined;
    const k = this.byId.get(parsed.id);
    if (!k || !sameDigest(parsed.hash, k.hash)) return undefined;
    if (k.expiresAt !== null && k.expiresAt <= this.now()) return undefined;
    const identity: ApiKeyIdentity = { id: k.id, scope: k.scope };
    if (k.tenant !== null) identity.tenant = k.tenant;
    if (k.rateLimit) identity.rateLimit = k.rateLimit;
    return identity;
  }

  has(scope: Scope): boolean {
    return (this.scopes.get(scope) ?? 0) > 0;
  }

  list(): KeyInfo[] {
    return [...this.byId.values()].map((k) => this.info(k));
  }

  /** A new key; its secret is in the answer and nowhere else. */
  async create(opts: {
    scope: Scope;
    tenant?: string;
    expiresAt?: number;
    rateLimit?: KeyRateLimit;
  }): Promise<KeyInfo & { key: string }> {
    this.ready();
    const { id, key, hash } = newKey();
    const stored: StoredKey = {
      id,
      hash,
      scope: opts.scope,
      tenant: opts.tenant ?? null,
      createdAt: this.now(),
      expiresAt: opts.expiresAt ?? null,
      rateLimit: opts.rateLimit ?? null,
    };
    await this.store.insert(stored);
    this.byId.set(id, stored);
    this.count();
    this.logger.info({ id, scope: stored.scope, tenant: stored.tenant }, 'api key created');
    return { ...this.info(stored), key };
  }

  /** Removes a key; false when there is none with that id. */
  async revoke(id: string): Promise<boolean> {
    this.ready();
    const found = await this.store.delete(id);
    const had = this.byId.delete(id);
    this.count();
    if (found || had) this.logger.info({ id }, 'api key revoked');
    return found || had;
  }

  private ready(): void {
    if (!this.loaded)
      throw new SluiceError('SLUICE_ERR_KEYS_NOT_LOADED', 'the key store is not loaded yet (database not connected)', {
        retryAfter: 5,
      });
  }

  private info(k: StoredKey): KeyInfo {
    return {
      id: k.id,
      scope: k.scope,
      tenant: k.tenant,
      created_at: new Date(k.createdAt).toISOString(),
      expires_at: k.expiresAt === null ? null : new Date(k.expiresAt).toISOString(),
      expired: k.expiresAt !== null && k.expiresAt <= this.now(),
      rate_limit: k.rateLimit ?? null,
    };
  }
}
