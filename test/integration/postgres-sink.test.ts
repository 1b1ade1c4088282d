// The PostgreSQL sink against a real server: every record type lands in its table, a batch
// retried after a lost COMMIT reply is not stored twice, data errors are permanent, record
// dedupe, concurrent migrations, and retention dropping only old partitions.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { pino } from 'pino';
import pg from 'pg';
import { PermanentSinkError } from '../../src/errors.js';
import { type CheckRecord, type HealthRecord, type LogRecord, type SluiceRecord } from '../../src/record.js';
import { MIN_MICROS } from '../../src/timestamp.js';
import { uuidv7 } from '../../src/uuidv7.js';
import { MIGRATIONS, standalonePostgresSink } from '../../src/database.js';
import type { PostgresSink } from '../../src/sinks/postgres/postgres-sink.js';
import { BinaryWriter, encodeTuple } from '../../src/sinks/postgres/copy-encode.js';
import { migrate } from '../../src/postgres/migrate.js';
import { logPartitions, partitionName } from '../../src/postgres/partitions.js';
import type { Batch } from '../../src/batch.js';
import { testConfig } from '../helpers/app.js';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.js';
import { CommitReplyDropper } from '../helpers/tcp-proxy.js';

const DAY_US = 86_400_000_000;
const nowUs = (): number => Date.now() * 1000;

export function logRecord(i: number, over: Partial<LogRecord> = {}): LogRecord {
  return {
    type: 'log',
    id: uuidv7(),
    ts: nowUs(),
    received_at: nowUs(),
    size: 100,
    level: 'info',
    service: 'api',
    message: `message ${i} with "quotes", a tab\t, a newline\n and ünïcödé`,
    attrs: JSON.stringify({ i, nested: { ok: true } }),
    trace_id: null,
    span_id: null,
    ...over,
  };
}

function healthRecord(i: number): HealthRecord {
  return {
    type: 'health',
    id: uuidv7(),
    ts: nowUs(),
    received_at: nowUs(),
    size: 80,
    service: `svc-${i % 3}`,
    status: 'up',
    latency_ms: 1.5,
    message: null,
    attrs: null,
  };
}

function checkRecord(i: number): CheckRecord {
  return {
    type: 'check',
    id: uuidv7(),
    ts: nowUs(),
    received_at: nowUs(),
    size: 120,
    check_id: 'c1',
    check_name: 'api',
    kind: 'http',
    ok: i % 2 === 0,
    status: i % 2 === 0 ? 'up' : 'down',
    latency_ms: 12,
    status_code: 200,
    error_class: null,
    message: null,
    details: JSON.stringify({ i }),
  };
}

function batch(records: SluiceRecord[], id = uuidv7()): Batch {
  return {
    id,
    count: records.length,
    records,
    bytes: records.length * 100,
    createdAt: Date.now(),
    trigger: 'size',
    tickets: [],
    links: [],
  };
}

function sinkFor(url: string, over: Record<string, string | number | boolean> = {}): PostgresSink {
  const config = testConfig({ 'sink.kind': 'postgres', 'postgres.url': url, ...over });
  return standalonePostgresSink(config, pino({ level: 'silent' }));
}

const signal = new AbortController().signal;

