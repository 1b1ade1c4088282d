// Records held as their COPY tuples between admission and the sink: the runs a request becomes,
// their slices, the batch built from them (rows without records; records decoded only when
// read, and equal to what went in), and the WAL holding no record objects once it admitted them.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { receivedRuns } from '../../src/batch.js';
import type { EncodedRecords } from '../../src/pipeline/buffer.js';
import { ChunkQueue } from '../../src/pipeline/chunk-queue.js';
import { MemoryBuffer } from '../../src/pipeline/memory-buffer.js';
import { heldBatch, heldRecords, sliceRun, tupleRun, type Held } from '../../src/pipeline/held-records.js';
import { toJsonLine, type HealthRecord, type LogRecord, type SluiceRecord } from '../../src/record.js';
import { BinaryWriter, encodeTuple } from '../../src/sinks/postgres/copy-encode.js';
import { tempDir } from '../helpers/app.js';
import { cutBatch, many, openWal, rec } from '../helpers/wal.js';

const dirs: Array<() => void> = [];
after(() => dirs.forEach((d) => d()));

/** A WAL in a directory of its own, removed after the tests. */
function walIn(over: Parameters<typeof openWal>[1] = {}): ReturnType<typeof openWal> {
  const d = tempDir('sluice-held-');
  dirs.push(d.remove);
  return openWal(d.path, over);
}

/** The records' tuples back to back, and where each starts (and the last ends). */
function encode(records: readonly SluiceRecord[]): { tuples: Buffer; offsets: number[]; sizes: number[] } {
  const w = new BinaryWriter(1024);
  const offsets: number[] = [];
  for (const r of records) {
    offsets.push(w.off);
    encodeTuple(w, r);
  }
  offsets.push(w.off);
  return { tuples: Buffer.from(w.buf.subarray(0, w.off)), offsets, sizes: records.map((r) => r.size) };
}

const health = (i: number): HealthRecord => ({
  type: 'health',
  id: `h${i}`,
  ts: 1_700_000_000_000_000,
  received_at: 1_700_000_000_000_000,
  service: 'svc',
  status: 'up',
  latency_ms: 3,
  message: null,
  attrs: null,
  size: 100,
});

const fields = { id: 'b', bytes: 0, createdAt: 0, trigger: 'size' as const, tickets: [], links: [] };

