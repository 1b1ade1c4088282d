// Matches a check's bodyRegex. Patterns are RE2 (re2js, a JavaScript port of RE2): matching
// takes time linear in the body, so no pattern can backtrack exponentially (`^(a|a)*$` held
// the loop 55 s under RegExp). Linear is still ~0.3 s for 1 MiB against some patterns, so the
// match runs in a worker thread: the event loop never waits for it, and the check's timeout
// cuts it (the worker is replaced).
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

// CommonJS source run with `eval`: no file to resolve, with or without a TypeScript loader.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
import(workerData.re2js).then(({ RE2JS }) => {
  const compiled = new Map();
  const utf8 = new TextDecoder();
  parentPort.on('message', ({ id, pattern, body }) => {
    try {
      const text = utf8.decode(body);
      let re = compiled.get(pattern);
      if (!re) {
        if (compiled.size >= 256) compiled.clear();
        re = RE2JS.compile(pattern);
        compiled.set(pattern, re);
      }
      parentPort.postMessage({ id, matched: re.matcher(text).find() });
    } catch (err) {
      parentPort.postMessage({ id, error: String(err && err.message) });
    }
  });
});
`;

interface Pending {
  id: number;
  pattern: string;
  body: Uint8Array;
  resolve: (matched: boolean) => void;
  reject: (err: Error) => void;
}

/** One worker serving matches in order; replaced when a match in progress is cut. */
export class BodyMatcher {
  private worker: Worker | undefined;
  /** In the order sent: the first is the one the worker is running. */
  private readonly pending: Pending[] = [];
  private nextId = 0;

  /** Whether `pattern` matches somewhere in `body` (UTF-8, decoded as Buffer#toString would). */
  match(pattern: string, body: Uint8Array, signal: AbortSignal): Promise<boolean> {
    if (signal.aborted) return Promise.reject(signal.reason as Error);
    return new Promise<boolean>((resolve, reject) => {
      const p: Pending = { id: this.nextId++, pattern, body, resolve, reject };
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
      this.pending.push(p);
      this.send(p);
    });
  }

  async close(): Promise<void> {
    const w = this.worker;
    this.worker = undefined;
    for (const p of this.pending.splice(0)) p.reject(new Error('body matcher closed'));
    await w?.terminate();
  }

  private send(p: Pending): void {
    // Bytes, not a string: posting a string re-encodes it on this thread (~40 ms a MiB on a
    // busy machine); a byte array is a plain copy.
    this.spawn().postMessage({ id: p.id, pattern: p.pattern, body: p.body });
    this.holdWhileBusy();
  }

  /**
   * A match awaited keeps the process alive; an idle matcher must not. Set after every change,
   * not once at spawn: on Node 20 a 'message' listener added after unref() refs the worker's
   * port again, and the process never exits.
   */
  private holdWhileBusy(): void {
    if (this.pending.length > 0) this.worker?.ref();
    else this.worker?.unref();
  }

  private spawn(): Worker {
    if (this.worker) return this.worker;
    const w = new Worker(WORKER_SOURCE, { eval: true, workerData: { re2js: import.meta.resolve('re2js') } });
    w.on('message', (m: { id: number; matched?: boolean; error?: string }) => {
      const i = this.pending.findIndex((p) => p.id === m.id);
      if (i < 0) return;
      const [p] = this.pending.splice(i, 1);
      this.holdWhileBusy();
      if (m.error !== undefined) p!.reject(new Error(m.error));
      else p!.resolve(m.matched === true);
    });
    w.on('error', (err) => this.restart(err));
    this.worker = w;
    return w;
  }

  /** The caller gave up (the check's timeout): a match still running is cut by replacing the worker. */
  private cancel(p: Pending, reason: Error): void {
    const i = this.pending.indexOf(p);
    if (i < 0) return;
    this.pending.splice(i, 1);
    p.reject(reason);
    if (i === 0) this.restart();
    else this.holdWhileBusy();
  }

  /** Replaces the worker and sends it what the old one had not answered. */
  private restart(err?: Error): void {
    const old = this.worker;
    this.worker = undefined;
    if (old) void old.terminate();
    if (err) for (const p of this.pending.splice(0)) p.reject(err);
    for (const p of this.pending) this.send(p);
  }
}
