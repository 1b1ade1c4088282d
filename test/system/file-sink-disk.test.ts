// The file sink against the operating system: the directory fsync seen under strace, and a
// batch refused mid-write by a file-size limit (prlimit) or a full disk (a tmpfs; needs root).
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, test } from 'node:test';
import { FileSink } from '../../src/sinks/file/file-sink.js';
import type { Batch } from '../../src/batch.js';
import { tempDir } from '../helpers/app.js';
import { cannotHere } from '../helpers/cannot-here.js';
import { batch, linesIn, many } from '../helpers/file-sink.js';
import { onTmpfs } from '../helpers/tmpfs.js';

const dirs: Array<() => void> = [];
after(() => dirs.forEach((d) => d()));

describe('FileSink and the directory fsync', () => {
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
    const run = spawnSync(
      'strace',
      [
        '-f',
        '-qq',
        '-o',
        trace,
        '-e',
        'trace=openat,fsync,fdatasync,close',
        process.execPath,
        '--import',
        'tsx',
        '--input-type=module',
        '-e',
        script,
      ],
      { cwd: repo, encoding: 'utf8' },
    );
    if (run.error || /ptrace|not permitted/i.test(run.stderr))
      return cannotHere(t, `cannot run strace here: ${String(run.error ?? run.stderr).trim()}`);
    assert.equal(run.status, 0, run.stderr);
    const events = syscalls(readFileSync(trace, 'utf8'));
    const created = events.filter(
      (e) =>
        e.call === 'openat' &&
        e.path.startsWith(dir.path + '/') &&
        e.path.endsWith('.ndjson') &&
        e.flags.includes('O_CREAT'),
    );
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
    const limit = (value: string): void =>
      void execFileSync('prlimit', ['--pid', String(process.pid), `--fsize=${value}:`], { stdio: 'pipe' });
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

  test(
    'a full disk (ENOSPC on a small tmpfs) fails the batch, leaves no torn line, and the retry appends whole lines',
    { timeout: 20_000 },
    (t) =>
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
  assert.deepEqual(after.ids, [
    ...refused.acked,
    ...refused.failed.records.map((r) => r.id),
    ...next.records.map((r) => r.id),
  ]);
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
