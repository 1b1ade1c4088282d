// Elasticsearch _bulk end to end with the real @elastic/elasticsearch client into a real
// PostgreSQL: the client's start-up (info, product check), the bulk helper with good and bad
// documents in one batch (good stored, bad reported per item through onDrop and not stored),
// the ECS mapping, the probes shippers send, whole-request errors in ES's shape, and 429.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Client, errors as esErrors } from '@elastic/elasticsearch';
import type { App } from '../../src/app.js';
import { startApp, tempDir, testConfig } from '../helpers/app.js';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.js';

// The probes' answers are read loosely: each assertion names the one field it checks.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = Record<string, any>;
let db: TestDatabase;
let app: App;
let client: Client;
const cleanups: Array<() => Promise<void> | void> = [];

before(async () => {
  db = await createTestDatabase();
  const dir = tempDir();
  cleanups.push(() => db.drop(), dir.remove);
  app = await startApp(
    testConfig(
      { 'sink.kind': 'postgres', 'postgres.url': db.url, 'batch.maxWaitMs': 20, 'ingest.ack': 'sink' },
      dir.path,
    ),
  );
  cleanups.push(() => app.stop());
  client = new Client({ node: app.url });
  cleanups.push(() => client.close());
});
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

interface Row {
  id: string;
  ts: Date;
  level: string;
  service: string | null;
  message: string | null;
  attrs: Record<string, unknown> | null;
  trace_id: string | null;
  span_id: string | null;
}

async function rows(where: string, params: unknown[] = []): Promise<Row[]> {
  const r = await db.pool.query<Row>(
    `SELECT id, ts, level, service, message, attrs, trace_id, span_id FROM logs WHERE ${where} ORDER BY message`,
    params,
  );
  return r.rows;
}

