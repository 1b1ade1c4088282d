// Matches a check's bodyRegex. Patterns are RE2 (re2js, a JavaScript port of RE2): matching
// takes time linear in the body, so no pattern can backtrack exponentially (`^(a|a)*$` held
// the loop 55 s under RegExp). Linear is still ~0.3 s for 1 MiB against some patterns, so
// matches run in a small pool of worker threads: the event loop never waits for one, a slow
// match holds one worker while the others serve other checks, and a check's timeout cuts its
// match (that worker is replaced). Matches waiting for a worker are bounded.
import { Worker } from 'node:worker_threads';
import { RE2JS } from 're2js';

/** Why a pattern cannot be used (RE2 has no backreferences or lookaround), or null. */
export function patternProblem(pattern: string): string | null {
  try {
    RE2JS.compile(pattern);
    return null;
  } catch (err) {
    return (err as Error).message;
  }
}

// An ES module from a data: URL: no file to resolve (from src under tsx or from dist), and it
// runs the same whatever the host's --input-type.
const WORKER_SOURCE = `
import { parentPort, workerData } from 'node:worker_threads';
const { RE2JS } = await import(workerData.re2js);
parentPort.postMessage({ ready: true });
const compiled = new Map();
const utf8 = new TextDecoder();
parentPort.on('message', ({ pattern, body }) => {
  try {
    const text = utf8.decode(body);
    let re = compiled.get(pattern);
    if (!re) {
      if (compiled.size >= 256) compiled.clear();
      re = RE2JS.compile(pattern);
      compiled.set(pattern, re);
    }
    parentPort.postMessage({ matched: re.matcher(text).find() });
  } catch (err) {
    parentPort.postMessage({ error: String(err && err.message) });
  }
});
`;
const WORKER_URL = new URL(`data:text/javascript,${encodeURIComponent(WORKER_SOURCE)}`);

/** Workers matching at once: one slow match leaves the other free. */
export const POOL_SIZE = 2;
/** Matches that may wait for a worker; past it a match is refused (the check reports the error). */
export const MAX_QUEUED = 256;

interface Pending {
  pattern: string;
  body: Uint8Array;
  resolve: (matched: boolean) => void;
  reject: (err: Error) => void;
  /** The worker running it, once it runs. */
  slot?: Slot;
}

interface Slot {
  worker: Worker;
  /** Started and ready for matches: a match is sent only then, so one cut while a worker boots does not kill it. */
  ready: boolean;
  job: Pending | undefined;
}

/** What the matcher holds now. */
export interface MatcherStats {
  workers: number;
  running: number;
  queued: number;
}

export class BodyMatcher {
  private readonly slots: Slot[] = [];
  /** Waiting for a free worker, in arrival order. */
  private readonly queue: Pending[] = [];

  constructor(
    private readonly size = POOL_SIZE,
    private readonly maxQueued = MAX_QUEUED,
  ) {}

  /** Whether `pattern` matches somewhere in `body` (UTF-8, decoded as Buffer#toString would). */
  match(pattern: string, body: Uint8Array, signal: AbortSignal): Promise<boolean> {
    if (signal.aborted) return Promise.reject(signal.reason as Error);
    if (this.queue.length >= this.maxQueued)
      return Promise.reject(new Error(`body matcher busy: ${this.maxQueued} matches already wait for a worker`));
    return new Promise<boolean>((resolve, reject) => {
      const p: Pending = { pattern, body, resolve, reject };
      const onAbort = (): void => this.cancel(p, signal.reason as Error);
      signal.addEventListener('abort', onAbort, { once: true });
      p.resolve = (m) => {
        signal.removeEventListener('abort', onAbort);
        resolve(m);
      };
      p.reject = (e) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      };
      this.queue.push(p);
      this.dispatch();
    });
  }

  stats(): MatcherStats {
    return {
      workers: this.slots.length,
      running: this.slots.filter((s) => s.job).length,
      queued: this.queue.length,
    };
  }

  async close(): Promise<void> {
    const slots = this.slots.splice(0);
    const err = new Error('body matcher closed');
    for (const p of this.queue.splice(0)) p.reject(err);
    for (const s of slots) s.job?.reject(err);
    await Promise.all(slots.map((s) => s.worker.terminate()));
  }

  /** Hands waiting matches to ready workers, starting workers (up to the pool size) for the rest. */
  private dispatch(): void {
    while (this.queue.length > 0) {
      const slot = this.slots.find((s) => s.ready && s.job === undefined);
      if (!slot) {
        const booting = this.slots.filter((s) => !s.ready).length;
        if (this.slots.length < this.size && booting < this.queue.length) this.spawn();
        break;
      }
      const p = this.queue.shift()!;
      slot.job = p;
      p.slot = slot;
      // Bytes, not a string: posting a string re-encodes it on this thread (~40 ms a MiB on a
      // busy machine); a byte array is a plain copy.
      slot.worker.postMessage({ pattern: p.pattern, body: p.body });
    }
    this.holdWhileBusy();
  }

  /**
   * A match awaited keeps the process alive; an idle matcher must not. Set after every change,
   * not once at spawn: on Node 20 a 'message' listener added after unref() refs the worker's
   * port again, and the process never exits.
   */
  private holdWhileBusy(): void {
    for (const s of this.slots) {
      if (s.job || (!s.ready && this.queue.length > 0)) s.worker.ref();
      else s.worker.unref();
    }
  }

  private spawn(): Slot {
    const worker = new Worker(WORKER_URL, { workerData: { re2js: import.meta.resolve('re2js') } });
    const slot: Slot = { worker, ready: false, job: undefined };
    worker.on('message', (m: { ready?: boolean; matched?: boolean; error?: string }) => {
      if (m.ready) {
        slot.ready = true;
        this.dispatch();
        return;
      }
      const p = slot.job;
      if (!p) return;
      slot.job = p.slot = undefined;
      if (m.error !== undefined) p.reject(new Error(m.error));
      else p.resolve(m.matched === true);
      this.dispatch();
    });
    worker.on('error', (err) => {
      const p = slot.job;
      const booting = !slot.ready;
      this.remove(slot);
      p?.reject(err);
      // A worker that cannot start will not start the next time either: what waits is refused.
      if (booting) for (const q of this.queue.splice(0)) q.reject(err);
      this.dispatch();
    });
    this.slots.push(slot);
    return slot;
  }

  /** Stops a worker (its match was cut or it failed); the next dispatch starts another. */
  private remove(slot: Slot): void {
    const i = this.slots.indexOf(slot);
    if (i >= 0) this.slots.splice(i, 1);
    if (slot.job) slot.job.slot = undefined;
    slot.job = undefined;
    void slot.worker.terminate();
  }

  /** The caller gave up (the check's timeout): a waiting match leaves the queue; a running one's worker is replaced. */
  private cancel(p: Pending, reason: Error): void {
    if (p.slot) this.remove(p.slot);
    else {
      const i = this.queue.indexOf(p);
      if (i < 0) return;
      this.queue.splice(i, 1);
    }
    p.reject(reason);
    this.dispatch();
  }
}
