// The file sink: NDJSON per record type, rotation by size and age, no leaked handle, close()
// after a failed sync. Against the OS (strace, prlimit, a full tmpfs): test/system/file-sink-disk.test.ts.
import assert from 'node:assert/strict';
import { closeSync, readFileSync, readdirSync, readlinkSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { FileSink } from '../../src/sinks/file/file-sink.js';
import { tempDir } from '../helpers/app.js';
import { batch, linesIn, log, many, ping } from '../helpers/file-sink.js';

const dirs: Array<() => void> = [];
after(() => dirs.forEach((d) => d()));

describe('FileSink', () => {
  test('writes NDJSON, one file per record type, with RFC 3339 times and attrs as JSON', async () => {
    const dir = tempDir();
    dirs.push(dir.remove);
    const sink = new FileSink({ dir: dir.path, maxBytes: 1e9, maxAgeMs: 1e9, fsync: true });
    await sink.start();
    await sink.writeBatch(batch([log(0), ping(0), log(1)]));
    await sink.close();
    const files = readdirSync(dir.path).sort();
    assert.equal(files.length, 2);
    assert.ok(files[0]!.startsWith('health-') && files[1]!.startsWith('log-'));
    const logs = readFileSync(join(dir.path, files[1]!), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.deepEqual(
      logs.map((l) => l.id),
      ['l0', 'l1'],
    );
    assert.equal(logs[1]!.ts, '2026-09-21T14:13:20.000001Z');
    assert.deepEqual(logs[0]!.attrs, { k: 1 });
    assert.ok(!('size' in logs[0]!), 'internal accounting stays internal');
  });

  test('rotates by size', async () => {
    const dir = tempDir();
    dirs.push(dir.remove);
    const sink = new FileSink({ dir: dir.path, maxBytes: 1024, maxAgeMs: 1e9, fsync: false });
    await sink.start();
    for (let i = 0; i < 10; i++) await sink.writeBatch(batch(Array.from({ length: 5 }, (_, j) => log(i * 5 + j))));
    await sink.close();
    const files = readdirSync(dir.path);
    assert.ok(files.length > 1, `rotated into ${files.length} files`);
    const total = files.reduce((n, f) => n + readFileSync(join(dir.path, f), 'utf8').trim().split('\n').length, 0);
    assert.equal(total, 50, 'no line lost across rotations');
  });

  test('rotates by age', async () => {
    const dir = tempDir();
    dirs.push(dir.remove);
    let now = 1_000_000;
    const sink = new FileSink({ dir: dir.path, maxBytes: 1e9, maxAgeMs: 60_000, fsync: false, now: () => now });
    await sink.start();
    await sink.writeBatch(batch([log(0)]));
    now += 59_000;
    await sink.writeBatch(batch([log(1)]));
    now += 2_000;
    await sink.writeBatch(batch([log(2)]));
    await sink.close();
    assert.equal(readdirSync(dir.path).length, 2);
  });

  test('four concurrent writers rotating on every batch leak no file handle and lose no line', async () => {
    const dir = tempDir();
    dirs.push(dir.remove);
    const sink = new FileSink({ dir: dir.path, maxBytes: 1024, maxAgeMs: 1e9, fsync: true });
    await sink.start();
    for (let round = 0; round < 5; round++) {
      await Promise.all([0, 1, 2, 3].map((w) => sink.writeBatch(batch(many(8, (round * 4 + w) * 8)))));
    }
    await sink.close();
    assert.deepEqual(fdsUnder(dir.path), [], 'close() closed every handle the sink opened');
    const { ids, torn } = linesIn(dir.path, 'log-');
    assert.equal(torn, 0);
    assert.deepEqual(
      [...ids].sort(),
      many(160, 0)
        .map((r) => r.id)
        .sort(),
      'every line once',
    );
  });

  test('close() closes every file even when syncing one of them fails, then reports that error', async () => {
    const dir = tempDir();
    dirs.push(dir.remove);
    const sink = new FileSink({ dir: dir.path, maxBytes: 1e9, maxAgeMs: 1e9, fsync: true });
    await sink.start();
    await sink.writeBatch(batch([log(0), ping(0)]));
    // Pull the descriptor from under the first file close() reaches, so its sync fails (EBADF).
    const first = Object.values(sink.currentFiles())[0]!;
    closeSync(fdOf(first));
    await assert.rejects(sink.close(), { code: 'EBADF' });
    assert.deepEqual(fdsUnder(dir.path), [], 'the other file was closed too');
  });
});

/** Paths under `dir` this process holds open, from /proc/self/fd. */
function fdsUnder(dir: string): string[] {
  const real = realpathSync(dir) + '/';
  return openFds()
    .map(([, target]) => target)
    .filter((target) => target.startsWith(real));
}

function fdOf(path: string): number {
  const real = realpathSync(path);
  const found = openFds().find(([, target]) => target === real);
  assert.ok(found, `${path} is open`);
  return found[0];
}

function openFds(): Array<[number, string]> {
  return readdirSync('/proc/self/fd').flatMap((fd): Array<[number, string]> => {
    try {
      return [[Number(fd), readlinkSync(`/proc/self/fd/${fd}`)]];
    } catch {
      return []; // closed since the listing (the listing's own descriptor, for one)
    }
  });
}
