// The Redis Streams sink against the real server on 127.0.0.1:6379: records posted to /logs
// arrive as stream entries with fields `id` and `record` (the JSON line), a retried batch is
// skipped by its marker key, MAXLEN ~ trims, a key of the wrong type dead-letters the batch, and
// an unreachable server holds the records (retried, /readyz not ready) until it is back, or
// dead-letters them at the shutdown deadline. Keys of each run share a prefix, deleted at the end.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { freePort } from '../../src/postgres/embedded.js';
import type { SluiceRecord } from '../../src/record.js';
import { RedisSink } from '../../src/sinks/redis/redis-sink.js';
import { postJson, startApp, tempDir, testConfig } from '../helpers/app.js';
import { cannotHere } from '../helpers/cannot-here.js';
import { GateProxy } from '../helpers/gate-proxy.js';
import { reachable } from '../helpers/reachable.js';
import { waitFor } from '../helpers/wait-for.js';

const REDIS_PORT = 6379;
const run = `sluicetest:${process.pid}${Date.now().toString(36)}`;
const dir = tempDir('sluice-redis-');
let redis: Redis | undefined;
let available = false;

before(async () => {
  available = await reachable(REDIS_PORT);
  if (available) redis = new Redis(REDIS_PORT, '127.0.0.1');
});

