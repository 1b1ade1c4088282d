// The NATS JetStream sink: each batch is published as one NDJSON message per record type (split
// into chunks under the server's max payload) with a message id derived from the batch id, so a
// retried publish inside the stream's duplicate window is dropped by JetStream itself. A write
// counts as done only when every message of the batch has its publish ack.
import { connect, type NatsConnection } from '@nats-io/transport-node';
import {
  DiscardPolicy,
  jetstream,
  jetstreamManager,
  type JetStreamClient,
  type JetStreamManager,
  type StreamConfig,
} from '@nats-io/jetstream';
import type { Logger } from 'pino';
import { PermanentSinkError, errorMessage } from '../../errors.js';
import { maskUrl } from '../../observability/secrets.js';
import { toJsonLine, type RecordType, type SluiceRecord } from '../../record.js';
import { withTimeout } from '../../timeout.js';
import type { Sink, SinkBatch, SinkHealth } from '../sink.js';
import type { NatsConfig } from './config.js';
import { natsConnectOptions } from './connect-options.js';

/** Keys added with the roles; optional so a sink can still be built from the first ones alone. */
type LaterKeys =
  'tlsCaFile' | 'tlsCertFile' | 'tlsKeyFile' | 'streamMaxBytes' | 'consumer' | 'ackWaitMs' | 'maxDeliveries';

export interface NatsSinkOptions extends Omit<NatsConfig, LaterKeys>, Partial<Pick<NatsConfig, LaterKeys>> {
  logger: Logger;
  /**
   * One record as one line of a message. Default: the external JSON form (toJsonLine). The
   * ingest role passes the WAL's positional row form, which the writer role reads back losslessly.
   */
  encodeLine?: (r: SluiceRecord) => string;
}

/** Subject token per record type (the plural names the postgres tables use). */
export const NATS_SUBJECT_TOKEN: Record<RecordType, string> = { log: 'logs', health: 'health', check: 'checks' };

/** Room kept under the server's max_payload for the headers (message id) of a message. */
const HEADER_ROOM = 4096;
const DEFAULT_MAX_PAYLOAD = 1024 * 1024;
const RECONNECT_WAIT_MS = 1000;

/** One message to publish: its subject, message id and NDJSON payload. */
export interface NatsMessage {
  subject: string;
  msgId: string;
  payload: string;
}

/**
 * The messages of a batch: per record type, NDJSON chunks under `maxBytes`. Ids are
 * `<batch id>:<type>:<chunk>`, stable for the same batch, so a retry republishes the same ids.
 */
export function natsMessages(
  batch: SinkBatch,
  subject: string,
  maxBytes: number,
  encodeLine: (r: SluiceRecord) => string = toJsonLine,
): NatsMessage[] {
  const out: NatsMessage[] = [];
  const byType = new Map<RecordType, string[]>();
  for (const r of batch.records) {
    const lines = byType.get(r.type) ?? [];
    lines.push(encodeLine(r) + '\n');
    byType.set(r.type, lines);
  }
  for (const [type, lines] of byType) {
    const token = NATS_SUBJECT_TOKEN[type];
    let chunk = '';
    let bytes = 0;
    const flush = (): void => {
      out.push({ subject: `${subject}.${token}`, msgId: `${batch.id}:${token}:${out.length}`, payload: chunk });
      chunk = '';
      bytes = 0;
    };
    for (const line of lines) {
      const n = Buffer.byteLength(line);
      if (n > maxBytes)
        throw new PermanentSinkError(`nats: one record is ${n} bytes, above the server's max payload (${maxBytes})`);
      if (bytes + n > maxBytes) flush();
      chunk += line;
      bytes += n;
    }
    if (bytes > 0) flush();
  }
  return out;
}

export class NatsSink implements Sink {
  readonly name = 'nats';
  private nc: NatsConnection | undefined;
  private js: JetStreamClient | undefined;
  private jsm: JetStreamManager | undefined;
  private notReady = 'not connected yet';
  private closed = false;
  private connecting: Promise<void> | undefined;
  private disconnected = false;
  private wake: (() => void) | undefined;
  /** Publishes cut short by the shutdown deadline: whether all their acks came after all. */
  private readonly cutShort = new Map<string, Promise<boolean>>();

