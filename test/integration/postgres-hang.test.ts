// The PostgreSQL sink never hangs on a dead network: a server that accepts and never answers
// fails the connect after postgres.connectTimeoutMs, and a connection that goes silent in the
// middle of a batch is cut after postgres.statementTimeoutMs (+1 s) — errors the writer pool
// retries. The retried batch then lands exactly once.
import assert from 'node:assert/strict';
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { pino } from 'pino';
import { type LogRecord } from '../../src/record.js';
import { uuidv7 } from '../../src/uuidv7.js';
import { standalonePostgresSink } from '../../src/database.js';
import type { PostgresSink } from '../../src/sinks/postgres/postgres-sink.js';
import type { Batch } from '../../src/batch.js';
import { testConfig } from '../helpers/app.js';
import { createTestDatabase, stopOwnServer, type TestDatabase } from '../helpers/postgres.js';

function records(n: number): LogRecord[] {
  const now = Date.now() * 1000;
  return Array.from({ length: n }, (_, i) => ({
    type: 'log',
    id: uuidv7(),
    ts: now,
    received_at: now,
    size: 100,
    level: 'info',
    service: 'hang',
    message: `m${i}`,
    attrs: null,
    trace_id: null,
    span_id: null,
  }));
}

function sinkFor(url: string, over: Record<string, string | number | boolean>): PostgresSink {
  const config = testConfig({ 'sink.kind': 'postgres', 'postgres.url': url, ...over });
  return standalonePostgresSink(config, pino({ level: 'silent' }));
}

/** A TCP proxy to PostgreSQL that can go silent: bytes stop flowing, nothing is closed. */
class FreezingProxy {
  frozen = false;
  private readonly sockets = new Set<Socket>();
  private constructor(readonly server: Server) {}

  static async start(target: URL): Promise<FreezingProxy> {
    const ref: { p?: FreezingProxy } = {};
    const server = createServer((client) => {
      const upstream = connect(Number(target.port || 5432), target.hostname);
      for (const s of [client, upstream]) {
        ref.p!.sockets.add(s);
        s.on('error', () => undefined);
        s.once('close', () => ref.p!.sockets.delete(s));
      }
      client.on('data', (c: Buffer) => void (ref.p!.frozen || upstream.write(c)));
      upstream.on('data', (c: Buffer) => void (ref.p!.frozen || client.write(c)));
      client.once('close', () => upstream.destroy());
      upstream.once('close', () => client.destroy());
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return (ref.p = new FreezingProxy(server));
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}

describe('the PostgreSQL sink on a dead network', () => {
  let db: TestDatabase;
  before(async () => {
    db = await createTestDatabase();
  });
  after(async () => {
    await db.drop();
    await stopOwnServer();
  });

  test('a server that accepts and never answers fails the connect after connectTimeoutMs', async () => {
    const silent = createServer(() => undefined);
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const url = `postgres://postgres@127.0.0.1:${(silent.address() as AddressInfo).port}/x`;
    const sink = sinkFor(url, { 'postgres.connectTimeoutMs': 500 });
    const started = performance.now();
    try {
      await assert.rejects(sink.start());
      // An upper bound far from the 500 ms asked for, yet far below "hangs".
      assert.ok(performance.now() - started < 10_000, `gave up after ${performance.now() - started} ms`);
    } finally {
      await sink.close().catch(() => undefined);
      silent.close();
    }
  });

  test(
    'a connection that goes silent mid-batch is cut after statementTimeoutMs + 1 s; the retry stores the batch once',
    { timeout: 60_000 },
    async () => {
      const url = new URL(db.url);
      const proxy = await FreezingProxy.start(url);
      const viaProxy = new URL(db.url);
      viaProxy.hostname = '127.0.0.1';
      viaProxy.port = String(proxy.port);
      const sink = sinkFor(viaProxy.toString(), {
        'postgres.statementTimeoutMs': 1000,
        'postgres.connectTimeoutMs': 2000,
      });
      try {
        await sink.start();
        const recs = records(500);
        const b: Batch = {
          id: uuidv7(),
          count: recs.length,
          records: recs,
          bytes: 50_000,
          createdAt: Date.now(),
          trigger: 'size',
          tickets: [],
          links: [],
        };
        proxy.frozen = true;
        const started = performance.now();
        await assert.rejects(sink.writeBatch(b, new AbortController().signal));
        const took = performance.now() - started;
        assert.ok(took >= 900, `cut after ${took} ms: not before the statement timeout`);
        assert.ok(took < 15_000, `cut after ${took} ms`);
        proxy.frozen = false;
        await sink.writeBatch(b, new AbortController().signal);
        await sink.writeBatch(b, new AbortController().signal); // and once more: a no-op by its batch id
        assert.equal(await db.count('logs', "service = 'hang'"), 500);
      } finally {
        await sink.close().catch(() => undefined);
        await proxy.close();
      }
    },
  );
});
