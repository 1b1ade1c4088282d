// One collector per wal.dir: a live owner's lock refuses a second collector before it reads
// (and could truncate) a single byte; a lock left by a dead process, or by a previous life of
// this pid (a restarted container) once its heartbeat stopped, is taken over; shutdown removes it.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { after, describe, test } from 'node:test';
import { pino } from 'pino';
import { lockDir } from '../../src/pipeline/wal/dir-lock.js';
import { WalBuffer } from '../../src/pipeline/wal/wal-buffer.js';
import { tempDir } from '../helpers/app.js';
import { waitFor } from '../helpers/wait-for.js';

const dirs: Array<() => void> = [];
after(() => dirs.forEach((d) => d()));

function newDir(): string {
  const d = tempDir('sluice-wal-lock-');
  dirs.push(d.remove);
  return d.path;
}

const open = (dir: string) =>
  WalBuffer.open({
    maxRecords: 1000,
    maxBytes: 1e9,
    retryAfterSeconds: 1,
    wal: { dir, segmentBytes: 64 * 1024, maxBytes: 1024 * 1024, groupCommitDelayMs: 0 },
    logger: pino({ level: 'silent' }),
  });

const LOCK_MODULE = resolve(import.meta.dirname, '../../src/pipeline/wal/dir-lock.ts');

describe('wal.dir lock', () => {
  test('a running collector keeps the directory: a second one is refused, naming the pid, and touches nothing', async () => {
    const dir = newDir();
    const holder = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        '--input-type=module',
        '-e',
        `import { lockDir } from ${JSON.stringify(LOCK_MODULE)}; await lockDir(${JSON.stringify(dir)}); console.log('locked'); setInterval(() => {}, 1000);`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    try {
      await new Promise<void>((ok, fail) => {
        holder.stdout.on('data', (c: Buffer) => c.toString().includes('locked') && ok());
        holder.once('exit', (code) => fail(new Error(`lock holder exited with ${code}`)));
      });
      const before = readdirSync(dir).sort();
      await assert.rejects(open(dir), (err: Error) => {
        assert.match(err.message, new RegExp(`in use by another collector \\(pid ${holder.pid}\\)`));
        assert.match(err.message, /delete .*LOCK/);
        return true;
      });
      assert.deepEqual(readdirSync(dir).sort(), before, 'no segment created, nothing replayed or truncated');
    } finally {
      holder.kill('SIGKILL');
    }
  });

  test('a lock left by a process that died is taken over, and shutdown removes it', async () => {
    const dir = newDir();
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    writeFileSync(join(dir, 'LOCK'), `${dead.stdout}\n`);
    const wal = await open(dir);
    assert.equal(readFileSync(join(dir, 'LOCK'), 'utf8'), `${process.pid}\n`);
    await wal.shutdown();
    assert.equal(existsSync(join(dir, 'LOCK')), false);
  });

  test('a lock holding our own pid that nobody touches any more (a restarted container) is taken over', async () => {
    const dir = newDir();
    const lock = join(dir, 'LOCK');
    writeFileSync(lock, `${process.pid}\n`);
    const old = new Date(Date.now() - 60_000);
    utimesSync(lock, old, old);
    const wal = await open(dir);
    await wal.shutdown();
    assert.equal(existsSync(lock), false);
  });

  test('a lock holding our own pid that is kept fresh (another container with the same pid on this volume) is refused, until it goes stale', async () => {
    const dir = newDir();
    const lock = join(dir, 'LOCK');
    writeFileSync(lock, `${process.pid}\n`);
    const touch = setInterval(() => utimesSync(lock, new Date(), new Date()), 50);
    try {
      await assert.rejects(lockDir(dir, { staleMs: 300, waitMs: 800 }), /our own pid .* keeps it fresh/);
    } finally {
      clearInterval(touch);
    }
    const started = Date.now();
    const held = await lockDir(dir, { staleMs: 300, waitMs: 2000 });
    assert.ok(Date.now() - started >= 150, 'waited for the lock to go stale');
    await held.release();
    assert.equal(existsSync(lock), false);
  });

  test('the holder keeps its lock fresh', async () => {
    const dir = newDir();
    const held = await lockDir(dir, { staleMs: 200 });
    const old = new Date(Date.now() - 60_000);
    utimesSync(join(dir, 'LOCK'), old, old);
    await waitFor('the heartbeat to touch the lock', () => Date.now() - statSync(join(dir, 'LOCK')).mtimeMs < 1000);
    await held.release();
  });
});
