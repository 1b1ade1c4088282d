// The spec's wrapper, scripts/load_test.sh N C: builds the CLI if needed (as `npm start` does)
// and runs `sluice load` from dist/ against a running collector. Counts only.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import type { App } from '../../src/app.js';
import { startApp, tempDir, testConfig } from '../helpers/app.js';
import { waitFor } from '../helpers/wait-for.js';

const SCRIPT = fileURLToPath(new URL('../../scripts/load_test.sh', import.meta.url));

function run(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn('sh', [SCRIPT, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.once('close', (code) => resolve({ code, out, err }));
  });
}

describe('scripts/load_test.sh', () => {
  const dir = tempDir();
  let app: App;
  before(async () => {
    app = await startApp(testConfig({ 'sink.kind': 'blackhole', 'batch.maxWaitMs': 20 }, dir.path));
  });
  after(async () => {
    await app.stop();
    dir.remove();
  });

  test('N C: N records from C clients, all accepted, with the built CLI', { timeout: 180_000 }, async () => {
    const before = app.pool.stats().committedRecords;
    const r = await run(['600', '6', '--url', app.url, '--json', '--quiet']);
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out) as {
      load: { requests: number; recordsAccepted: number; statusCounts: Record<string, number> };
    };
    assert.equal(j.load.recordsAccepted, 600);
    assert.deepEqual(j.load.statusCounts, { '202': 600 });
    await waitFor('600 records committed', () => app.pool.stats().committedRecords - before >= 600, 10_000);
    assert.equal(app.pool.stats().committedRecords - before, 600);
  });

  test('without N and C it prints its usage and exits 2', async () => {
    const r = await run([]);
    assert.equal(r.code, 2);
    assert.match(r.err, /usage: .*load_test\.sh N C/);
  });
});
