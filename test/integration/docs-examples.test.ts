// The curl examples in README.md and docs/health.md, run as printed (in order, against a fresh
// collector per page): every one must succeed. A newcomer copies them; a 404 there is a bug.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { after, test } from 'node:test';
import { startApp, tempDir, testConfig } from '../helpers/app.js';
import { createTestDatabase, stopOwnServer, type TestDatabase } from '../helpers/postgres.js';

const root = resolve(import.meta.dirname, '../..');

interface Curl {
  line: string;
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
}

/** Shell words of one command: single and double quotes, no expansions (those are skipped). */
function words(command: string): string[] {
  const out: string[] = [];
  const re = /'([^']*)'|"((?:[^"\\]|\\.)*)"|(\S+)/g;
  for (const m of command.matchAll(re)) out.push(m[1] ?? m[2]?.replace(/\\(.)/g, '$1') ?? m[3]!);
  return out;
}

/** The curl commands of every ```sh block, continuation lines joined, comments dropped. */
function curlExamples(markdown: string): Curl[] {
  const out: Curl[] = [];
  for (const [, block] of markdown.matchAll(/```sh\n([\s\S]*?)```/g)) {
    for (const raw of block!.replace(/\\\n\s*/g, ' ').split('\n')) {
      const line = raw.replace(/\s+#(?=[^']*$).*$/, '').trim();
      // Pipes and command substitutions need a shell and a file at hand, and -N streams
      // (a live tail) never end: not replayed here.
      if (!line.startsWith('curl ') || /[|]|\$\(| -N /.test(line)) continue;
      const w = words(line).slice(1);
      const c: Curl = { line, method: 'GET', path: '', headers: {} };
      for (let i = 0; i < w.length; i++) {
        const a = w[i]!;
        if (a === '-s') continue;
        else if (a === '-X' || a === '-XPOST') c.method = a === '-XPOST' ? 'POST' : w[++i]!;
        else if (a === '-H') {
          const [k, ...v] = w[++i]!.split(':');
          c.headers[k!.trim()] = v.join(':').trim();
        } else if (a === '-d') {
          c.body = w[++i]!;
          if (c.method === 'GET') c.method = 'POST';
        } else if (/^localhost:8080\//.test(a)) c.path = a.slice('localhost:8080'.length);
        else throw new Error(`an option the example runner does not know: ${a} in ${line}`);
      }
      assert.ok(c.path, `a localhost:8080 URL in: ${line}`);
      out.push(c);
    }
  }
  return out;
}

const databases: TestDatabase[] = [];
after(async () => {
  for (const db of databases) await db.drop();
  await stopOwnServer();
});

for (const page of ['README.md', 'docs/health.md']) {
  test(`every curl example in ${page} succeeds as printed`, { timeout: 60_000 }, async () => {
    const examples = curlExamples(readFileSync(resolve(root, page), 'utf8'));
    assert.ok(
      examples.some((e) => e.path.startsWith('/admin/checks/api')),
      'the examples address a check by name',
    );
    const dir = tempDir();
    // The default sink, as a newcomer runs the examples (the read API needs PostgreSQL).
    const db = await createTestDatabase();
    databases.push(db);
    const app = await startApp(testConfig({ 'sink.kind': 'postgres', 'postgres.url': db.url }, dir.path));
    try {
      for (const e of examples) {
        const res = await fetch(app.url + e.path, {
          method: e.method,
          headers: e.headers,
          ...(e.body !== undefined ? { body: e.body } : {}),
        });
        const text = await res.text();
        assert.ok(res.status >= 200 && res.status < 300, `${e.line}\n→ ${res.status} ${text}`);
      }
    } finally {
      await app.stop();
      dir.remove();
    }
  });
}

test(
  'a check is addressed by id or name on every route; an unknown one is a 404 naming it',
  { timeout: 60_000 },
  async () => {
    const dir = tempDir();
    const app = await startApp(testConfig({}, dir.path));
    try {
      const json = { 'content-type': 'application/json' };
      const created = await fetch(`${app.url}/admin/checks`, {
        method: 'POST',
        headers: json,
        body: JSON.stringify({ name: 'web', kind: 'push', interval: '1h' }),
      });
      assert.equal(created.status, 201);
      const { id } = (await created.json()) as { id: string };
      for (const key of [id, 'web']) {
        for (const sub of ['', '/history', '/uptime']) {
          const res = await fetch(`${app.url}/admin/checks/${key}${sub}`);
          assert.equal(res.status, 200, `GET /admin/checks/${key}${sub}`);
        }
        const one = (await (await fetch(`${app.url}/admin/checks/${key}`)).json()) as { id: string };
        assert.equal(one.id, id);
      }
      const put = await fetch(`${app.url}/admin/checks/web`, {
        method: 'PUT',
        headers: json,
        body: JSON.stringify({ name: 'web', kind: 'push', interval: '2h' }),
      });
      assert.equal(put.status, 200, await put.text());
      const missing = await fetch(`${app.url}/admin/checks/nope/history`);
      assert.equal(missing.status, 404);
      assert.match(((await missing.json()) as { message: string }).message, /id or name "nope"/);
      assert.equal((await fetch(`${app.url}/admin/checks/web`, { method: 'DELETE' })).status, 204);
      assert.equal((await fetch(`${app.url}/admin/checks/${id}`)).status, 404);
    } finally {
      await app.stop();
      dir.remove();
    }
  },
);
