// Fake time for a test: setTimeout, Date and performance.now follow a clock the test moves,
// so a duration passes without waiting for it and "nothing happened in X ms" is exact.
// (node:test's mock.timers; Node 20 does not fake node:timers/promises, so code under test
// and the test's own jobs must use the global setTimeout.)
import type { TestContext } from 'node:test';

export interface FakeTime {
  /** Moves the clock `ms` forward one millisecond at a time, letting promises settle at each step. */
  advance(ms: number): Promise<void>;
  now(): number;
}

export function useFakeTime(t: TestContext): FakeTime {
  t.mock.timers.enable({ apis: ['setTimeout', 'setInterval', 'Date'] });
  t.mock.method(performance, 'now', () => Date.now());
  return {
    async advance(ms) {
      t.mock.timers.tick(0); // what is due now (setTimeout 0) first
      await settle();
      for (let i = 0; i < ms; i++) {
        t.mock.timers.tick(1);
        await settle();
      }
    },
    now: () => Date.now(),
  };
}

/** Lets pending promise callbacks run: setImmediate is not faked, so it comes after them. */
function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** A sleep on the global (fakeable) setTimeout. */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
