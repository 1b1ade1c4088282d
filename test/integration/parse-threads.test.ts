// ingest.parseThreads against a real PostgreSQL: the same requests sent to a collector that
// parses on the main thread and to one that parses on a thread, in each ack mode, store the same
// rows, get the same answers (bad input, limits, an API key's tenant and rate limit included)
// and reach the live tail; no record is built back from its tuples on the way (nobody was
// tailing). A body the main thread parses in steps never goes to a thread.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { App } from '../../src/app.js';
import { decodedRuns } from '../../src/pipeline/held-records.js';
import { startApp, tempDir, testConfig } from '../helpers/app.js';
import { metric } from '../helpers/metric.js';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.js';
import { openSse } from '../helpers/sse.js';
import { waitFor } from '../helpers/wait-for.js';

const cleanups: Array<() => Promise<void> | void> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

async function collector(
  threads: number,
  ack: string,
  more: Record<string, unknown> = {},
): Promise<{ app: App; db: TestDatabase }> {
  const db = await createTestDatabase();
  const dir = tempDir();
  cleanups.push(() => db.drop(), dir.remove);
  const app = await startApp(
    testConfig(
      {
        'sink.kind': 'postgres',
        'postgres.url': db.url,
        'batch.maxWaitMs': 20,
        'ingest.ack': ack,
        'ingest.parseThreads': threads,
        'ingest.maxRecordsPerRequest': 60,
        ...more,
      },
      dir.path,
    ),
  );
  cleanups.push(() => app.stop());
  return { app, db };
}

const lines = Array.from({ length: 50 }, (_, i) => ({
  id: `nd-${i}`,
  ts: `2026-12-03T10:00:${String(i).padStart(2, '0')}.123456Z`,
  level: ['info', 'warn', 'error', 'debug'][i % 4],
  service: i % 2 ? 'api' : 'web',
  message: `line ${i} ü`,
  attrs: { n: i, nested: { ok: i % 2 === 0 }, list: [1, 'two'] },
  trace_id: i % 5 ? undefined : `t${i}`,
  unknown_field: i,
}));
const good: Array<[string, string, string]> = [
  ['application/x-ndjson', lines.map((l) => JSON.stringify(l)).join('\n'), '{"accepted":50}'],
  ['application/json', JSON.stringify(lines.slice(0, 10).map((l) => ({ ...l, id: `arr-${l.id}` }))), '{"accepted":10}'],
  [
    'application/json',
    JSON.stringify({ id: 'one', ts: 1764756000.5, message: 'just one', attrs: { a: 'b' } }),
    '{"accepted":1}',
  ],
];
const bad: Array<[string, string]> = [
  ['application/x-ndjson', '{"message":"a"}\n{"mess'],
  ['application/json', '{"message":"a","ts":"yesterday"}'],
  ['application/x-ndjson', Array.from({ length: 61 }, (_, i) => `{"message":"${i}"}`).join('\n')],
  ['application/json', '[]'],
];

async function post(app: App, type: string, body: string, key?: string): Promise<{ status: number; json: unknown }> {
  const headers: Record<string, string> = { 'content-type': type };
  if (key) headers.authorization = `Bearer ${key}`;
  const res = await fetch(`${app.url}/logs`, { method: 'POST', headers, body });
  const json = (await res.json()) as Record<string, unknown>;
  delete json.req_id;
  return { status: res.status, json };
}

const stored = async (db: TestDatabase): Promise<unknown[]> =>
  (
    await db.pool.query(
      'SELECT id, ts, level, service, message, attrs, trace_id, span_id, tenant FROM logs ORDER BY id',
    )
  ).rows;

