// Issue #13 item 4: a run configured with known secrets (a DATABASE_URL with a password in its
// userinfo and in ?password=, check headers, a check URL's userinfo and token, a webhook token,
// ingest and admin tokens) never shows one of them: not in any log line of a child collector
// at debug level, not in any admin, metrics or error response.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { tempDir } from '../helpers/app.js';
import { startChildCollector, type ChildCollector } from '../helpers/child-collector.js';
import { createTestDatabase, stopOwnServer, type TestDatabase } from '../helpers/postgres.js';
import { startTarget, type Target } from '../helpers/health-targets.js';
import { waitFor } from '../helpers/wait-for.js';
import { maskHeaders, maskUrl } from '../../src/observability/secrets.js';

const dir = tempDir('sluice-secrets-');
let db: TestDatabase;
let target: Target;
let c: ChildCollector;
const INGEST = 'ingest-tok-S3CRET-1';
const ADMIN = 'admin-tok-S3CRET-2';
const secrets = [
  INGEST,
  ADMIN,
  'bearer-S3CRET-3',
  'apikey-S3CRET-4',
  'urlpass-S3CRET-5',
  'querytok-S3CRET-6',
  'hook-S3CRET-7',
  'cookie-S3CRET-8',
];

before(async () => {
  db = await createTestDatabase();
  target = await startTarget();
  target.set('/private', { status: 503 });
  const u = new URL(db.url);
  if (u.password) secrets.push(decodeURIComponent(u.password));
  // The password also as a query parameter: the form that reached the start-up log line in clear.
  u.searchParams.set('password', decodeURIComponent(u.password));
  c = await startChildCollector(
    {
      'sink.kind': 'postgres',
      'postgres.dedupe': false,
      'ingest.ack': 'memory',
      'deadLetter.dir': dir.path,
      'log-level': 'debug',
      'auth.ingestTokens': INGEST,
      'auth.adminTokens': ADMIN,
      'health.webhooks': JSON.stringify(['http://127.0.0.1:9/hook?token=hook-S3CRET-7']),
      'health.minIntervalMs': 100,
    },
    { DATABASE_URL: u.toString() },
  );
});

after(async () => {
  await c?.stop();
  await target?.close();
  await db?.drop();
  await stopOwnServer();
  dir.remove();
});

function assertClean(where: string, text: string): void {
  for (const s of secrets) assert.ok(!text.includes(s), `${where} shows the secret ${s}`);
}

test('no log line and no response shows a configured secret', async () => {
  const admin = { authorization: `Bearer ${ADMIN}` };
  const check = {
    id: 'private',
    name: 'private',
    kind: 'http',
    url: `http://user:urlpass-S3CRET-5@${new URL(target.url).host}/private?token=querytok-S3CRET-6`,
    headers: {
      authorization: 'Bearer bearer-S3CRET-3',
      'x-api-key': 'apikey-S3CRET-4',
      cookie: 'sid=cookie-S3CRET-8',
      accept: 'text/plain',
    },
    interval: '200ms',
    timeout: '150ms',
  };
  const responses: Array<[string, Response]> = [];
  const call = async (what: string, url: string, init: RequestInit = {}): Promise<Response> => {
    const res = await fetch(`${c.url}${url}`, init);
    responses.push([what, res]);
    return res.clone();
  };
  const created = await call('POST /admin/checks', '/admin/checks', {
    method: 'POST',
    headers: { ...admin, 'content-type': 'application/json' },
    body: JSON.stringify(check),
  });
  assert.equal(created.status, 201);
  await waitFor(
    'the check down (an alert sent)',
    async () => {
      const v = (await (await fetch(`${c.url}/admin/checks/private`, { headers: admin })).json()) as { state: string };
      return v.state === 'down' || undefined;
    },
    15_000,
  );
  await call('GET /admin/checks', '/admin/checks', { headers: admin });
  await call('GET /admin/checks/private', '/admin/checks/private', { headers: admin });
  await call('GET history', '/admin/checks/private/history', { headers: admin });
  await call('PUT /admin/checks/private', '/admin/checks/private', {
    method: 'PUT',
    headers: { ...admin, 'content-type': 'application/json' },
    body: JSON.stringify({ ...check, interval: '300ms' }),
  });
  await call('bad PUT', '/admin/checks/private', {
    method: 'PUT',
    headers: { ...admin, 'content-type': 'application/json' },
    body: JSON.stringify({ ...check, bodyRegex: '(' }),
  });
  await call('GET /admin/jobs', '/admin/jobs', { headers: admin });
  await call('GET /metrics', '/metrics');
  await call('GET /readyz', '/readyz');
  await call('POST /logs', '/logs', {
    method: 'POST',
    headers: { authorization: `Bearer ${INGEST}`, 'content-type': 'application/json' },
    body: '{"message":"hello"}',
  });
  await call('POST /logs wrong token', '/logs', {
    method: 'POST',
    headers: { authorization: `Bearer ${INGEST}x`, 'content-type': 'application/json' },
    body: '{}',
  });
  await call('POST /logs bad', '/logs', {
    method: 'POST',
    headers: { authorization: `Bearer ${INGEST}`, 'content-type': 'application/json' },
    body: '{"ts":"nope"}',
  });

  const listed = (await (await fetch(`${c.url}/admin/checks/private`, { headers: admin })).json()) as {
    url: string;
    headers: Record<string, string>;
  };
  assert.equal(listed.headers.accept, 'text/plain', 'a header with no secret name is shown');
  assert.equal(listed.headers.authorization, '***');
  assert.match(listed.url, /^http:\/\/user:\*\*\*@/);
  for (const [what, res] of responses) assertClean(what, `${JSON.stringify([...res.headers])}\n${await res.text()}`);
  await c.stop();
  assert.match(c.output(), /postgres: using/, 'the start-up line naming the database was logged');
  for (const line of c.output().split('\n')) assertClean('a log line', line);
});

test('maskUrl and maskHeaders hide what they must and keep the rest', () => {
  assert.equal(
    maskUrl('postgres://u:p@h:5432/db?password=x&sslmode=require'),
    'postgres://u:***@h:5432/db?password=***&sslmode=require',
  );
  assert.equal(
    maskUrl('https://hooks.example/x?api_key=k&channel=ops'),
    'https://hooks.example/x?api_key=***&channel=ops',
  );
  assert.equal(maskUrl('http://h/plain'), 'http://h/plain');
  assert.equal(maskUrl("host=db password='a b' user=x"), 'host=db password=*** user=x');
  assert.deepEqual(
    maskHeaders({ Authorization: 'Bearer x', 'X-Api-Key': 'k', 'X-Auth-Token': 't', Cookie: 'c', Accept: 'a' }),
    {
      Authorization: '***',
      'X-Api-Key': '***',
      'X-Auth-Token': '***',
      Cookie: '***',
      Accept: 'a',
    },
  );
});