describe('postgres sink', () => {
  let db: TestDatabase;
  let sink: PostgresSink;
  before(async () => {
    db = await createTestDatabase();
    sink = sinkFor(db.url);
    await sink.start();
  });
  after(async () => {
    await sink.close();
    await db.drop();
  });

  test('a mixed batch lands in logs, health_pings and check_results with its fields intact', async () => {
    const logs = Array.from({ length: 50 }, (_, i) =>
      logRecord(i, { trace_id: i === 0 ? 'a'.repeat(32) : null, level: i === 1 ? 'error' : 'info' }),
    );
    const records: SluiceRecord[] = [
      ...logs,
      ...Array.from({ length: 7 }, (_, i) => healthRecord(i)),
      ...Array.from({ length: 4 }, (_, i) => checkRecord(i)),
    ];
    await sink.writeBatch(batch(records), signal);
    assert.equal(await db.count('logs'), 50);
    assert.equal(await db.count('health_pings'), 7);
    assert.equal(await db.count('check_results'), 4);
    assert.equal(await db.count('check_results', 'ok'), 2);
    const first = logs[0]!;
    const { rows } = await db.pool.query(
      `SELECT id, level, service, message, attrs, trace_id, (extract(epoch from ts) * 1000000)::bigint AS ts_us,
              (extract(epoch from received_at) * 1000000)::bigint AS rec_us FROM logs WHERE id = $1`,
      [first.id],
    );
    assert.equal(rows.length, 1);
    assert.equal(rows[0].message, first.message);
    assert.deepEqual(rows[0].attrs, { i: 0, nested: { ok: true } });
    assert.equal(rows[0].trace_id, 'a'.repeat(32));
    assert.equal(Number(rows[0].ts_us), first.ts);
    assert.equal(Number(rows[0].rec_us), first.received_at);
    assert.equal(await db.count('logs', "level = 'error'"), 1);
  });

  test('an abort that comes while the write waits for a connection stops it: nothing is written', async () => {
    const before = await db.count('logs');
    const ctl = new AbortController();
    const write = sink.writeBatch(batch(Array.from({ length: 5 }, (_, i) => logRecord(i))), ctl.signal);
    ctl.abort(new Error('shutdown deadline'));
    await assert.rejects(write, /shutdown deadline/);
    assert.equal(await db.count('logs'), before);
  });

  test('the same batch id written twice stores its rows once', async () => {
    const before = await db.count('logs');
    const b = batch(Array.from({ length: 20 }, (_, i) => logRecord(i)));
    await sink.writeBatch(b, signal);
    const dupBefore = sink.stats().duplicateBatches;
    await sink.writeBatch(b, signal);
    assert.equal(await db.count('logs'), before + 20);
    assert.equal(sink.stats().duplicateBatches, dupBefore + 1);
    assert.equal(await db.count('sluice_batches', `batch_id = '${b.id}'`), 1);
  });

  test("a batch's COPY tuples encoded on admission (the WAL's) are sent as they are, with tenant and attrs", async () => {
    const records = Array.from({ length: 30 }, (_, i) => logRecord(i, { tenant: i % 2 ? 'acme' : undefined }));
    const w = new BinaryWriter(1024);
    const tuples = (rs: SluiceRecord[]): Buffer => {
      w.off = 0;
      for (const r of rs) encodeTuple(w, r);
      return Buffer.from(w.buf.subarray(0, w.off));
    };
    // The tuples say something the record objects do not: what is stored shows which the sink sent.
    const sent = records.map((r) => ({ ...r, message: `sent as encoded: ${r.message!}` }));
    const rows = [{ type: 'log' as const, count: 30, tuples: [tuples(sent.slice(0, 10)), tuples(sent.slice(10))] }];
    await sink.writeBatch({ ...batch(records), rows }, signal);
    const stored = await db.pool.query('SELECT id, message, attrs, tenant FROM logs WHERE id = ANY($1) ORDER BY id', [
      records.map((r) => r.id),
    ]);
    assert.equal(stored.rows.length, 30);
    for (const row of stored.rows as Array<{ id: string; message: string; attrs: unknown; tenant: string | null }>) {
      const r = sent.find((x) => x.id === row.id)!;
      assert.equal(row.message, r.message);
      assert.deepEqual(row.attrs, JSON.parse(r.attrs!));
      assert.equal(row.tenant, r.tenant ?? null);
    }
    // A batch of two types: each type's tuples go to its own table.
    const log = logRecord(100);
    const ping = healthRecord(100);
    const mixed = batch([log, ping]);
    await sink.writeBatch(
      {
        ...mixed,
        rows: [
          { type: 'log', count: 1, tuples: [tuples([{ ...log, message: 'log as encoded' }])] },
          { type: 'health', count: 1, tuples: [tuples([{ ...ping, message: 'ping as encoded' }])] },
        ],
      },
      signal,
    );
    const l = await db.pool.query('SELECT message FROM logs WHERE id = $1', [log.id]);
    const h = await db.pool.query('SELECT message FROM health_pings WHERE id = $1', [ping.id]);
    assert.deepEqual([l.rows[0].message, h.rows[0].message], ['log as encoded', 'ping as encoded']);
  });

  test('text COPY stores the same values as binary COPY', async () => {
    const textSink = sinkFor(db.url, { 'postgres.copyFormat': 'text' });
    await textSink.start();
    try {
      const r = logRecord(1, {
        message: 'back\\slash, tab\t, newline\n, cr\r, nul\0 end',
        attrs: '{"k":"v\\u0000x"}',
        service: null,
      });
      await textSink.writeBatch(batch([r]), signal);
      const { rows } = await db.pool.query('SELECT message, attrs, service FROM logs WHERE id = $1', [r.id]);
      assert.equal(rows[0].message, 'back\\slash, tab\t, newline\n, cr\r, nul\uFFFD end');
      assert.deepEqual(rows[0].attrs, { k: 'v\uFFFDx' });
      assert.equal(rows[0].service, null);
      // The earliest time ingest accepts has a text form (the year 0000 had not: a permanent failure).
      const early = logRecord(2, { ts: MIN_MICROS });
      await textSink.writeBatch(batch([early]), signal);
      const back = await db.pool.query<{ y: number }>(
        "SELECT extract(year FROM ts AT TIME ZONE 'UTC')::int AS y FROM logs WHERE id = $1",
        [early.id],
      );
      assert.equal(back.rows[0]?.y, 1);
    } finally {
      await textSink.close();
    }
  });

  for (const format of ['binary', 'text'] as const) {
    test(`NUL and lone surrogates in attrs keys and values are stored as U+FFFD, not a failed batch (${format})`, async () => {
      const s = sinkFor(db.url, { 'postgres.copyFormat': format });
      await s.start();
      try {
        // As normalise serialises them: JSON.stringify writes both as escapes jsonb refuses.
        const attrs = JSON.stringify({
          'tag\0': 1,
          lone: 'a\ud800b',
          ['k\udc00']: ['x\0', { 'n\0': 'v\udbff' }],
          pair: '\ud83d\ude00',
        });
        const ok = logRecord(1);
        const odd = logRecord(2, { attrs, message: 'lone \ud800 here' });
        await s.writeBatch(batch([ok, odd]), signal);
        const { rows } = await db.pool.query('SELECT id, attrs, message FROM logs WHERE id = ANY($1)', [
          [ok.id, odd.id],
        ]);
        assert.equal(rows.length, 2, 'both records stored');
        const stored = rows.find((r) => r.id === odd.id);
        assert.deepEqual(stored.attrs, {
          'tag\uFFFD': 1,
          lone: 'a\uFFFDb',
          'k\uFFFD': ['x\uFFFD', { 'n\uFFFD': 'v\uFFFD' }],
          pair: '\u{1F600}',
        });
        assert.equal(stored.message, 'lone \uFFFD here');
      } finally {
        await s.close();
      }
    });
  }

  for (const format of ['binary', 'text'] as const) {
    test(`a row that cannot be stored fails the batch permanently (no retry) and stores nothing of it (${format})`, async () => {
      const s = sinkFor(db.url, { 'postgres.copyFormat': format });
      await s.start();
      try {
        const before = await db.count('logs');
        // status_code is an int4 column: binary encoding refuses the value, text COPY gets SQLSTATE 22003.
        const bad = { ...checkRecord(0), status_code: 2 ** 40 };
        await assert.rejects(s.writeBatch(batch([logRecord(0), bad]), signal), (err: unknown) => {
          assert.ok(err instanceof PermanentSinkError, `permanent, got ${String(err)}`);
          if (format === 'text') assert.match((err as Error).message, /SQLSTATE 22003/);
          return true;
        });
        assert.equal(await db.count('logs'), before, 'the whole batch rolled back');
      } finally {
        await s.close();
      }
    });
  }

  test('health() reports ok, and a server that became unreachable as a reason naming postgres', async () => {
    assert.deepEqual(await sink.health(), { ok: true });
    // A started sink whose server then goes away: route it through a proxy, then close the proxy.
    const proxy = await CommitReplyDropper.start(new URL(db.url));
    const behind = sinkFor(proxy.urlFor(db.url), { 'postgres.connectTimeoutMs': 2000 });
    let closed = false;
    try {
      await behind.start();
      assert.deepEqual(await behind.health(), { ok: true }, 'reachable through the proxy');
      await proxy.close();
      closed = true;
      const h = await behind.health();
      assert.equal(h.ok, false, 'unreachable: not ok');
      assert.match(h.reason ?? '', /^postgres: \S/, `the reason names postgres and the error: ${JSON.stringify(h)}`);
      assert.match(
        h.reason ?? '',
        /ECONNREFUSED|terminated|connect|closed|no answer/i,
        `the reason says why: ${h.reason}`,
      );
    } finally {
      await behind.close();
      if (!closed) await proxy.close();
    }
    // And a server that was never there fails start() with its address.
    const dead = sinkFor('postgres://postgres@127.0.0.1:1/nothing', { 'postgres.connectTimeoutMs': 500 });
    await assert.rejects(dead.start(), /127\.0\.0\.1:1/);
  });
});

