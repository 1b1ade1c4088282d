// API keys against a real collector: created, listed and revoked with `sluice keys` and
// /admin/keys, stored hashed (PostgreSQL's api_keys table, or a file with another sink), each
// scope able to do exactly what it allows, expiry and revocation in effect at once, keys kept
// across a restart, and config-file tokens still working beside them.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { App } from '../../src/app.js';
import { main } from '../../src/main.js';
import { startApp, tempDir, testConfig } from '../helpers/app.js';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.js';
import { waitFor } from '../helpers/wait-for.js';

type Json = Record<string, unknown>;

async function call(
  app: App,
  method: string,
  path: string,
  key?: string,
  body?: unknown,
): Promise<{ status: number; body: Json }> {
  const headers: Record<string, string> = {};
  if (key) headers.authorization = `Bearer ${key}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${app.url}${path}`, {
    method,
    headers,
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, body: text && text.startsWith('{') ? (JSON.parse(text) as Json) : {} };
}

/** `sluice keys …` in-process against the app; its printed lines and exit code. */
async function cli(app: App, ...argv: string[]): Promise<{ code: number; lines: string[] }> {
  const lines: string[] = [];
  const code = await main(['keys', ...argv, '--url', app.url], (s) => lines.push(s));
  return { code, lines };
}

async function create(app: App, scope: string, token?: string, ...more: string[]): Promise<Json> {
  const r = await cli(app, 'create', '--scope', scope, '--json', ...(token ? ['--token', token] : []), ...more);
  assert.equal(r.code, 0, r.lines.join('\n'));
  return JSON.parse(r.lines[0]!) as Json;
}

const check = { name: 'web', kind: 'http', url: 'http://127.0.0.1:1/', interval: '1h', timeout: '1s' };

