// Protected mode: with no token or key, a collector bound to 0.0.0.0 answers its admin and read
// routes to loopback clients only, keeps ingest and the public status page open, and says so
// at start-up. Clients connect from 127.0.0.1 and from a non-loopback address of this machine.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, describe, test, type TestContext } from 'node:test';
import { pino } from 'pino';
import { createApp, type App } from '../../src/app.js';
import { cannotHere } from '../helpers/cannot-here.js';
import { tempDir, testConfig } from '../helpers/app.js';
import { nonLoopbackAddress } from '../helpers/local-address.js';

const cleanups: Array<() => Promise<void> | void> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

interface Started {
  app: App;
  local: string;
  remote: string;
  logs: Array<Record<string, unknown>>;
}

async function start(t: TestContext, overrides: Record<string, string> = {}): Promise<Started | undefined> {
  const address = nonLoopbackAddress();
  if (!address) {
    cannotHere(t, 'this machine has no non-loopback IPv4 address to connect from');
    return undefined;
  }
  const dir = tempDir();
  const logs: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString().split('\n')) if (line) logs.push(JSON.parse(line) as Record<string, unknown>);
      cb();
    },
  });
  const config = testConfig({ 'server.host': '0.0.0.0', 'log.level': 'info', ...overrides }, dir.path);
  const app = await createApp(config, { logger: pino({ level: 'info' }, stream), defaultMetrics: false });
  await app.start();
  cleanups.push(dir.remove, () => app.stop());
  const port = new URL(app.url).port;
  return { app, local: `http://127.0.0.1:${port}`, remote: `http://${address}:${port}`, logs };
}

const check = { name: 'web', kind: 'http', url: 'http://127.0.0.1:1/', interval: '1h', timeout: '1s' };

async function call(
  base: string,
  method: string,
  path: string,
  opts: { body?: unknown; token?: string } = {},
): Promise<{ status: number; body: Record<string, unknown> | string }> {
  const headers: Record<string, string> = {};
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  const res = await fetch(`${base}${path}`, {
    method,
    headers,
    ...(opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {}),
  });
  const text = await res.text();
  const json = (res.headers.get('content-type') ?? '').includes('json');
  return { status: res.status, body: json ? (JSON.parse(text) as Record<string, unknown>) : text };
}

describe('protected mode (no token or key set)', () => {
  test('admin, check and read routes answer loopback clients only; ingest, status page and badges stay open', async (t) => {
    const s = await start(t);
    if (!s) return;
    // From loopback everything works without a token.
    assert.equal((await call(s.local, 'GET', '/admin/jobs')).status, 200);
    assert.equal((await call(s.local, 'POST', '/admin/checks', { body: check })).status, 201);
    assert.equal((await call(s.local, 'GET', '/admin/checks/web')).status, 200);
    assert.equal((await call(s.local, 'GET', '/api/status')).status, 200);
    assert.equal((await call(s.local, 'POST', '/logs', { body: { message: 'from loopback' } })).status, 202);

    // From a non-loopback address of this machine: 403 saying how to set a token.
    for (const [method, path, body] of [
      ['GET', '/admin/jobs', undefined],
      ['GET', '/admin/checks', undefined],
      ['POST', '/admin/checks', { ...check, name: 'remote' }],
      ['PUT', '/admin/checks/web', check],
      ['DELETE', '/admin/checks/web', undefined],
      ['GET', '/api/status', undefined],
      ['GET', '/api/logs/tail', undefined],
      ['GET', '/api/checks/web/history', undefined],
    ] as const) {
      const r = await call(s.remote, method, path, { body });
      assert.equal(r.status, 403, `${method} ${path}`);
      const b = r.body as { error: string; message: string };
      assert.equal(b.error, 'SLUICE_ERR_LOOPBACK_ONLY', `${method} ${path}`);
      assert.match(b.message, path.startsWith('/api') || method === 'GET' ? /auth\.readTokens/ : /auth\.adminTokens/);
    }
    // Nothing changed: the remote POST and DELETE were refused before they ran.
    assert.deepEqual(
      s.app.health.list().map((c) => c.name),
      ['web'],
    );
    // Ingest stays open, as do the public pages.
    assert.equal((await call(s.remote, 'POST', '/logs', { body: { message: 'from the network' } })).status, 202);
    assert.equal((await call(s.remote, 'GET', '/status')).status, 200);
    assert.equal((await call(s.remote, 'GET', '/status.json')).status, 200);
    assert.equal((await call(s.remote, 'GET', '/badge/web/status.svg')).status, 200);
    assert.equal((await call(s.remote, 'GET', '/healthz')).status, 200);
  });

  test('the start-up log says what is exposed to whom, and warns that ingest is open on 0.0.0.0', async (t) => {
    const s = await start(t);
    if (!s) return;
    const line = s.logs.find((l) => l.msg === 'access: who may use what');
    assert.ok(line, 'no access line in the start-up log');
    assert.equal(line.host, '0.0.0.0');
    assert.equal(line.admin, 'loopback clients only (no token or key set)');
    assert.equal(line.read, 'loopback clients only (no token or key set)');
    assert.equal(line.ingest, 'open to every client');
    const warning = s.logs.find((l) => l.level === 40 && String(l.msg).startsWith('ingest is open'));
    assert.ok(warning, 'no warning about open ingest');
    assert.match(String(warning.msg), /auth\.ingestTokens/);
  });

  test('on 127.0.0.1 open ingest is not warned about', async () => {
    const dir = tempDir();
    const logs: string[] = [];
    const stream = new Writable({
      write(chunk: Buffer, _enc, cb) {
        logs.push(chunk.toString());
        cb();
      },
    });
    const app = await createApp(testConfig({ 'log.level': 'info' }, dir.path), {
      logger: pino({ level: 'info' }, stream),
      defaultMetrics: false,
    });
    await app.start();
    cleanups.push(dir.remove, () => app.stop());
    const text = logs.join('');
    assert.match(text, /"ingest":"open \(listening on loopback only\)"/);
    assert.doesNotMatch(text, /ingest is open/);
  });
});

