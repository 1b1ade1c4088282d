// Requests waiting for buffer room (both buffers): parsed only at their turn, a bad one at the
// head fails alone, and the line's byte bound refuses at once without parsing.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { SluiceError } from '../../src/errors.js';
import type { DeferredRecords, RecordBuffer } from '../../src/pipeline/buffer.js';
import { MemoryBuffer } from '../../src/pipeline/memory-buffer.js';
import { tempDir } from '../helpers/app.js';
import { cutBatch, many, openWal } from '../helpers/wal.js';

const dirs: Array<() => void> = [];
after(() => dirs.forEach((d) => d()));

/** A deferred request of `n` records from `start`, counting how often it is parsed. */
function request(n: number, start: number, rawBytes = 100 * n, bad = false): DeferredRecords & { parses: number } {
  const req = {
    parses: 0,
    rawBytes,
    parse() {
      req.parses++;
      if (bad) throw new SluiceError('SLUICE_ERR_INVALID_RECORD', 'line 1: field level is not a level');
      return { records: many(n, start), bytes: 100 * n };
    },
  };
  return req;
}

interface Subject {
  buffer: RecordBuffer;
  /** Frees room for `n` records the way the pipeline does (take; for the WAL, cut and start). */
  free(n: number): void;
}

const subjects: Record<string, (maxWaitingBytes: number) => Promise<Subject>> = {
  memory: async (maxWaitingBytes) => {
    const buffer = new MemoryBuffer({ maxRecords: 10, maxBytes: 1e9, retryAfterSeconds: 1, maxWaitingBytes });
    return { buffer, free: (n) => void buffer.take(n, Infinity) };
  },
  wal: async (maxWaitingBytes) => {
    const dir = tempDir('sluice-wait-');
    dirs.push(dir.remove);
    const { wal: buffer } = await openWal(dir.path, { maxRecords: 10, maxWaitingBytes, retryAfterSeconds: 1 });
    after(() => buffer.shutdown());
    return { buffer, free: (n) => buffer.started(cutBatch(buffer, n)) };
  },
};

