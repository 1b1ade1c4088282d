// Runs work written as a generator that yields how much it just did (bytes, roughly), so one
// body is handled in steps of bounded work with the event loop free between them (issue #13):
// the protocol routes' decoders and mappers are such generators, run at once for a small body
// and a step at a time for a large one, and so are the WAL's layout of a large round of frames
// and its join of a large request's tuples.
// countSteps runs the same steps back to back for tests.
import { setImmediate as yieldToLoop } from 'node:timers/promises';

/** Work done between two turns of the event loop: 128 KiB of input (as POST /logs' SLICE_CHARS). */
export const STEP_WORK = 128 * 1024;

/**
 * The longest a step of runInSteps runs, whatever its counted work: bytes are a poor measure of
 * time for tiny records (10 MiB of ~60-byte `_bulk` documents cost ~7 µs each, so 128 KiB of
 * them took ~20 ms, and the garbage they leave lands in the same turns).
 */
export const STEP_MAX_MS = 8;

/** Work that yields the amount done since its last yield, and returns its result. */
export type Steps<T> = Generator<number, T, void>;

/** Runs `steps` until about `budget` work is done; the result once they are over. */
function advance<T>(steps: Steps<T>, budget: number, until = Infinity): { done: boolean; value?: T; work: number } {
  let work = 0;
  for (;;) {
    const r = steps.next();
    if (r.done) return { done: true, value: r.value, work };
    work += r.value;
    if (work >= budget || (until !== Infinity && performance.now() >= until)) return { done: false, work };
  }
}

/** All of it in one go (small bodies, and callers with trusted input). */
export function runAtOnce<T>(steps: Steps<T>): T {
  return advance(steps, Infinity).value as T;
}

/** About `budget` work (or STEP_MAX_MS) at a time, yielding to the event loop between steps. */
export async function runInSteps<T>(steps: Steps<T>, budget = STEP_WORK): Promise<T> {
  for (;;) {
    const r = advance(steps, budget, performance.now() + STEP_MAX_MS);
    if (r.done) return r.value as T;
    await yieldToLoop();
  }
}

export interface Counted<T> {
  value: T;
  /** Steps runInSteps would take (turns of the event loop it would give back, plus one). */
  steps: number;
  /** The most work one step did. */
  maxStepWork: number;
}

/** runInSteps's steps run back to back, counted: a bound on how long one holds the loop, without a clock. */
export function countSteps<T>(steps: Steps<T>, budget = STEP_WORK): Counted<T> {
  let n = 0;
  let max = 0;
  for (;;) {
    const r = advance(steps, budget);
    n++;
    max = Math.max(max, r.work);
    if (r.done) return { value: r.value as T, steps: n, maxStepWork: max };
  }
}
