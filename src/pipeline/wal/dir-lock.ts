// One collector per WAL directory. A second one would replay the first's live segments
// (truncating a frame that is still being written as a "torn tail") and, starting from the
// same positions, build the same batch ids for other records, which the sink would then skip
// as already committed. So the directory is locked by a file holding the owner's pid, which
// the owner touches every few seconds. A lock is stale when its pid is not a running Node
// process; a lock with our own pid (containers sharing a volume all run as pid 1, and a
// restarted container reuses its pid) is stale only once nobody has touched it for `staleMs`.
// Node has no flock, hence the heartbeat.
import { readFileSync } from 'node:fs';
import { open, readFile, rename, stat, unlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SluiceError } from '../../errors.js';
import { sleep } from '../backoff.js';

const LOCK_FILE = 'LOCK';

export interface DirLock {
  release(): Promise<void>;
}

export interface LockOptions {
  /** A same-pid lock untouched this long is stale. */
  staleMs?: number;
  /** How long to wait for a fresh same-pid lock to go stale before refusing. */
  waitMs?: number;
}

/** Locks held by this process: opening one again (a test simulating a crash) takes it over. */
const heldHere = new Map<string, NodeJS.Timeout>();

export async function lockDir(dir: string, opts: LockOptions = {}): Promise<DirLock> {
  const staleMs = opts.staleMs ?? 10_000;
  const waitUntil = Date.now() + (opts.waitMs ?? staleMs + 5000);
  const path = join(dir, LOCK_FILE);
  const mine = `${process.pid}\n`;
  for (;;) {
    try {
      const fh = await open(path, 'wx');
      try {
        await fh.writeFile(mine);
      } finally {
        await fh.close();
      }
      return hold(path, staleMs);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const owner = Number.parseInt(await readFile(path, 'utf8').catch(() => ''), 10);
    if (owner === process.pid && !heldHere.has(path)) {
      const age =
        Date.now() -
        (await stat(path).then(
          (s) => s.mtimeMs,
          () => 0,
        ));
      if (age < staleMs) {
        if (Date.now() < waitUntil) {
          await sleep(Math.min(500, staleMs / 4));
          continue;
        }
        throw inUse(
          dir,
          path,
          `a process with our own pid ${owner} that keeps it fresh (another container sharing this volume?)`,
        );
      }
    } else if (owner !== process.pid && Number.isInteger(owner) && owner > 0 && isRunningNode(owner)) {
      throw inUse(dir, path, `another collector (pid ${owner})`);
    }
    // Stale: replace it in one step, so a reader never sees a half-written file.
    clearInterval(heldHere.get(path));
    heldHere.delete(path);
    const tmp = `${path}.${process.pid}`;
    await writeFile(tmp, mine);
    await rename(tmp, path);
    return hold(path, staleMs);
  }
}

function inUse(dir: string, path: string, by: string): SluiceError {
  return new SluiceError(
    'SLUICE_ERR_CONFIG',
    `wal.dir ${dir} is in use by ${by}; give each collector its own wal.dir (if no collector runs there, delete ` +
      `${path})`,
  );
}

function hold(path: string, staleMs: number): DirLock {
  const heartbeat = setInterval(() => {
    const now = new Date();
    utimes(path, now, now).catch(() => undefined);
  }, staleMs / 4);
  heartbeat.unref();
  heldHere.set(path, heartbeat);
  return {
    async release() {
      clearInterval(heartbeat);
      if (heldHere.get(path) !== heartbeat) return; // taken over since
      heldHere.delete(path);
      const owner = await readFile(path, 'utf8').catch(() => '');
      if (owner === `${process.pid}\n`) await unlink(path).catch(() => undefined);
    },
  };
}

/** Whether `pid` is a running process that could be a collector (a Node process, where /proc says). */
function isRunningNode(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    // EPERM: it exists but belongs to another user.
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  try {
    return /node/i.test(readFileSync(`/proc/${pid}/cmdline`, 'latin1'));
  } catch {
    return true; // no /proc (not Linux): a running pid is enough
  }
}
