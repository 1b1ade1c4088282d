// Polls a condition until it holds (a value other than undefined or false), or fails naming
// what it waited for: tests synchronise on what they can observe, not on sleeps.
import { setTimeout as sleep } from 'node:timers/promises';

/** `what` may be a function, to say in the failure what was seen by then. */
export async function waitFor<T>(
  what: string | (() => string),
  fn: () => Promise<T | undefined | false> | T | undefined | false,
  ms = 8000,
): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${typeof what === 'string' ? what : what()}`);
    await sleep(25);
  }
}
