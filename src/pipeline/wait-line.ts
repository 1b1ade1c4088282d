// Producers waiting for room in a buffer (the "short blocking wait" before a 429): served in
// arrival order (no barging), each up to its own timeout. What waits here is memory too, so
// the line is bounded in bytes (past it a producer is refused at once), and an ingest request
// waits as its raw body: it is parsed only when it reaches the head of the line, so at most
// one parsed request waits. Parsed, 200 waiting clients x 100 records held as much
// again as a full buffer.

import type { SluiceRecord } from '../record.js';
import type { DeferredRecords, PushOptions, RecordBuffer } from './buffer.js';

/** What both buffers park: a request's records, or (`deferred`) its body not parsed yet. */
export interface Waiting {
  records: SluiceRecord[];
  bytes: number;
  /** Set while the request is not parsed yet. */
  deferred: DeferredRecords | undefined;
  opts: PushOptions;
}

/** Parses a deferred request and records the result on it (both buffers' `pushDeferred`). */
export function parseDeferred(req: DeferredRecords): ReturnType<DeferredRecords['parse']> {
  const parsed = req.parse();
  req.records = parsed.records;
  return parsed;
}

/** A deferred request that need not wait: parsed now and pushed; its parse error rejects. */
export function pushParsedNow(buffer: RecordBuffer, req: DeferredRecords, opts: PushOptions): Promise<void> {
  let parsed;
  try {
    parsed = parseDeferred(req);
  } catch (err) {
    return Promise.reject(err as Error);
  }
  return buffer.push(parsed.records, parsed.bytes, opts);
}

interface Entry<T> {
  item: T;
  /** What it holds while it waits: its raw body if it came unparsed, else its records' bytes. */
  bytes: number;
  resolve: () => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout | undefined;
}

export class WaitLine<T extends Waiting> {
  private entries: Array<Entry<T>> = [];
  private bytes = 0;

  /**
   * `maxBytes`: bytes the waiting producers may hold together (an empty line takes any one).
   * `wake`: called when the head timed out, so the next one is tried (it may fit where the
   * head did not) rather than waiting for the buffer's next event, which may never come.
   */
  constructor(
    private readonly maxBytes: number,
    private readonly wake?: () => void,
  ) {}

  get length(): number {
    return this.entries.length;
  }

  /**
   * Parks the request until `release` admits it (resolves, or rejects with the admission's or
   * its parse error) or its timeout passes (rejects with `full()`); rejects at once with
   * `full()` when it may not wait (no timeout) or the line is full.
   */
  wait(item: T, full: () => Error): Promise<void> {
    const bytes = item.deferred ? item.deferred.rawBytes : item.bytes;
    if (item.opts.timeoutMs <= 0 || (this.entries.length > 0 && this.bytes + bytes > this.maxBytes))
      return Promise.reject(full());
    return new Promise<void>((resolve, reject) => {
      const entry: Entry<T> = { item, bytes, resolve, reject, timer: undefined };
      entry.timer = setTimeout(() => {
        const i = this.entries.indexOf(entry);
        if (i >= 0) this.remove(i);
        reject(full());
        if (i === 0) this.wake?.();
      }, item.opts.timeoutMs);
      this.entries.push(entry);
      this.bytes += bytes;
    });
  }

  /**
   * Admits waiting requests in order while `fits` says the first one fits. The first is parsed
   * before its first `fits` if it came unparsed (a parse error rejects that producer alone).
   * `admit` may return a promise (the WAL's fsync): the producer's promise follows it.
   */
  release(fits: (item: T) => boolean, admit: (item: T) => Promise<void> | void): void {
    while (this.entries.length > 0) {
      const e = this.entries[0]!;
      if (e.item.deferred) {
        try {
          const parsed = parseDeferred(e.item.deferred);
          e.item.records = parsed.records;
          e.item.bytes = parsed.bytes;
          e.item.deferred = undefined;
        } catch (err) {
          this.drop(e, err as Error);
          continue;
        }
      }
      if (!fits(e.item)) return;
      this.remove(0);
      clearTimeout(e.timer);
      const done = admit(e.item);
      if (done) done.then(e.resolve, e.reject);
      else e.resolve();
    }
  }

  /** Rejects every waiting producer (shutdown). */
  failAll(err: () => Error): void {
    for (const e of this.entries.splice(0)) {
      clearTimeout(e.timer);
      e.reject(err());
    }
    this.bytes = 0;
  }

  private drop(e: Entry<T>, err: Error): void {
    this.remove(0);
    clearTimeout(e.timer);
    e.reject(err);
  }

  private remove(i: number): void {
    const [e] = this.entries.splice(i, 1);
    this.bytes -= e!.bytes;
  }
}
