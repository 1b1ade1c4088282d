// Every metric Sluice exports, defined once. Each app instance owns its registry, so tests
// can run several apps in one process. Label values come from fixed sets or config, never
// from client input, so series counts stay bounded.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { RECORD_TYPES, type RecordType } from '../record.js';
import type { FlushTrigger } from '../batch.js';
import { CountingHistogram } from './counting-histogram.js';
import { Tally, type TallyCell } from './tally.js';

const FLUSH_TRIGGERS: readonly FlushTrigger[] = ['size', 'bytes', 'time', 'shutdown', 'replay'];

/**
 * The `protocol` label of the ingest counters: which wire format a request or record came in.
 * Sluice's own HTTP API (POST /logs, /health, and every other route) is `sluice`; the health
 * checker's results are `checker`; each ingest protocol names itself (`otlp_http`, `otlp_grpc`,
 * …) through its route's `config.protocol` and `Metrics.initProtocol`.
 */
export const SLUICE_PROTOCOL = 'sluice';
export const CHECKER_PROTOCOL = 'checker';

/** Why each syslog transport can drop a message (TCP waits for room rather than dropping). */
const SYSLOG_DROP_REASONS: ReadonlyArray<[string, readonly string[]]> = [
  ['tcp', ['malformed', 'oversize', 'framing', 'shutting_down']],
  ['udp', ['malformed', 'oversize', 'buffer_full', 'unavailable', 'shutting_down']],
];

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const SIZE_BUCKETS = [1, 10, 50, 100, 250, 500, 1000, 2000, 5000, 10000, 50000];
const BYTES_BUCKETS = [1024, 16384, 65536, 262144, 1048576, 4194304, 16777216];

/** A writer's counts of the shared JetStream consumer's batches (pipeline/jetstream-source.ts). */
export interface JetStreamSourceStats {
  /** Batches fetched and not yet acked. */
  held: number;
  fetchedBatches: number;
  ackedBatches: number;
  /** Deliveries of a batch this writer still held (ack wait ran out meanwhile). */
  redeliveriesHeld: number;
}

/** The shared consumer's messages not yet acked, as the JetStream server counts them. */
export interface ConsumerBacklog {
  /** Not delivered to any writer yet. */
  pending: number;
  /** Delivered, not acked yet. */
  ackPending: number;
}

export class Metrics {
  readonly registry = new Registry();
  /** Per-request counts, added to ingestRequests and ingestRecords when either is read. */
  private readonly tally = new Tally();