after(async () => {
  if (redis) {
    const keys = await redis.keys(`${run}:*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  }
  dir.remove();
});

function redisFlags(prefix: string, url: string, sub: string): Record<string, string | number> {
  return {
    'sink.kind': 'redis',
    'redis.url': url,
    'redis.streamPrefix': prefix,
    'redis.timeoutMs': 1000,
    'deadLetter.dir': join(dir.path, sub, 'dead-letter'),
    'wal.dir': join(dir.path, sub, 'wal'),
    'health.dataDir': join(dir.path, sub, 'health'),
  };
}

/** Entries of a stream as [record id field, parsed record]. */
async function entries(key: string): Promise<Array<{ id: string; record: Record<string, unknown> }>> {
  const raw = await redis!.xrange(key, '-', '+');
  return raw.map(([, fields]) => {
    const f: Record<string, string> = {};
    for (let i = 0; i < fields.length; i += 2) f[fields[i]!] = fields[i + 1]!;
    assert.deepEqual(Object.keys(f).sort(), ['id', 'record']);
    return { id: f.id!, record: JSON.parse(f.record!) as Record<string, unknown> };
  });
}

function logRecord(id: string, message: string): SluiceRecord {
  return {
    type: 'log',
    id,
    ts: Date.now() * 1000,
    received_at: Date.now() * 1000,
    size: 300,
    level: 'info',
    service: 'svc',
    message,
    attrs: null,
    trace_id: null,
    span_id: null,
  };
}

function sinkFor(prefix: string, maxLen: number): RedisSink {
  return new RedisSink({
    url: `redis://127.0.0.1:${REDIS_PORT}`,
    streamPrefix: prefix,
    maxLen,
    dedupeWindowMs: 60_000,
    timeoutMs: 2000,
    logger: pino({ level: 'silent' }),
  });
}

const signal = new AbortController().signal;

describe('redis sink', () => {
  test('records posted to /logs arrive as stream entries with id and record fields', async (t) => {
    if (!available) return cannotHere(t, `no Redis server on 127.0.0.1:${REDIS_PORT}`);
    const prefix = `${run}:arrive`;
    const app = await startApp(
      testConfig({ ...redisFlags(prefix, `redis://127.0.0.1:${REDIS_PORT}`, 'arrive'), 'ingest.ack': 'sink' }),
    );
    try {
      const ids = Array.from({ length: 20 }, (_, i) => `${run}-a-${i}`);
      const res = await postJson(
        `${app.url}/logs`,
        ids.map((id, i) => ({ id, message: `hello ${i}`, service: 'api', level: 'error', attrs: { n: i } })),
      );
      assert.equal(res.status, 202);
      const got = await entries(`${prefix}:logs`);
      assert.deepEqual(
        got.map((e) => e.id),
        ids,
      );
      for (const e of got) assert.equal(e.record.id, e.id);
      assert.equal(got[4]!.record.message, 'hello 4');
      assert.equal(got[4]!.record.service, 'api');
      assert.equal(got[4]!.record.level, 'error');
      assert.deepEqual(got[4]!.record.attrs, { n: 4 });
      assert.equal(await redis!.exists(`${prefix}:health`), 0, 'no entries for a type not sent');
      assert.equal((await fetch(`${app.url}/readyz`)).status, 200);
    } finally {
      await app.stop();
    }
  });

  test('a retried batch is skipped by its marker; wasCommitted reads the marker', async (t) => {
    if (!available) return cannotHere(t, `no Redis server on 127.0.0.1:${REDIS_PORT}`);
    const prefix = `${run}:dedupe`;
    const sink = sinkFor(prefix, 0);
    await sink.start();
    try {
      const batch = { id: 'b1', count: 2, records: [logRecord('r1', 'one'), logRecord('r2', 'two')], bytes: 600 };
      assert.equal(await sink.wasCommitted('b1'), false);
      await sink.writeBatch(batch, signal);
      await sink.writeBatch(batch, signal);
      assert.equal(sink.duplicateBatches, 1);
      assert.equal(await sink.wasCommitted('b1'), true);
      assert.equal(await redis!.xlen(`${prefix}:logs`), 2);
      const ttl = await redis!.ttl(`${prefix}:batch:b1`);
      assert.ok(ttl > 0 && ttl <= 60, `marker expires within the window (ttl ${ttl})`);
      await sink.writeBatch({ ...batch, id: 'b2' }, signal);
      assert.equal(await redis!.xlen(`${prefix}:logs`), 4);
    } finally {
      await sink.close();
    }
  });

  test('MAXLEN ~ trims each stream to about redis.maxLen entries', async (t) => {
    if (!available) return cannotHere(t, `no Redis server on 127.0.0.1:${REDIS_PORT}`);
    const prefix = `${run}:trim`;
    const sink = sinkFor(prefix, 50);
    await sink.start();
    try {
      for (let b = 0; b < 20; b++) {
        const records = Array.from({ length: 50 }, (_, i) => logRecord(`t${b}-${i}`, 'x'));
        await sink.writeBatch({ id: `trim-${b}`, count: records.length, records, bytes: 50 * 300 }, signal);
      }
      const len = await redis!.xlen(`${prefix}:logs`);
      // "~" trims whole radix-tree nodes (stream-node-max-entries, 100 by default): never below
      // maxLen, at most one node above it.
      const nodeMax = Number(((await redis!.config('GET', 'stream-node-max-entries')) as string[])[1]);
      assert.ok(len >= 50 && len <= 50 + nodeMax, `xlen ${len} after 1000 entries, maxLen 50`);
      const last = await redis!.xrevrange(`${prefix}:logs`, '+', '-', 'COUNT', 1);
      assert.equal(last[0]![1][1], 't19-49', 'the newest entries are kept');
    } finally {
      await sink.close();
    }
  });

  test('a key of the wrong type is a permanent error: the batch is dead-lettered, not retried forever', async (t) => {
    if (!available) return cannotHere(t, `no Redis server on 127.0.0.1:${REDIS_PORT}`);
    const prefix = `${run}:wrongtype`;
    await redis!.set(`${prefix}:logs`, 'not a stream');
    const app = await startApp(
      testConfig({ ...redisFlags(prefix, `redis://127.0.0.1:${REDIS_PORT}`, 'wrongtype'), 'ingest.ack': 'memory' }),
    );
    try {
      assert.equal(
        (
          await postJson(`${app.url}/logs`, [
            { id: 'w1', message: 'a' },
            { id: 'w2', message: 'b' },
          ])
        ).status,
        202,
      );
      await waitFor('2 dead-lettered records', () => app.deadLetter.records === 2);
    } finally {
      await app.stop();
    }
    const text = await readFile(join(dir.path, 'wrongtype', 'dead-letter', 'redis.ndjson'), 'utf8');
    assert.match(text, /WRONGTYPE/);
  });

  test('an unreachable server: not ready, records held and retried, then all arrive once', async (t) => {
    if (!available) return cannotHere(t, `no Redis server on 127.0.0.1:${REDIS_PORT}`);
    const prefix = `${run}:outage`;
    const gate = new GateProxy(await freePort(), { host: '127.0.0.1', port: REDIS_PORT });
    const app = await startApp(
      testConfig({
        ...redisFlags(prefix, `redis://127.0.0.1:${gate.port}`, 'outage'),
        'ingest.ack': 'memory',
        'retry.baseDelayMs': 20,
        'retry.maxDelayMs': 200,
        'breaker.halfOpenAfterMs': 200,
      }),
    );
    try {
      const ids = Array.from({ length: 10 }, (_, i) => `o${i}`);
      assert.equal(
        (
          await postJson(
            `${app.url}/logs`,
            ids.slice(0, 5).map((id) => ({ id, message: 'm' })),
          )
        ).status,
        202,
      );
      await waitFor('/readyz to say the sink is unreachable', async () => {
        const r = await fetch(`${app.url}/readyz`);
        const body = (await r.json()) as { reasons?: string[] };
        return r.status === 503 && body.reasons?.some((x) => /sink redis/.test(x));
      });
      await waitFor('a failed write', () => app.pool.stats().failures > 0);
      await gate.open();
      await waitFor('5 entries', async () => (await redis!.xlen(`${prefix}:logs`)) === 5, 15_000);
      await gate.close();
      assert.equal(
        (
          await postJson(
            `${app.url}/logs`,
            ids.slice(5).map((id) => ({ id, message: 'm' })),
          )
        ).status,
        202,
      );
      await waitFor('a failed write after the cut', () => app.pool.stats().failures > 1, 15_000);
      await gate.open();
      await waitFor('10 entries', async () => (await redis!.xlen(`${prefix}:logs`)) >= 10, 20_000);
      await waitFor('/readyz ready again', async () => (await fetch(`${app.url}/readyz`)).status === 200, 10_000);
      const got = (await entries(`${prefix}:logs`)).map((e) => e.id);
      assert.deepEqual([...got].sort(), [...ids].sort(), 'each record exactly once');
    } finally {
      await app.stop();
      await gate.close();
    }
  });

  test('still unreachable at the shutdown deadline: the records go to the dead-letter file', async (t) => {
    if (!available) return cannotHere(t, `no Redis server on 127.0.0.1:${REDIS_PORT}`);
    const prefix = `${run}:dead`;
    const port = await freePort(); // nothing listens there
    const app = await startApp(
      testConfig({
        ...redisFlags(prefix, `redis://127.0.0.1:${port}`, 'dead'),
        'ingest.ack': 'memory',
        'retry.baseDelayMs': 20,
        'retry.maxDelayMs': 100,
        'shutdown.timeoutMs': 500,
      }),
    );
    const ids = ['x1', 'x2', 'x3'];
    assert.equal(
      (
        await postJson(
          `${app.url}/logs`,
          ids.map((id) => ({ id, message: 'lost?' })),
        )
      ).status,
      202,
    );
    await waitFor('a failed write', () => app.pool.stats().failures > 0);
    await app.stop();
    const text = await readFile(join(dir.path, 'dead', 'dead-letter', 'redis.ndjson'), 'utf8');
    const dead = text
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as { id: string; dead_letter: { sink: string } });
    assert.ok(dead.every((d) => d.dead_letter.sink === 'redis'));
    assert.deepEqual(dead.map((d) => d.id).sort(), [...ids].sort());
  });
});
