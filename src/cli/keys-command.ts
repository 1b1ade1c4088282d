// `sluice keys create|list|revoke`: API keys through the running collector's admin API
// (/admin/keys), so the CLI and the server share one store and a change is in effect at once.
// Finds the collector and its admin token the way `serve` is configured, unless told; on the
// collector's own machine no token is needed until an admin credential exists.
import { SluiceError, errorMessage } from '../errors.js';
import type { ParsedArgs } from './args.js';
import { configFromFlags } from './config-flags.js';

export const KEYS_HELP = `Usage: sluice keys create --scope ingest|read|admin [--tenant T] [--expires D]
                         [--rate-limit K=N,…] [--json]
       sluice keys list [--json]
       sluice keys revoke ID

API keys of the running collector (its admin API, /admin/keys). A new key is printed once:
only its SHA-256 digest is stored. Send it as Authorization: Bearer <key>.

  --scope S        ingest (POST /logs, /health), read (GET /api/*, the UI's data) or admin (everything)
  --tenant T       ingest: records sent with the key get tenant T; read: sees tenant T only
  --expires D      a duration from now (30d, 12h) or an RFC 3339 time; default: never
  --rate-limit L   ingest keys: the key's own limits, e.g. requestsPerSecond=10,burst=20 (keys:
                   requestsPerSecond, recordsPerSecond, bytesPerSecond, burst; 0 = off)
  --json           create: {"id","key","scope","tenant"}; list: the API's JSON
  --url URL        collector base URL (default: from server.host/server.port, as serve uses)
  --token TOKEN    admin token (default: the first of auth.adminTokens; none needed on loopback
                   while no admin token or key exists)
Config flags (--config FILE, --port N, --host ADDR, --<section.key> VALUE) are read as by serve.
Exit code: 0 when done, 1 when the collector could not be reached or refused, 2 for a usage mistake.`;

const OWN = new Set(['scope', 'tenant', 'expires', 'rate-limit', 'url', 'token']);

interface KeyInfo {
  id: string;
  key?: string;
  scope: string;
  tenant: string | null;
  created_at: string;
  expires_at: string | null;
  expired?: boolean;
}

export async function keysCommand(args: ParsedArgs, out: (s: string) => void): Promise<number> {
  const [verb, ...rest] = args.positionals;
  if (args.booleans.has('help') || verb === undefined) {
    out(KEYS_HELP);
    return verb === undefined && !args.booleans.has('help') ? 2 : 0;
  }
  const f = args.flags;
  const { config } = configFromFlags(Object.fromEntries(Object.entries(f).filter(([k]) => !OWN.has(k))));
  const host = config.server.host === '0.0.0.0' || config.server.host === '::' ? '127.0.0.1' : config.server.host;
  const base = (f.url ?? `http://${host.includes(':') ? `[${host}]` : host}:${config.server.port}`).replace(/\/+$/, '');
  const token = f.token ?? config.auth.adminTokens[0];
  const json = args.booleans.has('json');
  const call = async (method: string, path: string, body?: unknown): Promise<Response> => {
    const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
    if (body !== undefined) headers['content-type'] = 'application/json';
    try {
      return await fetch(`${base}${path}`, {
        method,
        headers,
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
    } catch (err) {
      throw new Error(`cannot reach the collector at ${base}: ${errorMessage((err as Error).cause ?? err)}`);
    }
  };
  try {
    if (verb === 'create') {
      if (rest.length > 0) throw usage(`unexpected argument "${rest[0]}"`);
      if (f.scope === undefined) throw usage('--scope is required: ingest, read or admin');
      const body: Record<string, unknown> = { scope: f.scope };
      if (f.tenant !== undefined) body.tenant = f.tenant;
      if (f.expires !== undefined) body.expires = f.expires;
      if (f['rate-limit'] !== undefined) body.rateLimit = parseRateLimitFlag(f['rate-limit']);
      const k = (await answer(await call('POST', '/admin/keys', body))) as KeyInfo;
      if (json) out(JSON.stringify({ id: k.id, key: k.key, scope: k.scope, tenant: k.tenant }));
      else {
        out(k.key!);
        out(
          `id ${k.id}  scope ${k.scope}${k.tenant ? `  tenant ${k.tenant}` : ''}${k.expires_at ? `  expires ${k.expires_at}` : ''}`,
        );
        out('This is the only time the key is shown: store it now.');
      }
      return 0;
    }
    if (verb === 'list') {
      const { keys } = (await answer(await call('GET', '/admin/keys'))) as { keys: KeyInfo[] };
      if (json) out(JSON.stringify({ keys }));
      else if (keys.length === 0) out('no API keys (config-file tokens are not listed)');
      else
        for (const k of keys)
          out(
            `${k.id}  ${k.scope.padEnd(6)}  tenant ${k.tenant ?? '-'}  created ${k.created_at}  expires ${k.expires_at ?? 'never'}${k.expired ? ' (expired)' : ''}`,
          );
      return 0;
    }
    if (verb === 'revoke') {
      if (rest.length !== 1) throw usage('revoke takes one key id (see `sluice keys list`)');
      await answer(await call('DELETE', `/admin/keys/${encodeURIComponent(rest[0]!)}`));
      out(`revoked ${rest[0]}`);
      return 0;
    }
    throw usage(`unknown keys command "${verb}": create, list or revoke`);
  } catch (err) {
    if (err instanceof SluiceError) throw err;
    process.stderr.write(`sluice keys: ${errorMessage(err)}\n`);
    return 1;
  }
}

const usage = (detail: string): SluiceError => new SluiceError('SLUICE_ERR_CONFIG', detail);

/** The JSON of a 2xx answer; a 400 is the caller's mistake (exit 2), anything else an error (exit 1). */
async function answer(res: Response): Promise<unknown> {
  const text = await res.text();
  if (res.ok) return text === '' ? undefined : (JSON.parse(text) as unknown);
  let message = text;
  try {
    message = (JSON.parse(text) as { message?: string }).message ?? text;
  } catch {
    // not JSON: the text is the message
  }
  if (res.status === 400) throw usage(message);
  throw new Error(`${res.status}: ${message}`);
}

/** `requestsPerSecond=10,burst=20` → the API's rateLimit object; the server names a bad key or value. */
function parseRateLimitFlag(v: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const part of v.split(',')) {
    const [k, n, extra] = part.split('=');
    if (!k || n === undefined || extra !== undefined || n.trim() === '' || !Number.isFinite(Number(n)))
      throw usage(`--rate-limit: "${part}" is not KEY=NUMBER (e.g. requestsPerSecond=10,burst=20)`);
    out[k.trim()] = Number(n);
  }
  return out;
}
