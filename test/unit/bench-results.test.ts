// Benchmark output: only a deliberate full run lands where git sees it; a --quick run leaves
// the working tree clean.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { join, relative, resolve } from 'node:path';
import { test } from 'node:test';
import { resultsDir } from '../../bench/lib/results-dir.js';

const root = resolve(import.meta.dirname, '../..');
const ignored = (path: string): boolean =>
  spawnSync('git', ['check-ignore', '-q', relative(root, path)], { cwd: root }).status === 0;

test('a --quick run writes where git ignores it; a full run writes where git sees it', () => {
  assert.equal(ignored(join(resultsDir(true), '2026-12-02.md')), true, 'quick results are git-ignored');
  assert.equal(ignored(join(resultsDir(false), '2026-12-02.md')), false, 'full results are committed');
  assert.notEqual(resultsDir(true), resultsDir(false));
});

test('no quick run is committed', () => {
  const tracked = execFileSync('git', ['ls-files', 'bench/results'], { cwd: root, encoding: 'utf8' }).split('\n');
  assert.deepEqual(
    tracked.filter((f) => /quick/.test(f)),
    [],
  );
});