describe('Elasticsearch clients', () => {
  test('the JS client starts (banner, product header) and answers ping', async () => {
    const info = await client.info();
    assert.equal(info.tagline, 'You Know, for Search');
    assert.match(info.version.number, /^8\./);
    assert.equal(await client.ping(), true);
  });

  test('bulk helper: good documents stored with the ECS mapping, bad ones dropped per item and not stored', async () => {
    const docs: Array<Record<string, unknown> | string> = [
      {
        '@timestamp': '2026-12-02T10:00:00.000Z',
        message: 'user logged in',
        log: { level: 'warn', logger: 'auth' },
        service: { name: 'es-app', version: '1.2.3' },
        trace: { id: '4bf92f3577b34da6a3ce929d0e0e4736' },
        user: { id: 42 },
      },
      { '@timestamp': 'yesterday-ish', message: 'bad timestamp', service: { name: 'es-app' } },
      // An integer past 2^53 would be stored changed: refused rather than rounded.
      '{"message":"too big a number","n":123456789012345678901,"service":{"name":"es-app"}}',
      '["an array, not a document"]',
      { '@timestamp': 1764669601000, message: 'epoch millis', 'log.level': 'ERROR', 'service.name': 'es-app' },
      { message: 'no timestamp, received time', service: { name: 'es-app' }, labels: { env: 'prod' } },
    ];
    const dropped: Array<{ status: number; type: string | undefined; document: unknown }> = [];
    const stats = await client.helpers.bulk({
      datasource: docs,
      onDocument: () => ({ create: { _index: 'logs-es-app' } }),
      onDrop: (d) => dropped.push({ status: d.status, type: d.error?.type, document: d.document }),
      flushInterval: 10,
    });
    assert.equal(stats.total, 6);
    assert.equal(stats.successful, 3);
    assert.equal(stats.failed, 3);
    assert.deepEqual(
      dropped.map((d) => [d.status, d.type]),
      [
        [400, 'mapper_parsing_exception'],
        [400, 'mapper_parsing_exception'],
        [400, 'mapper_parsing_exception'],
      ],
    );
    const got = await rows(`service = 'es-app'`);
    assert.deepEqual(
      got.map((r) => r.message),
      ['epoch millis', 'no timestamp, received time', 'user logged in'],
    );
    const [millis, noTs, full] = got;
    assert.equal(full!.level, 'warn');
    assert.equal(full!.ts.toISOString(), '2026-12-02T10:00:00.000Z');
    assert.equal(full!.trace_id, '4bf92f3577b34da6a3ce929d0e0e4736');
    assert.deepEqual(full!.attrs, {
      _index: 'logs-es-app',
      log: { logger: 'auth' },
      service: { version: '1.2.3' },
      user: { id: 42 },
    });
    assert.equal(millis!.level, 'error');
    assert.equal(millis!.ts.toISOString(), '2025-12-02T10:00:01.000Z');
    assert.deepEqual(millis!.attrs, { _index: 'logs-es-app' });
    assert.ok(Math.abs(noTs!.ts.getTime() - Date.now()) < 60_000);
    assert.deepEqual(noTs!.attrs, { _index: 'logs-es-app', labels: { env: 'prod' } });
  });

  test('gzip-compressed bulk, _id kept as the record id, update and delete answered per item', async () => {
    const gz = new Client({ node: app.url, compression: true });
    cleanups.push(() => gz.close());
    const res = await gz.bulk({
      index: 'default-idx',
      operations: [
        { index: { _id: 'doc-1' } },
        { message: 'kept with its id', service: { name: 'es-ids' } },
        { update: { _id: 'doc-1' } },
        { doc: { message: 'changed' } },
        { delete: { _id: 'doc-1' } },
      ],
    });
    assert.equal(res.errors, true);
    assert.equal(res.items.length, 3);
    assert.equal(res.items[0]!.index!.status, 201);
    assert.equal(res.items[0]!.index!._id, 'doc-1');
    assert.equal(res.items[0]!.index!._index, 'default-idx');
    assert.equal(res.items[1]!.update!.status, 400);
    assert.match(res.items[1]!.update!.error!.reason!, /update is not supported/);
    assert.equal(res.items[2]!.delete!.status, 400);
    const got = await rows(`service = 'es-ids'`);
    assert.equal(got.length, 1);
    assert.equal(got[0]!.id, 'doc-1');
    assert.equal(got[0]!.attrs!._index, 'default-idx');
  });

  test('an unparseable document line fails only its item; the good one beside it is stored', async () => {
    const body =
      '{"index":{"_index":"raw"}}\n{"message":"good raw","service":"es-raw"}\n{"index":{"_index":"raw"}}\nnot json {\n';
    const res = await fetch(`${app.url}/_bulk`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-ndjson' },
      body,
    });
    assert.equal(res.status, 200);
    const r = (await res.json()) as {
      errors: boolean;
      items: Array<{ index: { status: number; error?: { type: string } } }>;
    };
    assert.equal(r.errors, true);
    assert.deepEqual(
      r.items.map((i) => [i.index.status, i.index.error?.type]),
      [
        [201, undefined],
        [400, 'mapper_parsing_exception'],
      ],
    );
    assert.deepEqual(
      (await rows(`service = 'es-raw'`)).map((x) => x.message),
      ['good raw'],
    );
  });

  test('a large bulk (parsed in slices) stores every good document and fails only the bad one', async () => {
    const lines: string[] = [];
    for (let i = 0; i < 3000; i++) {
      lines.push('{"create":{"_index":"big"}}');
      lines.push(
        i === 1234
          ? '{"message": broken'
          : JSON.stringify({ message: `big ${i} ${'x'.repeat(60)}`, service: 'es-big' }),
      );
    }
    const body = `${lines.join('\n')}\n`;
    assert.ok(body.length > 256 * 1024, 'past the size parsed in one go');
    const res = await fetch(`${app.url}/_bulk`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-ndjson' },
      body,
    });
    assert.equal(res.status, 200);
    const r = (await res.json()) as { errors: boolean; items: Array<{ create: { status: number } }> };
    assert.equal(r.items.length, 3000);
    assert.deepEqual(
      r.items.flatMap((it, i) => (it.create.status === 201 ? [] : [[i, it.create.status]])),
      [[1234, 400]],
    );
    assert.equal(await db.count('logs', `service = 'es-big'`), 2999);
  });

  test('a body of blank lines is a whole-request 400, as in Elasticsearch', async () => {
    const res = await fetch(`${app.url}/_bulk`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-ndjson' },
      body: '\n\n',
    });
    assert.equal(res.status, 400);
    const e = (await res.json()) as { error: { type: string; reason: string } };
    assert.equal(e.error.type, 'action_request_validation_exception');
  });

  test('a malformed action line fails the whole request in ES shape, nothing stored', async () => {
    const before = await db.count('logs');
    const body = '{"create":{"_index":"x"}}\n{"message":"would be fine","service":"es-bad"}\n{"explode":{}}\n{}\n';
    const res = await fetch(`${app.url}/_bulk`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-ndjson' },
      body,
    });
    assert.equal(res.status, 400);
    assert.equal(res.headers.get('x-elastic-product'), 'Elasticsearch');
    const e = (await res.json()) as { status: number; error: { type: string; reason: string; root_cause: unknown[] } };
    assert.equal(e.status, 400);
    assert.equal(e.error.type, 'illegal_argument_exception');
    assert.match(
      e.error.reason,
      /Malformed action\/metadata line \[3\], expected one of \[create, delete, index, update\] but found \[explode\]/,
    );
    assert.equal(e.error.root_cause.length, 1);
    // The JS client surfaces it as a ResponseError carrying the same body.
    await assert.rejects(
      client.bulk({ operations: [{ foo: {} } as never, {}] }),
      (err: unknown) => err instanceof esErrors.ResponseError && err.statusCode === 400,
    );
    assert.equal(await db.count('logs'), before);
  });

  test('the probes shippers send at start are answered so they proceed', async () => {
    const ua = { 'user-agent': 'Elastic-Filebeat/8.17.0 (linux; amd64)' };
    const get = async (path: string, method = 'GET', body?: string) => {
      const res = await fetch(`${app.url}${path}`, {
        method,
        headers: { ...ua, 'content-type': 'application/json' },
        ...(body ? { body } : {}),
      });
      assert.equal(res.headers.get('x-elastic-product'), 'Elasticsearch', path);
      return { status: res.status, body: method === 'HEAD' ? null : ((await res.json()) as Json) };
    };
    assert.equal((await get('/')).body!.version.number.startsWith('8.'), true);
    assert.equal((await get('/_license')).body!.license.status, 'active');
    assert.equal((await get('/_cluster/health')).body!.status, 'green');
    assert.equal((await get('/filebeat-8.17.0', 'HEAD')).status, 200);
    assert.equal((await get('/_index_template/filebeat-8.17.0')).status, 200);
    assert.equal(
      (await get('/_index_template/filebeat-8.17.0', 'PUT', '{"index_patterns":["x*"]}')).body!.acknowledged,
      true,
    );
    assert.equal((await get('/_ilm/policy/filebeat')).status, 200);
    assert.equal((await get('/_ilm/policy/filebeat', 'PUT', '{"policy":{}}')).body!.acknowledged, true);
    assert.equal((await get('/_nodes/http')).body!._nodes.total, 1);
    // A browser still gets the UI at GET /, not the banner.
    const page = await fetch(`${app.url}/`, { headers: { accept: 'text/html' } });
    assert.equal(page.headers.get('x-elastic-product'), null);
    await page.arrayBuffer();
  });
});

