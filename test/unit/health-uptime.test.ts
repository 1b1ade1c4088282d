// Uptime maths: time-weighted, degraded counts as up, gaps longer than maxGap are unobserved.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { computeUptime } from '../../src/health/uptime.js';

const H = 3_600_000;

test('each result stands until the next: 45 min up then 15 min down in the last hour is 75%', () => {
  const now = 10 * H;
  const points = [];
  for (let t = now - H; t < now; t += 60_000) points.push({ ts: t, ok: t < now - 15 * 60_000 });
  const u = computeUptime(points, now, 120_000);
  assert.equal(u['1h'].percent, 75);
  assert.equal(u['1h'].observedSeconds, 3600);
  assert.equal(u['24h'].percent, 75); // nothing observed before the hour: same ratio
});

test('time-weighted, not counted: a long down period with few results weighs by its duration', () => {
  const now = 2 * H;
  // 50 up results one second apart, then one down result standing for 10 minutes.
  const points = [];
  for (let i = 0; i < 50; i++) points.push({ ts: now - 11 * 60_000 + i * 1000, ok: true });
  points.push({ ts: now - 10 * 60_000, ok: false });
  const u = computeUptime(points, now, 20 * 60_000);
  // The up results span 11 min − 10 min = 60 s; the single down result stands for 10 min.
  assert.equal(u['1h'].upSeconds, 60);
  assert.equal(u['1h'].observedSeconds, 660);
  assert.equal(u['1h'].percent, 9.091);
});

test('gaps longer than maxGap count neither way; a window with no data is null', () => {
  const now = 100 * H;
  const points = [
    { ts: now - 30 * H, ok: false }, // stands for maxGap only (10 min), then unobserved
    { ts: now - 20 * 60_000, ok: true },
  ];
  const u = computeUptime(points, now, 10 * 60_000);
  assert.equal(u['1h'].percent, 100);
  assert.equal(u['1h'].observedSeconds, 600);
  assert.equal(u['24h'].observedSeconds, 600);
  assert.equal(u['7d'].observedSeconds, 1200);
  assert.equal(u['7d'].percent, 50);
  assert.equal(computeUptime([], now, 1000)['30d'].percent, null);
});

test('a result that started before the window only counts inside it', () => {
  const now = 5 * H;
  const u = computeUptime(
    [
      { ts: now - H - 30 * 60_000, ok: false },
      { ts: now - 30 * 60_000, ok: true },
    ],
    now,
    2 * H,
  );
  assert.equal(u['1h'].upSeconds, 1800);
  assert.equal(u['1h'].observedSeconds, 3600);
  assert.equal(u['1h'].percent, 50);
  assert.equal(u['24h'].percent, 33.333);
});