  constructor(private readonly opts: NatsSinkOptions) {}

  /**
   * Connects and makes sure of the stream. An unreachable server is not fatal (the writer pool
   * retries and /readyz says why); a stream that exists with settings that do not fit is.
   */
  async start(): Promise<void> {
    try {
      await this.connectOnce();
    } catch (err) {
      if (err instanceof StreamMismatch) throw err;
      this.notReady = `cannot connect to ${this.where()}: ${errorMessage(err)}`;
      this.opts.logger.warn({ sink: this.name, err: errorMessage(err) }, 'nats: not reachable; retrying in background');
      this.connecting = this.connectInBackground();
    }
  }

  async writeBatch(batch: SinkBatch, signal: AbortSignal): Promise<void> {
    signal.throwIfAborted();
    const js = this.js;
    if (!js || !this.nc) throw new Error(`nats: ${this.notReady}`);
    const max = (this.nc.info?.max_payload ?? DEFAULT_MAX_PAYLOAD) - HEADER_ROOM;
    const messages = natsMessages(batch, this.opts.subject, max, this.opts.encodeLine);
    const acks = Promise.all(
      messages.map((m) => js.publish(m.subject, m.payload, { msgID: m.msgId, timeout: this.opts.timeoutMs })),
    );
    let onAbort: (() => void) | undefined;
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => reject(signal.reason instanceof Error ? signal.reason : new Error(String(signal.reason)));
      signal.addEventListener('abort', onAbort, { once: true });
    });
    try {
      await Promise.race([acks, aborted]);
    } catch (err) {
      if (signal.aborted) {
        // The acks may still come: wasCommitted waits for them instead of guessing.
        this.cutShort.set(
          batch.id,
          acks.then(
            () => true,
            () => false,
          ),
        );
      } else acks.catch(() => undefined);
      throw err instanceof Error ? new Error(`nats: publish failed: ${err.message}`, { cause: err }) : err;
    } finally {
      signal.removeEventListener('abort', onAbort!);
    }
  }

  /** Known now, without a round trip: why a publish cannot go out (not connected, or reconnecting). */
  unavailable(): string | undefined {
    if (!this.nc || !this.js) return this.notReady;
    return this.disconnected ? 'disconnected from NATS; reconnecting' : undefined;
  }

  async wasCommitted(batchId: string): Promise<boolean> {
    const pending = this.cutShort.get(batchId);
    this.cutShort.delete(batchId);
    return pending ? await pending : false;
  }

  async health(): Promise<SinkHealth> {
    const { nc, jsm } = this;
    if (!nc || !jsm) return { ok: false, reason: this.notReady };
    if (nc.isClosed()) return { ok: false, reason: 'connection closed' };
    try {
      await withTimeout(jsm.streams.info(this.opts.stream), 2000, () => {
        throw new Error('no answer from JetStream in 2 s');
      });
      return { ok: true };
    } catch (err) {
      return { ok: false, reason: `stream ${this.opts.stream}: ${errorMessage(err)}` };
    }
  }

  /** Waits for the acks still due (drain), then closes the connection. */
  async close(): Promise<void> {
    this.closed = true;
    this.wake?.();
    await this.connecting;
    const nc = this.nc;
    this.nc = undefined;
    this.js = undefined;
    this.jsm = undefined;
    if (nc && !nc.isClosed()) await nc.drain().catch(() => nc.close());
  }

  /** The servers as they may be shown (a password in a URL masked). */
  private where(): string {
    return this.opts.servers.map((s) => maskUrl(s)).join(',');
  }

  private async connectOnce(): Promise<void> {
    const { timeoutMs } = this.opts;
    const nc = await connect(natsConnectOptions(this.opts, 'sluice'));
    let jsm: JetStreamManager;
    try {
      jsm = await jetstreamManager(nc, { timeout: timeoutMs });
      await this.ensureStream(jsm, nc.info?.cluster !== undefined);
    } catch (err) {
      await nc.close().catch(() => undefined);
      throw err;
    }
    this.nc = nc;
    this.jsm = jsm;
    this.js = jetstream(nc, { timeout: timeoutMs });
    this.watch(nc);
  }

  private async connectInBackground(): Promise<void> {
    while (!this.closed) {
      // Unref'd, so a waiting reconnect never holds the process; close() wakes it.
      await new Promise<void>((r) => {
        this.wake = r;
        setTimeout(r, RECONNECT_WAIT_MS).unref();
      });
      if (this.closed) return;
      try {
        await this.connectOnce();
        this.opts.logger.info({ sink: this.name }, 'nats: connected');
        return;
      } catch (err) {
        this.notReady =
          err instanceof StreamMismatch ? err.message : `cannot connect to ${this.where()}: ${errorMessage(err)}`;
      }
    }
  }

  private watch(nc: NatsConnection): void {
    void (async () => {
      for await (const s of nc.status()) {
        if (s.type === 'disconnect') {
          this.disconnected = true;
          this.opts.logger.warn({ sink: this.name }, 'nats: disconnected; reconnecting');
        }
        if (s.type === 'reconnect') {
          this.disconnected = false;
          this.opts.logger.info({ sink: this.name }, 'nats: reconnected');
        }
      }
    })().catch(() => undefined);
  }

  /** Creates the stream when missing; refuses one that does not take our subjects or drops duplicates not at all. */
  private async ensureStream(jsm: JetStreamManager, clustered: boolean): Promise<void> {
    const { stream, subject, replicas, duplicateWindowMs, streamMaxBytes = 0 } = this.opts;
    const wanted = `${subject}.>`;
    let existing: StreamConfig | undefined;
    try {
      existing = (await jsm.streams.info(stream)).config;
    } catch (err) {
      if (!/stream not found/i.test(errorMessage(err))) throw err;
    }
    if (!existing) {
      const add = (numReplicas: number) =>
        jsm.streams.add({
          name: stream,
          subjects: [wanted],
          num_replicas: numReplicas,
          duplicate_window: duplicateWindowMs * 1_000_000,
          // A full stream refuses the publish (the writer pool retries, ingest pushes back)
          // rather than dropping the oldest batches nobody has written yet.
          ...(streamMaxBytes > 0 ? { max_bytes: streamMaxBytes, discard: DiscardPolicy.New } : {}),
        });
      let made = replicas;
      if (made > 0) await add(made);
      else {
        // Auto: three copies survive the loss of a node, which is the point of a cluster; a single
        // server has no cluster name in its INFO. A cluster that refuses three for want of room
        // (two nodes) gets one; any other error (a cluster still forming) is thrown, and the
        // caller's retry comes back here.
        made = clustered ? 3 : 1;
        try {
          await add(made);
        } catch (err) {
          if (made === 1 || !/insufficient resources|replicas/i.test(errorMessage(err))) throw err;
          this.opts.logger.warn(
            { sink: this.name, stream, err: errorMessage(err) },
            'nats: the cluster cannot hold 3 replicas; creating the stream with 1 (set nats.replicas)',
          );
          made = 1;
          await add(made);
        }
      }
      this.opts.logger.info({ sink: this.name, stream, subjects: [wanted], replicas: made }, 'nats: stream created');
      return;
    }
    const subjects = existing.subjects ?? [];
    const covered =
      subjects.includes(wanted) ||
      subjects.includes('>') ||
      Object.values(NATS_SUBJECT_TOKEN).every((t) => subjects.includes(`${subject}.${t}`));
    if (!covered)
      throw new StreamMismatch(
        `nats: stream ${stream} exists with subjects [${subjects.join(', ')}], which do not take ${wanted}: change nats.subject or nats.stream`,
      );
    if (existing.duplicate_window === 0)
      throw new StreamMismatch(
        `nats: stream ${stream} has no duplicate window: retried publishes would be stored twice`,
      );
  }
}

/** The stream exists and does not fit: a configuration error, not an outage. */
class StreamMismatch extends Error {}
