// The writer role's input: a durable pull consumer, shared by every writer, on the stream the
// ingest role publishes to. Each message becomes one batch for the writer pool, with the
// message id as the batch id, so the PostgreSQL sink recognises a redelivered batch in
// `sluice_batches`. A message is acked only once the pool settles its batch (committed or
// dead-lettered), which the pool reports through the same BatchLedger contract the WAL
// implements; at the shutdown deadline the pool keeps it, and JetStream delivers it again.
// Messages are fetched only while the pool has room; a batch held longer than the ack wait
// (a sink outage, the breaker open) is reported as still in progress, so it is not handed to
// a second writer; a batch delivered nats.maxDeliveries times (writers died on it) goes to the
// dead letters instead of round and round.
import {
  AckPolicy,
  jetstream,
  jetstreamManager,
  type Consumer,
  type ConsumerMessages,
  type JetStreamManager,
  type JsMsg,
} from '@nats-io/jetstream';
import { connect, nanos, type NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import type { Batch } from '../batch.js';
import { errorMessage } from '../errors.js';
import type { SluiceRecord } from '../record.js';
import type { NatsConfig } from '../sinks/nats/config.js';
import { natsConnectOptions } from '../sinks/nats/connect-options.js';
import type { ConsumerBacklog, JetStreamSourceStats } from '../observability/metrics.js';
import { sleep } from './backoff.js';
import type { BatchLedger } from './buffer.js';
import { decodeTransportPayload } from './transport-codec.js';

/** A pull request waits this long for messages before the next one is sent. */
const FETCH_EXPIRES_MS = 2000;
const RETRY_MS = 1000;

export interface JetStreamSourceOptions {
  nats: NatsConfig;
  logger: Logger;
  /** Where batches go: the writer pool. */
  pool: { submit(batch: Batch): void; hasRoom(): boolean };
  /** Messages asked for per pull request. */
  fetchMax: number;
  /** The dead-letter path, for a batch delivered nats.maxDeliveries times. */
  deadLetter: (batch: Batch, reason: string, attempts: number) => Promise<void>;
  /** Sees each batch's records as they arrive (push monitors follow health pings). */
  onRecords?: (records: readonly SluiceRecord[]) => void;
}

export class JetStreamSource implements BatchLedger {
  private nc: NatsConnection | undefined;
  /** The manager of the connection `nc` (undefined until the consumer is first looked up on it). */
  private jsm: { nc: NatsConnection; jsm: JetStreamManager } | undefined;
  private stopped = false;
  /** Ends a wait between tries at once when the source stops. */
  private readonly stopping = new AbortController();
  private running: Promise<void> | undefined;
  private current: ConsumerMessages | undefined;
  private roomWaiter: (() => void) | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private notReadyReason: string | undefined = 'not connected to JetStream yet';
  /** Batch id → the message it came in, until the pool settles the batch. */
  private readonly held = new Map<string, JsMsg>();
  private readonly counts = { fetchedBatches: 0, ackedBatches: 0, redeliveriesHeld: 0 };

  constructor(private readonly opts: JetStreamSourceOptions) {}

  start(): void {
    this.running ??= this.run();
    // One timer for every held message, not one per message.
    this.heartbeat = setInterval(
      () => {
        for (const m of this.held.values()) m.working();
      },
      Math.max(500, Math.floor(this.opts.nats.ackWaitMs / 3)),
    );
    this.heartbeat.unref();
  }

  /** Why this writer cannot fetch right now (for /readyz); undefined when it can. */
  notReady(): string | undefined {
    return this.notReadyReason;
  }

  stats(): JetStreamSourceStats {
    return { held: this.held.size, ...this.counts };
  }

  /** The consumer's backlog, asked of the server (for /metrics); undefined when it cannot answer. */
  async backlog(): Promise<ConsumerBacklog | undefined> {
    const { stream, consumer } = this.opts.nats;
    const jsm = this.jsm;
    if (!jsm || jsm.nc.isClosed()) return undefined;
    try {
      const info = await jsm.jsm.consumers.info(stream, consumer);
      return { pending: info.num_pending, ackPending: info.num_ack_pending };
    } catch {
      return undefined;
    }
  }

  /** The pool has room again: fetch on. */
  pump(): void {
    const waiter = this.roomWaiter;
    this.roomWaiter = undefined;
    waiter?.();
  }

  /** Stops fetching; batches already submitted are left to the pool. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.stopping.abort();
    this.current?.stop();
    this.pump();
    await this.running;
  }

  /** After the pool is idle: hands back what it did not settle (delivered again at once), then disconnects. */
  async close(): Promise<void> {
    await this.stop();
    clearInterval(this.heartbeat);
    for (const m of this.held.values()) m.nak();
    this.held.clear();
    const nc = this.nc;
    this.nc = undefined;
    if (nc && !nc.isClosed()) await nc.drain().catch(() => nc.close());
  }

  // ---- BatchLedger: what the writer pool reports -------------------------------------------

  sealed(): Promise<void> {
    // A message is durable in the stream before it is fetched.
    return Promise.resolve();
  }

  started(): void {}

  settled(batch: Batch): void {
    const m = this.held.get(batch.id);
    if (!m) return; // not fetched here (the writer's own check results)
    this.held.delete(batch.id);
    m.ack();
    this.counts.ackedBatches++;
  }

  // ---- fetching -----------------------------------------------------------------------------

  private async run(): Promise<void> {
    const { nats, logger } = this.opts;
    while (!this.stopped) {
      try {
        if (!this.nc || this.nc.isClosed()) this.nc = await connect(natsConnectOptions(nats, 'sluice-writer'));
        const consumer = await this.ensureConsumer(this.nc);
        if (this.notReadyReason) logger.info({ stream: nats.stream, consumer: nats.consumer }, 'jetstream: consuming');
        this.notReadyReason = undefined;
        while (!this.stopped) {
          await this.room();
          if (this.stopped) break;
          const messages = await consumer.fetch({ max_messages: this.opts.fetchMax, expires: FETCH_EXPIRES_MS });
          this.current = messages;
          for await (const m of messages) this.take(m);
          this.current = undefined;
        }
      } catch (err) {
        this.current = undefined;
        if (this.stopped) break;
        const reason = `jetstream ${nats.stream}/${nats.consumer}: ${errorMessage(err)}`;
        if (reason !== this.notReadyReason)
          logger.warn({ err: errorMessage(err) }, 'jetstream: cannot fetch; retrying');
        this.notReadyReason = reason;
        await sleep(RETRY_MS, this.stopping.signal);
      }
    }
  }

  private room(): Promise<void> {
    if (this.opts.pool.hasRoom()) return Promise.resolve();
    return new Promise((resolve) => (this.roomWaiter = resolve));
  }

  /** The shared durable consumer (adding it again with the same settings is a no-op). */
  private async ensureConsumer(nc: NatsConnection): Promise<Consumer> {
    const { stream, subject, consumer, ackWaitMs, maxDeliveries, timeoutMs } = this.opts.nats;
    const jsm = await jetstreamManager(nc, { timeout: timeoutMs });
    this.jsm = { nc, jsm };
    try {
      await jsm.consumers.info(stream, consumer);
    } catch (err) {
      if (!/consumer not found/i.test(errorMessage(err))) throw err;
      await jsm.consumers.add(stream, {
        durable_name: consumer,
        ack_policy: AckPolicy.Explicit,
        ack_wait: nanos(ackWaitMs),
        max_deliver: maxDeliveries,
        filter_subject: `${subject}.>`,
      });
    }
    return jetstream(nc, { timeout: timeoutMs }).consumers.get(stream, consumer);
  }

  private take(m: JsMsg): void {
    const { nats, logger } = this.opts;
    const id = m.headers?.get('Nats-Msg-Id') || `${nats.stream}-${m.seq}`;
    if (this.held.has(id)) {
      // The ack wait ran out while the pool still had it: answer for the newer delivery.
      this.held.set(id, m);
      this.counts.redeliveriesHeld++;
      return;
    }
    let records: SluiceRecord[];
    try {
      records = decodeTransportPayload(m.string());
    } catch (err) {
      // Not a batch an ingest node wrote (someone else publishes on the subject): nothing to store.
      logger.error(
        { batch: id, subject: m.subject, err: errorMessage(err) },
        'jetstream: message is no batch; dropped',
      );
      m.term('not a sluice batch');
      return;
    }
    let bytes = 0;
    for (const r of records) bytes += r.size;
    const batch: Batch = {
      id,
      count: records.length,
      records,
      bytes,
      createdAt: Date.now(),
      trigger: 'stream',
      tickets: [],
      links: [],
    };
    this.held.set(id, m);
    this.counts.fetchedBatches++;
    this.opts.onRecords?.(records);
    const deliveries = m.info.deliveryCount;
    if (deliveries >= nats.maxDeliveries) {
      const reason = `delivered ${deliveries} times without being written (writers stopped or died on it)`;
      this.opts.deadLetter(batch, reason, deliveries).then(
        () => this.settled(batch),
        (err: unknown) => logger.error({ batch: id, err: errorMessage(err) }, 'jetstream: dead-letter write failed'),
      );
      return;
    }
    this.opts.pool.submit(batch);
  }
}
