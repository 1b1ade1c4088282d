import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Histogram, Registry } from 'prom-client';
import { CountingHistogram } from '../../src/observability/counting-histogram.js';

test('renders exactly what prom-client’s Histogram renders for the same observations', async () => {
  const bounds = [0.001, 0.01, 0.1, 1, 10];
  const ours = new Registry();
  const theirs = new Registry();
  const a = new CountingHistogram('lat_seconds', 'latency', bounds, ours);
  const b = new Histogram({ name: 'lat_seconds', help: 'latency', buckets: bounds, registers: [theirs] });
  // Values on the bounds (inclusive), between them, past the last, and weighted runs.
  const runs: Array<[number, number]> = [
    [0.001, 1],
    [0.0005, 3],
    [0.01, 2],
    [0.05, 1],
    [1, 4],
    [7, 1],
    [10, 1],
    [42, 2],
    [0, 1],
  ];
  for (const [v, n] of runs) {
    a.observe(v, n);
    for (let i = 0; i < n; i++) b.observe(v);
  }
  assert.equal(await ours.metrics(), await theirs.metrics());
  a.reset();
  assert.match(await ours.metrics(), /^lat_seconds_count 0$/m);
  assert.match(await ours.metrics(), /^lat_seconds_bucket\{le="\+Inf"\} 0$/m);
});
