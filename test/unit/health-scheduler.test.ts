// The scheduler: spread over the interval, no overlapping runs of one job, global and
// per-host concurrency limits, lag reported.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { Scheduler, spreadFraction } from '../../src/health/scheduler.js';

test('first runs are spread over the interval, not all at once', async () => {
  const starts: number[] = [];
  const s = new Scheduler({ concurrency: 1000, perHost: 1000 });
  const t0 = performance.now();
  for (let i = 0; i < 200; i++) {
    s.add({ id: `check-${i}`, intervalMs: 1000, host: null, run: async () => void starts.push(performance.now() - t0) });
  }
  s.start();
  await sleep(1100);
  await s.stop();
  assert.ok(starts.length >= 200, `${starts.length} runs`);
  // The first runs span most of the interval (a lower bound: a loaded machine only delays timers).
  const first = starts.slice(0, 200);
  assert.ok(Math.max(...first) - Math.min(...first) >= 700, `first runs spread over ${Math.max(...first) - Math.min(...first)} ms`);
  // The offsets themselves: ten tenths of the interval each hold some of 200 ids.
  const buckets = new Array(10).fill(0) as number[];
  for (let i = 0; i < 200; i++) buckets[Math.floor(spreadFraction(`check-${i}`) * 10)]!++;
  for (const [i, n] of buckets.entries()) assert.ok(n >= 5 && n <= 45, `tenth ${i}: ${n} (${buckets.join(',')})`);
});

test("a check's offset is a pure function of its id: the same in another process (a restart)", () => {
  const here = [spreadFraction('check-7'), spreadFraction('api-billing')];
  const script = `import('${new URL('../../src/health/scheduler.ts', import.meta.url).href}').then((m) => console.log(JSON.stringify([m.spreadFraction('check-7'), m.spreadFraction('api-billing')])))`;
  const there = JSON.parse(execFileSync(process.execPath, ['--import', 'tsx', '-e', script], { encoding: 'utf8' })) as number[];
  assert.deepEqual(there, here);
  assert.notEqual(here[0], here[1], 'different ids, different offsets');
});

test('a run still going when its next turn comes is skipped, never overlapped', async () => {
  let running = 0;
  let maxRunning = 0;
  let runs = 0;
  const overlaps: string[] = [];
  const s = new Scheduler({ concurrency: 10, perHost: 10, onOverlap: (id) => overlaps.push(id) });
  s.add(
    {
      id: 'slow',
      intervalMs: 100,
      host: null,
      run: async () => {
        runs++;
        running++;
        maxRunning = Math.max(maxRunning, running);
        await sleep(350);
        running--;
      },
    },
    0,
  );
  s.start();
  await sleep(1000);
  await s.stop();
  assert.equal(maxRunning, 1);
  assert.ok(runs >= 2 && runs <= 3, `${runs} runs`);
  assert.ok(overlaps.length >= 5, `${overlaps.length} skipped turns`);
  assert.equal(s.stats().overlapsSkipped, overlaps.length);
});

test('the global limit and the per-host limit hold; every due run still starts', async () => {
  let global = 0;
  let globalMax = 0;
  const perHost = new Map<string, { now: number; max: number }>();
  let done = 0;
  const s = new Scheduler({ concurrency: 6, perHost: 2 });
  for (let i = 0; i < 40; i++) {
    const host = `h${i % 4}`;
    s.add(
      {
        id: `j${i}`,
        intervalMs: 60_000,
        host,
        run: async () => {
          const h = perHost.get(host) ?? { now: 0, max: 0 };
          perHost.set(host, h);
          global++;
          h.now++;
          globalMax = Math.max(globalMax, global);
          h.max = Math.max(h.max, h.now);
          await sleep(20);
          global--;
          h.now--;
          done++;
        },
      },
      0,
    );
  }
  s.start();
  for (let i = 0; i < 100 && done < 40; i++) await sleep(20);
  await s.stop();
  assert.equal(done, 40);
  assert.equal(globalMax, 6);
  for (const [host, h] of perHost) assert.equal(h.max, 2, host);
});

test('lag is reported per run: small when idle, and it includes waiting for a slot', async () => {
  const lags: number[] = [];
  const s = new Scheduler({ concurrency: 1, perHost: 1, onLag: (ms) => lags.push(ms) });
  for (let i = 0; i < 3; i++) s.add({ id: `l${i}`, intervalMs: 60_000, host: null, run: () => sleep(100) }, 50);
  s.start();
  await sleep(450);
  await s.stop();
  assert.equal(lags.length, 3);
  lags.sort((a, b) => a - b);
  assert.ok(lags[2]! >= 180, `third waited for two runs: ${lags[2]}`);
  // Relative, so a loaded machine (late timers for all three) does not fail it.
  assert.ok(lags[2]! - lags[0]! >= 150, `first lag ${lags[0]}, third ${lags[2]}: the wait for a slot is counted`);
});

test('removed jobs stop running', async () => {
  let runs = 0;
  const s = new Scheduler({ concurrency: 4, perHost: 4 });
  s.add({ id: 'gone', intervalMs: 100, host: null, run: async () => void runs++ }, 0);
  s.start();
  for (let i = 0; i < 100 && runs === 0; i++) await sleep(10);
  assert.ok(runs > 0);
  assert.equal(s.remove('gone'), true);
  const before = runs;
  await sleep(300);
  assert.equal(runs, before);
  await s.stop();
});

test('stop() waits for runs in progress', async () => {
  let started = false;
  let finished = false;
  const s = new Scheduler({ concurrency: 4, perHost: 4 });
  s.add({ id: 'long', intervalMs: 60_000, host: null, run: async () => { started = true; await sleep(200); finished = true; } }, 0);
  s.start();
  for (let i = 0; i < 200 && !started; i++) await sleep(5);
  assert.equal(started, true);
  assert.equal(finished, false, 'stop() is called while the run is under way');
  await s.stop();
  assert.equal(finished, true);
});

test('a turn due exactly when the loop wakes (after a stall) runs once, not twice', async (t) => {
  // A fake clock: the loop "stalls" for exactly two intervals, so the next turn lands on now.
  let now = 1000;
  t.mock.method(performance, 'now', () => now);
  let runs = 0;
  const overlaps: string[] = [];
  const s = new Scheduler({ concurrency: 10, perHost: 10, onOverlap: (id) => overlaps.push(id) });
  s.add({ id: 'a', intervalMs: 100, host: null, run: async () => void runs++ }, 0);
  s.start();
  for (let i = 0; i < 100 && runs === 0; i++) await sleep(5);
  assert.equal(runs, 1);
  now = 1200;
  await sleep(150);
  await s.stop();
  assert.equal(runs, 2, 'one run for the stalled turn');
  assert.deepEqual(overlaps, [], 'and not counted as an overlap of itself');
});