describe('held records', () => {
  test('a request of one type becomes a run: one receive time when all share it, one each otherwise', () => {
    const same = many(3);
    const { tuples, sizes } = encode(same);
    assert.equal(tupleRun(same, tuples, sizes)?.receivedAt, same[0]!.received_at);
    const apart = many(3).map((r, i) => ({ ...r, received_at: r.received_at + i }));
    assert.deepEqual(
      tupleRun(apart, tuples, sizes)?.receivedAt,
      apart.map((r) => r.received_at),
    );
    assert.equal(tupleRun([rec(1), health(1)], tuples, sizes), undefined, 'two types: held as objects');
    assert.equal(tupleRun([], Buffer.alloc(0), []), undefined, 'no records: nothing to hold');
  });

  test('the slices of a run decode to the records they hold, in order', () => {
    const records = many(7).map((r, i) => ({ ...r, received_at: r.received_at + (i % 3), size: 50 + i }));
    const { tuples, offsets, sizes } = encode(records);
    const run = tupleRun(records, tuples, sizes)!;
    const parts = [sliceRun(run, offsets, 0, 2), sliceRun(run, offsets, 2, 3), sliceRun(run, offsets, 3, 7)];
    assert.deepEqual(heldRecords(parts), records);
    assert.deepEqual(
      parts.map((p) => p.sizes),
      [[50, 51], [52], [53, 54, 55, 56]],
    );
  });

  test('a batch of tuple runs carries them as rows and builds no records until read', () => {
    const records = many(4);
    const { tuples, offsets, sizes } = encode(records);
    const run = tupleRun(records, tuples, sizes)!;
    // A run whose bytes are no tuples: reading the records would throw, so the batch must not.
    const broken: Held = { ...run, tuples: Buffer.from('not a tuple') };
    const b = heldBatch({ ...fields, count: 6 }, [sliceRun(run, offsets, 0, 2), broken]);
    assert.deepEqual(b.rows, [{ type: 'log', count: 6, tuples: [tuples.subarray(0, offsets[2]), broken.tuples] }]);
    assert.deepEqual(b.received, [records[0]!.received_at, 6], 'one run: the same receive time throughout');
    assert.throws(() => b.records, /tuple/);
  });

  test('runs of two types give rows by type; a batch with objects has none; records are all of them, in order', () => {
    const logs = many(2);
    const pings = [health(1), health(2)];
    const l = encode(logs);
    const h = encode(pings);
    const logRun = tupleRun(logs, l.tuples, l.sizes)!;
    const healthRun = tupleRun(pings, h.tuples, h.sizes)!;
    const two = heldBatch({ ...fields, count: 6 }, [logRun, healthRun, logRun]);
    assert.deepEqual(two.rows, [
      { type: 'log', count: 4, tuples: [l.tuples, l.tuples] },
      { type: 'health', count: 2, tuples: [h.tuples] },
    ]);
    assert.deepEqual(two.records, [...logs, ...pings, ...logs]);
    const objects: LogRecord[] = [{ ...rec(9), received_at: 5 }];
    const mixed = heldBatch({ ...fields, count: 3 }, [logRun, objects]);
    assert.equal(mixed.rows, undefined);
    assert.deepEqual(mixed.records, [...logs, ...objects]);
    assert.deepEqual(mixed.received, [logs[0]!.received_at, 2, 5, 1]);
    assert.deepEqual(receivedRuns(mixed), mixed.received);
  });

  test('receive-time runs read from records when a batch has none', () => {
    const records = [1, 1, 2, 1].map((at, i) => ({ ...rec(i), received_at: at }));
    assert.deepEqual(receivedRuns({ ...fields, count: 4, records }), [1, 2, 2, 1, 1, 1]);
  });

  test('the chunk queue slices a tuple chunk by the records’ sizes and keeps objects as objects', () => {
    const q = new ChunkQueue();
    const records = many(5);
    const e = encode(records);
    q.pushTuples(tupleRun(records, e.tuples, e.sizes)!, e.offsets, 10, undefined, undefined);
    q.push(many(2, 5), 15, undefined, undefined);
    const first = q.take(3, Infinity);
    assert.equal(first.count, 3);
    assert.equal(first.endSeq, 13);
    assert.deepEqual(heldRecords(first.parts), records.slice(0, 3));
    const second = q.take(100, 250); // sizes are 100: two records fit 250 bytes
    assert.deepEqual([second.count, second.bytes, second.endSeq], [2, 200, 15]);
    const third = q.take(100, Infinity);
    assert.ok(Array.isArray(third.parts[0]), 'objects stay objects');
    assert.deepEqual(heldRecords(third.parts), many(2, 5));
  });
});