describe('postgres sink: a lost COMMIT reply', () => {
  let db: TestDatabase;
  let proxy: CommitReplyDropper;
  before(async () => {
    db = await createTestDatabase();
    proxy = await CommitReplyDropper.start(new URL(db.url));
  });
  after(async () => {
    await proxy.close();
    await db.drop();
  });

  test('the retry of a batch whose COMMIT reached the server is recognised: rows stored once', async () => {
    const sink = sinkFor(proxy.urlFor(db.url));
    await sink.start();
    try {
      const b = batch(Array.from({ length: 300 }, (_, i) => logRecord(i)));
      proxy.dropNextCommitReply();
      // The server commits, but the reply never arrives: to the sink the outcome is unknown.
      await assert.rejects(sink.writeBatch(b, signal));
      assert.equal(proxy.droppedReplies, 1);
      assert.equal(
        proxy.executedCommits,
        1,
        'the proxy cut the connection only once the server had executed the COMMIT',
      );
      assert.equal(await db.count('logs'), 300, 'the first attempt did commit');
      // What the writer pool does next: retry the same batch.
      await sink.writeBatch(b, signal);
      assert.equal(await db.count('logs'), 300, 'the retry added nothing');
      assert.equal(sink.stats().duplicateBatches, 1);
    } finally {
      await sink.close();
    }
  });
});