  readonly ingestRequests = new Counter({
    name: 'sluice_ingest_requests_total',
    help: 'Ingest requests by route, status code and protocol (gRPC answers counted by their HTTP equivalent)',
    labelNames: ['route', 'code', 'protocol'] as const,
    registers: [this.registry],
    collect: () => this.tally.flush(),
  });
  readonly ingestErrors = new Counter({
    name: 'sluice_ingest_errors_total',
    help: 'Rejected ingest requests by route, reason (error code) and protocol',
    labelNames: ['route', 'reason', 'protocol'] as const,
    registers: [this.registry],
  });
  readonly ingestRecords = new Counter({
    name: 'sluice_ingest_records_total',
    help: 'Records accepted into the buffer, by type and protocol',
    labelNames: ['type', 'protocol'] as const,
    registers: [this.registry],
    collect: () => this.tally.flush(),
  });
  // A protocol that answers per record (OTLP partial success, _bulk items) can refuse some
  // records of a request it accepts; those are counted here, apart from refused requests.
  readonly ingestRejectedRecords = new Counter({
    name: 'sluice_ingest_rejected_records_total',
    help: 'Records refused one by one inside an accepted request (OTLP partial success and the like), by type and protocol',
    labelNames: ['type', 'protocol'] as const,
    registers: [this.registry],
  });
  readonly parseThreadRequests = new Counter({
    name: 'sluice_ingest_parse_thread_requests_total',
    help: 'POST /logs requests sent to the parse threads (ingest.parseThreads), by outcome: encoded there, or handed back and parsed on the main thread (bad input, a value COPY cannot carry, every thread busy, a thread that died); bodies over 256 KiB and requests that come while the buffer is full are parsed on the main thread and not counted here',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
    collect: () => this.tally.flush(),
  });
  readonly syslogDropped = new Counter({
    name: 'sluice_syslog_dropped_total',
    help: 'Syslog messages not stored, by transport and reason (malformed, oversize, framing, buffer_full, unavailable, shutting_down)',
    labelNames: ['transport', 'reason'] as const,
    registers: [this.registry],
  });
  readonly syslogReceivedBytes = new Counter({
    name: 'sluice_syslog_received_bytes_total',
    help: 'Bytes read from syslog TCP connections and UDP datagrams, by transport',
    labelNames: ['transport'] as const,
    registers: [this.registry],
  });
  readonly syslogConnections = new Gauge({
    name: 'sluice_syslog_connections',
    help: 'Open syslog TCP connections',
    registers: [this.registry],
  });
  readonly syslogConnectionsRefused = new Counter({
    name: 'sluice_syslog_connections_refused_total',
    help: 'Syslog TCP connections closed at once because syslog.maxConnections were open',
    registers: [this.registry],
  });
  readonly batchSize = new Histogram({
    name: 'sluice_batch_size',
    help: 'Records per flushed batch',
    buckets: SIZE_BUCKETS,
    registers: [this.registry],
  });
  readonly batchBytes = new Histogram({
    name: 'sluice_batch_bytes',
    help: 'Bytes per flushed batch',
    buckets: BYTES_BUCKETS,
    registers: [this.registry],
  });
  readonly batchesFlushed = new Counter({
    name: 'sluice_batches_flushed_total',
    help: 'Batches cut by the batcher, by what triggered the flush',
    labelNames: ['trigger'] as const,
    registers: [this.registry],
  });
  readonly workerFailures = new Counter({
    name: 'sluice_worker_failures_total',
    help: 'Failed sink writes (each attempt)',
    labelNames: ['sink'] as const,
    registers: [this.registry],
  });
  readonly workerRetries = new Counter({
    name: 'sluice_worker_retries_total',
    help: 'Retries scheduled after a failed sink write',
    labelNames: ['sink'] as const,
    registers: [this.registry],
  });
  readonly writeLatency = new Histogram({
    name: 'sluice_write_latency_seconds',
    help: 'Duration of successful sink writes',
    labelNames: ['sink'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  readonly e2eLatency = new CountingHistogram(
    'sluice_e2e_latency_seconds',
    'Time from a record being received to its batch being committed by the sink',
    LATENCY_BUCKETS,
    this.registry,
  );
  readonly recordsWritten = new Counter({
    name: 'sluice_records_written_total',
    help: 'Records committed by the sink',
    labelNames: ['sink'] as const,
    registers: [this.registry],
  });
  readonly bufferRecords = new Gauge({
    name: 'sluice_buffer_records',
    help: 'Records held in the buffer',
    registers: [this.registry],
  });
  readonly bufferBytes = new Gauge({
    name: 'sluice_buffer_bytes',
    help: 'Bytes held in the buffer',
    registers: [this.registry],
  });
  // The limits, so dashboards can show the buffer's fill as a fraction (and alert near it).
  readonly bufferMaxRecords = new Gauge({
    name: 'sluice_buffer_max_records',
    help: 'Records the buffer holds before pushing back (buffer.maxRecords)',
    registers: [this.registry],
  });
  readonly bufferMaxBytes = new Gauge({
    name: 'sluice_buffer_max_bytes',
    help: 'Bytes the buffer holds before pushing back (buffer.maxBytes)',
    registers: [this.registry],
  });
  readonly circuitState = new Gauge({
    name: 'sluice_circuit_state',
    help: 'Circuit breaker state per sink: 0 closed, 1 open, 2 half-open',
    labelNames: ['sink'] as const,
    registers: [this.registry],
  });
  readonly deadLetters = new Counter({
    name: 'sluice_dead_letter_total',
    help: 'Records written to the dead-letter file',
    labelNames: ['sink'] as const,
    registers: [this.registry],
  });
  readonly walBytes = new Gauge({
    name: 'sluice_wal_bytes',
    help: 'Disk used by the write-ahead buffer (ack mode durable)',
    registers: [this.registry],
  });
  readonly walFsyncSeconds = new Histogram({
    name: 'sluice_wal_fsync_seconds',
    help: 'Duration of WAL fsyncs; each one serves every request that arrived during the previous',
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  readonly walRepairs = new Counter({
    name: 'sluice_wal_repairs_total',
    help: 'Torn or corrupt WAL tails truncated at start-up',
    registers: [this.registry],
  });
  readonly walReplayedRecords = new Counter({
    name: 'sluice_wal_replayed_records_total',
    help: 'Records read back from the WAL at start-up and sent on again',
    registers: [this.registry],
  });
  readonly checkUp = new Gauge({
    name: 'sluice_check_up',
    help: 'Health check state: 1 up, 0.5 degraded, 0 down or unknown; check = name, id = id',
    labelNames: ['check', 'id'] as const,
    registers: [this.registry],
  });
  readonly checkDuration = new Histogram({
    name: 'sluice_check_duration_seconds',
    help: 'Duration of health check runs; check = name, id = id',
    labelNames: ['check', 'id'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  readonly schedulerLag = new Histogram({
    name: 'sluice_scheduler_lag_seconds',
    help: 'How late health checks start compared with their schedule',
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5],
    registers: [this.registry],
  });
  // Timeouts are their own result, apart from failures: a slow target and a broken one call
  // for different fixes.
  readonly checkRuns = new Counter({
    name: 'sluice_check_runs_total',
    help: 'Health check runs by kind and result (up, degraded, failure, timeout, skipped_overlap)',
    labelNames: ['kind', 'result'] as const,
    registers: [this.registry],
  });
  readonly alertDeliveries = new Counter({
    name: 'sluice_alert_deliveries_total',
    help: 'Alert webhook deliveries by outcome (delivered, failed after retries)',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  readonly alertsDiscarded = new Counter({
    name: 'sluice_alerts_discarded_total',
    help:
      'Alert events never sent: replaced by a newer one for the same check, dropped over ' +
      'health.webhookMaxQueued, or abandoned at shutdown',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  // By key id, never the secret; clients without a key are one series (an address per series
  // would let a spray of addresses grow the scrape without bound).
  readonly rateLimited = new Counter({
    name: 'sluice_rate_limited_total',
    help: 'Ingest requests refused with 429 by a rate limit, by API key id (or anonymous) and limit (requests, records, bytes)',
    labelNames: ['key', 'limit'] as const,
    registers: [this.registry],
  });

  constructor(opts: { defaultMetrics?: boolean } = {}) {
    if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry });
    // Series whose label values are known up front start at zero, so every metric shows on
    // the first scrape and rate()/increase() see the first increment.
    for (const t of FLUSH_TRIGGERS) this.batchesFlushed.labels(t).inc(0);
    for (const r of ['replaced', 'dropped', 'abandoned']) this.alertsDiscarded.labels(r).inc(0);
    for (const t of RECORD_TYPES)
      this.ingestRecords.labels(t, t === 'check' ? CHECKER_PROTOCOL : SLUICE_PROTOCOL).inc(0);
    for (const [transport, reasons] of SYSLOG_DROP_REASONS) {
      this.syslogReceivedBytes.labels(transport).inc(0);
      for (const r of reasons) this.syslogDropped.labels(transport, r).inc(0);
    }
  }

  /** Creates an ingest protocol's record series at zero (see the constructor); called where its routes or listener are set up. */
  initProtocol(protocol: string, types: readonly RecordType[] = ['log']): void {
    for (const t of types) {
      this.ingestRecords.labels(t, protocol).inc(0);
      this.ingestRejectedRecords.labels(t, protocol).inc(0);
    }
  }

  /**
   * Creates the per-sink series at zero (see the constructor): failures and dead letters are rare,
   * but their panels should read 0, not "no data".
   */
  initSink(sink: string): void {
    this.workerFailures.labels(sink).inc(0);
    this.workerRetries.labels(sink).inc(0);
    this.deadLetters.labels(sink).inc(0);
    this.recordsWritten.labels(sink).inc(0);
    this.writeLatency.zero({ sink });
  }

  private readonly collectHooks: Array<() => void> = [];
  private readonly requestCells = new Map<string, Map<number, Map<string, TallyCell>>>();
  private readonly recordCells = new Map<string, TallyCell>();

  /** Counts one finished ingest request (this runs per request: no label hashing, no key string). */
  countRequest(route: string, code: number, protocol: string = SLUICE_PROTOCOL): void {
    let byCode = this.requestCells.get(route);
    if (!byCode) this.requestCells.set(route, (byCode = new Map()));
    let byProtocol = byCode.get(code);
    if (!byProtocol) byCode.set(code, (byProtocol = new Map()));
    let c = byProtocol.get(protocol);
    if (!c) byProtocol.set(protocol, (c = this.tally.cell(this.ingestRequests.labels(route, String(code), protocol))));
    c.inc();
  }

  /** The accepted-records series of a record type and protocol, for a route to keep and increment. */
  recordsCounter(type: RecordType, protocol: string): TallyCell {
    const key = `${type} ${protocol}`;
    let c = this.recordCells.get(key);
    if (!c) this.recordCells.set(key, (c = this.tally.cell(this.ingestRecords.labels(type, protocol))));
    return c;
  }

  /**
   * Role writer: the series of the shared JetStream consumer, created only there. The counts
   * are this writer's (`stats`, also in /admin/jobs); the backlog is every writer's together,
   * asked of the server at each scrape, and left out when the server cannot say (a stale
   * figure would read as a backlog that is not there).
   */
  initJetStreamWriter(source: {
    stats(): JetStreamSourceStats;
    backlog(): Promise<ConsumerBacklog | undefined>;
  }): void {
    const registers = [this.registry];
    const count = (name: string, help: string, read: (s: JetStreamSourceStats) => number): void => {
      new Counter({
        name,
        help,
        registers,
        collect(this: Counter) {
          this.reset();
          this.inc(read(source.stats()));
        },
      });
    };
    count(
      'sluice_jetstream_batches_fetched_total',
      'Role writer: batches this writer fetched from the shared JetStream consumer',
      (s) => s.fetchedBatches,
    );
    count(
      'sluice_jetstream_batches_acked_total',
      'Role writer: batches this writer acked once settled (committed or dead-lettered)',
      (s) => s.ackedBatches,
    );
    count(
      'sluice_jetstream_redeliveries_held_total',
      'Role writer: deliveries of a batch this writer still held (its ack wait ran out meanwhile; raise nats.ackWaitMs if this grows)',
      (s) => s.redeliveriesHeld,
    );
    new Gauge({
      name: 'sluice_jetstream_batches_held',
      help: 'Role writer: batches this writer fetched and has not acked yet',
      registers,
      collect(this: Gauge) {
        this.set(source.stats().held);
      },
    });
    new Gauge({
      name: 'sluice_jetstream_consumer_messages',
      help: 'Role writer: messages of the stream the shared consumer has not had acked, all writers together, by state: pending (not delivered yet) or ack_pending (delivered, not acked); read from the server at each scrape',
      labelNames: ['state'] as const,
      registers,
      async collect(this: Gauge<'state'>) {
        const b = await source.backlog();
        this.reset();
        if (!b) return;
        this.labels('pending').set(b.pending);
        this.labels('ack_pending').set(b.ackPending);
      },
    });
  }

  /** The parse-thread outcome series (see parseThreadRequests), for the route to keep and increment. */
  parseThreadCounter(outcome: 'encoded' | 'main_thread'): TallyCell {
    const series = this.parseThreadRequests.labels(outcome);
    series.inc(0); // shown from the first scrape, as the constructor does for known series
    return this.tally.cell(series);
  }

  /** Registers a function run before each scrape, for gauges read from state rather than set on the hot path. */
  onScrape(fn: () => void): void {
    this.collectHooks.push(fn);
  }

  async render(): Promise<string> {
    for (const fn of this.collectHooks) fn();
    return this.registry.metrics();
  }
}
