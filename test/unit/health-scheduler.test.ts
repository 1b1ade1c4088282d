// The scheduler: spread over the interval, no overlapping runs of one job, global and
// per-host concurrency limits, lag reported. On fake time: every duration is exact.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import { Scheduler, spreadFraction } from '../../src/health/scheduler.js';
import { delay, useFakeTime } from '../helpers/fake-time.js';

test("first runs are spread over the interval, each at its id's offset", async (t) => {
  const time = useFakeTime(t);
  const first = new Map<string, number>();
  const s = new Scheduler({ concurrency: 1000, perHost: 1000 });
  for (let i = 0; i < 200; i++) {
    const id = `check-${i}`;
    s.add({ id, intervalMs: 1000, host: null, run: async () => void (first.has(id) || first.set(id, time.now())) });
  }
  s.start();
  await time.advance(1000);
  await s.stop();
  assert.equal(first.size, 200, 'every check ran within its first interval');
  // Each first run comes at its offset (the clock moves in 1 ms steps, so within 1 ms of it).
  for (const [id, at] of first) {
    const offset = spreadFraction(id) * 1000;
    assert.ok(at >= offset && at <= Math.ceil(offset), `${id} first ran at ${at} ms, its offset is ${offset} ms`);
  }
  // The offsets themselves: ten tenths of the interval each hold some of 200 ids.
  const buckets = new Array(10).fill(0) as number[];
  for (let i = 0; i < 200; i++) buckets[Math.floor(spreadFraction(`check-${i}`) * 10)]!++;
  for (const [i, n] of buckets.entries()) assert.ok(n >= 5 && n <= 45, `tenth ${i}: ${n} (${buckets.join(',')})`);
});

test("a check's offset is a pure function of its id: the same in another process (a restart)", () => {
  const here = [spreadFraction('check-7'), spreadFraction('api-billing')];
  const script = `import('${new URL('../../src/health/scheduler.ts', import.meta.url).href}').then((m) => console.log(JSON.stringify([m.spreadFraction('check-7'), m.spreadFraction('api-billing')])))`;
  const there = JSON.parse(
    execFileSync(process.execPath, ['--import', 'tsx', '-e', script], { encoding: 'utf8' }),
  ) as number[];
  assert.deepEqual(there, here);
  assert.notEqual(here[0], here[1], 'different ids, different offsets');
});

test('a run still going when its next turn comes is skipped, never overlapped', async (t) => {
  const time = useFakeTime(t);
  let running = 0;
  let maxRunning = 0;
  const starts: number[] = [];
  const overlaps: string[] = [];
  const s = new Scheduler({ concurrency: 10, perHost: 10, onOverlap: (id) => overlaps.push(id) });
  s.add(
    {
      id: 'slow',
      intervalMs: 100,
      host: null,
      run: async () => {
        starts.push(time.now());
        running++;
        maxRunning = Math.max(maxRunning, running);
        await delay(350);
        running--;
      },
    },
    0,
  );
  s.start();
  await time.advance(1000);
  const stopped = s.stop();
  await time.advance(150); // the run started at 800 ms ends at 1150 ms
  await stopped;
  assert.equal(maxRunning, 1);
  // Turns every 100 ms; a 350 ms run covers the next three, so runs start at 0, 400 and 800.
  assert.deepEqual(starts, [0, 400, 800]);
  assert.equal(overlaps.length, 8, 'turns at 100-300, 500-700, 900 and 1000 ms skipped');
  assert.equal(s.stats().overlapsSkipped, overlaps.length);
});

test('the global limit and the per-host limit hold; every due run still starts', async (t) => {
  const time = useFakeTime(t);
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
          await delay(20);
          global--;
          h.now--;
          done++;
        },
      },
      0,
    );
  }
  s.start();
  // 40 runs of 20 ms, 6 at a time (4 hosts × 2 would allow 8): 7 rounds, done by 140 ms.
  await time.advance(140);
  assert.equal(done, 40);
  await s.stop();
  assert.equal(globalMax, 6);
  for (const [host, h] of perHost) assert.equal(h.max, 2, host);
});

test('lag is reported per run: none when a slot is free, and it includes waiting for a slot', async (t) => {
  const time = useFakeTime(t);
  const lags: number[] = [];
  const s = new Scheduler({ concurrency: 1, perHost: 1, onLag: (ms) => lags.push(ms) });
  for (let i = 0; i < 3; i++) s.add({ id: `l${i}`, intervalMs: 60_000, host: null, run: () => delay(100) }, 50);
  s.start();
  await time.advance(350);
  await s.stop();
  // All three due at 50 ms, one slot: the second waits for one run, the third for two.
  assert.deepEqual(lags, [0, 100, 200]);
});

