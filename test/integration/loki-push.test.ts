// Loki push (POST /loki/api/v1/push) end to end with real Loki clients into a real PostgreSQL:
// pino-loki (JSON), winston-loki (snappy protobuf, its default, and JSON), then malformed pushes
// answered as Loki answers them (plain-text 400, nothing stored), gzip, auth and backpressure.
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import { pino } from 'pino';
import { pinoLoki } from 'pino-loki';
import winston from 'winston';
import LokiTransport from 'winston-loki';
import type { App } from '../../src/app.js';
import { startApp, tempDir, testConfig } from '../helpers/app.js';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.js';
import { waitFor } from '../helpers/wait-for.js';

const PUSH = '/loki/api/v1/push';
let db: TestDatabase;
let app: App;
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
});
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

interface Row {
  ts: Date;
  level: string;
  service: string | null;
  message: string | null;
  attrs: Record<string, unknown> | null;
  trace_id: string | null;
}

async function rows(where: string, params: unknown[] = []): Promise<Row[]> {
  const r = await db.pool.query<Row>(
    `SELECT ts, level, service, message, attrs, trace_id FROM logs WHERE ${where} ORDER BY ts, message`,
    params,
  );
  return r.rows;
}

const nowNs = (): string => `${Date.now()}000000`;

async function push(body: string | Buffer, headers: Record<string, string>): Promise<{ status: number; text: string }> {
  const res = await fetch(`${app.url}${PUSH}`, { method: 'POST', headers, body });
  return { status: res.status, text: await res.text() };
}

describe('Loki push with real clients', () => {
  test('pino-loki (JSON): labels, level and service from labels, every line stored', async () => {
    const stream = pinoLoki({
      host: app.url,
      batching: false,
      labels: { service_name: 'pino-app', env: 'test' },
      silenceErrors: false,
    });
    const log = pino({ level: 'debug' }, stream);
    log.info({ order: 17 }, 'order placed');
    log.warn('disk almost full');
    log.error(new Error('boom'), 'payment failed');
    const got = await waitFor('3 pino-loki rows', async () => {
      const r = await rows(`service = 'pino-app'`);
      return r.length === 3 ? r : undefined;
    });
    stream.end();
    const byMsg = new Map(got.map((r) => [JSON.parse(r.message!).msg as string, r]));
    assert.deepEqual([...byMsg.keys()].sort(), ['disk almost full', 'order placed', 'payment failed']);
    assert.equal(byMsg.get('order placed')!.level, 'info');
    assert.equal(byMsg.get('disk almost full')!.level, 'warn');
    assert.equal(byMsg.get('payment failed')!.level, 'error');
    // The labels are kept in attrs as sent (pino-loki adds a level label of its own).
    assert.equal(byMsg.get('order placed')!.attrs!.env, 'test');
    assert.equal(byMsg.get('order placed')!.attrs!.service_name, 'pino-app');
    assert.equal(JSON.parse(byMsg.get('order placed')!.message!).order, 17);
    // Loki's nanosecond time, to the millisecond pino gave it.
    for (const r of got) assert.ok(Math.abs(r.ts.getTime() - Date.now()) < 60_000);
  });

  for (const json of [false, true]) {
    test(`winston-loki (${json ? 'JSON' : 'snappy protobuf'}): job → service, level label → level`, async () => {
      const errors: unknown[] = [];
      const job = json ? 'winston-json' : 'winston-proto';
      const transport = new LokiTransport({
        host: app.url,
        json,
        batching: false,
        labels: { job },
        onConnectionError: (err: unknown) => errors.push(err),
      });
      // winston-loki falls back to JSON when the snappy binding cannot load: make sure it did not.
      assert.equal((transport as unknown as { batcher: { options: { json: boolean } } }).batcher.options.json, json);
      const logger = winston.createLogger({ transports: [transport] });
      logger.info('first line', { labels: { component: 'db' } });
      logger.warn('second line');
      logger.error('third line');
      const got = await waitFor(`3 ${job} rows`, async () => {
        const r = await rows(`service = $1`, [job]);
        return r.length === 3 ? r : undefined;
      });
      logger.close();
      assert.deepEqual(errors, []);
      const msgs = got.map((r) => r.message!);
      assert.ok(msgs.some((m) => m.includes('first line')) && msgs.some((m) => m.includes('third line')));
      const levels = new Map(
        got.map((r) => [
          r.message!.includes('first') ? 'first' : r.message!.includes('second') ? 'second' : 'third',
          r.level,
        ]),
      );
      assert.equal(levels.get('first'), 'info');
      assert.equal(levels.get('second'), 'warn');
      assert.equal(levels.get('third'), 'error');
      assert.equal(got.find((r) => r.message!.includes('first'))!.attrs!.component, 'db');
      assert.equal(got[0]!.attrs!.job, job);
    });
  }
});

