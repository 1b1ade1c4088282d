// Who may use which route group: the one place that decides. A group needs a credential of
// an accepted scope as soon as one exists (a config token or a stored API key); until then
// ingest is open and the read and admin groups answer loopback clients only (Redis's
// "protected mode"), so a fresh collector bound to 0.0.0.0 administers nothing for the network.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest, onRequestHookHandler } from 'fastify';
import { SluiceError } from '../errors.js';
import type { AuthConfig } from './config.js';

export type Scope = 'ingest' | 'admin' | 'read';

/** What the auth hook knows of the client's key; edge's rate limits key on `id`. */
export interface ApiKeyIdentity {
  id: string;
  scope: Scope;
  tenant?: string;
  rateLimit?: { requestsPerSecond?: number; recordsPerSecond?: number; bytesPerSecond?: number; burst?: number };
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the auth hook when the request presented a valid key or token. */
    apiKey?: ApiKeyIdentity;
  }
}

/** The stored API keys, as the auth hook sees them (implemented in access/). */
export interface KeyIndex {
  /** The unexpired key this bearer secret is, if any; constant-time on the secret. */
  find(secret: string): ApiKeyIdentity | undefined;
  /** Whether a stored key (expired or not) of this scope exists. */
  has(scope: Scope): boolean;
  /** False until the store was read once: until then only config tokens are known. */
  readonly loaded: boolean;
}

/** Route groups: ingest (POST /logs, /health), read (GET /api/*, reads under /admin), admin. */
export type RouteGroup = 'ingest' | 'read' | 'admin';

/** Scopes each group accepts: admin can read; ingest stands apart. */
const ACCEPTS: Record<RouteGroup, readonly Scope[]> = {
  ingest: ['ingest'],
  read: ['read', 'admin'],
  admin: ['admin'],
};

/** How a group is guarded right now. */
export type GroupMode = 'credential' | 'loopback' | 'open';

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

/** 127.0.0.0/8, ::1 and their IPv4-mapped form. */
export function isLoopback(address: string | undefined): boolean {
  if (!address) return false;
  const a = address.startsWith('::ffff:') ? address.slice(7) : address;
  return a === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(a);
}

/** A bound address that only this machine can reach. */
export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || isLoopback(host);
}

const HOW_TO: Record<RouteGroup, string> = {
  ingest: 'set auth.ingestTokens (SLUICE_AUTH_INGEST_TOKENS) or create an ingest key',
  read:
    'set auth.readTokens or auth.adminTokens (SLUICE_AUTH_READ_TOKENS, SLUICE_AUTH_ADMIN_TOKENS), or create a key ' +
    '(`sluice keys create --scope read` on the collector’s host)',
  admin:
    'set auth.adminTokens (SLUICE_AUTH_ADMIN_TOKENS), or create an admin key (`sluice keys create --scope admin` on ' +
    'the collector’s host), and send it as Authorization: Bearer <token>',
};

interface ConfigToken {
  hash: Buffer;
  identity: ApiKeyIdentity;
}

export class AccessPolicy {
  private readonly tokens: ConfigToken[];
  /** Whether config tokens open each group: fixed at start, so not recomputed per request. */
  private readonly configured: Record<RouteGroup, boolean>;

  constructor(
    auth: AuthConfig,
    private readonly keys?: KeyIndex,
  ) {
    const list = (scope: Scope, values: readonly string[]): ConfigToken[] =>
      values.map((t, i) => ({ hash: digest(t), identity: { id: `config:${scope}:${i + 1}`, scope } }));
    this.tokens = [
      ...list('ingest', auth.ingestTokens),
      ...list('read', auth.readTokens),
      ...list('admin', auth.adminTokens),
    ];
    const has = (g: RouteGroup): boolean => this.tokens.some((t) => ACCEPTS[g].includes(t.identity.scope));
    this.configured = { ingest: has('ingest'), read: has('read'), admin: has('admin') };
  }

  mode(group: RouteGroup): GroupMode {
    if (this.configured[group] || (this.keys && ACCEPTS[group].some((s) => this.keys!.has(s)))) return 'credential';
    return group === 'ingest' ? 'open' : 'loopback';
  }

  /** The identity a bearer secret stands for: a config token (every one compared), else a stored key. */
  identify(secret: string): ApiKeyIdentity | undefined {
    const given = digest(secret);
    let found: ApiKeyIdentity | undefined;
    // No early exit: the time taken does not say which token (or whether one) matched.
    for (const t of this.tokens) if (timingSafeEqual(t.hash, given) && !found) found = t.identity;
    return found ?? this.keys?.find(secret);
  }

  /** Throws the 401/403 (or 503 while the key store is unread) that the request earns, or sets `req.apiKey`. */
  check(group: RouteGroup, req: FastifyRequest): void {
    const header = req.headers.authorization;
    const m = header ? /^Bearer\s+(.+)$/i.exec(header) : null;
    // A client sending a key before the store was read may hold a key that closes this group.
    if (m && this.keys && !this.keys.loaded) {
      throw new SluiceError('SLUICE_ERR_KEYS_NOT_LOADED', 'the API keys are not loaded yet (database not connected)', {
        retryAfter: 5,
      });
    }
    const mode = this.mode(group);
    // Where no credential is needed, one sent along is not looked at (as before keys existed).
    if (mode === 'open') return;
    if (mode === 'loopback') {
      if (!isLoopback(req.socket.remoteAddress))
        throw new SluiceError('SLUICE_ERR_LOOPBACK_ONLY', { group, how: HOW_TO[group] });
      return;
    }
    if (!m) throw new SluiceError('SLUICE_ERR_UNAUTHORIZED');
    const identity = this.identify(m[1]!.trim());
    if (!identity) throw new SluiceError('SLUICE_ERR_FORBIDDEN');
    if (!ACCEPTS[group].includes(identity.scope)) {
      throw new SluiceError('SLUICE_ERR_WRONG_SCOPE', {
        scope: identity.scope,
        group,
        accepted: ACCEPTS[group].join(', '),
      });
    }
    req.apiKey = identity;
  }

  /** An onRequest hook for a route group (callback style: no promise per ingest request). */
  hook(group: RouteGroup | ((req: FastifyRequest) => RouteGroup)): onRequestHookHandler {
    return (req, _reply, done) => {
      try {
        this.check(typeof group === 'function' ? group(req) : group, req);
      } catch (err) {
        done(err as Error);
        return;
      }
      done();
    };
  }

  /** What is exposed to whom, for the start-up log. */
  exposure(host: string): { ingest: string; read: string; admin: string; warnings: string[] } {
    const local = isLoopbackHost(host);
    const say = (group: RouteGroup): string => {
      const mode = this.mode(group);
      if (mode === 'credential') return `needs a ${ACCEPTS[group].join(' or ')} token or key`;
      if (mode === 'open') return local ? 'open (listening on loopback only)' : 'open to every client';
      return 'loopback clients only (no token or key set)';
    };
    const warnings: string[] = [];
    if (!local && this.mode('ingest') === 'open')
      warnings.push(
        `ingest is open to every client that can reach ${host}: ${HOW_TO.ingest} (\`sluice keys create --scope ingest\`)`,
      );
    return { ingest: say('ingest'), read: say('read'), admin: say('admin'), warnings };
  }
}

/** The group of a route that reads with GET and changes with anything else. */
export const readOrAdmin = (req: FastifyRequest): RouteGroup =>
  req.method === 'GET' || req.method === 'HEAD' ? 'read' : 'admin';