for (const [name, make] of Object.entries(subjects)) {
  describe(`waiting for room (${name} buffer)`, () => {
    test('a request that fits is parsed at once', async () => {
      const s = await make(1e9);
      const a = request(3, 0);
      const p = s.buffer.pushDeferred(a, { timeoutMs: 1000 });
      assert.equal(a.parses, 1, 'parsed before the push returned');
      await p;
      assert.deepEqual(
        a.records?.map((r) => r.id),
        ['r0', 'r1', 'r2'],
      );
    });

    test('a request that has to wait is parsed only at the head of the line, then admitted in order', async () => {
      const s = await make(1e9);
      await s.buffer.push(many(10, 0), 1000, { timeoutMs: 0 });
      const a = request(4, 100);
      const b = request(2, 200);
      const pa = s.buffer.pushDeferred(a, { timeoutMs: 5000 });
      const pb = s.buffer.pushDeferred(b, { timeoutMs: 5000 });
      assert.equal(s.buffer.stats().waiting, 2);
      // The first in an empty line is parsed at once (it may well fit); the ones behind it wait unparsed.
      assert.deepEqual([a.parses, b.parses], [1, 0]);
      s.free(3); // room for 3: the head (4 records) still does not fit
      assert.deepEqual([a.parses, b.parses], [1, 0]);
      assert.equal(s.buffer.stats().waiting, 2);
      s.free(7);
      await Promise.all([pa, pb]);
      assert.deepEqual([a.parses, b.parses], [1, 1], 'each parsed once');
      const taken = s.buffer.take(100, Infinity).records.map((r) => r.id);
      assert.deepEqual(taken, ['r100', 'r101', 'r102', 'r103', 'r200', 'r201']);
    });

    test('a waiting request with bad input gets its parse error at its turn; the one behind it still gets in', async () => {
      const s = await make(1e9);
      await s.buffer.push(many(10, 0), 1000, { timeoutMs: 0 });
      const first = request(1, 100);
      const bad = request(1, 150, 100, true);
      const good = request(2, 200);
      const pFirst = s.buffer.pushDeferred(first, { timeoutMs: 5000 });
      const badRejected = assert.rejects(
        s.buffer.pushDeferred(bad, { timeoutMs: 5000 }),
        (err: unknown) => err instanceof SluiceError && err.statusCode === 400,
      );
      const pGood = s.buffer.pushDeferred(good, { timeoutMs: 5000 });
      assert.equal(bad.parses, 0);
      s.free(10);
      await Promise.all([pFirst, badRejected, pGood]);
      assert.equal(bad.parses, 1);
      assert.deepEqual(
        good.records?.map((r) => r.id),
        ['r200', 'r201'],
      );
      assert.equal(s.buffer.stats().waiting, 0);
      assert.deepEqual(
        s.buffer.take(100, Infinity).records.map((r) => r.id),
        ['r100', 'r200', 'r201'],
        'nothing of the bad request admitted',
      );
    });

    test('past maxWaitingBytes a request gets BUFFER_FULL at once, unparsed', async () => {
      const s = await make(1000);
      await s.buffer.push(many(10, 0), 1000, { timeoutMs: 0 });
      const a = request(1, 100); // parsed at once: holds its accounted 100 bytes
      const b = request(1, 200, 800); // waits as 800 raw bytes: 900 in line
      const c = request(1, 300, 200); // would make 1100
      const pa = s.buffer.pushDeferred(a, { timeoutMs: 5000 });
      const pb = s.buffer.pushDeferred(b, { timeoutMs: 5000 });
      await assert.rejects(
        s.buffer.pushDeferred(c, { timeoutMs: 5000 }),
        (err: unknown) => err instanceof SluiceError && err.code === 'SLUICE_ERR_BUFFER_FULL',
      );
      assert.equal(c.parses, 0, 'refused without being parsed');
      assert.equal(s.buffer.stats().waiting, 2);
      s.free(10);
      await Promise.all([pa, pb]);
      assert.deepEqual([a.parses, b.parses], [1, 1]);
    });

    test('an empty line takes a request larger than maxWaitingBytes', async () => {
      const s = await make(1000);
      await s.buffer.push(many(10, 0), 1000, { timeoutMs: 0 });
      const big = request(50, 100, 50_000);
      const p = s.buffer.pushDeferred(big, { timeoutMs: 5000 });
      assert.equal(s.buffer.stats().waiting, 1);
      s.free(10);
      await p;
      assert.equal(big.records?.length, 50);
    });

    test('when the head times out, the one behind it is tried at once (it may fit where the head did not)', async () => {
      const s = await make(1e9);
      await s.buffer.push(many(10, 0), 1000, { timeoutMs: 0 });
      const head = request(8, 100);
      const small = request(1, 200);
      const pHead = assert.rejects(s.buffer.pushDeferred(head, { timeoutMs: 150 }), /buffer full/);
      const pSmall = s.buffer.pushDeferred(small, { timeoutMs: 5000 });
      s.free(2); // room for 2: not for the head's 8, enough for the 1 behind it
      assert.equal(s.buffer.stats().waiting, 2);
      const started = performance.now();
      await pHead;
      await pSmall;
      // Admitted right after the head's timeout, not at its own (5 s) or at the next take.
      assert.ok(performance.now() - started < 2500, `admitted after ${performance.now() - started} ms`);
      assert.deepEqual(
        small.records?.map((r) => r.id),
        ['r200'],
      );
    });

    test('waiting requests time out with BUFFER_FULL; each is parsed once, at its turn, and nothing of them is admitted', async () => {
      const s = await make(1e9);
      await s.buffer.push(many(10, 0), 1000, { timeoutMs: 0 });
      const a = request(1, 100);
      const b = request(1, 200);
      await Promise.all([
        assert.rejects(s.buffer.pushDeferred(a, { timeoutMs: 30 }), /buffer full/),
        assert.rejects(s.buffer.pushDeferred(b, { timeoutMs: 60 }), /buffer full/),
      ]);
      // a was parsed on entering an empty line, b when a's timeout made it the head.
      assert.deepEqual([a.parses, b.parses], [1, 1]);
      assert.equal(s.buffer.stats().waiting, 0);
      assert.equal(s.buffer.stats().records, 10);
    });
  });
}
