// `sluice logs` against a running collector on PostgreSQL: filters become the API's, the
// address and token come from the same config as serve's, --json prints the API's records,
// --follow prints the latest page then records as they are accepted, and mistakes exit 2.
import assert from 'node:assert/strict';
import { createServer, type AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { App } from '../../src/app.js';
import { parseArgs } from '../../src/cli/args.js';
import { logsOptions, runLogs } from '../../src/cli/logs-command.js';
import { main } from '../../src/main.js';
import { postJson, startApp, tempDir, testConfig } from '../helpers/app.js';
import { createTestDatabase, stopOwnServer, type TestDatabase } from '../helpers/postgres.js';
import { waitFor } from '../helpers/wait-for.js';

const TOKEN = 'logs-cli-token-1';

describe('sluice logs', () => {
  let db: TestDatabase;
  let app: App;
  let port: string;
  const dir = tempDir('sluice-logs-cli-');
  const auth = { authorization: `Bearer ${TOKEN}` };
  before(async () => {
    db = await createTestDatabase();
    app = await startApp(
      testConfig(
        {
          'sink.kind': 'postgres',
          'postgres.url': db.url,
          'ingest.ack': 'memory',
          'batch.maxWaitMs': 20,
          'auth.adminTokens': TOKEN,
        },
        dir.path,
      ),
    );
    port = new URL(app.url).port;
    const now = Date.now();
    const records = [
      {
        id: 'c1',
        ts: new Date(now - 3 * 60_000).toISOString(),
        level: 'warn',
        service: 'api',
        message: 'disk almost full',
        attrs: { pct: 91 },
      },
      { id: 'c2', ts: new Date(now - 2 * 60_000).toISOString(), level: 'info', service: 'api', message: 'disk fine' },
      {
        id: 'c3',
        ts: new Date(now - 60_000).toISOString(),
        level: 'error',
        service: 'web',
        message: 'Disk gone',
        trace_id: 'tr-9',
      },
      {
        id: 'c4',
        ts: new Date(now - 48 * 3_600_000).toISOString(),
        level: 'error',
        service: 'api',
        message: 'old disk error',
      },
    ];
    assert.equal((await postJson(`${app.url}/logs`, records)).status, 202);
    await waitFor('4 rows', async () => ((await db.count('logs')) === 4 ? true : undefined));
  });
  after(async () => {
    await app.stop();
    await db.drop();
    dir.remove();
    await stopOwnServer();
  });

  const run = async (...argv: string[]): Promise<{ code: number; lines: string[] }> => {
    const lines: string[] = [];
    const code = await main(['logs', ...argv], (s) => lines.push(s));
    return { code, lines };
  };

  test('finds the collector and the token from the config flags, as serve would; text lines oldest first', async () => {
    const { code, lines } = await run(
      '--port',
      port,
      '--host',
      '127.0.0.1',
      '--auth.adminTokens',
      TOKEN,
      '--since',
      '1h',
    );
    assert.equal(code, 0);
    assert.equal(lines.length, 3);
    assert.match(lines[0]!, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} WARN {2}api {2}disk almost full \{"pct":91\}$/);
    assert.match(lines[2]!, / ERROR web {2}Disk gone trace=tr-9$/);
  });

  test('filters: --service, --level, -q, --since, --attr, --trace-id; --json prints the API records', async () => {
    const ids = async (...argv: string[]): Promise<string[]> => {
      const { code, lines } = await run('--url', app.url, '--token', TOKEN, '--json', ...argv);
      assert.equal(code, 0);
      return lines.map((l) => (JSON.parse(l) as { id: string }).id);
    };
    assert.deepEqual(await ids('--service', 'api'), ['c4', 'c1', 'c2']);
    assert.deepEqual(await ids('--service', 'api,web', '--level', 'warn', '--since', '1h'), ['c1', 'c3']);
    assert.deepEqual(await ids('-q', 'DISK', '--level', 'error'), ['c4', 'c3']);
    assert.deepEqual(await ids('--attr', 'pct=91'), ['c1']);
    assert.deepEqual(await ids('--trace-id', 'tr-9'), ['c3']);
    assert.deepEqual(await ids('--limit', '1'), ['c3']);
  });

  test('mistakes: a bad level exits 2 naming it; no token exits 1; nobody listening exits 1', async () => {
    const errors: string[] = [];
    const orig = console.error;
    console.error = (s: string) => errors.push(s);
    try {
      assert.equal((await run('--url', app.url, '--token', TOKEN, '--level', 'loud')).code, 2);
      assert.match(errors.join('\n'), /level/);
      assert.equal((await run('--url', app.url, '--limit', '0')).code, 2);
    } finally {
      console.error = orig;
    }
    const err: string[] = [];
    const o = logsOptions(parseArgs(['--url', app.url]));
    assert.equal(
      await runLogs(
        o,
        () => undefined,
        new AbortController().signal,
        (s) => err.push(s),
      ),
      1,
    );
    assert.match(err.join('\n'), /401/);
    const closed = await new Promise<number>((resolve) => {
      const srv = createServer().listen(0, '127.0.0.1', () => {
        const p = (srv.address() as AddressInfo).port;
        srv.close(() => resolve(p));
      });
    });
    const refused = logsOptions(parseArgs(['--url', `http://127.0.0.1:${closed}`]));
    assert.equal(
      await runLogs(
        refused,
        () => undefined,
        new AbortController().signal,
        (s) => err.push(s),
      ),
      1,
    );
    assert.match(err.join('\n'), /connection refused/);
  });

  test('--follow prints the latest then each accepted record once, until stopped', async () => {
    const lines: string[] = [];
    const ac = new AbortController();
    const o = logsOptions(
      parseArgs(['--url', app.url, '--token', TOKEN, '--service', 'live', '--json', '--follow'], ['follow', 'json']),
    );
    assert.equal((await postJson(`${app.url}/logs`, { id: 'l0', service: 'live', message: 'before' })).status, 202);
    await waitFor('l0 stored', async () => ((await db.count('logs', "id = 'l0'")) === 1 ? true : undefined));
    const done = runLogs(
      o,
      (s) => lines.push(s),
      ac.signal,
      () => undefined,
    );
    await waitFor('the stored one', () => lines.length === 1);
    assert.equal(
      (
        await postJson(
          `${app.url}/logs`,
          [
            { id: 'l1', service: 'live' },
            { id: 'x1', service: 'other' },
            { id: 'l2', service: 'live' },
          ],
          auth,
        )
      ).status,
      202,
    );
    await waitFor('two live ones', () => lines.length === 3);
    ac.abort();
    assert.equal(await done, 0);
    assert.deepEqual(
      lines.map((l) => (JSON.parse(l) as { id: string }).id),
      ['l0', 'l1', 'l2'],
    );
  });
});
