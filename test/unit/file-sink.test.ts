import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, readFileSync, readdirSync, readlinkSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, test, type TestContext } from 'node:test';
import type { HealthRecord, LogRecord, SluiceRecord } from '../../src/record.js';
import type { Batch } from '../../src/batch.js';
import { FileSink } from '../../src/sinks/file/file-sink.js';

import { tempDir } from '../helpers/app.js';
import { cannotHere } from '../helpers/cannot-here.js';

const dirs: Array<() => void> = [];
after(() => dirs.forEach((d) => d()));

const log = (i: number): LogRecord => ({ type: 'log', id: `l${i}`, ts: 1_790_000_000_000_000 + i, received_at: 1_790_000_000_000_000, level: 'info', service: 'svc', message: `m${i}`, attrs: '{"k":1}', trace_id: null, span_id: null, size: 100 });
const ping = (i: number): HealthRecord => ({ type: 'health', id: `h${i}`, ts: 1_790_000_000_000_000, received_at: 1_790_000_000_000_000, service: 'db', status: 'up', latency_ms: 3, message: null, attrs: null, size: 100 });
const batch = (records: SluiceRecord[]): Batch => ({ id: 'b', records, bytes: 0, createdAt: 0, trigger: 'size', tickets: [], links: [] });

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
    const logs = readFileSync(join(dir.path, files[1]!), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.deepEqual(logs.map((l) => l.id), ['l0', 'l1']);
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
    assert.deepEqual([...ids].sort(), many(160, 0).map((r) => r.id).sort(), 'every line once');
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

  test('with fsync on, the directory is fsynced after each new file is created', { timeout: 60_000 }, (t) => {
    const dir = tempDir();
    dirs.push(dir.remove);
    const trace = join(dir.path, '..', `${dir.path.split('/').pop()!}.strace`);
    dirs.push(() => rmSync(trace, { force: true }));
    // A child process under strace: the syscalls are the only witness of a directory fsync.
    const sinkUrl = new URL('../../src/sinks/file/file-sink.ts', import.meta.url).href;
    const script = `
      const { FileSink } = await import(${JSON.stringify(sinkUrl)});
      const sink = new FileSink({ dir: ${JSON.stringify(dir.path)}, maxBytes: 1024, maxAgeMs: 1e9, fsync: true });
      await sink.start();
      for (const b of ${JSON.stringify([batch(many(8, 0)), batch(many(8, 8))])}) await sink.writeBatch(b);
      await sink.close();`;
    const repo = fileURLToPath(new URL('../..', import.meta.url));
    const run = spawnSync('strace', ['-f', '-qq', '-o', trace, '-e', 'trace=openat,fsync,fdatasync,close', process.execPath, '--import', 'tsx', '--input-type=module', '-e', script], { cwd: repo, encoding: 'utf8' });
    if (run.error || /ptrace|not permitted/i.test(run.stderr)) return cannotHere(t, `cannot run strace here: ${String(run.error ?? run.stderr).trim()}`);
    assert.equal(run.status, 0, run.stderr);
    const events = syscalls(readFileSync(trace, 'utf8'));
    const created = events.filter((e) => e.call === 'openat' && e.path.startsWith(dir.path + '/') && e.path.endsWith('.ndjson') && e.flags.includes('O_CREAT'));
    assert.equal(created.length, 2, 'the second batch rotated into a new file');
    for (const file of created) {
      assert.ok(
        events.some((e) => e.call === 'fsync' && e.index > file.index && e.path === dir.path),
        `the directory was fsynced after ${file.path} was created`,
      );
    }
  });
});

describe('FileSink when the disk or the file-size limit runs out mid-batch', () => {
  test('a short write (file-size limit, EFBIG) fails the batch, leaves no torn line, and the retry appends whole lines', async (t) => {
    const dir = tempDir();
    dirs.push(dir.remove);
    const sink = new FileSink({ dir: dir.path, maxBytes: 1e9, maxAgeMs: 1e9, fsync: true });
    await sink.start();
    // A soft limit on this test process (the runner gives each test file its own process, and
    // nothing else here writes a regular file meanwhile); only the sink's file gets near 8 KiB.
    const limit = (value: string): void => void execFileSync('prlimit', ['--pid', String(process.pid), `--fsize=${value}:`], { stdio: 'pipe' });
    try {
      limit('8192');
    } catch (err) {
      return cannotHere(t, `cannot set a file-size limit here: ${String(err)}`);
    }
    let refused: Refused;
    try {
      refused = await writeUntilRefused(sink);
    } finally {
      limit('unlimited');
    }
    await retryAfterRefusal(sink, dir.path, refused, 'EFBIG');
  });

  test('a full disk (ENOSPC on a small tmpfs) fails the batch, leaves no torn line, and the retry appends whole lines', { timeout: 20_000 }, (t) =>
    onTmpfs(t, '64k', async (dir) => {
      const filler = join(dir, 'filler');
      writeFileSync(filler, Buffer.alloc(48 * 1024));
      const sink = new FileSink({ dir, maxBytes: 1e9, maxAgeMs: 1e9, fsync: true });
      await sink.start();
      try {
        const refused = await writeUntilRefused(sink);
        rmSync(filler);
        await retryAfterRefusal(sink, dir, refused, 'ENOSPC');
      } finally {
        await sink.close().catch(() => undefined);
      }
    }),
  );
});