describe('the WAL holds what it admitted as tuples', () => {
  test('no record objects are held after admission; taken records equal what was pushed', async () => {
    const { wal } = await walIn();
    const pushed = many(3).map((r, i) => ({ ...r, attrs: JSON.stringify({ i }) }));
    await wal.push(pushed, 300, { timeoutMs: 0 });
    await wal.push([rec(7), health(7)], 200, { timeoutMs: 0 }); // two types: kept as objects
    const t = wal.take(100, Infinity);
    assert.equal(t.count, 5);
    assert.equal(Array.isArray(t.parts[0]), false, 'the one-type request is held as its tuples');
    assert.ok(Array.isArray(t.parts[1]));
    // Decoded from the tuples: attrs come back as stored (JSON text), the rest as pushed.
    assert.deepEqual(t.records, [...pushed, rec(7), health(7)]);
    await wal.shutdown();
  });

  test('a request that parsed to none, let in from the wait line, adds nothing and fails nothing', async () => {
    const { wal } = await walIn({ maxRecords: 1 });
    await wal.push(many(1), 100, { timeoutMs: 0 });
    const waited = wal.push(many(1, 1), 100, { timeoutMs: 5000 });
    const none = wal.pushDeferred({ rawBytes: 2, parse: () => ({ records: [], bytes: 0 }) }, { timeoutMs: 5000 });
    wal.started(cutBatch(wal, 1)); // room: both are let in
    await Promise.all([waited, none]);
    assert.deepEqual(
      wal.take(10, Infinity).records.map((r) => r.id),
      ['r1'],
    );
    await wal.shutdown();
  });

  test('a large request let in from the wait line is encoded in steps, at the head of the line', async () => {
    const { wal } = await walIn({ maxRecords: 1 });
    await wal.push(many(1), 100, { timeoutMs: 0 });
    const first = wal.push(many(1, 1), 100, { timeoutMs: 10_000 });
    // A large body parsed before it was queued (as ingest does), waiting behind `first`.
    const large = many(10_000, 2);
    const waited = wal.pushDeferred(
      { rawBytes: 1_000_000, parse: () => ({ records: large, bytes: 1_000_000 }) },
      { timeoutMs: 10_000 },
    );
    wal.started(cutBatch(wal, 1)); // room for `first`
    await first;
    assert.equal(wal.stats().waiting, 1);
    wal.started(cutBatch(wal, 1)); // room for the large one: let in, but not encoded in this turn
    assert.equal(wal.stats().waiting, 1, 'still at the head of the line while it is encoded');
    await waited;
    assert.equal(wal.stats().waiting, 0);
    assert.deepEqual(
      wal.take(1e6, Infinity).records.map((r) => r.id),
      large.map((r) => r.id),
    );
    await wal.shutdown();
  });

  test('holdTuples false (a sink that needs the objects): the objects pushed are held', async () => {
    const { wal } = await walIn({ holdTuples: false });
    const pushed = many(3);
    await wal.push(pushed, 300, { timeoutMs: 0 });
    const t = wal.take(10, Infinity);
    assert.ok(Array.isArray(t.parts[0]));
    assert.equal(t.records[0], pushed[0]);
    await wal.shutdown();
  });
});

/** A request as a parse thread hands it over: tuples, offsets and sizes, no records. */
function encoded(records: readonly SluiceRecord[]): EncodedRecords {
  const { tuples, offsets, sizes } = encode(records);
  return {
    run: { tuples, sizes, type: records[0]!.type, receivedAt: records[0]!.received_at },
    offsets,
    bytes: sizes.reduce((a, b) => a + b, 0),
  };
}

test('a record decoded from its tuples (a replay) gives the same JSON line (file, stdout, Redis, NATS, dead letters), keys in order', () => {
  const records: SluiceRecord[] = [
    { ...rec(1), tenant: 'acme', attrs: JSON.stringify({ b: 1, a: [2, 'x'] }), trace_id: 't', span_id: 's' },
    rec(2),
    { ...health(3), message: 'ok', attrs: JSON.stringify({ z: null }) },
  ];
  const decoded = records.flatMap((r) => {
    const { tuples, sizes } = encode([r]);
    return heldRecords([{ tuples, sizes, type: r.type, receivedAt: r.received_at }]);
  });
  assert.deepEqual(
    decoded.map(toJsonLine),
    records.map(toJsonLine),
    'the same text, byte for byte (deepEqual of parsed lines would ignore key order)',
  );
});

