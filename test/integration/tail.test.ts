// GET /api/logs/tail: records accepted by POST /logs reach matching subscribers as SSE events
// (any sink: these run on the file sink), a subscriber that stops reading gets `event: dropped`
// with the count instead of growing memory, the subscriber cap answers 429, and shutdown ends
// open streams.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import type { App } from '../../src/app.js';
import { postJson, startApp, tempDir, testConfig } from '../helpers/app.js';
import { openSse, type SseStream } from '../helpers/sse.js';
import { waitFor } from '../helpers/wait-for.js';

const cleanups: Array<() => Promise<void> | void> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

async function app(over: Record<string, string | number | boolean> = {}): Promise<App> {
  const dir = tempDir('sluice-tail-');
  const a = await startApp(testConfig({ 'ingest.ack': 'memory', ...over }, dir.path));
  cleanups.push(dir.remove, () => a.stop());
  return a;
}

const records = (s: SseStream): Array<Record<string, unknown>> =>
  s.events.filter((e) => e.event === 'message').map((e) => JSON.parse(e.data) as Record<string, unknown>);

describe('live tail', () => {
  test("delivers each accepted record matching the filters, in the API's item shape", async () => {
    const a = await app();
    const all = await openSse(`${a.url}/api/logs/tail`);
    const some = await openSse(`${a.url}/api/logs/tail?service=api&level=warn&q=disk&attr.user.id=42`);
    cleanups.push(all.close, some.close);
    assert.equal(all.status, 200);
    assert.match(String(all.res.headers['content-type']), /^text\/event-stream/);
    const sent = [
      {
        id: 'r1',
        service: 'api',
        level: 'error',
        message: 'Disk full',
        attrs: { user: { id: '42' } },
        trace_id: 't',
        span_id: 's',
        ts: '2026-11-25T10:00:00.123456Z',
      },
      { id: 'r2', service: 'api', level: 'info', message: 'disk ok', attrs: { user: { id: 42 } } },
      { id: 'r3', service: 'web', level: 'error', message: 'disk full', attrs: { user: { id: 42 } } },
      { id: 'r4', service: 'api', level: 'fatal', message: 'no DISK left', attrs: { user: { id: 42 } } },
      { id: 'r5', service: 'api', level: 'fatal', message: 'disk', attrs: { user: { id: 43 } } },
    ];
    assert.equal((await postJson(`${a.url}/logs`, sent)).status, 202);
    await waitFor('all five on the unfiltered stream', () => records(all).length === 5);
    await waitFor('two on the filtered stream', () => records(some).length === 2);
    assert.deepEqual(
      records(all).map((r) => r.id),
      ['r1', 'r2', 'r3', 'r4', 'r5'],
    );
    assert.deepEqual(
      records(some).map((r) => r.id),
      ['r1', 'r4'],
    );
    const r1 = records(all)[0]!;
    assert.deepEqual(
      { ...r1, received_at: undefined },
      {
        id: 'r1',
        ts: '2026-11-25T10:00:00.123456Z',
        received_at: undefined,
        level: 'error',
        service: 'api',
        message: 'Disk full',
        attrs: { user: { id: '42' } },
        trace_id: 't',
        span_id: 's',
      },
    );
    // A rejected request (bad record) sends nothing.
    assert.equal((await postJson(`${a.url}/logs`, [{ id: 'bad', level: 'loud' }])).status, 400);
    assert.equal((await postJson(`${a.url}/logs`, { id: 'r6', service: 'api' })).status, 202);
    await waitFor('r6', () => records(all).length === 6);
    assert.deepEqual(
      records(all)
        .map((r) => r.id)
        .slice(-1),
      ['r6'],
    );
  });

  test('range parameters and bad filters are 400s naming the parameter', async () => {
    const a = await app();
    for (const [qs, field] of [
      ['from=1h', 'from'],
      ['cursor=x', 'cursor'],
      ['level=loud', 'level'],
      ['limit=5', 'limit'],
    ]) {
      const res = await fetch(`${a.url}/api/logs/tail?${qs}`);
      assert.equal(res.status, 400, qs);
      assert.equal(((await res.json()) as { field: string }).field, field);
    }
  });

  test('a subscriber that stops reading gets event: dropped with the count; memory stays bounded', async () => {
    const a = await app({
      'tail.queueRecords': 10,
      'buffer.maxRecords': 100000,
      'buffer.maxBytes': 256 * 1024 * 1024,
      'ingest.maxBodyBytes': 64 * 1024 * 1024,
    });
    const slow = await openSse(`${a.url}/api/logs/tail`);
    cleanups.push(slow.close);
    slow.res.pause();
    // Far more than the socket buffers can hold: 40 requests × 500 records × ~1 KiB.
    const msg = 'x'.repeat(1000);
    let sent = 0;
    for (let i = 0; i < 40; i++) {
      const batch = Array.from({ length: 500 }, (_, j) => ({ id: `s${i}-${j}`, message: msg }));
      assert.equal((await postJson(`${a.url}/logs`, batch)).status, 202);
      sent += batch.length;
    }
    assert.ok(a.tail.stats().dropped > 0, 'records were dropped for the slow subscriber');
    slow.res.resume();
    // One notice per gap (the socket may have drained now and then while the posts went on).
    const droppedCount = (): number =>
      slow.events
        .filter((e) => e.event === 'dropped')
        .reduce((n, e) => n + (JSON.parse(e.data) as { count: number }).count, 0);
    await waitFor('a dropped notice', () => droppedCount() > 0);
    await waitFor(
      'everything not dropped delivered, the rest counted',
      () => records(slow).length + droppedCount() === sent,
    );
    const count = droppedCount();
    // Delivered records keep their order across the gaps.
    const got = records(slow).map((r) => r.id as string);
    const order = (id: string): number => {
      const [i, j] = id.slice(1).split('-').map(Number);
      return i! * 500 + j!;
    };
    assert.ok(got.every((id, k) => k === 0 || order(got[k - 1]!) < order(id)));
    assert.equal(a.tail.stats().dropped, count);
  });

  test('beyond tail.maxSubscribers a subscriber gets 429; a closed one frees its place', async () => {
    const a = await app({ 'tail.maxSubscribers': 2 });
    const s1 = await openSse(`${a.url}/api/logs/tail`);
    const s2 = await openSse(`${a.url}/api/logs/tail?service=x`);
    cleanups.push(s1.close, s2.close);
    const third = await fetch(`${a.url}/api/logs/tail`);
    assert.equal(third.status, 429);
    assert.equal(((await third.json()) as { error: string }).error, 'SLUICE_ERR_TOO_MANY_SUBSCRIBERS');
    assert.ok(third.headers.get('retry-after'));
    s1.close();
    await waitFor('s1 gone', () => a.tail.stats().subscribers === 1);
    const again = await openSse(`${a.url}/api/logs/tail`);
    cleanups.push(again.close);
    assert.equal(again.status, 200);
  });

  test('heartbeat comments keep an idle stream open; shutdown ends the streams', async () => {
    const a = await app({ 'tail.heartbeatMs': 1000 });
    const s = await openSse(`${a.url}/api/logs/tail`);
    cleanups.push(s.close);
    const first = s.comments;
    await waitFor('a heartbeat', () => s.comments > first, 5000);
    await a.stop();
    await s.ended;
    assert.equal(a.tail.stats().subscribers, 0);
  });
});