test('removed jobs stop running', async (t) => {
  const time = useFakeTime(t);
  let runs = 0;
  const s = new Scheduler({ concurrency: 4, perHost: 4 });
  s.add({ id: 'gone', intervalMs: 100, host: null, run: async () => void runs++ }, 0);
  s.start();
  await time.advance(150);
  assert.equal(runs, 2, 'turns at 0 and 100 ms');
  assert.equal(s.remove('gone'), true);
  await time.advance(1000);
  assert.equal(runs, 2, 'no turn in the ten intervals after removal');
  await s.stop();
});

test('stop() waits for runs in progress', async (t) => {
  const time = useFakeTime(t);
  let finished = false;
  let stopped = false;
  const s = new Scheduler({ concurrency: 4, perHost: 4 });
  s.add(
    {
      id: 'long',
      intervalMs: 60_000,
      host: null,
      run: async () => {
        await delay(200);
        finished = true;
      },
    },
    0,
  );
  s.start();
  await time.advance(1);
  assert.equal(s.isRunning('long'), true);
  const stopping = s.stop().then(() => (stopped = true));
  await time.advance(198);
  assert.equal(stopped, false, 'stop() still waiting while the run is under way');
  await time.advance(1);
  await stopping;
  assert.equal(finished, true);
});

test('a turn due exactly when the loop wakes (after a stall) runs once, not twice', async (t) => {
  // The loop "stalls" for exactly two intervals: its clock jumps to the next turn's due time
  // before its timer fires, so the next turn lands on now.
  t.mock.timers.enable({ apis: ['setTimeout'] });
  let now = 1000;
  t.mock.method(performance, 'now', () => now);
  let runs = 0;
  const overlaps: string[] = [];
  const s = new Scheduler({ concurrency: 10, perHost: 10, onOverlap: (id) => overlaps.push(id) });
  s.add({ id: 'a', intervalMs: 100, host: null, run: async () => void runs++ }, 0);
  s.start();
  t.mock.timers.tick(0);
  assert.equal(runs, 1);
  await new Promise((r) => setImmediate(r)); // the first run ends
  now = 1200;
  t.mock.timers.tick(100); // the timer set for 1100 fires, late
  await s.stop();
  assert.equal(runs, 2, 'one run for the stalled turn');
  assert.deepEqual(overlaps, [], 'and not counted as an overlap of itself');
});

test('the probe rate cap holds: runs over it wait for a token, and a run still waiting at its next turn is skipped', async (t) => {
  const time = useFakeTime(t);
  const starts: number[] = [];
  let overlaps = 0;
  const lags: number[] = [];
  // 100 jobs a second asked for, 10 a second allowed.
  const s = new Scheduler({
    concurrency: 1000,
    perHost: 1000,
    probesPerSecond: 10,
    onOverlap: () => overlaps++,
    onLag: (ms) => lags.push(ms),
  });
  for (let i = 0; i < 100; i++)
    s.add({ id: `c${i}`, intervalMs: 1000, host: null, run: async () => void starts.push(time.now()) });
  s.start();
  await time.advance(5000);
  await s.stop();
  // A full bucket (10) at the start, then 10 a second: never more in any one-second window.
  assert.ok(starts.length <= 10 + 50, `${starts.length} runs started in 5 s`);
  assert.ok(starts.length >= 50, `the cap is used, not idle: ${starts.length} runs`);
  for (const [i, at] of starts.entries()) {
    const inWindow = starts.filter((x) => x > at - 1000 && x <= at).length;
    assert.ok(inWindow <= 20, `${inWindow} runs in the second before run ${i}`);
  }
  assert.ok(overlaps > 0, 'turns that came while the last run still waited are skipped (and counted)');
  assert.ok(Math.max(...lags) >= 500, 'the wait shows as lag');
});

test("the per-host rate cap holds for a busy host without holding up another host's runs", async (t) => {
  const time = useFakeTime(t);
  const starts = { busy: [] as number[], quiet: [] as number[] };
  const s = new Scheduler({ concurrency: 1000, perHost: 1000, probesPerSecondPerHost: 5 });
  for (let i = 0; i < 50; i++)
    s.add({ id: `b${i}`, intervalMs: 1000, host: 'busy:80', run: async () => void starts.busy.push(time.now()) });
  for (let i = 0; i < 4; i++)
    s.add({ id: `q${i}`, intervalMs: 1000, host: 'quiet:80', run: async () => void starts.quiet.push(time.now()) });
  s.start();
  await time.advance(5000);
  await s.stop();
  assert.ok(starts.busy.length <= 5 + 25, `busy host: ${starts.busy.length} runs in 5 s`);
  assert.ok(starts.busy.length >= 25, `busy host's cap is used: ${starts.busy.length}`);
  // 4 runs a second, under its cap: every turn of the quiet host runs, on time.
  assert.ok(starts.quiet.length >= 19, `quiet host: ${starts.quiet.length} runs in 5 s`);
});
