// `sluice load` as the README runs it: with no --url it sends to where `sluice serve` listens
// with the same config (PORT, SLUICE_SERVER_PORT, a config file, the ingest token); a failure
// names the URL it tried; and a 60-client run prints no process warning (listener leak).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { collectorUrl } from '../../src/cli/load-command.js';
import { loadConfig } from '../../src/config/load.js';
import { freePort } from '../../src/postgres/embedded.js';
import { startApp, tempDir, testConfig } from '../helpers/app.js';

const CLI = fileURLToPath(new URL('../helpers/cli.ts', import.meta.url));

/** Runs `sluice load` as a child process with exactly this environment (plus PATH). */
function loadChild(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, 'load', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { PATH: process.env.PATH ?? '', ...env },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, stdout, stderr })));
}

test('the default target is where serve listens: wildcard hosts become loopback, IPv6 is bracketed', () => {
  const at = (flags: Record<string, string>): string => collectorUrl(loadConfig({ env: {}, flags }).config);
  assert.equal(at({}), 'http://127.0.0.1:8080');
  assert.equal(at({ 'server.port': '9123' }), 'http://127.0.0.1:9123');
  assert.equal(at({ 'server.host': '::', 'server.port': '9123' }), 'http://[::1]:9123');
  assert.equal(at({ 'server.host': '10.1.2.3' }), 'http://10.1.2.3:8080');
});

for (const source of ['PORT', 'SLUICE_SERVER_PORT', 'config file'] as const) {
  test(`with no --url, load sends to the port and token serve would use (${source})`, { timeout: 60_000 }, async () => {
    const dir = tempDir();
    const port = await freePort();
    const app = await startApp(
      testConfig({ 'sink.kind': 'blackhole', 'server.port': port, 'auth.ingestTokens': 'load-secret' }, dir.path),
    );
    try {
      const env: Record<string, string> = { SLUICE_AUTH_INGEST_TOKENS: 'load-secret' };
      if (source === 'PORT') env.PORT = String(port);
      else if (source === 'SLUICE_SERVER_PORT') env.SLUICE_SERVER_PORT = String(port);
      else {
        const file = join(dir.path, 'sluice.yaml');
        writeFileSync(file, `server: { port: ${port} }\nauth: { ingestTokens: [load-secret] }\n`);
        env.SLUICE_CONFIG = file;
        delete env.SLUICE_AUTH_INGEST_TOKENS;
      }
      const r = await loadChild(['--records', '20', '--clients', '2', '--quiet'], env);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.match(r.stdout, new RegExp(`target +POST http://127\\.0\\.0\\.1:${port}/logs`));
      assert.match(r.stdout, /status +202: 20/);
    } finally {
      await app.stop();
      dir.remove();
    }
  });
}

test('a collector that is not there: the failure names the URL that was tried', { timeout: 60_000 }, async () => {
  const port = await freePort();
  const r = await loadChild(['--records', '50', '--clients', '2', '--quiet'], { PORT: String(port) });
  assert.equal(r.code, 1);
  assert.match(r.stdout, new RegExp(`STOPPED .*ECONNREFUSED.*the collector at http://127\\.0\\.0\\.1:${port} is gone`));
});

test(
  '60 clients print no process warning (no listener piles up on a shared AbortSignal)',
  { timeout: 120_000 },
  async () => {
    const dir = tempDir();
    const app = await startApp(testConfig({ 'sink.kind': 'blackhole' }, dir.path));
    try {
      const r = await loadChild(['--url', app.url, '--records', '3000', '--clients', '60', '--quiet'], {});
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.doesNotMatch(r.stderr, /Warning/, r.stderr);
    } finally {
      await app.stop();
      dir.remove();
    }
  },
);
