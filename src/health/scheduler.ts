// The probe scheduler: a min-heap of next-due times driven by one timer. Each job's first run
// is placed at a stable offset within its interval (a hash of its id), so thousands of checks
// registered at once spread out instead of firing together, and keep their place across
// restarts. Runs go through a global concurrency limit and a per-host limit; a job whose
// previous run is still going (or still queued) skips its turn rather than overlapping.
// A global probe rate cap and a per-host one (token buckets) hold runs over them in the queue
// until a token comes: they are delayed (their lag shows it), and a run still queued at its
// next turn is skipped. A run waiting for its host's token is parked aside, so it does not
// hold up runs of other hosts.
import { TokenBucket } from './token-bucket.js';
// Lag = when a run actually starts − when it was due, including time spent waiting for a slot.

export interface SchedulerJob {
  id: string;
  intervalMs: number;
  /** Per-host limit key; null: only the global limit applies. */
  host: string | null;
  run: () => Promise<void>;
}

export interface SchedulerOptions {
  concurrency: number;
  perHost: number;
  /** Runs started per second at most, over all jobs (bursts up to one second's worth); 0 or absent: no cap. */
  probesPerSecond?: number;
  /** The same, per host key; 0 or absent: no cap. */
  probesPerSecondPerHost?: number;
  /** Called with each run's scheduling lag in milliseconds. */
  onLag?: (ms: number) => void;
  /** Called when a due run is skipped because the previous one has not finished. */
  onOverlap?: (id: string) => void;
}

export interface SchedulerStats {
  jobs: number;
  running: number;
  queued: number;
  started: number;
  overlapsSkipped: number;
}

interface Entry {
  job: SchedulerJob;
  due: number;
  /** The due time of the run waiting in a queue (lag is measured from it). */
  queuedDue: number;
  state: 'idle' | 'queued' | 'running';
  removed: boolean;
  heapIndex: number;
}

/** A cheap, stable spread of ids over [0, 1): FNV-1a, then murmur3's finaliser so ids that differ only in their last character land far apart. */
export function spreadFraction(id: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) {
    h ^= id.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return (h >>> 0) / 0x1_0000_0000;
}

export class Scheduler {
  private readonly entries = new Map<string, Entry>();
  private readonly heap: Entry[] = [];
  private ready: Entry[] = [];
  private readyHead = 0;
  /** Per host: runs running or reserved in `ready`. */
  private readonly hostActive = new Map<string, number>();
  private readonly hostWait = new Map<string, Entry[]>();
  private running = 0;
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Infinity;
  private stopped = true;
  private readonly idleWaiters: Array<() => void> = [];
  private started = 0;
  private overlaps = 0;
  private readonly bucket: TokenBucket | undefined;
  private rateTimer: NodeJS.Timeout | undefined;
  private readonly hostBuckets = new Map<string, TokenBucket>();
  /** Per host: runs waiting for that host's next token, and the timer that brings them back. */
  private readonly hostParked = new Map<string, { entries: Entry[]; timer: NodeJS.Timeout }>();

  constructor(private readonly opts: SchedulerOptions) {
    const rate = opts.probesPerSecond ?? 0;
    if (rate > 0) this.bucket = new TokenBucket(rate, Math.max(1, rate), performance.now());
  }

  /** Adds (or replaces) a job. Its first run is `firstInMs` from now, or its spread offset. */
  add(job: SchedulerJob, firstInMs?: number): void {
    this.remove(job.id);
    const now = performance.now();
    const e: Entry = {
      job,
      due: now + (firstInMs ?? spreadFraction(job.id) * job.intervalMs),
      queuedDue: 0,
      state: 'idle',
      removed: false,
      heapIndex: -1,
    };
    this.entries.set(job.id, e);
    this.heapPush(e);
    this.arm();
  }

  remove(id: string): boolean {
    const e = this.entries.get(id);
    if (!e) return false;
    e.removed = true;
    this.entries.delete(id);
    if (e.heapIndex >= 0) this.heapRemove(e);
    return true;
  }