describe('Elasticsearch _bulk under backpressure', () => {
  test('a full buffer answers the whole request 429 es_rejected_execution_exception with Retry-After', async () => {
    const dir = tempDir();
    cleanups.push(dir.remove);
    let release: () => void = () => undefined;
    const held = new Promise<void>((r) => (release = r));
    const stuck = await startApp(
      testConfig(
        {
          'ingest.ack': 'memory',
          'buffer.maxRecords': 2,
          'batch.maxRecords': 1,
          'writers.count': 1,
          'writers.queue': 1,
          'ingest.enqueueTimeoutMs': 10,
          'ingest.retryAfterSeconds': 4,
        },
        dir.path,
      ),
      { sink: { name: 'stuck', writeBatch: () => held, close: async () => undefined } },
    );
    cleanups.push(async () => {
      release();
      await stuck.stop();
    });
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) {
      const res = await fetch(`${stuck.url}/bp/_bulk`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-ndjson' },
        body: `{"create":{}}\n{"message":"m${i}"}\n`,
      });
      statuses.push(res.status);
      const body = (await res.json()) as { status?: number; error?: { type: string } };
      if (res.status === 429) {
        assert.equal(res.headers.get('retry-after'), '4');
        assert.equal(body.error!.type, 'es_rejected_execution_exception');
        assert.equal(body.status, 429);
      }
    }
    assert.ok(statuses.includes(200) && statuses.includes(429), statuses.join(','));
  });
});