describe('parse threads', () => {
  let here: { app: App; db: TestDatabase };
  before(async () => {
    here = await collector(0, 'durable');
    for (const [type, body, answer] of good) {
      const r = await post(here.app, type, body);
      assert.equal(r.status, 202);
      assert.deepEqual(r.json, JSON.parse(answer));
    }
    await waitFor('the main-thread collector stored 61 rows', async () => (await here.db.count('logs')) === 61);
  });

  for (const ack of ['durable', 'memory', 'sink'])
    test(`ack ${ack}: the same rows and answers as parsing on the main thread, none decoded`, async () => {
      const threaded = await collector(1, ack);
      const decodedBefore = decodedRuns.count;
      for (const [type, body, answer] of good) {
        const r = await post(threaded.app, type, body);
        assert.equal(r.status, 202);
        assert.deepEqual(r.json, JSON.parse(answer));
      }
      if (ack === 'sink') assert.equal(await threaded.db.count('logs'), 61, 'ack sink: stored before the answer');
      await waitFor('61 rows stored', async () => (await threaded.db.count('logs')) === 61);
      assert.deepEqual(await stored(threaded.db), await stored(here.db));
      assert.equal(decodedRuns.count, decodedBefore, 'no record decoded from its tuples on the way');
      const outcome = (o: string): Promise<number> =>
        metric(threaded.app, `sluice_ingest_parse_thread_requests_total{outcome="${o}"}`);
      assert.equal(await outcome('encoded'), good.length, 'each good request was encoded on a thread');
      assert.equal(await outcome('main_thread'), 0);
      for (const [type, body] of bad) {
        const there = await post(threaded.app, type, body);
        assert.ok(there.status >= 400 && there.status < 500, `${body.slice(0, 30)}: ${there.status}`);
        assert.deepEqual(there, await post(here.app, type, body), 'the same answer as without threads');
      }
      assert.equal(await threaded.db.count('logs'), 61, 'nothing of a refused request stored');
      assert.equal(await outcome('main_thread'), bad.length, 'each bad one was answered by the main thread');
    });

  test('a body larger than the main thread parses in one go stays on the main thread: the same answers', async () => {
    const threaded = await collector(1, 'durable');
    // Over 256 KiB, with one record over a 128 KiB step: read by the main thread's stepped rules
    // (here: a number longer than 4096 characters is refused), and so it must be with threads.
    const huge = JSON.stringify({ message: 'big', attrs: { n: Number.NaN, pad: 'x'.repeat(300_000) } }).replace(
      'null',
      `0.${'5'.repeat(5000)}`,
    );
    const fine = JSON.stringify({
      id: 'big-ok',
      ts: 1764756000.5,
      message: 'big',
      attrs: { a: 1.0, pad: 'y'.repeat(300_000) },
    });
    for (const [body, status] of [
      [huge, 400],
      [fine, 202],
    ] as const) {
      const there = await post(threaded.app, 'application/json', body);
      assert.equal(there.status, status);
      assert.deepEqual(there, await post(here.app, 'application/json', body));
    }
    assert.equal(
      await metric(threaded.app, 'sluice_ingest_parse_thread_requests_total{outcome="encoded"}'),
      0,
      'neither went to a thread',
    );
    await waitFor('the large record stored', async () => (await threaded.db.count('logs', "id = 'big-ok'")) === 1);
  });

  test("an API key's tenant and its rate limit apply as on the main thread", async () => {
    const limited = { 'rateLimit.recordsPerSecond': 10, 'rateLimit.burst': 8 };
    const pair = [await collector(0, 'durable', limited), await collector(1, 'durable', limited)];
    const answers: unknown[][] = [];
    for (const { app } of pair) {
      const key = async (body: unknown, token?: string): Promise<string> => {
        const res = await fetch(`${app.url}/admin/keys`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
          body: JSON.stringify(body),
        });
        assert.equal(res.status, 201, await res.clone().text());
        return ((await res.json()) as { key: string }).key;
      };
      const ingest = await key({ scope: 'ingest', tenant: 'acme' }, await key({ scope: 'admin' }));
      // 80 records of credit (10 a second, 8 s of burst): the third request of 50 is refused, as
      // the second left the key 20 in debt (2 s to pay back).
      const seen: unknown[] = [];
      for (let i = 0; i < 3; i++) {
        const body = lines.map((l) => JSON.stringify({ ...l, id: `k${i}-${l.id}` })).join('\n');
        const answer = await post(app, 'application/x-ndjson', body, ingest);
        // Each collector made its own key: its id is in the 429's message.
        seen.push(JSON.parse(JSON.stringify(answer).replace(/key [0-9a-f]{16}/g, 'key <id>')));
      }
      answers.push(seen);
    }
    assert.deepEqual(answers[1], answers[0], 'the same answers, with threads and without');
    assert.deepEqual(
      (answers[0] as Array<{ status: number }>).map((a) => a.status),
      [202, 202, 429],
      'the limit was reached',
    );
    for (const { db } of pair) {
      await waitFor('100 rows', async () => (await db.count('logs')) === 100);
      assert.equal(await db.count('logs', "tenant = 'acme'"), 100, "every row has the key's tenant");
    }
    assert.deepEqual(await stored(pair[1]!.db), await stored(pair[0]!.db));
    assert.equal(
      await metric(pair[1]!.app, 'sluice_ingest_parse_thread_requests_total{outcome="encoded"}'),
      2,
      'the accepted ones were parsed on a thread',
    );
  });

  test('the live tail gets what a thread parsed', async () => {
    const threaded = await collector(1, 'durable');
    const tail = await openSse(`${threaded.app.url}/api/logs/tail`);
    cleanups.push(tail.close);
    assert.equal(tail.status, 200);
    const r = await post(threaded.app, 'application/x-ndjson', lines.map((l) => JSON.stringify(l)).join('\n'));
    assert.equal(r.status, 202);
    const ids = (): string[] =>
      tail.events.filter((e) => e.event === 'message').map((e) => (JSON.parse(e.data) as { id: string }).id);
    await waitFor('50 records on the tail', () => ids().length === 50);
    assert.deepEqual(
      ids(),
      lines.map((l) => l.id),
    );
  });
});