describe('Loki push: the mapping and the answers', () => {
  test('JSON with structured metadata, gzip: metadata kept, trace_id column, ts to the microsecond, 204', async () => {
    const body = JSON.stringify({
      streams: [
        {
          stream: { service: 'meta-svc', detected_level: 'warning', region: 'eu' },
          values: [
            ['1764669600123456789', 'with metadata', { trace_id: '4bf92f3577b34da6a3ce929d0e0e4736', user: 'ann' }],
            ['1764669600123457000', 'without metadata'],
          ],
        },
      ],
    });
    const res = await push(gzipSync(body), { 'content-type': 'application/json', 'content-encoding': 'gzip' });
    assert.equal(res.status, 204);
    assert.equal(res.text, '');
    const got = await rows(`service = 'meta-svc'`);
    assert.equal(got.length, 2);
    const [a, b] = got;
    assert.equal(a!.message, 'with metadata');
    assert.equal(a!.level, 'warn');
    assert.equal(a!.trace_id, '4bf92f3577b34da6a3ce929d0e0e4736');
    assert.deepEqual(a!.attrs, {
      service: 'meta-svc',
      detected_level: 'warning',
      region: 'eu',
      structured_metadata: { trace_id: '4bf92f3577b34da6a3ce929d0e0e4736', user: 'ann' },
    });
    assert.equal(a!.ts.toISOString(), '2025-12-02T10:00:00.123Z');
    const us = await db.pool.query<{ us: string }>(
      `SELECT (extract(epoch FROM ts) * 1000000)::bigint::text AS us FROM logs WHERE message = 'with metadata'`,
    );
    assert.equal(us.rows[0]!.us, '1764669600123456');
    assert.equal(b!.trace_id, null);
    assert.deepEqual(b!.attrs, { service: 'meta-svc', detected_level: 'warning', region: 'eu' });
  });

  test("GET /ready answers as Loki does (Vector's loki healthcheck)", async () => {
    const res = await fetch(`${app.url}/ready`);
    assert.equal(res.status, 200);
    assert.equal(await res.text(), 'ready\n');
  });

  test('an empty push is 204 and stores nothing', async () => {
    assert.equal((await push('{"streams":[]}', { 'content-type': 'application/json' })).status, 204);
    // Snappy's block format for zero bytes: a PushRequest with no streams.
    assert.equal((await push(Buffer.from([0]), { 'content-type': 'application/x-protobuf' })).status, 204);
  });

  test('malformed pushes: 400 in plain text as Loki words it, nothing from them stored', async () => {
    const before = await db.count('logs');
    const cases: Array<[string, string | Buffer, Record<string, string>, RegExp]> = [
      [
        'no labels',
        JSON.stringify({ streams: [{ stream: {}, values: [[nowNs(), 'x']] }] }),
        { 'content-type': 'application/json' },
        /^error at least one label pair is required per stream\n$/,
      ],
      ['bad JSON', '{"streams":[', { 'content-type': 'application/json' }, /^invalid JSON/],
      [
        'timestamp not ns',
        JSON.stringify({ streams: [{ stream: { a: 'b' }, values: [['2025-01-01', 'x']] }] }),
        { 'content-type': 'application/json' },
        /streams\[0\]\.values\[0\]: timestamp "2025-01-01" must be a string of the Unix epoch in nanoseconds/,
      ],
      [
        'one bad entry among good',
        JSON.stringify({
          streams: [
            {
              stream: { a: 'b' },
              values: [
                [nowNs(), 'good'],
                [nowNs(), 7],
              ],
            },
          ],
        }),
        { 'content-type': 'application/json' },
        /values\[1\]: log line must be a string/,
      ],
      [
        'not snappy',
        Buffer.from('definitely not snappy'),
        { 'content-type': 'application/x-protobuf' },
        /^snappy: corrupt input/,
      ],
      ['deeply nested', '['.repeat(100_000), { 'content-type': 'application/json' }, /nests deeper/],
    ];
    for (const [what, body, headers, expected] of cases) {
      const res = await push(body, headers);
      assert.equal(res.status, 400, what);
      assert.match(res.text, expected, what);
    }
    const enc = await push('{}', { 'content-type': 'application/json', 'content-encoding': 'br' });
    assert.equal(enc.status, 415);
    assert.match(enc.text, /unsupported Content-Encoding "br"/);
    assert.equal(await db.count('logs'), before);
  });
});

describe('Loki push: auth and backpressure', () => {
  test('a bearer token is required when ingest tokens are set; 429 with Retry-After when the buffer is full', async () => {
    const dir = tempDir();
    cleanups.push(dir.remove);
    // A sink that never finishes a write: the buffer fills and stays full.
    let release: () => void = () => undefined;
    const held = new Promise<void>((r) => (release = r));
    const stuck = await startApp(
      testConfig(
        {
          'auth.ingestTokens': 'sekret-token',
          'ingest.ack': 'memory',
          'buffer.maxRecords': 2,
          'batch.maxRecords': 1,
          'writers.count': 1,
          'writers.queue': 1,
          'ingest.enqueueTimeoutMs': 10,
          'ingest.retryAfterSeconds': 3,
        },
        dir.path,
      ),
      { sink: { name: 'stuck', writeBatch: () => held, close: async () => undefined } },
    );
    cleanups.push(async () => {
      release();
      await stuck.stop();
    });
    const body = (i: number) =>
      JSON.stringify({ streams: [{ stream: { job: 'bp' }, values: [[nowNs(), `line ${i}`]] }] });
    const noAuth = await fetch(`${stuck.url}${PUSH}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: body(0),
    });
    assert.equal(noAuth.status, 401);
    assert.match(await noAuth.text(), /bearer token/);
    const statuses: number[] = [];
    let retryAfter: string | null = null;
    for (let i = 0; i < 8; i++) {
      const res = await fetch(`${stuck.url}${PUSH}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: 'Bearer sekret-token' },
        body: body(i),
      });
      statuses.push(res.status);
      if (res.status === 429) {
        retryAfter = res.headers.get('retry-after');
        assert.match(await res.text(), /^buffer full/);
      } else await res.arrayBuffer();
    }
    assert.ok(statuses.includes(204), `some pushes accepted: ${statuses.join(',')}`);
    assert.ok(statuses.includes(429), `then 429: ${statuses.join(',')}`);
    assert.equal(retryAfter, '3');
  });
});
