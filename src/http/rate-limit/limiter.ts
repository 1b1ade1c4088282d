// The rate limiter's state: one set of token buckets (requests, records, bytes a second) per
// client — an API key, or a client address when no key was presented. The table is bounded:
// a client whose buckets have refilled is as good as new and is dropped by the sweep, and past
// `maxClients` a client not seen lately is dropped, so a spray of addresses costs at most
// `maxClients` entries.
import { TokenBucket } from './token-bucket.js';

export interface RateLimits {
  requestsPerSecond: number;
  recordsPerSecond: number;
  bytesPerSecond: number;
  /** Bucket size in seconds of each rate. */
  burst: number;
}

export type LimitName = 'requests' | 'records' | 'bytes';

/** What the RateLimit-* headers say: bucket size, whole tokens left, seconds until full. */
export interface Shown {
  limit: LimitName;
  size: number;
  remaining: number;
  resetSeconds: number;
}

export interface Admission {
  client: ClientBuckets;
  /** Set when the request is refused: the limit at fault and when to retry. */
  refused?: { limit: LimitName; retryAfterSeconds: number };
  shown: Shown;
}

export interface Client {
  /** Table key: `key:<id>` or `addr:<address>`. */
  id: string;
  /** Per-key limits, over the configured ones field by field. */
  limits?: Partial<RateLimits> | undefined;
}

export class ClientBuckets {
  /** Seen since the eviction last came round (see evictOne). */
  seen = false;
  readonly requests: TokenBucket | undefined;
  readonly records: TokenBucket | undefined;
  readonly bytes: TokenBucket | undefined;

  constructor(
    readonly limits: RateLimits,
    now: number,
  ) {
    this.requests = bucket(limits.requestsPerSecond, limits.burst, now);
    this.records = bucket(limits.recordsPerSecond, limits.burst, now);
    this.bytes = bucket(limits.bytesPerSecond, limits.burst, now);
  }

  isFull(now: number): boolean {
    return (
      (this.requests?.isFull(now) ?? true) && (this.records?.isFull(now) ?? true) && (this.bytes?.isFull(now) ?? true)
    );
  }

  /** The bucket the client is closest to emptying. */
  lowest(now: number): Shown {
    let best: LimitName = 'requests';
    let bestFill = Infinity;
    for (const name of LIMITS) {
      const b = this[name];
      if (!b) continue;
      const fill = b.level(now) / b.capacity;
      if (fill < bestFill) {
        bestFill = fill;
        best = name;
      }
    }
    return show(best, this[best]!, now);
  }
}

const LIMITS: readonly LimitName[] = ['requests', 'records', 'bytes'];

function bucket(rate: number, burst: number, now: number): TokenBucket | undefined {
  // A bucket smaller than one token would never admit anything.
  return rate > 0 ? new TokenBucket(rate, Math.max(1, rate * burst), now) : undefined;
}

function show(limit: LimitName, b: TokenBucket, now: number): Shown {
  return {
    limit,
    size: Math.floor(b.capacity),
    remaining: Math.max(0, Math.floor(b.level(now))),
    resetSeconds: b.resetSeconds(now),
  };
}

function sameLimits(a: RateLimits, b: RateLimits): boolean {
  return (
    a.requestsPerSecond === b.requestsPerSecond &&
    a.recordsPerSecond === b.recordsPerSecond &&
    a.bytesPerSecond === b.bytesPerSecond &&
    a.burst === b.burst
  );
}

export interface RateLimiterOptions {
  limits: RateLimits;
  /** Clients tracked at most (past it one not seen lately is dropped). */
  maxClients: number;
  /** Milliseconds; injected so tests move time themselves. */
  now?: () => number;
}

export class RateLimiter {
  private readonly clients = new Map<string, ClientBuckets>();
  private readonly now: () => number;

  constructor(private readonly opts: RateLimiterOptions) {
    this.now = opts.now ?? (() => performance.now());
  }

  /** Clients tracked now. */
  get size(): number {
    return this.clients.size;
  }

  /** The limits that apply to `client` (a key's own over the configured ones). */
  limitsOf(client: Client): RateLimits {
    const own = client.limits;
    if (!own) return this.opts.limits;
    const base = this.opts.limits;
    return {
      requestsPerSecond: own.requestsPerSecond ?? base.requestsPerSecond,
      recordsPerSecond: own.recordsPerSecond ?? base.recordsPerSecond,
      bytesPerSecond: own.bytesPerSecond ?? base.bytesPerSecond,
      burst: own.burst ?? base.burst,
    };
  }

  /**
   * Admits or refuses one request, before its body is read. `bytes` is its declared body size
   * (undefined when not known up front: it is charged with the records). Undefined when no
   * limit applies to the client. A refused request charges nothing.
   */
  admit(client: Client, bytes: number | undefined): Admission | undefined {
    const limits = this.limitsOf(client);
    if (limits.requestsPerSecond <= 0 && limits.recordsPerSecond <= 0 && limits.bytesPerSecond <= 0) return undefined;
    const now = this.now();
    const c = this.touch(client.id, limits, now);
    // Each bucket must hold what the request needs: one request; the declared bytes (at most a
    // full bucket, so a body larger than the bucket is still let through, into debt); and, for
    // records, only that earlier records' debt is paid off.
    let wait = 0;
    let at: LimitName | undefined;
    for (const name of LIMITS) {
      const b = c[name];
      if (!b) continue;
      const need = name === 'bytes' ? Math.max(1, bytes ?? 1) : 1;
      const w = b.waitMs(Math.min(need, b.capacity), now);
      if (w > wait) {
        wait = w;
        at = name;
      }
    }
    if (at) {
      return {
        client: c,
        refused: { limit: at, retryAfterSeconds: Math.max(1, Math.ceil(wait / 1000)) },
        shown: show(at, c[at]!, now),
      };
    }
    c.requests?.charge(1, now);
    if (bytes !== undefined) c.bytes?.charge(bytes, now);
    return { client: c, shown: c.lowest(now) };
  }

  /** Charges what is known only after the body was read: its records, and its bytes if not declared. */
  charge(c: ClientBuckets, records: number, bytes = 0): void {
    const now = this.now();
    if (records > 0) c.records?.charge(records, now);
    if (bytes > 0) c.bytes?.charge(bytes, now);
  }

  /** Drops every client whose buckets are full again (nothing to remember); returns how many. */
  sweep(): number {
    const now = this.now();
    let dropped = 0;
    for (const [id, c] of this.clients) {
      if (c.isFull(now)) {
        this.clients.delete(id);
        dropped++;
      }
    }
    return dropped;
  }

  private touch(id: string, limits: RateLimits, now: number): ClientBuckets {
    const known = this.clients.get(id);
    if (known && sameLimits(known.limits, limits)) {
      known.seen = true;
      return known;
    }
    if (known) this.clients.delete(id);
    else if (this.clients.size >= this.opts.maxClients) this.evictOne();
    const c = new ClientBuckets(limits, now);
    this.clients.set(id, c);
    return c;
  }

  /**
   * Drops a client not seen lately (second chance, as in CLOCK): the oldest entry goes, unless it
   * was seen since it last came round, in which case it moves to the end and the next is tried.
   * A hit costs a flag, not a delete and set of the Map (which measured ~5x the rest of a hit).
   */
  private evictOne(): void {
    for (;;) {
      const [id, c] = this.clients.entries().next().value as [string, ClientBuckets];
      this.clients.delete(id);
      if (!c.seen) return;
      c.seen = false;
      this.clients.set(id, c);
    }
  }
}
