// A test that needs something this machine may lack (a tmpfs mount, strace, prlimit): it skips
// with the reason on a developer's machine, and fails under CI=true, where a missing tool must
// not turn into a green run.
import type { TestContext } from 'node:test';

export function cannotHere(t: TestContext, reason: string): void {
  if (process.env.CI === 'true') throw new Error(`${reason} (CI=true: a test that cannot run here is a failure)`);
  // Justified skip: only outside CI, only when the machine cannot provide what the test needs
  // (mounting a tmpfs needs root, strace needs ptrace); the reason is printed with the skip.
  t.skip(reason);
}
