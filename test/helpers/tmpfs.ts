// A fresh tmpfs of a given size for a system test that needs a real full disk. Mounting needs
// root with CAP_SYS_ADMIN: where that is refused the test skips saying so, and fails under CI=true.
import { execFileSync } from 'node:child_process';
import type { TestContext } from 'node:test';
import { tempDir } from './app.js';
import { cannotHere } from './cannot-here.js';

/** Runs `fn` on a tmpfs of `size` mounted on a temp dir; unmounts and removes it afterwards. */
export async function onTmpfs(t: TestContext, size: string, fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = tempDir('sluice-tmpfs-');
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir.path], { stdio: 'pipe' });
  } catch (err) {
    dir.remove();
    cannotHere(t, `cannot mount a tmpfs here: ${String((err as { stderr?: Buffer }).stderr ?? err).trim()}`);
    return;
  }
  try {
    await fn(dir.path);
  } finally {
    execFileSync('umount', ['-l', dir.path]);
    dir.remove();
  }
}
