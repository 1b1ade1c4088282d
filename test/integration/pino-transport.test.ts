// The pino setup docs/shippers.md gives (its two files, taken from the page as printed) in a
// child process logging through pino's transport worker to a real collector with ingest auth,
// into a real PostgreSQL: every line arrives, with its service, level, time, message and fields.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { after, test } from 'node:test';
import { promisify } from 'node:util';
import { startApp, tempDir, testConfig } from '../helpers/app.js';
import { createTestDatabase, stopOwnServer } from '../helpers/postgres.js';
import { waitFor } from '../helpers/wait-for.js';

const run = promisify(execFile);
const root = resolve(import.meta.dirname, '../..');
const cleanups: Array<() => Promise<void> | void> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
  await stopOwnServer();
});

/** The ```js blocks of the page's "## pino" section, by the file name on their first line. */
function pinoFiles(): Map<string, string> {
  const page = readFileSync(join(root, 'docs/shippers.md'), 'utf8');
  const section = /^## pino\n([\s\S]*?)^## /m.exec(page);
  assert.ok(section, 'docs/shippers.md has a "## pino" section');
  const files = new Map<string, string>();
  for (const [, code] of section[1]!.matchAll(/```js\n([\s\S]*?)```/g)) {
    const name = /^\/\/ ([\w.-]+\.mjs):/.exec(code!)?.[1];
    if (name) files.set(name, code!);
  }
  return files;
}

test('the documented pino transport ships every line to POST /logs, into PostgreSQL', async () => {
  const files = pinoFiles();
  assert.deepEqual([...files.keys()].sort(), ['app.mjs', 'sluice-transport.mjs']);
  const db = await createTestDatabase();
  cleanups.push(() => db.drop());
  const dir = tempDir('sluice-pino-');
  cleanups.push(dir.remove);
  const token = 'pino-ingest-token-1';
  const app = await startApp(
    testConfig(
      { 'sink.kind': 'postgres', 'postgres.url': db.url, 'batch.maxWaitMs': 20, 'auth.ingestTokens': token },
      dir.path,
    ),
  );
  cleanups.push(() => app.stop());

  const work = join(dir.path, 'app');
  mkdirSync(work);
  for (const [name, code] of files) writeFileSync(join(work, name), code);
  // The user's project has pino, pino-abstract-transport and undici installed; here they are ours.
  symlinkSync(join(root, 'node_modules'), join(work, 'node_modules'));
  writeFileSync(
    join(work, 'main.mjs'),
    [
      "import { logger } from './app.mjs';",
      'for (let i = 0; i < 1200; i++) logger.info({ order: i }, `paid ${i}`);',
      "logger.warn({ order: 'x' }, 'slow card network');",
      "logger.error(new Error('card declined'), 'payment failed');",
      // pino ends the transport at exit, and the transport sends what it still holds first.
    ].join('\n'),
  );
  const before = Date.now();
  const child = await run(process.execPath, ['main.mjs'], {
    cwd: work,
    env: { ...process.env, SLUICE_URL: app.url, SLUICE_INGEST_TOKEN: token },
  });
  assert.equal(child.stderr, '', 'the transport reported no failure');
  assert.equal(child.stdout.trim().split('\n').length, 1202, 'stdout still gets every line');

  await waitFor('1202 rows', async () => (await db.count('logs')) === 1202);
  assert.equal(await db.count('logs', `service = 'checkout' AND level = 'info' AND message LIKE 'paid %'`), 1200);
  const { rows } = await db.pool.query<{
    level: string;
    message: string;
    attrs: { err?: { message: string; stack: string }; order?: unknown };
    ts: Date;
  }>(`SELECT level, message, attrs, ts FROM logs WHERE level <> 'info' ORDER BY level`);
  assert.deepEqual(
    rows.map((r) => [r.level, r.message]),
    [
      ['error', 'payment failed'],
      ['warn', 'slow card network'],
    ],
  );
  assert.equal(rows[0]!.attrs.err?.message, 'card declined');
  assert.match(rows[0]!.attrs.err?.stack ?? '', /Error: card declined/);
  assert.equal(rows[1]!.attrs.order, 'x');
  for (const r of rows)
    assert.ok(r.ts.getTime() >= before - 1000 && r.ts.getTime() <= Date.now(), 'ts is the log time');
  const one = await db.pool.query<{ attrs: Record<string, unknown> }>(
    `SELECT attrs FROM logs WHERE message = 'paid 7'`,
  );
  assert.deepEqual(one.rows[0]!.attrs, { order: 7 });
});
