// The write-ahead buffer on a real directory: group commit, replay with the same batch ids
// and records, torn and corrupt tails truncated (and counted), the disk cap, and segment
// deletion once every batch in a segment is settled. On a real full disk: test/system/wal-disk-full.test.ts.
import assert from 'node:assert/strict';
import { appendFileSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { SluiceError } from '../../src/errors.js';
import { crc32c } from '../../src/pipeline/wal/crc32c.js';
import {
  FRAME_HEADER,
  FrameType,
  SEGMENT_HEADER,
  encodeRange,
  encodeSegmentHeader,
} from '../../src/pipeline/wal/frame.js';
import { encodeRecordRows } from '../../src/pipeline/wal/record-codec.js';
import { tempDir } from '../helpers/app.js';
import { waitFor } from '../helpers/wait-for.js';
import { cutBatch, many, metricCount, openWal, segments } from '../helpers/wal.js';

const dirs: Array<() => void> = [];
after(() => dirs.forEach((d) => d()));

function newDir(): string {
  const d = tempDir('sluice-wal-');
  dirs.push(d.remove);
  return d.path;
}

describe('WalBuffer', () => {
  test('push resolves once durable; the records then come out in order', async () => {
    const dir = newDir();
    const { wal } = await openWal(dir);
    let readable = 0;
    wal.onReadable(() => readable++);
    await wal.push(many(3), 300, { timeoutMs: 0 });
    await wal.push(many(2, 3), 200, { timeoutMs: 0 });
    assert.equal(readable, 2);
    const t = wal.take(10, Infinity);
    assert.deepEqual(
      t.records.map((r) => r.id),
      ['r0', 'r1', 'r2', 'r3', 'r4'],
    );
    assert.equal(t.more, false);
    await wal.shutdown();
  });

  test('group commit: pushes that arrive while an fsync runs share the next one', async () => {
    const dir = newDir();
    const { wal, metrics } = await openWal(dir);
    const first = wal.push(many(1), 100, { timeoutMs: 0 });
    await new Promise((r) => setImmediate(r)); // the first write is now under way
    const rest = Array.from({ length: 50 }, (_, i) => wal.push(many(1, i + 1), 100, { timeoutMs: 0 }));
    await Promise.all([first, ...rest]);
    assert.equal(
      await metricCount(metrics, 'sluice_wal_fsync_seconds'),
      2,
      'one fsync for the first push, one for the 50 that waited',
    );
    assert.equal(wal.take(100, Infinity).records.length, 51);
    await wal.shutdown();
  });

  test('rounds laid out in the reused write buffer replay intact: a large round, then smaller ones mixing records, cuts and done frames', async () => {
    const dir = newDir();
    const a = await openWal(dir);
    const first = a.wal.push(many(1), 100, { timeoutMs: 0 });
    await new Promise((r) => setImmediate(r));
    // A large round (40 requests of 1-5 records) ...
    let next = 1;
    const large = Array.from({ length: 40 }, (_, i) => {
      const n = 1 + (i % 5);
      const p = a.wal.push(many(n, next), n * 100, { timeoutMs: 0 });
      next += n;
      return p;
    });
    await Promise.all([first, ...large]);
    // ... then smaller rounds into the same, now longer, buffer: a stale tail must not be written.
    const b1 = cutBatch(a.wal, 30);
    await a.wal.sealed(b1);
    a.wal.settled(b1);
    await a.wal.push(many(2, next), 200, { timeoutMs: 0 });
    const b2 = cutBatch(a.wal, 5);
    await a.wal.sealed(b2);
    // Crash: reopen without shutdown.
    const b = await openWal(dir);
    assert.equal(await metricCount(b.metrics, 'sluice_wal_repairs_total'), 0, 'every byte on disk is a valid frame');
    const again = b.wal.recovered();
    assert.deepEqual(
      again.map((x) => x.id),
      [b2.id],
    );
    assert.deepEqual(again[0]!.records, b2.records);
    const rest = b.wal.take(1000, Infinity).records.map((r) => r.id);
    const expected = many(next + 2)
      .map((r) => r.id)
      .slice(35);
    assert.deepEqual(rest, expected, 'every record after the two batches, in order, nothing from a stale buffer tail');
    await b.wal.shutdown();
    await a.wal.shutdown().catch(() => undefined);
  });

  test('replay resends exactly the unsettled batches, same ids and records, and queues what was never cut', async () => {
    const dir = newDir();
    const a = await openWal(dir);
    await a.wal.push(many(10), 1000, { timeoutMs: 0 });
    await a.wal.push(many(5, 10), 500, { timeoutMs: 0 });
    const b1 = cutBatch(a.wal, 4);
    const b2 = cutBatch(a.wal, 7); // spans the two pushes
    await a.wal.sealed(b1);
    await a.wal.sealed(b2);
    a.wal.settled(b1);
    await a.wal.push(many(1, 15), 100, { timeoutMs: 0 }); // also carries b1's done frame to disk
    // No shutdown: the process "crashes" here.
    const b = await openWal(dir);
    assert.equal(await metricCount(b.metrics, 'sluice_wal_repairs_total'), 0, 'every byte on disk is a valid frame');
    const again = b.wal.recovered();
    assert.deepEqual(
      again.map((x) => x.id),
      [b2.id],
    );
    assert.deepEqual(again[0]!.records, b2.records);
    assert.equal(again[0]!.trigger, 'replay');
    assert.equal(await metricCount(b.metrics, 'sluice_wal_replayed_records_total'), 7 + 5);
    const rest = b.wal.take(100, Infinity).records.map((r) => r.id);
    assert.deepEqual(rest, ['r11', 'r12', 'r13', 'r14', 'r15']);
    // The next batch starts where b2 ended: its id cannot collide with b2's.
    const b3 = b.wal.cut();
    assert.notEqual(b3, b2.id);
    assert.match(b3, new RegExp(`^${b2.id.split('-').slice(0, 2).join('-')}-11-`));
    await b.wal.shutdown();
  });

  test('a replayed batch settled after the restart is not sent a third time', async () => {
    const dir = newDir();
    const a = await openWal(dir);
    await a.wal.push(many(6), 600, { timeoutMs: 0 });
    const b1 = cutBatch(a.wal, 6);
    await a.wal.sealed(b1);
    const b = await openWal(dir);
    const [again] = b.wal.recovered();
    assert.equal(again!.id, b1.id);
    b.wal.settled(again!);
    await b.wal.shutdown();
    const c = await openWal(dir);
    assert.deepEqual(c.wal.recovered(), []);
    assert.equal(c.wal.take(100, Infinity).records.length, 0);
    await c.wal.shutdown();
  });

  test('a torn tail (half a frame) is truncated, logged and counted; what came before survives; a second start is clean', async () => {
    const dir = newDir();
    const a = await openWal(dir);
    await a.wal.push(many(3), 300, { timeoutMs: 0 });
    await a.wal.push(many(3, 3), 300, { timeoutMs: 0 });
    await a.wal.shutdown();
    const [file] = segments(dir).slice(-1);
    const path = join(dir, file!);
    const good = statSync(path).size;
    writeFileSync(path, readFileSync(path).subarray(0, good - 20)); // the crash tore the last frame
    const b = await openWal(dir);
    assert.equal(await metricCount(b.metrics, 'sluice_wal_repairs_total'), 1);
    assert.deepEqual(
      b.wal.take(100, Infinity).records.map((r) => r.id),
      ['r0', 'r1', 'r2'],
    );
    assert.ok(statSync(path).size < good - 20, 'the torn frame was cut off');
    await b.wal.shutdown();
    const c = await openWal(dir);
    assert.equal(await metricCount(c.metrics, 'sluice_wal_repairs_total'), 0);
    assert.deepEqual(
      c.wal.take(100, Infinity).records.map((r) => r.id),
      ['r0', 'r1', 'r2'],
    );
    await c.wal.shutdown();
  });

  test('a frame whose length and tuples are intact but one byte changed is caught by the checksum: it and the rest of its segment are dropped', async () => {
    const dir = newDir();
    const a = await openWal(dir);
    await a.wal.push(many(2), 200, { timeoutMs: 0 });
    await a.wal.push(many(2, 2), 200, { timeoutMs: 0 });
    await a.wal.push(many(2, 4), 200, { timeoutMs: 0 });
    await a.wal.shutdown();
    const path = join(dir, segments(dir).at(-1)!);
    const buf = readFileSync(path);
    // One digit inside the second frame's first message: "message 2" becomes "message 7". The
    // frame's length and its tuples stay valid, and so does every record in it: only the CRC can tell.
    const at = buf.indexOf('message 2');
    assert.ok(at > 0 && buf.indexOf('message 2', at + 1) === -1, 'the message is in the segment once');
    buf[at + 'message '.length] = '7'.charCodeAt(0);
    writeFileSync(path, buf);
    const b = await openWal(dir);
    assert.equal(await metricCount(b.metrics, 'sluice_wal_repairs_total'), 1, 'the repair is counted');
    assert.deepEqual(
      b.wal.take(100, Infinity).records.map((r) => r.id),
      ['r0', 'r1'],
      'the changed frame and the intact one after it are dropped',
    );
    assert.ok(statSync(path).size < buf.length, 'the segment was truncated at the changed frame');
    // New records after the repair get positions past anything the lost bytes could have held.
    await b.wal.push(many(1, 9), 100, { timeoutMs: 0 });
    assert.equal(b.wal.take(100, Infinity).records.length, 1);
    const id = b.wal.cut();
    const [, , from, to] = id.split('-').map(Number);
    assert.equal(from, 0);
    assert.ok(to! > 6, `position jumped past the dropped records (${id})`);
    await b.wal.shutdown();
  });

  test('a segment whose header never reached the disk (a crash right after creating it) is removed and counted; the ones before it replay', async () => {
    const dir = newDir();
    const a = await openWal(dir);
    await a.wal.push(many(3), 300, { timeoutMs: 0 });
    await a.wal.shutdown();
    const last = segments(dir).at(-1)!;
    const torn = `${String(Number(last.slice(0, 16)) + 1).padStart(16, '0')}.wal`;
    writeFileSync(join(dir, torn), Buffer.alloc(5)); // shorter than any header
    const b = await openWal(dir);
    assert.equal(await metricCount(b.metrics, 'sluice_wal_repairs_total'), 1);
    assert.ok(!segments(dir).includes(torn), 'the headerless segment is gone');
    assert.deepEqual(
      b.wal.take(100, Infinity).records.map((r) => r.id),
      ['r0', 'r1', 'r2'],
    );
    await b.wal.push(many(1, 3), 100, { timeoutMs: 0 });
    await b.wal.shutdown();
    const c = await openWal(dir);
    assert.equal(
      await metricCount(c.metrics, 'sluice_wal_repairs_total'),
      0,
      'segments written after the repair are whole',
    );
    assert.deepEqual(
      c.wal.take(100, Infinity).records.map((r) => r.id),
      ['r0', 'r1', 'r2', 'r3'],
    );
    await c.wal.shutdown();
  });

  test('garbage appended after the last frame is truncated and counted; every frame before it survives', async () => {
    const dir = newDir();
    const a = await openWal(dir);
    await a.wal.push(many(2), 200, { timeoutMs: 0 });
    await a.wal.push(many(2, 2), 200, { timeoutMs: 0 });
    await a.wal.shutdown();
    const path = join(dir, segments(dir).at(-1)!);
    const good = statSync(path).size;
    appendFileSync(path, Buffer.from('garbage after the tail'));
    const b = await openWal(dir);
    assert.equal(await metricCount(b.metrics, 'sluice_wal_repairs_total'), 1);
    assert.deepEqual(
      b.wal.take(100, Infinity).records.map((r) => r.id),
      ['r0', 'r1', 'r2', 'r3'],
    );
    assert.equal(statSync(path).size, good, 'cut back to the last whole frame');
    await b.wal.shutdown();
  });

  test('the disk cap rejects pushes with BUFFER_FULL (429) and admits again once batches settle', async () => {
    const dir = newDir();
    const { wal } = await openWal(dir, { segmentBytes: 4096, maxBytes: 16_384 });
    let accepted = 0;
    let full: unknown;
    for (let i = 0; i < 200 && !full; i++) {
      await wal.push(many(5, i * 5), 500, { timeoutMs: 0 }).then(
        () => accepted++,
        (err: unknown) => (full = err),
      );
    }
    assert.ok(full instanceof SluiceError, 'the cap was reached');
    assert.equal(full.code, 'SLUICE_ERR_BUFFER_FULL');
    assert.equal(full.statusCode, 429);
    assert.equal(full.retryAfter, 2);
    assert.ok(wal.walStats().diskBytes <= 16_384);
    // A waiting push gets in when the sink catches up.
    const waiting = wal.push(many(5, 5000), 500, { timeoutMs: 5000 });
    const batch = cutBatch(wal, accepted * 5);
    await wal.sealed(batch);
    wal.settled(batch);
    await waiting;
    await wal.shutdown();
  });

  test('segments are deleted once every batch in them is settled, never before', async () => {
    const dir = newDir();
    const { wal } = await openWal(dir, { segmentBytes: 4096, maxBytes: 1024 * 1024 });
    for (let i = 0; i < 40; i++) await wal.push(many(5, i * 5), 500, { timeoutMs: 0 });
    const before = segments(dir).length;
    assert.ok(before >= 4, `rolled into ${before} segments`);
    const first = cutBatch(wal, 100);
    const second = cutBatch(wal, 100);
    await wal.sealed(first);
    await wal.sealed(second);
    wal.settled(second); // out of order: the first still pins the oldest segments
    // Deletion is decided when a batch settles (the log's segment count drops at once); a write
    // round after it (this push's fsync) gives a deletion started there time to reach the directory.
    assert.equal(wal.walStats().segments, before, 'no segment released while the first batch is unsettled');
    await wal.push(many(1, 5000), 100, { timeoutMs: 0 });
    assert.equal(segments(dir).length, before, 'nothing deleted while the first batch is unsettled');
    wal.settled(first);
    const extra = cutBatch(wal, 1);
    await wal.sealed(extra);
    wal.settled(extra);
    await waitFor(`the settled segments deleted (${before} before)`, () => segments(dir).length <= 2, 10_000);
    await wal.shutdown();
    // And they do not come back on replay.
    const again = await openWal(dir);
    assert.deepEqual(again.wal.recovered(), []);
    assert.equal(again.wal.take(1000, Infinity).records.length, 0);
    await again.wal.shutdown();
  });

  test('positions never go back, even after every segment holding records was deleted', async () => {
    const dir = newDir();
    const a = await openWal(dir, { segmentBytes: 4096 });
    for (let i = 0; i < 20; i++) await a.wal.push(many(5, i * 5), 500, { timeoutMs: 0 });
    const b1 = cutBatch(a.wal, 100);
    await a.wal.sealed(b1);
    a.wal.settled(b1);
    await a.wal.shutdown();
    // Twice, so the second start sees only segments with no records at all.
    for (let i = 0; i < 2; i++) (await openWal(dir)).wal.close();
    const c = await openWal(dir);
    await c.wal.push(many(1, 999), 100, { timeoutMs: 0 });
    c.wal.take(10, Infinity);
    const id = c.wal.cut();
    assert.ok(Number(id.split('-')[2]) >= 100, `new batch ${id} starts past ${b1.id}`);
    await c.wal.shutdown();
  });

  test('a WAL directory of format 1 (JSON record frames) is replayed by this version, then written as format 2', async () => {
    const dir = newDir();
    // A format-1 segment as the previous version wrote it: its header, then JSON record frames.
    const walId = Buffer.alloc(16, 7);
    const jsonFrame = (records: ReturnType<typeof many>, firstSeq: number): Buffer => {
      const json = Buffer.from(encodeRecordRows(records));
      const frame = Buffer.alloc(FRAME_HEADER + 9 + json.length);
      frame.writeUInt32LE(9 + json.length, 0);
      frame[FRAME_HEADER] = FrameType.Records;
      frame.writeDoubleLE(firstSeq, FRAME_HEADER + 1);
      json.copy(frame, FRAME_HEADER + 9);
      frame.writeUInt32LE(crc32c(frame, FRAME_HEADER), 4);
      return frame;
    };
    const old = Buffer.concat([
      encodeSegmentHeader(walId, 1, 0, 1),
      jsonFrame(many(2), 0),
      jsonFrame(many(3, 2), 2),
      encodeRange(FrameType.Cut, 0, 2),
    ]);
    writeFileSync(join(dir, '0000000000000001.wal'), old);
    const a = await openWal(dir);
    const [replayed] = a.wal.recovered();
    assert.deepEqual(replayed?.records, many(2), 'the cut batch is resent as cut');
    assert.equal(replayed?.id, `wal-${walId.toString('hex')}-0-2`, 'under the id it was cut with');
    assert.deepEqual(a.wal.take(10, Infinity).records, many(3, 2), 'the uncut records are takeable');
    await a.wal.push(many(1, 5), 100, { timeoutMs: 0 });
    await a.wal.shutdown();
    const newest = readFileSync(join(dir, segments(dir).at(-1)!));
    assert.equal(newest.toString('latin1', 0, 8), 'SLUICEW2', 'new segments are format 2');
  });

  test('a segment of a newer format is refused with a clear error, and left in place', async () => {
    const dir = newDir();
    const path = join(dir, '0000000000000001.wal');
    writeFileSync(path, encodeSegmentHeader(Buffer.alloc(16, 1), 1, 0, 9));
    await assert.rejects(
      openWal(dir),
      (err: unknown) => err instanceof SluiceError && /format 9; this version reads formats 1 and 2/.test(err.message),
    );
    assert.equal(statSync(path).size, SEGMENT_HEADER, 'nothing was removed');
  });
});