describe('requests encoded elsewhere (parse threads) are held as they come', () => {
  test('the WAL: admitted at once or from the wait line, positions and records as pushed', async () => {
    const { wal } = await walIn({ maxRecords: 3 });
    const first = many(3);
    const second = many(2, 3);
    await wal.pushEncoded(encoded(first), { timeoutMs: 0 });
    assert.equal(wal.stats().records, 3);
    const waited = wal.pushEncoded(encoded(second), { timeoutMs: 5000 });
    assert.equal(wal.stats().waiting, 1, 'no room: it waits');
    const t1 = wal.take(10, Infinity);
    assert.equal(Array.isArray(t1.parts[0]), false, 'held as its tuples');
    assert.deepEqual(t1.records, first);
    wal.started(cutBatch(wal, 0)); // room: the waiting one is let in
    await waited;
    const t2 = wal.take(10, Infinity);
    assert.equal(t2.count, 2);
    assert.deepEqual(t2.records, second);
    assert.match(cutBatch(wal, 0).id, /\D3-5$/, 'its positions follow on');
    await wal.shutdown();
  });

  test('the memory buffer: the same, and a buffer without holdTuples refuses one', async () => {
    const limits = { maxRecords: 3, maxBytes: 1e12, retryAfterSeconds: 1 };
    const b = new MemoryBuffer({ ...limits, holdTuples: true });
    const first = many(3);
    const second = many(2, 3);
    await b.pushEncoded(encoded(first), { timeoutMs: 0 });
    const waited = b.pushEncoded(encoded(second), { timeoutMs: 5000 });
    assert.equal(b.stats().waiting, 1);
    assert.deepEqual(b.take(10, Infinity).records, first);
    await waited;
    const t = b.take(10, Infinity);
    assert.equal(Array.isArray(t.parts[0]), false);
    assert.deepEqual(t.records, second);
    await assert.rejects(new MemoryBuffer(limits).pushEncoded(encoded(first), { timeoutMs: 0 }), /holdTuples/);
  });

  test('one left waiting: refused when its time is up or the buffer closes, and nothing of it is held', async () => {
    const { wal } = await walIn({ maxRecords: 1 });
    const mem = new MemoryBuffer({ maxRecords: 1, maxBytes: 1e12, retryAfterSeconds: 1, holdTuples: true });
    for (const b of [wal, mem]) {
      await b.pushEncoded(encoded(many(1)), { timeoutMs: 0 });
      await assert.rejects(b.pushEncoded(encoded(many(1, 1)), { timeoutMs: 20 }), /SLUICE_ERR_BUFFER_FULL|full/i);
      const parked = b.pushEncoded(encoded(many(1, 2)), { timeoutMs: 5000 });
      b.close();
      await assert.rejects(parked, /shutting down/i);
      assert.deepEqual([b.stats().records, b.stats().waiting], [1, 0], 'only the first is held');
    }
    await wal.shutdown();
    const objects = (await walIn({ holdTuples: false })).wal;
    await assert.rejects(objects.pushEncoded(encoded(many(1)), { timeoutMs: 0 }), /holdTuples/);
    await objects.shutdown();
  });
});

describe('the memory buffer holds tuples when the sink sends them', () => {
  const limits = { maxRecords: 1e6, maxBytes: 1e12, retryAfterSeconds: 1 };

  test('holdTuples: requests are held as tuples (a large one encoded in steps), and come back as pushed', async () => {
    const b = new MemoryBuffer({ ...limits, holdTuples: true });
    const small = many(3);
    const large = many(10_000, 3); // over twice the 4,096 records encoded in one go
    let settled = false;
    let loopRanBetween = false;
    const pushed = b.push(large, 1_000_000, { timeoutMs: 0 }).then(() => (settled = true));
    setImmediate(() => (loopRanBetween = !settled));
    await pushed;
    assert.ok(loopRanBetween, 'a large request is encoded over several turns of the loop');
    await b.push(small, 300, { timeoutMs: 0 });
    const t = b.take(1e6, Infinity);
    assert.deepEqual(
      t.parts.map((p) => Array.isArray(p)),
      [false, false],
    );
    assert.deepEqual(t.records, [...large, ...small]);
  });

  test('a request let in from the wait line: a large one is held as objects (not encoded at once), one that parsed to none adds nothing', async () => {
    const b = new MemoryBuffer({ ...limits, maxRecords: 1, holdTuples: true });
    await b.push(many(1), 100, { timeoutMs: 0 });
    const large = many(5000, 1);
    const waited = b.push(large, 500_000, { timeoutMs: 5000 });
    const none = b.pushDeferred({ rawBytes: 2, parse: () => ({ records: [], bytes: 0 }) }, { timeoutMs: 5000 });
    assert.equal(b.stats().waiting, 2);
    assert.equal(b.take(1, Infinity).count, 1); // room: the large one is let in
    await waited;
    const t = b.take(1e6, Infinity); // room again: the empty one is let in
    assert.deepEqual(
      t.parts.map((p) => Array.isArray(p)),
      [true],
    );
    assert.equal(t.records[0], large[0], 'the objects pushed');
    assert.equal(t.count, 5000);
    await none;
    assert.deepEqual([b.stats().records, b.stats().waiting, b.take(10, Infinity).count], [0, 0, 0]);
  });

  test('without it, records are held as the objects pushed', async () => {
    const b = new MemoryBuffer(limits);
    const records = many(3);
    await b.push(records, 300, { timeoutMs: 0 });
    const t = b.take(10, Infinity);
    assert.equal(t.parts.length, 1);
    assert.equal(t.records[0], records[0], 'the same object');
  });
});