describe('API keys on PostgreSQL', () => {
  let db: TestDatabase;
  let app: App;
  const dir = tempDir('sluice-keys-');
  const config = () =>
    testConfig(
      {
        'sink.kind': 'postgres',
        'postgres.url': db.url,
        'ingest.ack': 'memory',
        'batch.maxWaitMs': 20,
        'auth.ingestTokens': 'config-ingest-1',
      },
      dir.path,
    );
  before(async () => {
    db = await createTestDatabase();
    app = await startApp(config());
  });
  after(async () => {
    await app.stop();
    await db.drop();
    dir.remove();
  });

  let admin: Json;
  let ingest: Json;
  let read: Json;

  test('the first admin key is made from loopback without a token; after it, keys need it', async () => {
    admin = await create(app, 'admin');
    assert.deepEqual(Object.keys(admin).sort(), ['id', 'key', 'scope', 'tenant']);
    assert.equal(admin.scope, 'admin');
    assert.equal(admin.tenant, null);
    assert.match(String(admin.key), /^sluice_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
    // An admin key exists: loopback alone no longer administers.
    const refused = await cli(app, 'create', '--scope', 'ingest');
    assert.equal(refused.code, 1);
    assert.equal((await call(app, 'GET', '/admin/keys')).status, 401);
    ingest = await create(app, 'ingest', String(admin.key), '--tenant', 'acme');
    assert.equal(ingest.tenant, 'acme');
    read = await create(app, 'read', String(admin.key));
  });

  test('stored as a SHA-256 digest only; listed without it', async () => {
    const { rows } = await db.pool.query<{ id: string; secret_hash: string; scope: string; tenant: string | null }>(
      'SELECT id, secret_hash, scope, tenant FROM api_keys ORDER BY created_at',
    );
    assert.equal(rows.length, 3);
    for (const k of [admin, ingest, read]) {
      const row = rows.find((r) => r.id === k.id)!;
      const secret = String(k.key).slice(`sluice_${String(k.id)}_`.length);
      assert.equal(row.secret_hash, createHash('sha256').update(secret).digest('hex'));
      assert.ok(!JSON.stringify(rows).includes(secret));
    }
    const listed = await call(app, 'GET', '/admin/keys', String(admin.key));
    assert.equal(listed.status, 200);
    const keys = listed.body.keys as Json[];
    assert.deepEqual(keys.map((k) => k.id).sort(), [admin.id, ingest.id, read.id].sort());
    assert.ok(!JSON.stringify(listed.body).includes(String(ingest.key).slice(24)), 'a secret was listed');
    const text = await cli(app, 'list', '--token', String(admin.key));
    assert.equal(text.code, 0);
    assert.ok(text.lines.some((l) => l.startsWith(String(ingest.id)) && l.includes('tenant acme')));
  });

  test('each scope does exactly what it allows: 401 without a key, 403 elsewhere', async () => {
    const cases: Array<[string, string, unknown, Record<string, number>]> = [
      ['POST', '/logs', { message: 'x' }, { none: 401, ingest: 202, read: 403, admin: 403 }],
      ['POST', '/health', { service: 's', status: 'up' }, { none: 401, ingest: 202, read: 403, admin: 403 }],
      ['GET', '/api/logs', undefined, { none: 401, ingest: 403, read: 200, admin: 200 }],
      ['GET', '/api/status', undefined, { none: 401, ingest: 403, read: 200, admin: 200 }],
      ['GET', '/admin/jobs', undefined, { none: 401, ingest: 403, read: 200, admin: 200 }],
      ['GET', '/admin/checks', undefined, { none: 401, ingest: 403, read: 200, admin: 200 }],
      ['POST', '/admin/checks', check, { none: 401, ingest: 403, read: 403, admin: 201 }],
      ['GET', '/admin/keys', undefined, { none: 401, ingest: 403, read: 403, admin: 200 }],
      ['POST', '/admin/keys', { scope: 'read' }, { none: 401, ingest: 403, read: 403, admin: 201 }],
    ];
    const keys: Record<string, string | undefined> = {
      none: undefined,
      ingest: String(ingest.key),
      read: String(read.key),
      admin: String(admin.key),
    };
    for (const [method, path, body, expect] of cases) {
      for (const [who, status] of Object.entries(expect)) {
        const r = await call(app, method, path, keys[who], body);
        assert.equal(r.status, status, `${who} ${method} ${path}: ${JSON.stringify(r.body)}`);
        if (status === 403) assert.equal(r.body.error, 'SLUICE_ERR_WRONG_SCOPE');
        if (method === 'POST' && path === '/admin/checks' && status === 201)
          assert.equal((await call(app, 'DELETE', '/admin/checks/web', keys.admin)).status, 204);
      }
    }
    // A made-up key of the right form, and a key with its secret changed: 403.
    assert.equal((await call(app, 'POST', '/logs', `sluice_0123456789abcdef_${'A'.repeat(43)}`, {})).status, 403);
    const tampered = String(ingest.key).slice(0, -1) + (String(ingest.key).endsWith('A') ? 'B' : 'A');
    assert.equal((await call(app, 'POST', '/logs', tampered, { message: 'x' })).status, 403);
    // Config-file tokens keep working beside keys.
    assert.equal((await call(app, 'POST', '/logs', 'config-ingest-1', { message: 'x' })).status, 202);
  });

  test('revocation takes effect at once, through the CLI', async () => {
    const k = await create(app, 'ingest', String(admin.key));
    assert.equal((await call(app, 'POST', '/logs', String(k.key), { message: 'before' })).status, 202);
    const r = await cli(app, 'revoke', String(k.id), '--token', String(admin.key));
    assert.equal(r.code, 0, r.lines.join('\n'));
    assert.equal((await call(app, 'POST', '/logs', String(k.key), { message: 'after' })).status, 403);
    assert.equal((await db.pool.query('SELECT 1 FROM api_keys WHERE id = $1', [k.id])).rowCount, 0);
    // Unknown ids: 404, exit 1.
    assert.equal((await call(app, 'DELETE', `/admin/keys/${String(k.id)}`, String(admin.key))).status, 404);
    assert.equal((await cli(app, 'revoke', String(k.id), '--token', String(admin.key))).code, 1);
  });

  test('an expired key is refused, and listed as expired', async () => {
    const at = new Date(Date.now() + 1500).toISOString();
    const k = await create(app, 'read', String(admin.key), '--expires', at);
    assert.equal((await call(app, 'GET', '/api/status', String(k.key))).status, 200);
    await waitFor('the key to expire', async () =>
      (await call(app, 'GET', '/api/status', String(k.key))).status === 403 ? true : undefined,
    );
    const listed = (await call(app, 'GET', '/admin/keys', String(admin.key))).body.keys as Json[];
    const entry = listed.find((e) => e.id === k.id)!;
    assert.equal(entry.expired, true);
    assert.equal(entry.expires_at, at);
  });

  test('bad requests are 400s naming the field; the CLI exits 2', async () => {
    const a = String(admin.key);
    for (const [body, field] of [
      [{ scope: 'owner' }, 'scope'],
      [{ scope: 'admin', tenant: 'acme' }, 'tenant'],
      [{ scope: 'ingest', tenant: 'a b' }, 'tenant'],
      [{ scope: 'ingest', expires: '2001-01-01T00:00:00Z' }, 'expires'],
      [{ scope: 'ingest', expires: 'soon' }, 'expires'],
      [{ scope: 'ingest', name: 'x' }, 'name'],
      [[], 'body'],
      [{ scope: 'read', rateLimit: { burst: 1 } }, 'rateLimit'],
      [{ scope: 'ingest', rateLimit: { rps: 1 } }, 'rateLimit.rps'],
      [{ scope: 'ingest', rateLimit: { burst: -1 } }, 'rateLimit.burst'],
      [{ scope: 'ingest', rateLimit: {} }, 'rateLimit'],
    ] as const) {
      const r = await call(app, 'POST', '/admin/keys', a, body);
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.equal(r.body.error, 'SLUICE_ERR_INVALID_KEY');
      assert.equal(r.body.field, field);
    }
    assert.equal((await cli(app, 'create', '--scope', 'owner', '--token', a)).code, 2);
    assert.equal((await cli(app, 'create', '--token', a)).code, 2);
    assert.equal((await cli(app, 'create', '--scope', 'ingest', '--rate-limit', 'fast', '--token', a)).code, 2);
  });

  let limited: Json;
  const flood = async (key: string, n: number): Promise<number[]> => {
    const codes: number[] = [];
    for (let i = 0; i < n; i++) codes.push((await call(app, 'POST', '/logs', key, { message: `m${i}` })).status);
    return codes;
  };

  test("a key's own rate limit holds while the configured limits are off; other keys are not limited", async () => {
    const a = String(admin.key);
    limited = await create(app, 'ingest', a, '--rate-limit', 'requestsPerSecond=0.5,burst=4');
    const codes = await flood(String(limited.key), 6);
    assert.deepEqual(codes.slice(0, 2), [202, 202], 'the burst is accepted');
    // A bucket of 0.5 × 4 = 2 requests, refilled one every 2 s: at most one more gets through.
    assert.ok(codes.slice(2).filter((c) => c === 429).length >= 3, `past the burst: ${codes.join(',')}`);
    assert.ok(
      (await flood(String(ingest.key), 6)).every((c) => c === 202),
      'a key without limits is not limited',
    );
    const listed = (await call(app, 'GET', '/admin/keys', a)).body.keys as Json[];
    assert.deepEqual(listed.find((k) => k.id === limited.id)?.rate_limit, { requestsPerSecond: 0.5, burst: 4 });
    assert.equal(listed.find((k) => k.id === ingest.id)?.rate_limit, null);
  });

  test('keys survive a restart', async () => {
    await app.stop();
    app = await startApp(config());
    assert.equal((await call(app, 'POST', '/logs', String(ingest.key), { message: 'after restart' })).status, 202);
    assert.equal((await call(app, 'GET', '/admin/keys', String(admin.key))).status, 200);
    // The key's own limit came back from the api_keys table with it.
    const codes = await flood(String(limited.key), 4);
    assert.deepEqual(codes.slice(0, 2), [202, 202]);
    assert.ok(codes.includes(429), `limited again after the restart: ${codes.join(',')}`);
  });
});

describe('API keys with a file store (sink file)', () => {
  test('kept in auth.keysFile as digests (mode 0600), loaded again at start', async () => {
    const dir = tempDir('sluice-keys-file-');
    let app = await startApp(testConfig({ 'ingest.ack': 'memory' }, dir.path));
    try {
      const created = await call(app, 'POST', '/admin/keys', undefined, { scope: 'ingest', expires: '30d' });
      assert.equal(created.status, 201);
      const key = String(created.body.key);
      // An ingest key exists: ingest now needs one.
      assert.equal((await call(app, 'POST', '/logs', undefined, { message: 'x' })).status, 401);
      assert.equal((await call(app, 'POST', '/logs', key, { message: 'x' })).status, 202);
      const file = join(dir.path, 'keys.json');
      const text = readFileSync(file, 'utf8');
      assert.ok(!text.includes(key.slice(24)), 'the secret is in the file');
      assert.ok(text.includes(String(created.body.id)));
      assert.equal(statSync(file).mode & 0o777, 0o600);
      await app.stop();
      app = await startApp(testConfig({ 'ingest.ack': 'memory' }, dir.path));
      assert.equal((await call(app, 'POST', '/logs', key, { message: 'x' })).status, 202);
      assert.equal((await call(app, 'POST', '/logs', undefined, { message: 'x' })).status, 401);
      // Revoking the last ingest key opens ingest again (documented: no credential, no auth).
      assert.equal((await call(app, 'DELETE', `/admin/keys/${String(created.body.id)}`)).status, 204);
      assert.equal((await call(app, 'POST', '/logs', key, { message: 'x' })).status, 202);
      assert.equal(JSON.parse(readFileSync(file, 'utf8')).keys.length, 0);
    } finally {
      await app.stop();
      dir.remove();
    }
  });
});
