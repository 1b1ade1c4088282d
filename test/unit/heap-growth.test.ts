// runtime.heapGrowthPercent: Sluice's part of it, from the config value to the V8 flag it sets.
// What V8 then does with the flag is V8's to test, not ours.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { applyHeapGrowth } from '../../src/cli/heap-growth.js';
import { loadConfig } from '../../src/config/load.js';

function flagsFor(percent: number): string[] {
  const set: string[] = [];
  applyHeapGrowth(percent, (flags) => set.push(flags));
  return set;
}

test('a heap growth percent becomes the one V8 flag --heap-growing-percent', () => {
  assert.deepEqual(flagsFor(20), ['--heap-growing-percent=20']);
  assert.deepEqual(flagsFor(1000), ['--heap-growing-percent=1000']);
});

test('0 leaves V8 its own heuristics: no flag is set', () => {
  assert.deepEqual(flagsFor(0), []);
});

test('the default is 50 and the env variable sets it', () => {
  assert.equal(loadConfig({ env: {}, flags: {} }).config.runtime.heapGrowthPercent, 50);
  assert.equal(
    loadConfig({ env: { SLUICE_RUNTIME_HEAP_GROWTH_PERCENT: '30' }, flags: {} }).config.runtime.heapGrowthPercent,
    30,
  );
});

test('a value outside 0..1000 or not a whole number is refused, naming the setting', () => {
  for (const bad of ['-1', '1001', '12.5']) {
    assert.throws(
      () => loadConfig({ env: { SLUICE_RUNTIME_HEAP_GROWTH_PERCENT: bad }, flags: {} }),
      /heapGrowthPercent/,
      bad,
    );
  }
});
