// Latency percentiles per history bucket in memory: chosen latencies give known p50/p95 (the
// same interpolation PostgreSQL's percentile_cont uses; test/integration/health-latency-buckets
// checks the SQL against these numbers), results without a latency are left out.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bucketsOf, percentileCont } from '../../src/ui/check-buckets.js';

const now = Date.UTC(2026, 10, 20, 12, 30, 0);
const at = (h: number, m: number) => new Date(Date.UTC(2026, 10, 20, h, m, 0)).toISOString();

/** 11:00–12:00: 10, 20, … 100 ms (shuffled) and one result without a latency; 12:00–: 7 ms; 09:00: none. */
const LATENCY_ROWS = [
  ...[70, 10, 100, 40, 20, 90, 30, 60, 80, 50].map((l, i) => ({ ts: at(11, i), ok: l < 100, latency_ms: l })),
  { ts: at(11, 30), ok: false, latency_ms: null },
  { ts: at(12, 5), ok: true, latency_ms: 7 },
  { ts: at(9, 15), ok: false, latency_ms: null },
];

test('percentile_cont: linear between the closest ranks', () => {
  assert.equal(percentileCont([], 0.5), null);
  assert.equal(percentileCont([4], 0.95), 4);
  assert.equal(percentileCont([1, 2, 3, 4], 0.5), 2.5);
  assert.ok(Math.abs(percentileCont([10, 20, 30, 40, 50, 60, 70, 80, 90, 100], 0.95)! - 95.5) < 1e-9);
  assert.equal(percentileCont([10, 20], 0), 10);
  assert.equal(percentileCont([10, 20], 1), 20);
});

test('hour buckets: p50/p95 of each hour, null where no result had a latency', () => {
  const hours = bucketsOf(LATENCY_ROWS, 'hour', now);
  assert.equal(hours.length, 24);
  const by = new Map(hours.map((b) => [b.start.slice(11, 13), b]));
  assert.deepEqual(
    [by.get('11')!.latency_p50_ms, by.get('11')!.latency_p95_ms, by.get('11')!.avg_latency_ms, by.get('11')!.total],
    [55, 95.5, 55, 11],
  );
  assert.deepEqual([by.get('12')!.latency_p50_ms, by.get('12')!.latency_p95_ms], [7, 7]);
  assert.deepEqual([by.get('09')!.latency_p50_ms, by.get('09')!.latency_p95_ms, by.get('09')!.total], [null, null, 1]);
  assert.equal(by.get('10')!.latency_p50_ms, null);
});

test('day buckets: the whole day in one bucket', () => {
  const days = bucketsOf(LATENCY_ROWS, 'day', now);
  assert.equal(days.length, 90);
  const today = days.at(-1)!;
  assert.equal(today.start, '2026-11-20T00:00:00.000Z');
  // 7, 10, 20, … 100: the median is the 6th of 11, p95 lies halfway between 90 and 100.
  assert.deepEqual([today.latency_p50_ms, today.latency_p95_ms, today.total], [50, 95, 13]);
  assert.equal(days[0]!.latency_p50_ms, null);
});
