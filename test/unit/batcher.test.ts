import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, mock, test } from 'node:test';
import { Batcher } from '../../src/pipeline/batcher.js';
import { MemoryBuffer } from '../../src/pipeline/memory-buffer.js';
import { Ticket, type Batch } from '../../src/batch.js';
import type { LogRecord } from '../../src/record.js';

function rec(i: number, size = 100): LogRecord {
  return {
    type: 'log',
    id: `r${i}`,
    ts: 1,
    received_at: 1,
    level: 'info',
    service: null,
    message: `m${i}`,
    attrs: null,
    trace_id: null,
    span_id: null,
    size,
  };
}

function setup(opts: { maxRecords?: number; maxBytes?: number; maxWaitMs?: number; room?: () => boolean } = {}) {
  const buffer = new MemoryBuffer({ maxRecords: 1_000_000, maxBytes: 1e12, retryAfterSeconds: 1 });
  const batches: Batch[] = [];
  const batcher = new Batcher(
    buffer,
    { maxRecords: opts.maxRecords ?? 10, maxBytes: opts.maxBytes ?? 1e9, maxWaitMs: opts.maxWaitMs ?? 100 },
    (b) => batches.push(b),
    opts.room ?? (() => true),
  );
  const push = (n: number, size = 100, start = 0, ticket?: Ticket) =>
    buffer.push(
      Array.from({ length: n }, (_, i) => rec(start + i, size)),
      n * size,
      { timeoutMs: 0, ...(ticket ? { ticket } : {}) },
    );
  return { buffer, batcher, batches, push };
}

describe('Batcher', () => {
  beforeEach(() => mock.timers.enable({ apis: ['setTimeout', 'Date'] }));
  afterEach(() => mock.timers.reset());

  test('flushes a full batch at maxRecords at once, with trigger size', async () => {
    const { batches, push } = setup({ maxRecords: 10 });
    await push(25);
    assert.equal(batches.length, 2);
    assert.deepEqual(
      batches.map((b) => [b.records.length, b.trigger]),
      [
        [10, 'size'],
        [10, 'size'],
      ],
    );
    assert.deepEqual(
      batches[0]!.records.map((r) => r.id),
      Array.from({ length: 10 }, (_, i) => `r${i}`),
    );
  });

  test('flushes a partial batch after maxWait since its first record, with trigger time', async () => {
    const { batches, push } = setup({ maxRecords: 10, maxWaitMs: 100 });
    await push(3);
    mock.timers.tick(60);
    await push(2, 100, 3);
    assert.equal(batches.length, 0, 'nothing before maxWait');
    mock.timers.tick(39);
    assert.equal(batches.length, 0, 'still nothing at 99 ms');
    mock.timers.tick(1);
    assert.equal(batches.length, 1);
    assert.equal(batches[0]!.trigger, 'time');
    assert.equal(batches[0]!.records.length, 5, 'records added later ride along; the clock started at the first');
  });

  test('flushes at maxBytes, with trigger bytes, never splitting a record', async () => {
    const { batches, push } = setup({ maxRecords: 1000, maxBytes: 1000 });
    await push(25, 300);
    assert.deepEqual(
      batches.map((b) => [b.records.length, b.bytes, b.trigger]),
      [
        [3, 900, 'bytes'],
        [3, 900, 'bytes'],
        [3, 900, 'bytes'],
        [3, 900, 'bytes'],
        [3, 900, 'bytes'],
        [3, 900, 'bytes'],
        [3, 900, 'bytes'],
        [3, 900, 'bytes'],
      ],
    );
    mock.timers.tick(100);
    assert.equal(batches.at(-1)!.records.length, 1, 'the remainder flushes on time');
  });

  test('sends a record larger than maxBytes alone rather than blocking', async () => {
    const { batches, push } = setup({ maxRecords: 100, maxBytes: 1000 });
    await push(1, 5000);
    mock.timers.tick(100);
    assert.equal(batches.length, 1);
    assert.equal(batches[0]!.records.length, 1);
  });

  test('never emits an empty batch', () => {
    const { batcher, batches } = setup();
    batcher.flush('time');
    mock.timers.tick(1000);
    batcher.drain();
    assert.equal(batches.length, 0);
  });

  test('holds records in the buffer while downstream has no room, then resumes', async () => {
    let room = false;
    const { batcher, batches, buffer, push } = setup({ maxRecords: 10, room: () => room });
    await push(30);
    assert.equal(batches.length, 0);
    assert.equal(buffer.stats().records, 30);
    room = true;
    batcher.pump();
    assert.equal(batches.length, 3);
    assert.equal(buffer.stats().records, 0);
  });

  test('drain on stop flushes everything held, ending with trigger shutdown', async () => {
    let room = false;
    const { batcher, batches, push } = setup({ maxRecords: 10, room: () => room });
    await push(25);
    batcher.drain();
    assert.deepEqual(
      batches.map((b) => [b.records.length, b.trigger]),
      [
        [10, 'size'],
        [10, 'size'],
        [5, 'shutdown'],
      ],
    );
    room = true;
    batcher.pump();
    assert.equal(batches.length, 3, 'a stopped batcher pulls nothing more');
  });

  test("carries tickets with the count of each request's records in the batch", async () => {
    const { batches, push } = setup({ maxRecords: 4 });
    const a = new Ticket(3);
    const b = new Ticket(3);
    await push(3, 100, 0, a);
    await push(3, 100, 3, b);
    assert.equal(batches.length, 1);
    assert.deepEqual(
      batches[0]!.tickets.map(([t, n]) => [t === a ? 'a' : 'b', n]),
      [
        ['a', 3],
        ['b', 1],
      ],
    );
  });
});