  has(id: string): boolean {
    return this.entries.has(id);
  }

  /** Whether the job's run is in progress. */
  isRunning(id: string): boolean {
    return this.entries.get(id)?.state === 'running';
  }

  start(): void {
    this.stopped = false;
    this.arm();
  }

  /** Stops timing new runs and drops queued ones; resolves when running ones finish. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = Infinity;
    clearTimeout(this.rateTimer);
    this.rateTimer = undefined;
    for (const p of this.hostParked.values()) {
      clearTimeout(p.timer);
      for (const e of p.entries) e.state = 'idle';
    }
    this.hostParked.clear();
    for (let i = this.readyHead; i < this.ready.length; i++) this.ready[i]!.state = 'idle';
    for (const list of this.hostWait.values()) for (const e of list) e.state = 'idle';
    this.ready = [];
    this.readyHead = 0;
    this.hostWait.clear();
    this.hostActive.clear();
    if (this.running > 0) await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  stats(): SchedulerStats {
    let waiting = 0;
    for (const l of this.hostWait.values()) waiting += l.length;
    for (const p of this.hostParked.values()) waiting += p.entries.length;
    return {
      jobs: this.entries.size,
      running: this.running,
      queued: this.ready.length - this.readyHead + waiting,
      started: this.started,
      overlapsSkipped: this.overlaps,
    };
  }

  private arm(): void {
    if (this.stopped) return;
    const next = this.heap[0];
    if (!next) return;
    if (next.due >= this.timerAt && this.timer) return;
    clearTimeout(this.timer);
    this.timerAt = next.due;
    this.timer = setTimeout(() => this.tick(), Math.max(0, next.due - performance.now()));
  }

  private tick(): void {
    this.timer = undefined;
    this.timerAt = Infinity;
    if (this.stopped) return;
    const now = performance.now();
    while (this.heap.length > 0 && this.heap[0]!.due <= now) {
      const e = this.heap[0]!;
      const due = e.due;
      // Fixed rate: the next turn is one interval after this one was due; turns missed
      // entirely (a stalled event loop) are skipped, not replayed in a burst.
      // (The first turn strictly after now: a turn due exactly now would be taken twice.)
      let next = due + e.job.intervalMs;
      if (next <= now) next += (Math.floor((now - next) / e.job.intervalMs) + 1) * e.job.intervalMs;
      e.due = next;
      this.heapSiftDown(0);
      if (e.state !== 'idle') {
        this.overlaps++;
        this.opts.onOverlap?.(e.job.id);
        continue;
      }
      e.queuedDue = due;
      this.enqueue(e);
    }
    this.pump();
    this.arm();
  }

  private enqueue(e: Entry): void {
    e.state = 'queued';
    const host = e.job.host;
    if (host !== null) {
      const active = this.hostActive.get(host) ?? 0;
      if (active >= this.opts.perHost) {
        let list = this.hostWait.get(host);
        if (!list) this.hostWait.set(host, (list = []));
        list.push(e);
        return;
      }
      this.hostActive.set(host, active + 1);
    }
    this.ready.push(e);
  }

  private pump(): void {
    while (this.running < this.opts.concurrency && this.readyHead < this.ready.length) {
      const e = this.ready[this.readyHead]!;
      const live = !e.removed && e.state === 'queued';
      const now = performance.now();
      // Only a token of the global bucket that will be used is taken: look before taking.
      if (live && this.bucket && this.bucket.waitMs(now) > 0) {
        this.waitForToken();
        return;
      }
      this.readyHead++;
      if (this.readyHead > 1024 && this.readyHead * 2 > this.ready.length) {
        this.ready = this.ready.slice(this.readyHead);
        this.readyHead = 0;
      }
      if (!live) {
        this.release(e.job.host);
        continue;
      }
      const hostBucket = this.hostBucket(e.job.host, now);
      if (hostBucket && !hostBucket.take(now)) {
        this.park(e, e.job.host!, hostBucket.waitMs(now));
        continue;
      }
      this.bucket?.take(now);
      this.launch(e);
    }
  }

  private hostBucket(host: string | null, now: number): TokenBucket | undefined {
    const rate = this.opts.probesPerSecondPerHost ?? 0;
    if (host === null || rate <= 0) return undefined;
    let b = this.hostBuckets.get(host);
    if (!b) this.hostBuckets.set(host, (b = new TokenBucket(rate, Math.max(1, rate), now)));
    return b;
  }

  /** Sets a run aside (keeping its host slot) until its host has a token again. */
  private park(e: Entry, host: string, waitMs: number): void {
    const parked = this.hostParked.get(host);
    if (parked) {
      parked.entries.push(e);
      return;
    }
    const timer = setTimeout(
      () => {
        const p = this.hostParked.get(host);
        this.hostParked.delete(host);
        if (!p || this.stopped) return;
        for (const x of p.entries) this.ready.push(x);
        this.pump();
      },
      Math.max(1, waitMs),
    );
    this.hostParked.set(host, { entries: [e], timer });
  }

