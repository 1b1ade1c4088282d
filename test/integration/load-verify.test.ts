// `sluice load --verify` with the PostgreSQL sink on a real server: the count of this run's
// rows matches what was accepted, exactly once, with end-to-end latency for every row; and a
// database the records never reach is reported as missing rows (exit 1), not as success.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { App } from '../../src/app.js';
import { main } from '../../src/main.js';
import { startApp, tempDir, testConfig } from '../helpers/app.js';
import { createTestDatabase, stopOwnServer, type TestDatabase } from '../helpers/postgres.js';

interface VerifyJson {
  load: { recordsAccepted: number; runId: string; service: string };
  verify: {
    expected: number;
    landed: number;
    distinct: number;
    duplicates: number;
    missing: number;
    e2e: { count: number; p50: number; p99: number };
    e2eMethod: string;
    e2eNote: string;
  };
}

async function loadJson(args: string[]): Promise<{ code: number; r: VerifyJson }> {
  let out = '';
  const code = await main(['load', ...args, '--json', '--quiet'], (s) => (out += s));
  return { code, r: JSON.parse(out) as VerifyJson };
}

describe('sluice load --verify against PostgreSQL', () => {
  /** What the collector has been sent: ingest requests (any route and status) and records it accepted. */
  async function received(): Promise<{ requests: number; records: number }> {
    const sum = async (name: string): Promise<number> =>
      ((await app.metrics.registry.getSingleMetric(name)!.get()).values as Array<{ value: number }>).reduce(
        (n, v) => n + v.value,
        0,
      );
    return { requests: await sum('sluice_ingest_requests_total'), records: await sum('sluice_ingest_records_total') };
  }

  const dir = tempDir();
  let db: TestDatabase;
  let app: App;
  before(async () => {
    db = await createTestDatabase();
    app = await startApp(
      testConfig(
        { 'sink.kind': 'postgres', 'postgres.url': db.url, 'batch.maxWaitMs': 50, 'writers.count': 2 },
        dir.path,
      ),
    );
  });
  after(async () => {
    await app?.stop();
    await db?.drop();
    await stopOwnServer();
    dir.remove();
  });

  test('every accepted record is counted in the database exactly once, with its end-to-end latency', async () => {
    const { code, r } = await loadJson(['--url', app.url, '--records', '3000', '--clients', '30', '--verify', db.url]);
    assert.equal(code, 0);
    assert.equal(r.load.recordsAccepted, 3000);
    assert.equal(r.verify.expected, 3000);
    assert.equal(r.verify.landed, 3000);
    assert.equal(r.verify.duplicates, 0);
    assert.equal(r.verify.missing, 0);
    assert.equal(r.verify.e2e.count, 3000);
    assert.ok(r.verify.e2e.p50 <= r.verify.e2e.p99);
    assert.match(r.verify.e2eMethod, /^(commit-timestamp|first-seen-poll)$/);
    // The run's rows, counted independently of the tool.
    assert.equal(await db.count('logs', `service = '${r.load.service}'`), 3000);
  });

  test('a second run in bulk counts only its own rows', async () => {
    const { code, r } = await loadJson([
      '--url',
      app.url,
      '--records',
      '2500',
      '--clients',
      '4',
      '--batch',
      '100',
      '--format',
      'ndjson',
      '--verify',
      db.url,
    ]);
    assert.equal(code, 0);
    assert.equal(r.verify.landed, 2500);
    assert.equal(r.verify.e2e.count, 2500);
    assert.equal(await db.count('logs'), 5500);
  });

  test('records that never reach the database are reported missing and exit 1', async () => {
    const elsewhere = await startApp(testConfig({ 'sink.kind': 'blackhole' }, dir.path));
    try {
      const { code, r } = await loadJson([
        '--url',
        elsewhere.url,
        '--records',
        '100',
        '--clients',
        '5',
        '--verify',
        db.url,
        '--verify-timeout',
        '1',
      ]);
      assert.equal(code, 1);
      assert.equal(r.verify.landed, 0);
      assert.equal(r.verify.missing, 100);
    } finally {
      await elsewhere.stop();
    }
  });

  test('a --verify URL without the logs table is refused before anything is sent', async () => {
    const other = await createTestDatabase();
    try {
      const before = await received();
      let out = '';
      const code = await main(
        ['load', '--url', app.url, '--records', '10', '--verify', other.url, '--quiet'],
        (s) => (out += s),
      );
      assert.equal(code, 2);
      assert.equal(out, '');
      assert.deepEqual(await received(), before, 'the collector saw no request and took no record');
      // Control: one request does move these counters, so the comparison above can fail.
      assert.equal(
        (
          await fetch(`${app.url}/logs`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: '{"message":"control"}',
          })
        ).status,
        202,
      );
      const afterControl = await received();
      assert.equal(afterControl.requests, before.requests + 1);
      assert.equal(afterControl.records, before.records + 1);
    } finally {
      await other.drop();
    }
  });
});
