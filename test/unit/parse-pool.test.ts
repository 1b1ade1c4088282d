// Parse threads (ingest.parseThreads) on real worker threads: what a thread hands back is, byte
// for byte, the COPY tuples the main thread would have encoded for the same body (tenant
// included), with the same sizes; bad input and limits come back undefined, for the main thread
// to parse and answer exactly, and so does a job when every thread is busy; a thread that dies
// leaves its jobs undefined and is replaced; a closed pool parses nothing.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import type { Worker } from 'node:worker_threads';
import pino from 'pino';
import { normaliseLog, withTenant } from '../../src/ingest/normalise.js';
import { parseBody, type ParseLimits } from '../../src/ingest/parse-body.js';
import { MAX_QUEUED_BYTES, ParsePool } from '../../src/ingest/parse-threads/parse-pool.js';
import { heldRecords } from '../../src/pipeline/held-records.js';
import { pendingRecords } from '../../src/pipeline/wal/frame.js';
import { TupleSlab } from '../../src/pipeline/wal/tuple-slab.js';

const limits: ParseLimits = { maxRecords: 1000, maxDepth: 20, maxKeys: 1000 };
const pools: ParsePool[] = [];
after(async () => {
  for (const p of pools) await p.close();
});

function pool(size: number): ParsePool {
  const p = new ParsePool(size, pino({ level: 'silent' }));
  pools.push(p);
  return p;
}

const lines = Array.from({ length: 30 }, (_, i) => ({
  id: `r-${i}`,
  ts: `2026-12-03T10:00:${String(i).padStart(2, '0')}.123456Z`,
  level: ['info', 'warn', 'error'][i % 3],
  service: i % 2 ? 'api' : 'web',
  message: `line ${i} ü ${'x'.repeat(i)}`,
  attrs: { n: i, nested: { ok: i % 2 === 0 }, list: [1, 'two'] },
  extra: i,
}));
const bodies: Array<[string, Buffer, boolean]> = [
  ['NDJSON', Buffer.from(lines.map((l) => JSON.stringify(l)).join('\n')), true],
  ['a JSON array', Buffer.from(JSON.stringify(lines)), false],
  ['one JSON object', Buffer.from(JSON.stringify(lines[7])), false],
];

for (const [what, body, ndjson] of bodies)
  test(`${what}: a thread hands back the tuples the main thread would encode, tenant included`, async () => {
    const threads = pool(2);
    const encoded = await threads.parse(body, ndjson, 1_700_000_000_000_000, 'acme', limits);
    assert.ok(encoded, 'encoded');
    const here = parseBody(body, ndjson, 1_700_000_000_000_000, withTenant(normaliseLog, 'acme'), limits);
    const frame = pendingRecords(here.records, new TupleSlab());
    assert.ok(Buffer.isBuffer(encoded.tuples), 'a Buffer, not the plain Uint8Array a message carries');
    assert.deepEqual(encoded.tuples, frame.tuples, 'the same bytes');
    assert.deepEqual(encoded.offsets, frame.offsets);
    assert.deepEqual(encoded.sizes, frame.sizes);
    assert.equal(encoded.bytes, here.bytes);
    const decoded = heldRecords([
      { tuples: encoded.tuples, sizes: encoded.sizes, type: 'log', receivedAt: 1_700_000_000_000_000 },
    ]);
    assert.deepEqual(
      decoded.map((r) => [r.id, r.type === 'log' ? r.tenant : undefined]),
      here.records.map((r) => [r.id, 'acme']),
    );
  });

test('bad input or a limit: undefined, so the main thread parses it and answers exactly', async () => {
  const threads = pool(1);
  const at = 1_700_000_000_000_000;
  const cases: Array<[string, Buffer, boolean, ParseLimits]> = [
    ['invalid JSON', Buffer.from('{"message":"a"}\n{"mess'), true, limits],
    ['a bad field', Buffer.from('{"message":"a","ts":"yesterday"}'), false, limits],
    ['past maxRecords', Buffer.from('{"message":"a"}\n{"message":"b"}'), true, { ...limits, maxRecords: 1 }],
    ['empty', Buffer.alloc(0), true, limits],
    ['not UTF-8', Buffer.from([0x7b, 0xff, 0x7d]), false, limits],
  ];
  for (const [what, body, ndjson, l] of cases) {
    assert.throws(() => parseBody(body, ndjson, at, normaliseLog, l), `${what}: the main thread refuses it`);
    assert.equal(await threads.parse(body, ndjson, at, undefined, l), undefined, what);
  }
  // The thread is still there after all that.
  assert.ok(await threads.parse(bodies[0]![1], true, at, undefined, limits));
});

const firstThread = (p: ParsePool): Worker =>
  (p as unknown as { threads: Array<{ worker: Worker }> }).threads[0]!.worker;

/** A body a thread takes a while over (~4 MB of NDJSON), so it is still at work when stopped. */
const slow = Buffer.from(
  Array.from({ length: 20_000 }, (_, i) => JSON.stringify({ ...lines[i % 30], id: `s${i}` })).join('\n'),
);
const unlimited: ParseLimits = { maxRecords: 1e6, maxDepth: 20, maxKeys: 1000 };

test('a thread that dies: its jobs come back undefined, and a new thread takes the next ones', async () => {
  const threads = pool(1);
  const at = 1_700_000_000_000_000;
  assert.ok(await threads.parse(bodies[0]![1], true, at, undefined, limits), 'it worked once');
  const inFlight = threads.parse(slow, true, at, undefined, unlimited);
  // Stopped before it could answer (its message is still in flight to it).
  const dying = firstThread(threads);
  await dying.terminate();
  assert.equal(await inFlight, undefined);
  const next = await threads.parse(bodies[0]![1], true, at, undefined, limits);
  assert.ok(next, 'a new thread parsed it');
  assert.equal(next.sizes.length, lines.length);
  assert.notEqual(firstThread(threads), dying);
});

test('every thread busy (past a MiB of bodies queued): undefined at once, for the main thread to parse', async () => {
  const threads = pool(2);
  assert.ok(slow.length > MAX_QUEUED_BYTES, 'one slow body fills a thread (an idle one takes it all the same)');
  const queued = [0, 1].map(() => threads.parse(slow, true, 0, undefined, unlimited));
  assert.equal(await threads.parse(bodies[0]![1], true, 0, undefined, limits), undefined, 'no room: not queued');
  for (const q of await Promise.all(queued)) assert.equal(q?.sizes.length, 20_000, 'the queued ones were parsed');
  assert.ok(await threads.parse(bodies[0]![1], true, 0, undefined, limits), 'room again');
});

test('a closed pool parses nothing', async () => {
  const threads = pool(1);
  await threads.close();
  assert.equal(await threads.parse(bodies[0]![1], true, 0, undefined, limits), undefined);
});
