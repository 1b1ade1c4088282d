// Abuse test for issue #13 item 1: a check's bodyRegex that backtracks exponentially under
// RegExp (`^(a|a)*$` against "a"x30+"!" held the loop 54.8 s) is matched in linear time, off
// the event loop, against a child collector; and a match that outlives its check is cut.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { BodyMatcher } from '../../src/health/body-match.js';
import {
  loopBoundMs,
  startChildCollector,
  slowestHealthz,
  maxLoopDelayMs,
  type ChildCollector,
} from '../helpers/child-collector.js';
import { startTarget, type Target } from '../helpers/health-targets.js';
import { tempDir } from '../helpers/app.js';
import { waitFor } from '../helpers/wait-for.js';

/** Longest the collector's loop may be held (see abuse-ingest.test.ts); before the fix, 54.8 s. */
const LOOP_BOUND_MS = loopBoundMs();
const HEALTHZ_BOUND_MS = 2000;

let target: Target;
let collector: ChildCollector;
const dir = tempDir('sluice-abuse-regex-');

before(async () => {
  target = await startTarget();
  target.set('/evil', { body: 'a'.repeat(30) + '!' });
  target.set('/evil-big', { body: 'a'.repeat(1024 * 1024 - 1) + '!' });
  collector = await startChildCollector({
    'sink.kind': 'blackhole',
    'ingest.ack': 'memory',
    'deadLetter.dir': dir.path,
    'health.dataDir': `${dir.path}/health`,
    'health.minIntervalMs': 100,
  });
});

after(async () => {
  await collector?.stop();
  await target?.close();
  dir.remove();
});

test('a catastrophic-backtracking bodyRegex runs without holding the loop, and its checks report a mismatch', async () => {
  const add = async (id: string, path: string, timing: { interval: string; timeout: string }): Promise<void> => {
    const res = await fetch(`${collector.url}/admin/checks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        id,
        name: id,
        kind: 'http',
        url: `${target.url}${path}`,
        ...timing,
        bodyRegex: '^(a|a)*$',
      }),
    });
    assert.equal(res.status, 201, await res.text());
  };
  const runs = (id: string) => async (): Promise<number> =>
    ((await (await fetch(`${collector.url}/admin/checks/${id}/history?limit=10`)).json()) as unknown[]).length;
  await slowestHealthz(collector.url, sleep(1000)); // warm up (first answers include compiling)
  await maxLoopDelayMs(collector.url);
  // First the 31-byte body alone: it must be judged a mismatch.
  await add('evil', '/evil', { interval: '500ms', timeout: '500ms' });
  // Judged by what its runs said, not only the last: on a loaded machine a run may also miss
  // its 500 ms timeout, which says nothing about the pattern.
  const messages = async (): Promise<string[]> =>
    (
      (await (await fetch(`${collector.url}/admin/checks/evil/history?limit=10`)).json()) as Array<{
        message: string | null;
      }>
    ).map((r) => String(r.message));
  const said = await waitFor(
    'a run of the small check judging its body',
    async () => {
      const m = await messages();
      return m.some((x) => /does not match/.test(x)) ? m : undefined;
    },
    20_000,
  );
  for (const m of said) assert.match(m, /does not match|timeout/);
  // Then 1 MiB against the same pattern: linear, but slower than its 150 ms timeout, so cut.
  await add('evil-big', '/evil-big', { interval: '200ms', timeout: '150ms' });
  const watched = waitFor(
    'five runs of the large check',
    async () => (await runs('evil-big')()) >= 5 || undefined,
    20_000,
  );
  const { slowestMs, answers } = await slowestHealthz(collector.url, watched);
  assert.ok(answers > 3, `only ${answers} /healthz answers (slowest ${slowestMs.toFixed(0)} ms)`);
  const loopMs = await maxLoopDelayMs(collector.url);
  assert.ok(loopMs < LOOP_BOUND_MS, `the loop was held ${loopMs.toFixed(0)} ms while the checks ran`);
  assert.ok(slowestMs < HEALTHZ_BOUND_MS, `/healthz took ${slowestMs.toFixed(0)} ms while the checks ran`);
  const big = (await (await fetch(`${collector.url}/admin/checks/evil-big`)).json()) as {
    lastResult: { message: string | null };
  };
  assert.match(String(big.lastResult.message), /does not match|timeout/);
});

test('a match cut by its signal rejects at once, and the matcher keeps serving afterwards', async () => {
  const m = new BodyMatcher();
  try {
    const signal = new AbortController().signal;
    assert.equal(await m.match('warm', Buffer.from('warm up the worker'), signal), true);
    // Linear, but ~10 s of work in re2js: the caller must not wait for it.
    const body = Buffer.alloc(16 * 1024 * 1024, 'a');
    const ac = new AbortController();
    const t = performance.now();
    const slow = m.match('^(a|a|aa|aaa)*$', body, ac.signal);
    setTimeout(() => ac.abort(new Error('check timeout')), 20);
    await assert.rejects(slow, /check timeout/);
    assert.ok(performance.now() - t < 2000, `the caller waited ${(performance.now() - t).toFixed(0)} ms`);
    assert.equal(await m.match('version \\d+', Buffer.from('version 12'), signal), true);
    assert.equal(await m.match('^ok$', Buffer.from('not ok'), signal), false);
  } finally {
    await m.close();
  }
});