describe('with tokens set', () => {
  test('an admin token is needed from every address, loopback included', async (t) => {
    const s = await start(t, { 'auth.adminTokens': 'admin-secret-1', 'auth.readTokens': 'read-secret-1' });
    if (!s) return;
    for (const base of [s.local, s.remote]) {
      assert.equal((await call(base, 'GET', '/admin/jobs')).status, 401);
      assert.equal((await call(base, 'GET', '/admin/jobs', { token: 'wrong-token-1' })).status, 403);
      assert.equal((await call(base, 'GET', '/admin/jobs', { token: 'admin-secret-1' })).status, 200);
      assert.equal((await call(base, 'GET', '/api/status', { token: 'admin-secret-1' })).status, 200);
    }
    assert.equal((await call(s.remote, 'POST', '/admin/checks', { body: check, token: 'admin-secret-1' })).status, 201);
    // A read token reads, and is refused for writes, naming its scope.
    assert.equal((await call(s.remote, 'GET', '/admin/checks', { token: 'read-secret-1' })).status, 200);
    const write = await call(s.remote, 'DELETE', '/admin/checks/web', { token: 'read-secret-1' });
    assert.equal(write.status, 403);
    assert.match((write.body as { message: string }).message, /scope read cannot use admin routes/);
    assert.equal(s.app.health.list().length, 1);
    const line = s.logs.find((l) => l.msg === 'access: who may use what');
    assert.equal(line?.admin, 'needs a admin token or key');
    assert.equal(line?.read, 'needs a read or admin token or key');
  });

  test('a read token reads from anywhere but cannot administer; admin stays loopback-only', async (t) => {
    const s = await start(t, { 'auth.readTokens': 'read-secret-1' });
    if (!s) return;
    assert.equal((await call(s.remote, 'GET', '/api/status', { token: 'read-secret-1' })).status, 200);
    assert.equal((await call(s.remote, 'GET', '/admin/checks', { token: 'read-secret-1' })).status, 200);
    assert.equal((await call(s.remote, 'GET', '/api/status')).status, 401);
    // With no admin credential the admin routes are still loopback-only: a read token does not open them.
    const write = await call(s.remote, 'POST', '/admin/checks', { body: check, token: 'read-secret-1' });
    assert.equal(write.status, 403);
    assert.equal((write.body as { error: string }).error, 'SLUICE_ERR_LOOPBACK_ONLY');
    assert.equal((await call(s.remote, 'POST', '/admin/checks', { body: check })).status, 403);
    assert.equal((await call(s.local, 'POST', '/admin/checks', { body: check })).status, 201);
    // Reads now need the token from loopback too.
    assert.equal((await call(s.local, 'GET', '/api/status')).status, 401);
  });

  test('a token sent where none is needed is not looked at', async (t) => {
    const s = await start(t, { 'auth.readTokens': 'read-secret-1' });
    if (!s) return;
    // Ingest is open: neither a token of another scope nor an unknown one is refused.
    assert.equal(
      (await call(s.remote, 'POST', '/logs', { body: { message: 'x' }, token: 'read-secret-1' })).status,
      202,
    );
    assert.equal(
      (await call(s.remote, 'POST', '/logs', { body: { message: 'x' }, token: 'nobody-knows' })).status,
      202,
    );
  });

  test('an ingest token closes ingest to clients without it', async (t) => {
    const s = await start(t, { 'auth.ingestTokens': 'ingest-secret-1' });
    if (!s) return;
    assert.equal((await call(s.remote, 'POST', '/logs', { body: { message: 'x' } })).status, 401);
    assert.equal(
      (await call(s.remote, 'POST', '/logs', { body: { message: 'x' }, token: 'ingest-secret-1' })).status,
      202,
    );
    // An ingest token is not an admin credential.
    assert.equal((await call(s.remote, 'GET', '/admin/jobs', { token: 'ingest-secret-1' })).status, 403);
    assert.ok(!s.logs.some((l) => String(l.msg).startsWith('ingest is open')));
  });
});
