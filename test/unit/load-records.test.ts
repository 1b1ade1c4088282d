// The load generator's bodies are valid ingest input: every shape normalises without a
// problem, ids follow the run prefix, and the microsecond `ts` survives the round trip.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { normaliseLog } from '../../src/ingest/normalise.js';
import { parseBody } from '../../src/ingest/parse-body.js';
import { bodyBuilder, isoMicros } from '../../src/load/records.js';
import { LatencyHistogram } from '../../src/load/histogram.js';

test('single, JSON-array and NDJSON bodies parse into the records asked for', () => {
  const now = Date.UTC(2026, 10, 25, 10, 0, 0) + 0.123;
  for (const [format, batched, count] of [
    ['json', false, 1],
    ['json', true, 7],
    ['ndjson', true, 7],
  ] as const) {
    const b = bodyBuilder(format, 'run1', 'load-run1', batched);
    const parsed = parseBody(Buffer.from(b.build(40, count, now)), format === 'ndjson', 0, normaliseLog);
    assert.equal(parsed.records.length, count);
    assert.deepEqual(
      parsed.records.map((r) => r.id),
      Array.from({ length: count }, (_, i) => `run1-${40 + i}`),
    );
    assert.ok(parsed.records.every((r) => r.service === 'load-run1' && r.ts === Math.round(now * 1000)));
  }
});

test('isoMicros keeps microseconds', () => {
  assert.equal(isoMicros(Date.UTC(2026, 0, 2, 3, 4, 5, 678) + 0.9), '2026-01-02T03:04:05.678900Z');
});

test('latency percentiles never pass the maximum', () => {
  const h = new LatencyHistogram();
  for (const ms of [0.5, 1, 2, 8.3217]) h.recordMs(ms);
  h.recordMs(3, 10);
  const s = h.summary();
  assert.equal(s.count, 14);
  assert.ok(s.p50 <= s.p95 && s.p95 <= s.p99 && s.p99 <= s.max, JSON.stringify(s));
});
