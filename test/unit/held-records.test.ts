// Records held as their COPY tuples between admission and the sink: the runs a request becomes,
// their slices, the batch built from them (rows without records; records decoded only when
// read, and equal to what went in), and the WAL holding no record objects once it admitted them.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { receivedRuns } from '../../src/batch.js';
import { ChunkQueue } from '../../src/pipeline/chunk-queue.js';
import { MemoryBuffer } from '../../src/pipeline/memory-buffer.js';
import { heldBatch, heldRecords, sliceRun, tupleRun, type Held } from '../../src/pipeline/held-records.js';
import type { HealthRecord, LogRecord, SluiceRecord } from '../../src/record.js';
import { BinaryWriter, encodeTuple } from '../../src/sinks/postgres/copy-encode.js';
import { tempDir } from '../helpers/app.js';
import { many, openWal, rec } from '../helpers/wal.js';

const dirs: Array<() => void> = [];
after(() => dirs.forEach((d) => d()));

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

  test('a batch of tuple runs of one type carries them as rows and builds no records until read', () => {
    const records = many(4);
    const { tuples, offsets, sizes } = encode(records);
    const run = tupleRun(records, tuples, sizes)!;
    // A run whose bytes are no tuples: reading the records would throw, so the batch must not.
    const broken: Held = { ...run, tuples: Buffer.from('not a tuple') };
    const b = heldBatch({ ...fields, count: 6 }, [sliceRun(run, offsets, 0, 2), broken]);
    assert.equal(b.rowsType, 'log');
    assert.deepEqual(b.rows, [tuples.subarray(0, offsets[2]), broken.tuples]);
    assert.deepEqual(b.received, [records[0]!.received_at, 6], 'one run: the same receive time throughout');
    assert.throws(() => b.records, /tuple/);
  });

  test('a batch with objects, or runs of two types, has no rows; its records are all of them, in order', () => {
    const logs = many(2);
    const pings = [health(1), health(2)];
    const l = encode(logs);
    const h = encode(pings);
    const logRun = tupleRun(logs, l.tuples, l.sizes)!;
    const healthRun = tupleRun(pings, h.tuples, h.sizes)!;
    const two = heldBatch({ ...fields, count: 4 }, [logRun, healthRun]);
    assert.equal(two.rows, undefined);
    assert.equal(two.rowsType, undefined);
    assert.deepEqual(two.records, [...logs, ...pings]);
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
    q.pushTuples({ ...tupleRun(records, e.tuples, e.sizes)!, offsets: e.offsets }, 10, undefined, undefined);
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
    const d = tempDir('sluice-held-');
    dirs.push(d.remove);
    const { wal } = await openWal(d.path);
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

  test('without it, records are held as the objects pushed', async () => {
    const b = new MemoryBuffer(limits);
    const records = many(3);
    await b.push(records, 300, { timeoutMs: 0 });
    const t = b.take(10, Infinity);
    assert.equal(t.parts.length, 1);
    assert.equal(t.records[0], records[0], 'the same object');
  });
});
