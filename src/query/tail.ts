// The live tail: ingest hands every accepted batch of log records to publish(), which sends
// those matching each subscriber's filter as Server-Sent Events. Nothing touches the database,
// so it works with every sink. Each subscriber has a bounded queue for when its socket is
// slow; past it records are dropped and counted, and the client gets `event: dropped`.
import type { ServerResponse } from 'node:http';
import { SluiceError } from '../errors.js';
import type { LogRecord } from '../record.js';
import type { TailConfig } from './config.js';
import { recordItemJson } from './log-item.js';
import type { RecordMatcher } from './match.js';

export interface TailStats {
  subscribers: number;
  /** Records sent to subscribers since start. */
  sent: number;
  /** Records dropped for slow subscribers since start. */
  dropped: number;
}

class Subscriber {
  private readonly queue: string[] = [];
  /** The socket refused the last write: queue until it drains. */
  private blocked = false;
  private droppedSinceNotice = 0;
  closed = false;

  constructor(
    readonly matches: RecordMatcher,
    private readonly res: ServerResponse,
    private readonly maxQueue: number,
    private readonly counts: { sent: number; dropped: number },
  ) {
    res.on('drain', () => this.flush());
  }

  send(json: string): void {
    if (this.blocked) {
      if (this.queue.length < this.maxQueue) this.queue.push(json);
      else {
        this.droppedSinceNotice++;
        this.counts.dropped++;
      }
      return;
    }
    this.write(`data: ${json}\n\n`);
    this.counts.sent++;
  }

  heartbeat(): void {
    if (!this.blocked) this.write(': keep-alive\n\n');
  }

  end(): void {
    if (this.closed) return;
    this.closed = true;
    this.res.end();
  }

  private write(s: string): void {
    if (!this.res.write(s)) this.blocked = true;
  }

  private flush(): void {
    this.blocked = false;
    while (this.queue.length > 0 && !this.blocked) {
      this.write(`data: ${this.queue.shift()!}\n\n`);
      this.counts.sent++;
    }
    if (!this.blocked && this.droppedSinceNotice > 0) {
      this.write(`event: dropped\ndata: {"count":${this.droppedSinceNotice}}\n\n`);
      this.droppedSinceNotice = 0;
    }
  }
}

export class LogTail {
  private readonly subs = new Set<Subscriber>();
  private readonly counts = { sent: 0, dropped: 0 };
  private heartbeat: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly cfg: TailConfig) {}

  /** Whether anyone is subscribed (a caller holding records in another form need not build them). */
  get listening(): boolean {
    return this.subs.size > 0;
  }

  /**
   * Called by ingest with every accepted batch of log records. With nobody subscribed this is
   * one branch on an empty set; otherwise each record is serialised once, if anyone wants it.
   */
  publish(records: readonly LogRecord[]): void {
    if (this.subs.size === 0) return;
    for (const r of records) {
      let json: string | undefined;
      for (const s of this.subs) if (s.matches(r)) s.send((json ??= recordItemJson(r)));
    }
  }

  /** Starts an SSE stream on `res`; 429 past tail.maxSubscribers, 503 once closing. */
  subscribe(matches: RecordMatcher, res: ServerResponse, headers: Record<string, string>): void {
    if (this.closed)
      throw new SluiceError('SLUICE_ERR_SHUTTING_DOWN', 'shutting down: the tail is closed', { retryAfter: 1 });
    if (this.subs.size >= this.cfg.maxSubscribers) {
      throw new SluiceError(
        'SLUICE_ERR_TOO_MANY_SUBSCRIBERS',
        `tail.maxSubscribers (${this.cfg.maxSubscribers}) streams are open already`,
        { retryAfter: 5 },
      );
    }
    const sub = new Subscriber(matches, res, this.cfg.queueRecords, this.counts);
    this.subs.add(sub);
    res.on('close', () => {
      sub.closed = true;
      this.subs.delete(sub);
      if (this.subs.size === 0) this.stopHeartbeat();
    });
    res.writeHead(200, {
      ...headers,
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      // nginx buffers responses by default, which would hold events back.
      'x-accel-buffering': 'no',
    });
    res.write(': tail open\n\n');
    this.heartbeat ??= setInterval(() => {
      for (const s of this.subs) s.heartbeat();
    }, this.cfg.heartbeatMs).unref();
  }

  stats(): TailStats {
    return { subscribers: this.subs.size, ...this.counts };
  }

  /** Ends every stream (at shutdown, before the server waits for open requests). */
  close(): void {
    this.closed = true;
    this.stopHeartbeat();
    for (const s of this.subs) s.end();
    this.subs.clear();
  }

  private stopHeartbeat(): void {
    clearInterval(this.heartbeat);
    this.heartbeat = undefined;
  }
}
