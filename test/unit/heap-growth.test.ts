// runtime.heapGrowthPercent: checks that the setting reaches V8 in a running process, by the
// effect it exists for: the same allocation pattern peaks at a smaller heap.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import { test } from 'node:test';

const MODULE = resolve(import.meta.dirname, '../../src/cli/heap-growth.ts');

// A collector's pattern in miniature: records arrive in batches, live a while, then go.
const WORKLOAD = `
import { applyHeapGrowth } from ${JSON.stringify(MODULE)};
applyHeapGrowth(Number(process.argv[1]));
const live = [];
let peak = 0;
for (let round = 0; round < 3000; round++) {
  const batch = [];
  for (let i = 0; i < 1000; i++) batch.push({ id: 'r' + round + '-' + i, message: 'hello ' + i, n: i });
  live.push(batch);
  if (live.length > 200) live.shift();
  peak = Math.max(peak, process.memoryUsage().heapUsed);
}
console.log(peak);
`;

function peakHeap(percent: number): number {
  const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', WORKLOAD, String(percent)], { encoding: 'utf8' });
  return Number(out.trim());
}

// Both explicit: V8's own factor depends on how busy the machine is, a fixed one does not.
test('a lower heap growth percent makes the same workload peak at a smaller heap', () => {
  const tight = peakHeap(20);
  const loose = peakHeap(300);
  assert.ok(tight < loose * 0.7, `peak heap with 20%: ${tight} bytes; with 300%: ${loose} bytes`);
});
