// Producers waiting for room in a buffer (the "short blocking wait" before a 429): served in
// arrival order (no barging), each up to its own timeout. What waits here is memory too, so
// the line is bounded in bytes (past it a producer is refused at once), and an ingest request
// waits as its raw body: it is parsed only when it reaches the head of the line, so at most
// one parsed request waits. Parsed, 200 waiting clients x 100 records held as much
// again as a full buffer. (A parse thread's request is sent only while there is room; one that
// lost the race for it waits as its tuples, counted at their size.)

import type { SluiceRecord } from '../record.js';
import type { DeferredRecords, EncodedRecords, PushOptions, RecordBuffer } from './buffer.js';

/** What both buffers park: a request's records, or (`deferred`) its body not parsed yet. */
export interface Waiting {
  records: SluiceRecord[];
  /** Set instead of `records` for a request encoded before it came (a parse thread). */
  encoded?: EncodedRecords;
  bytes: number;
  /** Set while the request is not parsed yet. */
  deferred: DeferredRecords | undefined;
  opts: PushOptions;
}

/** How many records a waiting request holds. */
export function waitingCount(w: Waiting): number {
  return w.encoded ? w.encoded.run.sizes.length : w.records.length;
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

/** A producer's place in the line. */
interface Place<T> {
  item: T;
  /** What it holds while it waits: its raw body if it came unparsed, else its records' bytes. */
  bytes: number;
  resolve: () => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout | undefined;
}

export class WaitLine<T extends Waiting> {
  private places: Array<Place<T>> = [];
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
    return this.places.length;
  }

  /**
   * Parks the request until `release` admits it (resolves, or rejects with the admission's or
   * its parse error) or its timeout passes (rejects with `full()`); rejects at once with
   * `full()` when it may not wait (no timeout) or the line is full.
   */
  wait(item: T, full: () => Error): Promise<void> {
    // What it holds while it waits: its raw body, its tuples, or its records.
    const bytes = item.deferred ? item.deferred.rawBytes : item.encoded ? item.encoded.run.tuples.length : item.bytes;
    if (item.opts.timeoutMs <= 0 || (this.places.length > 0 && this.bytes + bytes > this.maxBytes))
      return Promise.reject(full());
    return new Promise<void>((resolve, reject) => {
      const place: Place<T> = { item, bytes, resolve, reject, timer: undefined };
      place.timer = setTimeout(() => {
        const i = this.places.indexOf(place);
        if (i >= 0) this.remove(i);
        reject(full());
        if (i === 0) this.wake?.();
      }, item.opts.timeoutMs);
      this.places.push(place);
      this.bytes += bytes;
    });
  }

  /**
   * Admits waiting requests in order while `fits` says the first one fits. The first is parsed
   * before its first `fits` if it came unparsed (a parse error rejects that producer alone).
   * `admit` may return a promise (the WAL's fsync): the producer's promise follows it.
   */
  release(fits: (item: T) => boolean, admit: (item: T) => Promise<void> | void): void {
    while (this.places.length > 0) {
      const place = this.places[0]!;
      if (place.item.deferred) {
        try {
          const parsed = parseDeferred(place.item.deferred);
          place.item.records = parsed.records;
          place.item.bytes = parsed.bytes;
          place.item.deferred = undefined;
        } catch (err) {
          this.drop(place, err as Error);
          continue;
        }
      }
      if (!fits(place.item)) return;
      this.remove(0);
      clearTimeout(place.timer);
      const done = admit(place.item);
      if (done) done.then(place.resolve, place.reject);
      else place.resolve();
    }
  }

  /** Rejects every waiting producer (shutdown). */
  failAll(err: () => Error): void {
    for (const place of this.places.splice(0)) {
      clearTimeout(place.timer);
      place.reject(err());
    }
    this.bytes = 0;
  }

  private drop(place: Place<T>, err: Error): void {
    this.remove(0);
    clearTimeout(place.timer);
    place.reject(err);
  }

  private remove(i: number): void {
    const [place] = this.places.splice(i, 1);
    this.bytes -= place!.bytes;
  }
}
