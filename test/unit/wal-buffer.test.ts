// The write-ahead buffer on a real directory: group commit, replay with the same batch ids
// and records, torn and corrupt tails truncated (and counted), the disk cap, and segment
// deletion once every batch in a segment is settled.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { appendFileSync, readFileSync, readdirSync, rmSync, statSync, statfsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test, type TestContext } from 'node:test';
import { pino } from 'pino';
import { SluiceError } from '../../src/errors.js';
import { Metrics } from '../../src/observability/metrics.js';
import { WalBuffer } from '../../src/pipeline/wal/wal-buffer.js';
import type { LogRecord } from '../../src/record.js';
import type { Batch } from '../../src/batch.js';
import { tempDir } from '../helpers/app.js';
import { cannotHere } from '../helpers/cannot-here.js';

const dirs: Array<() => void> = [];
after(() => dirs.forEach((d) => d()));

const rec = (i: number, size = 100): LogRecord => ({
  type: 'log', id: `r${i}`, ts: 1_700_000_000_000_000, received_at: 1_700_000_000_000_000, level: 'info', service: 's', message: `message ${i}`, attrs: null, trace_id: null, span_id: null, size,
});
const many = (n: number, start = 0) => Array.from({ length: n }, (_, i) => rec(start + i));

function newDir(): string {
  const d = tempDir('sluice-wal-');
  dirs.push(d.remove);
  return d.path;
}

async function open(dir: string, over: { segmentBytes?: number; maxBytes?: number; maxRecords?: number } = {}) {
  const metrics = new Metrics({ defaultMetrics: false });
  const wal = await WalBuffer.open({
    maxRecords: over.maxRecords ?? 1_000_000,
    maxBytes: 1e12,
    retryAfterSeconds: 2,
    wal: { dir, segmentBytes: over.segmentBytes ?? 1024 * 1024, maxBytes: over.maxBytes ?? 64 * 1024 * 1024, groupCommitDelayMs: 0 },
    logger: pino({ level: 'silent' }),
    metrics,
  });
  return { wal, metrics };
}

async function counter(metrics: Metrics, name: string): Promise<number> {
  const m = await metrics.registry.getSingleMetric(name)!.get();
  // A counter has one value; a histogram's count is its `_count` sample.
  const values = m.values as Array<{ value: number; metricName?: string }>;
  const v = values.some((x) => x.metricName === `${name}_count`) ? values.find((x) => x.metricName === `${name}_count`) : values[0];
  return v?.value ?? 0;
}

/** Takes up to `n` records and cuts them as one batch, as the batcher does. */
function cutBatch(wal: WalBuffer, n: number): Batch {
  const t = wal.take(n, Infinity);
  const id = wal.cut();
  return { id, records: t.records, bytes: t.bytes, createdAt: 0, trigger: 'size', tickets: [], links: [] };
}

const segments = (dir: string) => readdirSync(dir).filter((f) => f.endsWith('.wal')).sort();

