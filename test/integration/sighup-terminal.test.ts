// SIGHUP means two things: run as a service it reloads the TLS certificate (tls.test.ts); run
// from a terminal it is what a closed terminal sends, and the collector stops gracefully as it
// did before reloads existed. The terminal here is a pseudo-terminal made by script(1).
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { tempDir } from '../helpers/app.js';
import { cannotHere } from '../helpers/cannot-here.js';
import { waitFor } from '../helpers/wait-for.js';

function hasScript(): boolean {
  try {
    execFileSync('script', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

test('from a terminal, SIGHUP stops the collector gracefully instead of reloading', { timeout: 60_000 }, async (t) => {
  if (!hasScript()) return cannotHere(t, 'script(1) (util-linux) is not installed');
  const dir = tempDir();
  t.after(dir.remove);
  const serve = [
    'exec',
    process.execPath,
    '--import tsx test/helpers/cli.ts serve --host 127.0.0.1 --port 0 --sink.kind blackhole --ingest.ack memory',
    `--deadLetter.dir ${dir.path} --health.dataDir ${dir.path}/health --log.pretty false --log-level info`,
  ].join(' ');
  const terminal = spawn('script', ['-qfec', serve, '/dev/null'], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, SLUICE_CONFIG: '', DATABASE_URL: '', POSTGRES_DSN: '' },
  });
  let out = '';
  terminal.stdout.on('data', (d: Buffer) => (out += d.toString()));
  terminal.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => terminal.once('exit', resolve));
  t.after(() => {
    if (terminal.exitCode === null) terminal.kill('SIGKILL');
  });
  await waitFor(
    () => `the collector to listen; output: ${out}`,
    () => out.includes('sluice listening'),
    30_000,
  );
  // script runs the collector as its child (exec replaced the shell).
  const pid = Number(readFileSync(`/proc/${terminal.pid}/task/${terminal.pid}/children`, 'utf8').trim());
  assert.ok(pid > 0);
  process.kill(pid, 'SIGHUP');
  assert.equal(await exited, 0, out);
  assert.match(out, /"signal":"SIGHUP"[^\n]*shutting down gracefully/);
  assert.doesNotMatch(out, /reloading/);
});
