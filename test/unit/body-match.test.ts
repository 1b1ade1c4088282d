// The regex matcher's worker pool: a match awaited keeps the process alive until answered, and
// an idle matcher lets the process exit (health-probes.test.ts once never exited); a slow match
// holds one worker while other checks' matches go on; the queue of waiting matches is bounded;
// the worker runs under a host started with --input-type=module.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { BodyMatcher } from '../../src/health/body-match.js';

/**
 * Runs `source` (ESM, top-level await) in a child Node with tsx, from a file or (`eval`) with
 * `-e` and --input-type=module (a flag workers inherit); resolves with its exit and output.
 */
function runChild(
  source: string,
  killAfterMs: number,
  how: 'file' | 'eval' = 'file',
): Promise<{ code: number | null; signal: string | null; out: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-body-match-'));
  const file = join(dir, 'child.mts');
  writeFileSync(file, source);
  const args = how === 'file' ? [file] : ['--input-type=module', '-e', source];
  const child = spawn(process.execPath, ['--import', 'tsx', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  // A backstop for the failure this test looks for (a process that never exits), not a timing.
  const kill = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
  return new Promise((resolve) =>
    child.on('exit', (code, signal) => {
      clearTimeout(kill);
      rmSync(dir, { recursive: true, force: true });
      resolve({ code, signal, out });
    }),
  );
}

test('a process that has used the matcher exits once its matches are answered; awaited matches are answered first', async () => {
  const source = `
    import { BodyMatcher } from ${JSON.stringify(new URL('../../src/health/body-match.ts', import.meta.url).href)};
    const m = new BodyMatcher();
    const signal = new AbortController().signal;
    const body = new TextEncoder().encode('status: all good, version 1.2.3');
    const results = await Promise.all([m.match('version \\\\d+', body, signal), m.match('^ok$', body, signal)]);
    console.log('matched', JSON.stringify(results));
  `;
  const r = await runChild(source, 60_000);
  assert.equal(r.signal, null, `the process had to be killed: the idle matcher held it\n${r.out}`);
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /matched \[true,false\]/);
});

test('the matcher works in a host run with --input-type=module', async () => {
  const source = `
    import { BodyMatcher } from ${JSON.stringify(new URL('../../src/health/body-match.ts', import.meta.url).href)};
    const m = new BodyMatcher();
    const signal = new AbortController().signal;
    console.log('matched', await m.match('v[0-9]', new TextEncoder().encode('v1'), signal));
  `;
  const r = await runChild(source, 60_000, 'eval');
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /matched true/);
});

test('a slow match holds one worker: two other checks are answered while it runs, then it is cut', async () => {
  const m = new BodyMatcher(2);
  try {
    const signal = new AbortController().signal;
    // Linear, but seconds of work in re2js for 16 MiB: it outlives everything below.
    const slowCut = new AbortController();
    const settled: string[] = [];
    const slow = m.match('^(a|a|aa|aaa)*$', Buffer.alloc(16 * 1024 * 1024, 'a'), slowCut.signal).then(
      () => settled.push('slow'),
      () => settled.push('slow cut'),
    );
    const quick = [
      m.match('version [0-9]+', Buffer.from('version 12'), signal).then((r) => settled.push(`a ${r}`)),
      m.match('^ok$', Buffer.from('not ok'), signal).then((r) => settled.push(`b ${r}`)),
    ];
    await Promise.all(quick);
    assert.deepEqual(m.stats(), { workers: 2, running: 1, queued: 0 }, 'the slow match still runs');
    slowCut.abort(new Error('check timeout'));
    await slow;
    assert.deepEqual(settled.sort(), ['a true', 'b false', 'slow cut']);
    assert.equal(await m.match('x', Buffer.from('x'), signal), true, 'a worker replaces the cut one');
  } finally {
    await m.close();
  }
});

test('matches past the queue bound are refused; a waiting match cut by its signal leaves the queue', async () => {
  const m = new BodyMatcher(1, 2);
  try {
    assert.equal(await m.match('a', Buffer.from('a'), new AbortController().signal), true); // the worker is up
    const busy = new AbortController();
    const body = Buffer.alloc(16 * 1024 * 1024, 'a');
    const outcomes: Array<Promise<unknown>> = [m.match('^(a|a|aa|aaa)*$', body, busy.signal).catch((e: Error) => e)];
    const waitCut = new AbortController();
    outcomes.push(m.match('a', Buffer.from('a'), waitCut.signal).catch((e: Error) => e));
    outcomes.push(m.match('a', Buffer.from('a'), busy.signal).catch((e: Error) => e));
    assert.deepEqual(m.stats(), { workers: 1, running: 1, queued: 2 });
    await assert.rejects(m.match('a', Buffer.from('a'), new AbortController().signal), /busy: 2 matches already wait/);
    waitCut.abort(new Error('cut while waiting'));
    assert.deepEqual(m.stats(), { workers: 1, running: 1, queued: 1 });
    busy.abort(new Error('done'));
    const [first, second, third] = await Promise.all(outcomes);
    assert.match(String(first), /done/);
    assert.match(String(second), /cut while waiting/);
    assert.match(String(third), /done/);
  } finally {
    await m.close();
  }
});

test('a match cut while its worker starts leaves the queue, and the worker starts anyway', async () => {
  const m = new BodyMatcher(1);
  try {
    const cut = new AbortController();
    const first = m.match('a', Buffer.from('a'), cut.signal);
    cut.abort(new Error('check timeout'));
    await assert.rejects(first, /check timeout/);
    // Under load a worker can take longer to start than a check's timeout: killing it then
    // meant no match ever ran. The same worker serves the next match.
    assert.deepEqual(m.stats(), { workers: 1, running: 0, queued: 0 });
    assert.equal(await m.match('b', Buffer.from('b'), new AbortController().signal), true);
    assert.equal(m.stats().workers, 1);
  } finally {
    await m.close();
  }
});
