// `sluice migrate` as a real child process against a real PostgreSQL: concurrent runs take
// turns and apply the schema once; an unreachable database is a clear one-line error.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { MIGRATIONS } from '../../src/database.js';
import { createTestDatabase } from '../helpers/postgres.js';

const LATEST = Math.max(...MIGRATIONS.map((m) => m.version));

const run = promisify(execFile);

async function sluice(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', 'test/helpers/cli.ts', ...args], {
      env: { ...process.env, DATABASE_URL: '' },
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

test('sluice migrate run three times at once applies the schema once, and all succeed', async () => {
  const db = await createTestDatabase();
  try {
    const results = await Promise.all([1, 2, 3].map(() => sluice(['migrate', '--postgres.url', db.url])));
    for (const r of results) assert.equal(r.code, 0, r.stderr);
    const outs = results.map((r) => r.stdout.trim());
    assert.equal(
      outs.filter(
        (o) => o === `applied migrations ${MIGRATIONS.map((m) => m.version).join(', ')}; schema at version ${LATEST}`,
      ).length,
      1,
      outs.join(' | '),
    );
    assert.equal(outs.filter((o) => o.includes(`already at version ${LATEST}`)).length, 2, outs.join(' | '));
    assert.equal(await db.count('sluice_migrations'), MIGRATIONS.length);
    assert.ok((await db.count('pg_tables', "tablename LIKE 'logs_p%'")) >= 4, 'daily partitions were created');
  } finally {
    await db.drop();
  }
});

test('sluice migrate against an unreachable database fails with the address and no password', async () => {
  const r = await sluice([
    'migrate',
    '--postgres.url',
    'postgres://sluice:hunter2hunter2@127.0.0.1:1/x',
    '--postgres.connectTimeoutMs',
    '500',
  ]);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /postgres at postgres:\/\/sluice:\*\*\*@127\.0\.0\.1:1\/x/);
  assert.doesNotMatch(r.stderr + r.stdout, /hunter2/);
});
