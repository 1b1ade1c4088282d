// One collector per WAL directory. A second one would replay the first's live segments
// (truncating a frame that is still being written as a "torn tail") and write its own beside
// them; so the directory is locked by a file holding the owner's pid. A lock left by a
// process that died (kill -9) is taken over: its pid is no longer running, or it is our own
// pid (a container restarted with the same pid). Like PostgreSQL's postmaster.pid, a live
// unrelated process that happens to reuse the pid keeps the lock; the error says which file
// to delete then.
import { readFileSync } from 'node:fs';
import { open, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SluiceError } from '../../errors.js';

const LOCK_FILE = 'LOCK';

export interface DirLock {
  release(): Promise<void>;
}

export async function lockDir(dir: string): Promise<DirLock> {
  const path = join(dir, LOCK_FILE);
  const mine = `${process.pid}\n`;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fh = await open(path, 'wx');
      try {
        await fh.writeFile(mine);
      } finally {
        await fh.close();
      }
      return lockHeld(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const owner = Number.parseInt(await readFile(path, 'utf8').catch(() => ''), 10);
    if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && isRunningNode(owner)) {
      throw new SluiceError(
        'SLUICE_ERR_CONFIG',
        `wal.dir ${dir} is in use by another collector (pid ${owner}); give each collector its own wal.dir (if no collector runs there, delete ${path})`,
      );
    }
    // Stale: replace it in one step, so a reader never sees a half-written file.
    const tmp = `${path}.${process.pid}`;
    await writeFile(tmp, mine);
    await rename(tmp, path);
    if ((await readFile(path, 'utf8')) === mine) return lockHeld(path);
  }
  throw new SluiceError('SLUICE_ERR_CONFIG', `could not lock wal.dir ${dir}: another collector is starting there`);
}

function lockHeld(path: string): DirLock {
  return {
    async release() {
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