describe('postgres sink: dedupe on record ids', () => {
  test('with postgres.dedupe a record id already stored is skipped, also within one batch', async () => {
    const db = await createTestDatabase();
    const sink = sinkFor(db.url, { 'postgres.dedupe': true });
    await sink.start();
    try {
      const a = logRecord(1, { id: 'client-key-1' });
      const b = logRecord(2, { id: 'client-key-2' });
      await sink.writeBatch(batch([a, b]), signal);
      await sink.writeBatch(
        batch([
          logRecord(3, { id: 'client-key-1' }),
          logRecord(4, { id: 'client-key-3' }),
          logRecord(5, { id: 'client-key-3' }),
        ]),
        signal,
      );
      assert.equal(await db.count('logs'), 3);
      assert.equal(await db.count('logs', "id = 'client-key-1'"), 1);
      assert.equal(
        (await db.pool.query("SELECT message FROM logs WHERE id = 'client-key-1'")).rows[0].message,
        a.message,
        'the first one wins',
      );
      assert.equal(sink.stats().duplicateRecords, 2);
    } finally {
      await sink.close();
      await db.drop();
    }
  });
});

describe('migrations', () => {
  test('run concurrently by several collectors, they apply once and all succeed', async () => {
    const db = await createTestDatabase();
    const pools = Array.from({ length: 4 }, () => new pg.Pool({ connectionString: db.url, max: 1 }));
    try {
      const results = await Promise.all(pools.map((p) => migrate(p, MIGRATIONS)));
      assert.deepEqual(
        results.map((r) => r.version),
        Array(4).fill(Math.max(...MIGRATIONS.map((m) => m.version))),
      );
      assert.equal(results.filter((r) => r.applied.length > 0).length, 1, 'exactly one applied the schema');
      assert.equal(await db.count('sluice_migrations'), MIGRATIONS.length);
      const again = await migrate(pools[0]!, MIGRATIONS);
      assert.deepEqual(again.applied, []);
    } finally {
      await Promise.all(pools.map((p) => p.end()));
      await db.drop();
    }
  });
});

describe('retention', () => {
  test('creates partitions ahead, drops only those wholly past retention, keeps the rest', async () => {
    const db = await createTestDatabase();
    const sink = sinkFor(db.url, { 'retention.days': 3, 'postgres.partitionDaysAhead': 2 });
    await sink.start();
    try {
      const today = Math.floor(Date.now() / 86_400_000) * 86_400_000;
      const names = await logPartitions(db.pool);
      assert.ok(names.includes(partitionName(today)), 'today exists');
      assert.ok(names.includes(partitionName(today + 2 * 86_400_000)), 'two days ahead exist');
      // Rows today and 1 day ago (kept) and far in the future (default partition, moved later).
      await sink.writeBatch(
        batch([logRecord(1), logRecord(2, { ts: nowUs() - DAY_US }), logRecord(3, { ts: nowUs() + 10 * DAY_US })]),
        signal,
      );
      assert.equal(await db.count('logs_default'), 1);
      // Ten days later: today's and yesterday's partitions are past retention; the future row's day is not.
      const report = await sink.database.maintain(Date.now() + 10 * 86_400_000);
      assert.ok(
        report.dropped.includes(partitionName(today)),
        `dropped today's partition: ${report.dropped.join(',')}`,
      );
      assert.ok(report.created.includes(partitionName(today + 10 * 86_400_000)));
      assert.equal(await db.count('logs'), 1, 'only the row within retention is left');
      assert.equal(await db.count('logs_default'), 0, 'the future row moved into its new daily partition');
      const left = await logPartitions(db.pool);
      assert.ok(
        left.every((n) => n >= partitionName(today + 7 * 86_400_000)),
        `no partition older than retention: ${left.join(',')}`,
      );
    } finally {
      await sink.close();
      await db.drop();
    }
  });
});