describe('WalBuffer', () => {
  test('push resolves once durable; the records then come out in order', async () => {
    const dir = newDir();
    const { wal } = await open(dir);
    let readable = 0;
    wal.onReadable(() => readable++);
    await wal.push(many(3), 300, { timeoutMs: 0 });
    await wal.push(many(2, 3), 200, { timeoutMs: 0 });
    assert.equal(readable, 2);
    const t = wal.take(10, Infinity);
    assert.deepEqual(t.records.map((r) => r.id), ['r0', 'r1', 'r2', 'r3', 'r4']);
    assert.equal(t.more, false);
    await wal.shutdown();
  });

  test('group commit: pushes that arrive while an fsync runs share the next one', async () => {
    const dir = newDir();
    const { wal, metrics } = await open(dir);
    const first = wal.push(many(1), 100, { timeoutMs: 0 });
    await new Promise((r) => setImmediate(r)); // the first write is now under way
    const rest = Array.from({ length: 50 }, (_, i) => wal.push(many(1, i + 1), 100, { timeoutMs: 0 }));
    await Promise.all([first, ...rest]);
    assert.equal(await counter(metrics, 'sluice_wal_fsync_seconds'), 2, 'one fsync for the first push, one for the 50 that waited');
    assert.equal(wal.take(100, Infinity).records.length, 51);
    await wal.shutdown();
  });

  test('rounds laid out in the reused write buffer replay intact: a large round, then smaller ones mixing records, cuts and done frames', async () => {
    const dir = newDir();
    const a = await open(dir);
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
    const b = await open(dir);
    assert.equal(await counter(b.metrics, 'sluice_wal_repairs_total'), 0, 'every byte on disk is a valid frame');
    const again = b.wal.recovered();
    assert.deepEqual(again.map((x) => x.id), [b2.id]);
    assert.deepEqual(again[0]!.records, b2.records);
    const rest = b.wal.take(1000, Infinity).records.map((r) => r.id);
    const expected = many(next + 2).map((r) => r.id).slice(35);
    assert.deepEqual(rest, expected, 'every record after the two batches, in order, nothing from a stale buffer tail');
    await b.wal.shutdown();
    await a.wal.shutdown().catch(() => undefined);
  });

  test('replay resends exactly the unsettled batches, same ids and records, and queues what was never cut', async () => {
    const dir = newDir();
    const a = await open(dir);
    await a.wal.push(many(10), 1000, { timeoutMs: 0 });
    await a.wal.push(many(5, 10), 500, { timeoutMs: 0 });
    const b1 = cutBatch(a.wal, 4);
    const b2 = cutBatch(a.wal, 7); // spans the two pushes
    await a.wal.sealed(b1);
    await a.wal.sealed(b2);
    a.wal.settled(b1);
    await a.wal.push(many(1, 15), 100, { timeoutMs: 0 }); // also carries b1's done frame to disk
    // No shutdown: the process "crashes" here.
    const b = await open(dir);
    assert.equal(await counter(b.metrics, 'sluice_wal_repairs_total'), 0, 'every byte on disk is a valid frame');
    const again = b.wal.recovered();
    assert.deepEqual(again.map((x) => x.id), [b2.id]);
    assert.deepEqual(again[0]!.records, b2.records);
    assert.equal(again[0]!.trigger, 'replay');
    assert.equal(await counter(b.metrics, 'sluice_wal_replayed_records_total'), 7 + 5);
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
    const a = await open(dir);
    await a.wal.push(many(6), 600, { timeoutMs: 0 });
    const b1 = cutBatch(a.wal, 6);
    await a.wal.sealed(b1);
    const b = await open(dir);
    const [again] = b.wal.recovered();
    assert.equal(again!.id, b1.id);
    b.wal.settled(again!);
    await b.wal.shutdown();
    const c = await open(dir);
    assert.deepEqual(c.wal.recovered(), []);
    assert.equal(c.wal.take(100, Infinity).records.length, 0);
    await c.wal.shutdown();
  });

  test('a torn tail (half a frame) is truncated, logged and counted; what came before survives; a second start is clean', async () => {
    const dir = newDir();
    const a = await open(dir);
    await a.wal.push(many(3), 300, { timeoutMs: 0 });
    await a.wal.push(many(3, 3), 300, { timeoutMs: 0 });
    await a.wal.shutdown();
    const [file] = segments(dir).slice(-1);
    const path = join(dir, file!);
    const good = statSync(path).size;
    writeFileSync(path, readFileSync(path).subarray(0, good - 20)); // the crash tore the last frame
    const b = await open(dir);
    assert.equal(await counter(b.metrics, 'sluice_wal_repairs_total'), 1);
    assert.deepEqual(b.wal.take(100, Infinity).records.map((r) => r.id), ['r0', 'r1', 'r2']);
    assert.ok(statSync(path).size < good - 20, 'the torn frame was cut off');
    await b.wal.shutdown();
    const c = await open(dir);
    assert.equal(await counter(c.metrics, 'sluice_wal_repairs_total'), 0);
    assert.deepEqual(c.wal.take(100, Infinity).records.map((r) => r.id), ['r0', 'r1', 'r2']);
    await c.wal.shutdown();
  });

  test('a frame whose length and JSON are intact but one byte changed is caught by the checksum: it and the rest of its segment are dropped', async () => {
    const dir = newDir();
    const a = await open(dir);
    await a.wal.push(many(2), 200, { timeoutMs: 0 });
    await a.wal.push(many(2, 2), 200, { timeoutMs: 0 });
    await a.wal.push(many(2, 4), 200, { timeoutMs: 0 });
    await a.wal.shutdown();
    const path = join(dir, segments(dir).at(-1)!);
    const buf = readFileSync(path);
    // One digit inside the second frame's first message: "message 2" becomes "message 7". The
    // frame's length and its JSON stay valid, and so does every record in it: only the CRC can tell.
    const at = buf.indexOf('"message 2"');
    assert.ok(at > 0 && buf.indexOf('"message 2"', at + 1) === -1, 'the message is in the segment once');
    buf[at + '"message '.length] = '7'.charCodeAt(0);
    writeFileSync(path, buf);
    const b = await open(dir);
    assert.equal(await counter(b.metrics, 'sluice_wal_repairs_total'), 1, 'the repair is counted');
    assert.deepEqual(b.wal.take(100, Infinity).records.map((r) => r.id), ['r0', 'r1'], 'the changed frame and the intact one after it are dropped');
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

  test('garbage appended after the last frame is truncated and counted; every frame before it survives', async () => {
    const dir = newDir();
    const a = await open(dir);
    await a.wal.push(many(2), 200, { timeoutMs: 0 });
    await a.wal.push(many(2, 2), 200, { timeoutMs: 0 });
    await a.wal.shutdown();
    const path = join(dir, segments(dir).at(-1)!);
    const good = statSync(path).size;
    appendFileSync(path, Buffer.from('garbage after the tail'));
    const b = await open(dir);
    assert.equal(await counter(b.metrics, 'sluice_wal_repairs_total'), 1);
    assert.deepEqual(b.wal.take(100, Infinity).records.map((r) => r.id), ['r0', 'r1', 'r2', 'r3']);
    assert.equal(statSync(path).size, good, 'cut back to the last whole frame');
    await b.wal.shutdown();
  });

  test('the disk cap rejects pushes with BUFFER_FULL (429) and admits again once batches settle', async () => {
    const dir = newDir();
    const { wal } = await open(dir, { segmentBytes: 4096, maxBytes: 16_384 });
    let accepted = 0;
    let full: unknown;
    for (let i = 0; i < 200 && !full; i++) {
      await wal.push(many(5, i * 5), 500, { timeoutMs: 0 }).then(() => accepted++, (err: unknown) => (full = err));
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

  // A real full filesystem, not the cap: a small tmpfs. Mounting needs root with CAP_SYS_ADMIN;
  // where that is refused these tests say so and skip (the cap test above covers the 429 path),
  // except under CI=true, where a refused mount fails the test.
  async function onTmpfs(t: TestContext, size: string, fn: (dir: string) => Promise<void>): Promise<void> {
    const dir = newDir();
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { stdio: 'pipe' });
    } catch (err) {
      // Under CI=true this throws: a test that cannot run there is a failure, not a skip.
      cannotHere(t, `cannot mount a tmpfs here: ${String((err as { stderr?: Buffer }).stderr ?? err).trim()}`);
      return;
    }
    try {
      await fn(dir);
    } finally {
      execFileSync('umount', ['-l', dir]);
    }
  }

  /** Pushes 5-record requests until one is refused; returns how many were accepted and the refusal. */
  async function fillDisk(wal: WalBuffer): Promise<{ accepted: number; full: SluiceError }> {
    let accepted = 0;
    let full: unknown;
    for (let i = 0; i < 20_000 && !full; i++) {
      await wal.push(many(5, i * 5), 500, { timeoutMs: 0 }).then(() => accepted++, (err: unknown) => (full = err));
    }
    assert.ok(full instanceof SluiceError, 'the disk filled up');
    return { accepted, full };
  }

  /** Pushes until one is admitted (space came back), for up to `ms`. */
  async function admittedWithin(wal: WalBuffer, ms: number, first: number): Promise<boolean> {
    for (const until = Date.now() + ms; Date.now() < until; ) {
      const ok = await wal.push(many(5, first), 500, { timeoutMs: 0 }).then(() => true, () => false);
      if (ok) return true;
      await new Promise((r) => setTimeout(r, 25));
    }
    return false;
  }

  test('a full disk (ENOSPC) answers BUFFER_FULL (429), keeps the WAL consistent, and admits again once space frees', { timeout: 20_000 }, (t) =>
    onTmpfs(t, '256k', async (dir) => {
      const a = await open(dir, { segmentBytes: 64 * 1024, maxBytes: 64 * 1024 * 1024 });
      const b = { wal: undefined as WalBuffer | undefined };
      try {
        const { accepted, full } = await fillDisk(a.wal);
        assert.equal(full.code, 'SLUICE_ERR_BUFFER_FULL');
        assert.equal(full.statusCode, 429);
        assert.match(full.message, /no disk space/);
        assert.ok(accepted > 50, `${accepted} pushes fit before the disk was full`);
        assert.equal(a.wal.walStats().outOfSpace, true);
        // Until space frees, records are refused at once, with the reason.
        await assert.rejects(a.wal.push(many(1, 800_000), 100, { timeoutMs: 0 }), /no disk space/);
        // The disk's reserve lets the batch be cut and settled; its segments are deleted, and the
        // space they free takes records again.
        const batch = cutBatch(a.wal, accepted * 5);
        await a.wal.sealed(batch);
        a.wal.settled(batch);
        assert.ok(await admittedWithin(a.wal, 3000, 900_000), 'records are taken again once settled segments freed space');
        assert.equal(a.wal.walStats().outOfSpace, false);
        // Crash and replay: every byte on disk is a whole frame (the refused writes were truncated
        // away), and the one record frame admitted after the settle comes back.
        b.wal = (await open(dir)).wal;
        const replayedIds = b.wal.take(1000, Infinity).records.map((r) => r.id);
        assert.deepEqual(replayedIds, many(5, 900_000).map((r) => r.id));
      } finally {
        await b.wal?.shutdown().catch(() => undefined);
        await a.wal.shutdown().catch(() => undefined);
      }
    }),
  );

  test('a full disk with everything in one segment recovers: the settled segment rolls away, or space freed by another process is seen', { timeout: 20_000 }, (t) =>
    onTmpfs(t, '2m', async (dir) => {
      // Segments larger than the disk: nothing ever rolls on its own.
      for (const other of [false, true]) {
        const filler = join(dir, 'other-process');
        if (other) writeFileSync(filler, Buffer.alloc(600 * 1024));
        const a = await open(dir, { segmentBytes: 8 * 1024 * 1024, maxBytes: 64 * 1024 * 1024 });
        try {
          const { accepted } = await fillDisk(a.wal);
          assert.equal(segments(dir).length, 1);
          const batch = cutBatch(a.wal, accepted * 5);
          await a.wal.sealed(batch);
          a.wal.settled(batch);
          if (other) rmSync(filler);
          assert.ok(await admittedWithin(a.wal, 5000, 900_000), `records are taken again (${other ? 'space freed by another process' : 'settled segment rolled away'})`);
          assert.equal(a.wal.walStats().outOfSpace, false);
          a.wal.settled(cutBatch(a.wal, 5));
        } finally {
          await a.wal.shutdown();
        }
      }
    }),
  );

  test('a request waiting for room when the disk filled is admitted once space returns, with no other traffic to wake it', { timeout: 30_000 }, (t) =>
    onTmpfs(t, '2m', async (dir) => {
      const a = await open(dir, { segmentBytes: 64 * 1024, maxBytes: 64 * 1024 * 1024, maxRecords: 10 });
      const filler = join(dir, 'other-process');
      try {
        await a.wal.push(many(5, 0), 500, { timeoutMs: 0 });
        // Another process takes every free byte.
        const { bavail, bsize } = statfsSync(dir);
        try {
          writeFileSync(filler, Buffer.alloc(Number(bavail) * Number(bsize)));
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
        }
        // A request too large for what is left of the disk takes the last memory room; the one
        // after it waits for memory (the WAL does not know yet that the disk is full).
        const big = many(5, 50).map((r) => ({ ...r, message: 'x'.repeat(4000) }));
        const refused = assert.rejects(a.wal.push(big, 500, { timeoutMs: 0 }), /no disk space/);
        const started = Date.now();
        const waiting = a.wal.push(many(5, 100), 500, { timeoutMs: 20_000 });
        assert.equal(a.wal.stats().waiting, 1);
        // Its write hits ENOSPC: refused, its memory room freed, but now the disk is what is full.
        await refused;
        assert.equal(a.wal.walStats().outOfSpace, true);
        assert.equal(a.wal.stats().waiting, 1);
        rmSync(filler);
        await waiting;
        assert.ok(Date.now() - started < 10_000, `admitted ${Date.now() - started} ms later: woken by the space coming back, not by its timeout`);
        assert.equal(a.wal.walStats().outOfSpace, false);
      } finally {
        await a.wal.shutdown();
      }
    }),
  );

  test('shutdown does not hang when the disk stays full: frames that cannot be written are dropped at the deadline, and the next start recovers', { timeout: 20_000 }, (t) =>
    onTmpfs(t, '2m', async (dir) => {
      const a = await open(dir, { segmentBytes: 8 * 1024 * 1024, maxBytes: 64 * 1024 * 1024 });
      const { accepted } = await fillDisk(a.wal);
      // Another process takes the space the reserve gave back: now not even a cut frame fits.
      const filler = join(dir, 'other-process');
      try {
        writeFileSync(filler, Buffer.alloc(4 * 1024 * 1024));
      } catch {
        // ENOSPC part-way: the file holds what fitted, which is the point
      }
      // One-record batches until their cut frames stop reaching the disk (the last page of the
      // segment may still have room for a few).
      const pending = new Set<number>();
      for (let i = 0; i < accepted * 5; i++) {
        pending.add(i);
        void a.wal.sealed(cutBatch(a.wal, 1)).then(() => pending.delete(i));
      }
      await new Promise((r) => setTimeout(r, 500));
      assert.ok(pending.size > 0, 'some cut frames could not be written');
      const started = Date.now();
      await a.wal.shutdown(300);
      assert.ok(Date.now() - started < 3000, `shutdown took ${Date.now() - started} ms`);
      rmSync(filler);
      const b = await open(dir);
      const replayed = b.wal.recovered().reduce((n, x) => n + x.records.length, 0) + b.wal.take(1_000_000, Infinity).records.length;
      assert.equal(replayed, accepted * 5, 'every admitted record is replayed: in its batch when its cut was written, uncut otherwise');
      await b.wal.shutdown();
    }),
  );

  test('segments are deleted once every batch in them is settled, never before', async () => {
    const dir = newDir();
    const { wal } = await open(dir, { segmentBytes: 4096, maxBytes: 1024 * 1024 });
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
    const deadline = Date.now() + 10_000;
    while (segments(dir).length > 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    const after = segments(dir).length;
    assert.ok(after <= 2, `${before} segments → ${after}`);
    await wal.shutdown();
    // And they do not come back on replay.
    const again = await open(dir);
    assert.deepEqual(again.wal.recovered(), []);
    assert.equal(again.wal.take(1000, Infinity).records.length, 0);
    await again.wal.shutdown();
  });

  test('positions never go back, even after every segment holding records was deleted', async () => {
    const dir = newDir();
    const a = await open(dir, { segmentBytes: 4096 });
    for (let i = 0; i < 20; i++) await a.wal.push(many(5, i * 5), 500, { timeoutMs: 0 });
    const b1 = cutBatch(a.wal, 100);
    await a.wal.sealed(b1);
    a.wal.settled(b1);
    await a.wal.shutdown();
    // Twice, so the second start sees only segments with no records at all.
    for (let i = 0; i < 2; i++) (await open(dir)).wal.close();
    const c = await open(dir);
    await c.wal.push(many(1, 999), 100, { timeoutMs: 0 });
    c.wal.take(10, Infinity);
    const id = c.wal.cut();
    assert.ok(Number(id.split('-')[2]) >= 100, `new batch ${id} starts past ${b1.id}`);
    await c.wal.shutdown();
  });
});