function many(n: number, first: number): LogRecord[] {
  return Array.from({ length: n }, (_, i) => log(first + i));
}

interface Refused {
  acked: string[];
  failed: Batch;
  error: NodeJS.ErrnoException;
}

/** Writes 10-record batches until one is refused; the limit must be hit within 200 batches. */
async function writeUntilRefused(sink: FileSink): Promise<Refused> {
  const acked: string[] = [];
  for (let i = 0; i < 200; i++) {
    const b = batch(many(10, i * 10));
    try {
      await sink.writeBatch(b);
    } catch (error) {
      return { acked, failed: b, error: error as NodeJS.ErrnoException };
    }
    acked.push(...b.records.map((r) => r.id));
  }
  throw new Error('the limit was never hit');
}

/** What the file holds after a refusal and after the retry: exactly the acknowledged records, whole. */
async function retryAfterRefusal(sink: FileSink, dir: string, refused: Refused, code: string): Promise<void> {
  assert.equal(refused.error.code, code);
  assert.ok(refused.acked.length > 0, 'some batches fit before the limit');
  const before = linesIn(dir, 'log-');
  assert.equal(before.torn, 0, 'no torn line left behind by the refused batch');
  assert.deepEqual(before.ids, refused.acked, 'the file holds exactly the acknowledged records');
  await sink.writeBatch(refused.failed);
  const next = batch(many(10, 10_000));
  await sink.writeBatch(next);
  await sink.close();
  const after = linesIn(dir, 'log-');
  assert.equal(after.torn, 0, 'the retry did not append onto a half line');
  assert.deepEqual(after.ids, [...refused.acked, ...refused.failed.records.map((r) => r.id), ...next.records.map((r) => r.id)]);
}

/** Ids of the lines in the files named `prefix…` (in name order), and how many lines do not parse. */
function linesIn(dir: string, prefix: string): { ids: string[]; torn: number } {
  const ids: string[] = [];
  let torn = 0;
  for (const f of readdirSync(dir).filter((n) => n.startsWith(prefix)).sort()) {
    const text = readFileSync(join(dir, f), 'utf8');
    if (text.length > 0 && !text.endsWith('\n')) torn++;
    for (const line of text.split('\n').filter((l) => l.length > 0)) {
      try {
        ids.push((JSON.parse(line) as { id: string }).id);
      } catch {
        torn++;
      }
    }
  }
  return { ids, torn };
}

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

interface Syscall {
  index: number;
  call: string;
  path: string;
  flags: string;
}

/** strace -f output as calls in completion order, each with the path its descriptor was opened on. */
function syscalls(trace: string): Syscall[] {
  const pending = new Map<string, string>();
  const paths = new Map<number, string>();
  const out: Syscall[] = [];
  for (const raw of trace.split('\n')) {
    let line = raw;
    // strace pads the pid column (two spaces after a 4-digit pid, one after a 5-digit one).
    const pid = /^(\d+)\s/.exec(line)?.[1] ?? '';
    if (line.endsWith('<unfinished ...>')) {
      pending.set(pid, line.slice(0, -'<unfinished ...>'.length).trimEnd());
      continue;
    }
    const resumed = /^\d+\s+<\.\.\. \w+ resumed>(.*)$/.exec(line);
    if (resumed) line = (pending.get(pid) ?? '') + resumed[1];
    const open = /^\d+\s+openat\(AT_FDCWD, "([^"]*)", ([A-Z_|]+)[^)]*\)\s+= (\d+)$/.exec(line);
    if (open) {
      paths.set(Number(open[3]), open[1]!);
      out.push({ index: out.length, call: 'openat', path: open[1]!, flags: open[2]! });
      continue;
    }
    const onFd = /^\d+\s+(fsync|fdatasync|close)\((\d+)\)\s+= 0$/.exec(line);
    if (onFd) {
      const fd = Number(onFd[2]);
      out.push({ index: out.length, call: onFd[1]!, path: paths.get(fd) ?? '', flags: '' });
      if (onFd[1] === 'close') paths.delete(fd);
    }
  }
  return out;
}

/** Runs `fn` on a fresh tmpfs of `size`, or skips with the reason when mounting is not permitted. */
async function onTmpfs(t: TestContext, size: string, fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = tempDir();
  dirs.push(dir.remove);
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir.path], { stdio: 'pipe' });
  } catch (err) {
    cannotHere(t, `cannot mount a tmpfs here: ${String((err as { stderr?: Buffer }).stderr ?? err).trim()}`);
    return;
  }
  try {
    await fn(dir.path);
  } finally {
    execFileSync('umount', ['-l', dir.path]);
  }
}
