// The regex matcher's worker thread: a match awaited keeps the process alive until answered,
// and an idle matcher lets the process exit (health-probes.test.ts once never exited).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

/** Runs `source` (ESM, top-level await) from a file in a child Node with tsx; resolves with its exit and output. */
function runChild(
  source: string,
  killAfterMs: number,
): Promise<{ code: number | null; signal: string | null; out: string }> {
  // A file, not `-e` with --input-type=module: workers inherit that flag, and the matcher's
  // worker source is CommonJS.
  const dir = mkdtempSync(join(tmpdir(), 'sluice-body-match-'));
  const file = join(dir, 'child.mts');
  writeFileSync(file, source);
  const child = spawn(process.execPath, ['--import', 'tsx', file], { stdio: ['ignore', 'pipe', 'pipe'] });
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
