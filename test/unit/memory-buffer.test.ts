import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SluiceError } from '../../src/errors.js';
import { MemoryBuffer } from '../../src/pipeline/memory-buffer.js';
import type { LogRecord } from '../../src/record.js';

const rec = (i: number, size = 100): LogRecord => ({
  type: 'log',
  id: `r${i}`,
  ts: 1,
  received_at: 1,
  level: 'info',
  service: null,
  message: null,
  attrs: null,
  trace_id: null,
  span_id: null,
  size,
});
const many = (n: number, start = 0, size = 100) => Array.from({ length: n }, (_, i) => rec(start + i, size));

describe('MemoryBuffer', () => {
  test('admits up to maxRecords and rejects the next push with BUFFER_FULL and Retry-After', async () => {
    const b = new MemoryBuffer({ maxRecords: 10, maxBytes: 1e9, retryAfterSeconds: 3 });
    await b.push(many(10), 1000, { timeoutMs: 0 });
    await assert.rejects(b.push(many(1, 10), 100, { timeoutMs: 0 }), (err: unknown) => {
      assert.ok(err instanceof SluiceError);
      assert.equal(err.code, 'SLUICE_ERR_BUFFER_FULL');
      assert.equal(err.statusCode, 429);
      assert.equal(err.retryAfter, 3);
      return true;
    });
    assert.equal(b.stats().records, 10, 'the rejected push added nothing');
  });

  test('bounds bytes as well as records', async () => {
    const b = new MemoryBuffer({ maxRecords: 1000, maxBytes: 1000, retryAfterSeconds: 1 });
    await b.push(many(9), 900, { timeoutMs: 0 });
    await assert.rejects(b.push(many(2, 9), 200, { timeoutMs: 0 }), /buffer full/);
    await b.push(many(1, 9), 100, { timeoutMs: 0 });
    assert.deepEqual([b.stats().records, b.stats().bytes], [10, 1000]);
  });

  test('a waiting producer is admitted when a take frees room, before its timeout', async () => {
    const b = new MemoryBuffer({ maxRecords: 10, maxBytes: 1e9, retryAfterSeconds: 1 });
    await b.push(many(10), 1000, { timeoutMs: 0 });
    const waiting = b.push(many(5, 10), 500, { timeoutMs: 5000 });
    assert.equal(b.stats().waiting, 1);
    b.take(5, 1e9);
    await waiting;
    assert.equal(b.stats().records, 10);
    assert.deepEqual(
      b.take(100, 1e9).records.map((r) => r.id),
      ['r5', 'r6', 'r7', 'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14'],
    );
  });

  test('a waiting producer gets BUFFER_FULL after its timeout and nothing of it is admitted', async () => {
    const b = new MemoryBuffer({ maxRecords: 5, maxBytes: 1e9, retryAfterSeconds: 1 });
    await b.push(many(5), 500, { timeoutMs: 0 });
    const started = Date.now();
    await assert.rejects(b.push(many(1, 5), 100, { timeoutMs: 50 }), /buffer full/);
    assert.ok(Date.now() - started >= 45);
    b.take(5, 1e9);
    assert.equal(b.stats().records, 0);
  });

  test('new producers queue behind waiting ones (no barging)', async () => {
    const b = new MemoryBuffer({ maxRecords: 10, maxBytes: 1e9, retryAfterSeconds: 1 });
    await b.push(many(8), 800, { timeoutMs: 0 });
    const big = b.push(many(5, 100), 500, { timeoutMs: 5000 });
    await assert.rejects(
      b.push(many(1, 200), 100, { timeoutMs: 0 }),
      /buffer full/,
      'a small push may not overtake the waiting one',
    );
    b.take(8, 1e9);
    await big;
    assert.equal(b.take(100, 1e9).records[0]!.id, 'r100');
  });

  test('an empty buffer admits a single request larger than its caps', async () => {
    const b = new MemoryBuffer({ maxRecords: 5, maxBytes: 1e9, retryAfterSeconds: 1 });
    await b.push(many(50), 5000, { timeoutMs: 0 });
    assert.equal(b.stats().records, 50);
  });

  test('take respects both limits, in arrival order across requests', async () => {
    const b = new MemoryBuffer({ maxRecords: 100, maxBytes: 1e9, retryAfterSeconds: 1 });
    await b.push(many(3), 300, { timeoutMs: 0 });
    await b.push(many(3, 3), 300, { timeoutMs: 0 });
    const t1 = b.take(4, 1e9);
    assert.deepEqual(
      t1.records.map((r) => r.id),
      ['r0', 'r1', 'r2', 'r3'],
    );
    assert.equal(t1.more, true);
    const t2 = b.take(100, 150);
    assert.deepEqual(
      t2.records.map((r) => r.id),
      ['r4'],
    );
    assert.equal(t2.bytes, 100);
    assert.equal(b.take(100, 1e9).records.length, 1);
    assert.equal(b.take(100, 1e9).more, false);
  });

  test('close fails waiting producers with SHUTTING_DOWN and refuses new pushes, keeping what it holds', async () => {
    const b = new MemoryBuffer({ maxRecords: 2, maxBytes: 1e9, retryAfterSeconds: 1 });
    await b.push(many(2), 200, { timeoutMs: 0 });
    const waiting = b.push(many(1, 2), 100, { timeoutMs: 5000 });
    b.close();
    await assert.rejects(waiting, (e: unknown) => e instanceof SluiceError && e.code === 'SLUICE_ERR_SHUTTING_DOWN');
    await assert.rejects(
      b.push(many(1, 3), 100, { timeoutMs: 0 }),
      (e: unknown) => e instanceof SluiceError && e.statusCode === 503,
    );
    assert.equal(b.take(10, 1e9).records.length, 2);
  });
});
