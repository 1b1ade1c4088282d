// Push pings across the nodes of a scale-out deployment (docs/scale-out.md). Push checks run on
// the one writer holding the health lease, but pings arrive at any ingest node: POST /health
// records and the ping URLs (/health/<check>[/start|/fail]) are relayed over core NATS to the
// holder. Ping records are published as they are accepted (they are also stored through
// JetStream as always); a ping URL is a request the holder answers, so the client still learns
// of an unknown or non-push check (404/409), and gets 503 when no holder answers in time.
// Core NATS delivers at most once: a ping lost while the lease moves is made up by the next one.
import { connect, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import { errorMessage } from '../errors.js';
import type { HealthRecord } from '../record.js';
import { natsConnectOptions } from '../sinks/nats/connect-options.js';
import type { NatsConfig } from '../sinks/nats/config.js';
import type { PingAnswer } from './checker.js';
import type { PingSignal } from './push-monitor.js';

export type RelayedAnswer = PingAnswer | 'unavailable';

interface PingUrlRequest {
  check: string;
  signal: PingSignal;
  message: string | null;
}

const RETRY_MS = 2000;
const ANSWERS: readonly string[] = ['ok', 'unknown', 'not_push', 'disabled'];

export interface PingHandlers {
  onPings: (records: readonly HealthRecord[]) => void;
  onPing: (check: string, signal: PingSignal, message: string | null) => PingAnswer;
}

export class PingRelay {
  private nc: NatsConnection | undefined;
  private connecting: Promise<NatsConnection> | undefined;
  private subs: Subscription[] = [];
  private closed = false;
  private warned = false;
  private retry: NodeJS.Timeout | undefined;
  private readonly pingsSubject: string;
  private readonly urlSubject: string;

  constructor(
    private readonly nats: NatsConfig,
    private readonly logger: Logger,
  ) {
    // Outside the stream's subjects (`<subject>.>`): these are not batches to keep.
    this.pingsSubject = `${nats.subject}_relay.pings`;
    this.urlSubject = `${nats.subject}_relay.ping-url`;
  }

  private connection(): Promise<NatsConnection> {
    if (this.nc && !this.nc.isClosed()) return Promise.resolve(this.nc);
    this.connecting ??= connect(natsConnectOptions(this.nats, 'sluice-ping-relay')).then(
      (nc) => {
        this.nc = nc;
        this.connecting = undefined;
        return nc;
      },
      (err: unknown) => {
        this.connecting = undefined;
        throw err;
      },
    );
    return this.connecting;
  }

  /** Ingest side: accepted POST /health records, to whichever node runs the push checks. */
  publishPings(records: readonly HealthRecord[]): void {
    this.connection().then(
      (nc) => nc.publish(this.pingsSubject, JSON.stringify(records)),
      (err: unknown) => this.logger.warn({ err: errorMessage(err) }, 'ping relay: NATS unreachable; pings not relayed'),
    );
  }

  /** Ingest side: a ping URL, answered by the node running the push checks. */
  async ping(check: string, signal: PingSignal, message: string | null): Promise<RelayedAnswer> {
    try {
      const nc = await this.connection();
      const body: PingUrlRequest = { check, signal, message };
      const reply = await nc.request(this.urlSubject, JSON.stringify(body), { timeout: this.nats.timeoutMs });
      const answer = reply.string();
      return ANSWERS.includes(answer) ? (answer as PingAnswer) : 'unavailable';
    } catch {
      // No responders (no node holds the health lease yet), a timeout or NATS away.
      return 'unavailable';
    }
  }

  /**
   * The health lease holder: takes relayed pings until close(). Connects in the background,
   * retrying while NATS is away, so the checks the holder runs never wait on it.
   */
  serve(handlers: PingHandlers): void {
    const attempt = (): void => {
      if (this.closed) return;
      this.subscribe(handlers).then(
        () => this.logger.info('ping relay: taking pings relayed from ingest nodes'),
        (err: unknown) => {
          if (!this.warned) this.logger.warn({ err: errorMessage(err) }, 'ping relay: NATS unreachable; retrying');
          this.warned = true;
          this.retry = setTimeout(attempt, RETRY_MS);
          this.retry.unref();
        },
      );
    };
    attempt();
  }

  private async subscribe(handlers: PingHandlers): Promise<void> {
    const nc = await this.connection();
    const pings = nc.subscribe(this.pingsSubject, {
      callback: (err, msg) => {
        if (err) return;
        try {
          handlers.onPings(JSON.parse(msg.string()) as HealthRecord[]);
        } catch (e) {
          this.logger.warn({ err: errorMessage(e) }, 'ping relay: a relayed ping could not be read');
        }
      },
    });
    const urls = nc.subscribe(this.urlSubject, {
      callback: (err, msg) => {
        if (err) return;
        let answer: RelayedAnswer = 'unavailable';
        try {
          const req = JSON.parse(msg.string()) as PingUrlRequest;
          answer = handlers.onPing(String(req.check), req.signal, req.message ?? null);
        } catch (e) {
          this.logger.warn({ err: errorMessage(e) }, 'ping relay: a relayed ping URL could not be read');
        }
        msg.respond(answer);
      },
    });
    this.subs.push(pings, urls);
    // Subscriptions are live once the server has them: later publishes reach this node.
    await nc.flush();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retry);
    for (const s of this.subs) s.unsubscribe();
    this.subs = [];
    const nc = this.nc ?? (await this.connecting?.catch(() => undefined));
    this.nc = undefined;
    if (nc && !nc.isClosed()) await nc.drain().catch(() => nc.close());
  }
}