  private waitForToken(): void {
    if (this.rateTimer || this.stopped) return;
    this.rateTimer = setTimeout(
      () => {
        this.rateTimer = undefined;
        if (!this.stopped) this.pump();
      },
      Math.max(1, this.bucket!.waitMs(performance.now())),
    );
  }

  private launch(e: Entry): void {
    e.state = 'running';
    this.running++;
    this.started++;
    this.opts.onLag?.(Math.max(0, performance.now() - e.queuedDue));
    let p: Promise<void>;
    try {
      p = e.job.run();
    } catch (err) {
      p = Promise.reject(err as Error);
    }
    // Jobs handle their own errors; a throw here must not wedge the slot.
    p.catch(() => undefined).finally(() => {
      e.state = 'idle';
      this.running--;
      this.release(e.job.host);
      if (this.running === 0 && this.stopped) for (const w of this.idleWaiters.splice(0)) w();
      if (!this.stopped) this.pump();
    });
  }

  /** A host's slot is free: hand it to the next run waiting for that host. */
  private release(host: string | null): void {
    if (host === null || this.stopped) return;
    const list = this.hostWait.get(host);
    const next = list?.shift();
    if (next) {
      if (list!.length === 0) this.hostWait.delete(host);
      this.ready.push(next);
      return;
    }
    const active = (this.hostActive.get(host) ?? 1) - 1;
    if (active <= 0) this.hostActive.delete(host);
    else this.hostActive.set(host, active);
  }

  // ---- binary min-heap on `due`, entries know their index (O(log n) removal) ----------------

  private heapPush(e: Entry): void {
    e.heapIndex = this.heap.length;
    this.heap.push(e);
    this.heapSiftUp(e.heapIndex);
  }

  private heapRemove(e: Entry): void {
    const i = e.heapIndex;
    const last = this.heap.pop()!;
    e.heapIndex = -1;
    if (last === e) return;
    this.heap[i] = last;
    last.heapIndex = i;
    this.heapSiftDown(i);
    this.heapSiftUp(last.heapIndex);
  }

  private heapSiftUp(i: number): void {
    const h = this.heap;
    const e = h[i]!;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (h[p]!.due <= e.due) break;
      h[i] = h[p]!;
      h[i]!.heapIndex = i;
      i = p;
    }
    h[i] = e;
    e.heapIndex = i;
  }

  private heapSiftDown(i: number): void {
    const h = this.heap;
    const n = h.length;
    const e = h[i]!;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && h[r]!.due < h[l]!.due ? r : l;
      if (h[c]!.due >= e.due) break;
      h[i] = h[c]!;
      h[i]!.heapIndex = i;
      i = c;
    }
    h[i] = e;
    e.heapIndex = i;
  }
}
