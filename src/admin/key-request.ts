// The body of POST /admin/keys, checked field by field: a 400 names the field at fault.
// `expires` is a duration from now ("30d", "12h") or an RFC 3339 time, and must lie ahead.
import { SluiceError } from '../errors.js';
import { parseDuration } from '../health/duration.js';
import type { ApiKeyIdentity, Scope } from '../http/access.js';

export interface KeyRequest {
  scope: Scope;
  tenant?: string;
  /** Epoch ms. */
  expiresAt?: number;
  /** The key's own limits (ingest keys): each field replaces the configured one. */
  rateLimit?: NonNullable<ApiKeyIdentity['rateLimit']>;
}

const SCOPES: readonly Scope[] = ['ingest', 'read', 'admin'];
const TENANT = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;
const KNOWN = new Set(['scope', 'tenant', 'expires', 'rateLimit']);
const RATE_FIELDS = ['requestsPerSecond', 'recordsPerSecond', 'bytesPerSecond', 'burst'] as const;

const bad = (field: string, problem: string): SluiceError =>
  new SluiceError('SLUICE_ERR_INVALID_KEY', { field, problem }, { problems: [{ field, message: problem }] });

export function parseKeyRequest(body: unknown, now: number): KeyRequest {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw bad('body', 'must be a JSON object like {"scope":"ingest"}');
  const b = body as Record<string, unknown>;
  for (const k of Object.keys(b))
    if (!KNOWN.has(k)) throw bad(k === '' ? '""' : k, 'is not known; accepted: scope, tenant, expires, rateLimit');
  if (typeof b.scope !== 'string' || !(SCOPES as readonly string[]).includes(b.scope))
    throw bad('scope', 'must be one of ingest, read, admin');
  const out: KeyRequest = { scope: b.scope as Scope };
  if (b.tenant !== undefined && b.tenant !== null) {
    if (typeof b.tenant !== 'string' || !TENANT.test(b.tenant))
      throw bad('tenant', 'must be 1 to 64 letters, digits, ".", "_" or "-", starting with a letter or digit');
    // An admin key sees and changes everything; a tenant on it would promise a limit it does not have.
    if (out.scope === 'admin') throw bad('tenant', 'is for ingest and read keys only (an admin key sees every tenant)');
    out.tenant = b.tenant;
  }
  if (b.expires !== undefined && b.expires !== null) {
    if (typeof b.expires !== 'string') throw bad('expires', 'must be a duration (30d, 12h) or an RFC 3339 time');
    let at: number;
    if (RFC3339.test(b.expires)) at = Date.parse(b.expires);
    else {
      const ms = /^\d+$/.test(b.expires) ? null : parseDuration(b.expires);
      if (ms === null) throw bad('expires', 'must be a duration (30d, 12h) or an RFC 3339 time');
      at = now + ms;
    }
    if (!Number.isFinite(at) || at <= now) throw bad('expires', 'must lie in the future');
    out.expiresAt = at;
  }
  if (b.rateLimit !== undefined && b.rateLimit !== null) out.rateLimit = parseRateLimit(b.rateLimit, out.scope);
  return out;
}

/** `{"requestsPerSecond": 10, "burst": 20}`: numbers ≥ 0 (0 = that limit off for the key), ingest keys only. */
function parseRateLimit(v: unknown, scope: Scope): NonNullable<KeyRequest['rateLimit']> {
  // Limits apply on the ingest routes; on a read or admin key they would promise what nothing enforces.
  if (scope !== 'ingest') throw bad('rateLimit', 'is for ingest keys only (limits apply on the ingest routes)');
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw bad('rateLimit', `must be an object with any of ${RATE_FIELDS.join(', ')}`);
  const out: Record<string, number> = {};
  for (const [k, n] of Object.entries(v)) {
    if (!(RATE_FIELDS as readonly string[]).includes(k))
      throw bad(`rateLimit.${k}`, `is not known; accepted: ${RATE_FIELDS.join(', ')}`);
    if (typeof n !== 'number' || !Number.isFinite(n) || n < 0) throw bad(`rateLimit.${k}`, 'must be a number ≥ 0');
    out[k] = n;
  }
  if (Object.keys(out).length === 0) throw bad('rateLimit', `must set at least one of ${RATE_FIELDS.join(', ')}`);
  return out;
}
