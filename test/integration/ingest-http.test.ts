// The HTTP contract of POST /logs and POST /health against a real app (file sink on disk).
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import type { App } from '../../src/app.js';
import { postJson, startApp, tempDir, testConfig } from '../helpers/app.js';

const dir = tempDir();
let app: App;

before(async () => {
  app = await startApp(
    testConfig({ 'sink.kind': 'file', 'ingest.maxBodyBytes': 64 * 1024, 'batch.maxWaitMs': 20 }, dir.path),
  );
});
after(async () => {
  await app.stop();
  dir.remove();
});

function storedLines(type: string): Array<Record<string, unknown>> {
  const logs = join(dir.path, 'logs');
  return readdirSync(logs)
    .filter((f) => f.startsWith(`${type}-`))
    .flatMap((f) => readFileSync(join(logs, f), 'utf8').split('\n').filter(Boolean))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** Waits for the batcher's maxWait and the writers to leave nothing pending; throws if they never do. */
async function settled(): Promise<void> {
  const ms = 10_000;
  for (const deadline = Date.now() + ms; ;) {
    await new Promise((r) => setTimeout(r, 20));
    const s = app.pool.stats();
    if (app.buffer.stats().records === 0 && app.batcher.pending === 0 && s.queued === 0 && s.inFlight.length === 0)
      return;
    if (Date.now() > deadline)
      throw new Error(
        `the pipeline did not settle within ${ms} ms: ${JSON.stringify({ buffer: app.buffer.stats(), batcher: app.batcher.pending, writers: s })}`,
      );
  }
}

/**
 * Positive control for "nothing stored" checks: posts a valid record after the refused ones and
 * waits until it is stored. The buffer is a FIFO, so anything a refused request had let in would
 * have been stored by then too.
 */
async function controlStored(tag: string): Promise<void> {
  const message = `control-${tag}-${Date.now()}`;
  const res = await postJson(`${app.url}/logs`, { message });
  assert.equal(res.status, 202, 'the control record is accepted');
  await settled();
  assert.ok(
    storedLines('log').some((l) => l.message === message),
    'the control record sent after the refused ones is stored',
  );
}

describe('POST /logs', () => {
  test('accepts one JSON object with 202 {"accepted":1} and stores it', async () => {
    const res = await postJson(`${app.url}/logs`, {
      message: 'one-object',
      level: 'error',
      service: 'checkout',
      order: 42,
    });
    assert.equal(res.status, 202);
    assert.deepEqual(await res.json(), { accepted: 1 });
    await settled();
    const rec = storedLines('log').find((l) => l.message === 'one-object');
    assert.ok(rec, 'stored');
    assert.equal(rec.level, 'error');
    assert.equal(rec.service, 'checkout');
    assert.deepEqual(rec.attrs, { order: 42 });
    assert.ok(typeof rec.received_at === 'string');
  });

  test('accepts a JSON array and NDJSON (also gzipped)', async () => {
    const arr = await postJson(`${app.url}/logs`, [{ message: 'arr-1' }, { message: 'arr-2' }]);
    assert.deepEqual([arr.status, await arr.json()], [202, { accepted: 2 }]);
    const nd = await fetch(`${app.url}/logs`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-ndjson' },
      body: '{"msg":"nd-1"}\n\n{"msg":"nd-2","level":40}\n',
    });
    assert.deepEqual([nd.status, await nd.json()], [202, { accepted: 2 }]);
    const gz = await fetch(`${app.url}/logs`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-ndjson', 'content-encoding': 'gzip' },
      body: gzipSync('{"msg":"gz-1"}\n{"msg":"gz-2"}\n{"msg":"gz-3"}'),
    });
    assert.deepEqual([gz.status, await gz.json()], [202, { accepted: 3 }]);
    await settled();
    const messages = storedLines('log').map((l) => l.message);
    for (const m of ['arr-1', 'arr-2', 'nd-1', 'nd-2', 'gz-1', 'gz-2', 'gz-3']) assert.ok(messages.includes(m), m);
    assert.equal(storedLines('log').find((l) => l.message === 'nd-2')!.level, 'warn');
  });

  test('rejects a bad record with 400 naming the line and field, storing nothing from the request', async () => {
    const res = await fetch(`${app.url}/logs`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-ndjson' },
      body: '{"msg":"bad-req-ok-line"}\n{"msg":"x","level":"loud"}\n',
    });
    assert.equal(res.status, 400);
    const body = (await res.json()) as Record<string, unknown>;
    assert.equal(body.error, 'SLUICE_ERR_INVALID_RECORD');
    assert.equal(body.line, 2);
    assert.equal(body.field, 'level');
    assert.match(String(body.message), /line 2/);
    const arr = await postJson(`${app.url}/logs`, [{ message: 'fine' }, { message: 'fine' }, { ts: 'garbage' }]);
    assert.equal(arr.status, 400);
    const arrBody = (await arr.json()) as Record<string, unknown>;
    assert.deepEqual([arrBody.index, arrBody.field], [2, 'ts']);
    await controlStored('bad-record');
    assert.ok(!storedLines('log').some((l) => l.message === 'bad-req-ok-line'));
    assert.ok(!storedLines('log').some((l) => l.message === 'fine'));
  });

  test('odd input gets a 400 or 415 naming the problem, never a 500, and nothing of it is stored', async () => {
    const post = (body: string | Buffer, type = 'application/json') =>
      fetch(`${app.url}/logs`, { method: 'POST', headers: { 'content-type': type }, body });
    const cases: Array<[string, Response, number, RegExp]> = [
      ['epoch past 9999', await post('{"message":"odd-1","ts":1e22}'), 400, /field ts/],
      ['offset beyond 23:59', await post('{"message":"odd-2","ts":"2024-01-01T00:00:00+99:99"}'), 400, /field ts/],
      ['level 9', await post('{"message":"odd-3","level":9}'), 400, /field level/],
      [
        '5000 levels of nesting',
        await post(`{"message":"odd-4","a":${'['.repeat(5000)}${']'.repeat(5000)}}`),
        400,
        /field \(record\) nests deeper than 64 levels \(ingest\.maxDepth\)/,
      ],
      [
        'invalid UTF-8',
        await post(Buffer.concat([Buffer.from('{"message":"odd-5 '), Buffer.from([0xff, 0xfe]), Buffer.from('"}')])),
        400,
        /not valid UTF-8/,
      ],
      ['latin1 charset', await post('{"message":"odd-6"}', 'application/json; charset=latin1'), 415, /charset/],
      ['empty array', await post('[]'), 400, /no records/],
    ];
    for (const [what, res, status, message] of cases) {
      assert.equal(res.status, status, what);
      assert.match(((await res.json()) as { message: string }).message, message, what);
    }
    const health = await fetch(`${app.url}/health`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: `{"service":"odd-h","status":"up","deep":${'['.repeat(5000)}${']'.repeat(5000)}}`,
    });
    assert.equal(health.status, 400);
    await controlStored('odd-input');
    assert.ok(!storedLines('log').some((l) => String(l.message).startsWith('odd-')));
    assert.ok(!storedLines('health').some((l) => l.service === 'odd-h'));
  });

  test('a byte order mark, an explicit utf-8 charset, a __proto__ field and a null ts beside timestamp are all taken as sent', async () => {
    const bom = await fetch(`${app.url}/logs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json; charset=UTF-8' },
      body: '\ufeff{"message":"bom-json"}',
    });
    assert.equal(bom.status, 202);
    const nd = await fetch(`${app.url}/logs`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-ndjson' },
      body: '\ufeff{"message":"bom-nd"}\n',
    });
    assert.equal(nd.status, 202);
    const proto = await fetch(`${app.url}/logs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"message":"proto","__proto__":{"x":1},"ts":null,"timestamp":"2020-01-02T03:04:05Z"}',
    });
    assert.equal(proto.status, 202);
    await settled();
    const lines = storedLines('log');
    assert.ok(lines.some((l) => l.message === 'bom-json'));
    assert.ok(lines.some((l) => l.message === 'bom-nd'));
    const p = lines.find((l) => l.message === 'proto')!;
    assert.equal(JSON.stringify(p.attrs), '{"__proto__":{"x":1}}');
    assert.equal(p.ts, '2020-01-02T03:04:05.000000Z');
  });

  test('rejects invalid JSON with 400, an empty body with 400, and a non-JSON type with 415', async () => {
    const bad = await fetch(`${app.url}/logs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"msg": ',
    });
    assert.equal(bad.status, 400);
    assert.equal(((await bad.json()) as Record<string, unknown>).error, 'SLUICE_ERR_INVALID_JSON');
    const badLine = await fetch(`${app.url}/logs`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-ndjson' },
      body: '{"msg":"a"}\nnot json\n',
    });
    assert.equal(badLine.status, 400);
    assert.equal(((await badLine.json()) as Record<string, unknown>).line, 2);
    const empty = await fetch(`${app.url}/logs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '',
    });
    assert.equal(empty.status, 400);
    const text = await fetch(`${app.url}/logs`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: 'hello',
    });
    assert.equal(text.status, 415);
    assert.equal(((await text.json()) as Record<string, unknown>).error, 'SLUICE_ERR_UNSUPPORTED_MEDIA_TYPE');
    const enc = await fetch(`${app.url}/logs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-encoding': 'br' },
      body: '{}',
    });
    assert.equal(enc.status, 415);
    const badGzip = await fetch(`${app.url}/logs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
      body: 'not gzip',
    });
    assert.equal(badGzip.status, 400);
  });

  test('answers 413 over the body limit, also after decompression (zip bomb)', async () => {
    const big = await fetch(`${app.url}/logs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ message: 'x'.repeat(70 * 1024) }),
    });
    assert.equal(big.status, 413);
    const bomb = gzipSync(JSON.stringify({ message: 'y'.repeat(1024 * 1024) }));
    assert.ok(bomb.length < 64 * 1024);
    const res = await fetch(`${app.url}/logs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
      body: bomb,
    });
    assert.equal(res.status, 413);
    assert.equal(((await res.json()) as Record<string, unknown>).error, 'SLUICE_ERR_BODY_TOO_LARGE');
  });

  test('echoes X-Request-Id, or generates one', async () => {
    const given = await postJson(`${app.url}/logs`, { message: 'rid' }, { 'x-request-id': 'my-req-123' });
    assert.equal(given.headers.get('x-request-id'), 'my-req-123');
    const generated = await postJson(`${app.url}/logs`, { message: 'rid2' });
    assert.match(generated.headers.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/);
    const err = await fetch(`${app.url}/logs`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain', 'x-request-id': 'err-req-1' },
      body: 'x',
    });
    assert.equal(((await err.json()) as Record<string, unknown>).req_id, 'err-req-1');
  });
});

describe('POST /health', () => {
  test('accepts a ping or an array of pings and stores them as health records', async () => {
    const one = await postJson(`${app.url}/health`, { service: 'billing', status: 'up', latency_ms: 12 });
    assert.deepEqual([one.status, await one.json()], [202, { accepted: 1 }]);
    const two = await postJson(`${app.url}/health`, [
      { service: 'db', status: 'down', message: 'conn refused' },
      { service: 'cache', status: 'degraded' },
    ]);
    assert.deepEqual([two.status, await two.json()], [202, { accepted: 2 }]);
    await settled();
    const pings = storedLines('health');
    assert.deepEqual(pings.map((p) => `${p.service}:${p.status}`).sort(), ['billing:up', 'cache:degraded', 'db:down']);
    assert.equal(pings.find((p) => p.service === 'billing')!.latency_ms, 12);
  });

  test('rejects a ping without a valid status with 400 naming the field', async () => {
    const res = await postJson(`${app.url}/health`, [
      { service: 'a', status: 'up' },
      { service: 'b', status: 'on fire' },
    ]);
    assert.equal(res.status, 400);
    const body = (await res.json()) as Record<string, unknown>;
    assert.deepEqual([body.index, body.field], [1, 'status']);
  });
});

describe('admin', () => {
  test('/healthz is ok, /readyz is ready, /admin/jobs shows the pipeline', async () => {
    assert.equal((await fetch(`${app.url}/healthz`)).status, 200);
    const ready = await fetch(`${app.url}/readyz`);
    assert.deepEqual([ready.status, await ready.json()], [200, { status: 'ready' }]);
    const jobs = (await (await fetch(`${app.url}/admin/jobs`)).json()) as Record<string, Record<string, unknown>>;
    assert.equal(jobs.sink as unknown, 'file');
    assert.equal(typeof jobs.buffer!.records, 'number');
    assert.equal(jobs.writers!.breaker, 'closed');
    assert.ok((jobs.writers!.committedRecords as number) > 0);
  });

  test('an unknown route is a JSON 404', async () => {
    const res = await fetch(`${app.url}/nope`);
    assert.equal(res.status, 404);
    assert.equal(((await res.json()) as Record<string, unknown>).error, 'SLUICE_ERR_NOT_FOUND');
  });
});
