// The composition root: builds every stage from config, wires them together, and owns the
// lifecycle. Start in dependency order; stop in reverse under one deadline:
// stop accepting → close the listener → drain the buffer → flush the batcher → wait for
// the writers → close the sink. Whatever is still unwritten at the deadline is dead-lettered,
// or, in ack mode durable, stays in the WAL and is sent at the next start.
// Roles (server.role, docs/scale-out.md): `ingest` swaps the sink for a JetStream publish (no
// WAL, no database, no health checks) and answers each request once JetStream acked it;
// `writer` takes no ingest and feeds the writer pool from JetStream instead.
import { LogController, fastify, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Server as HttpsServer } from 'node:https';
import type pg from 'pg';
import type { Logger } from 'pino';
import { ApiKeys } from './access/api-keys.js';
import { FileKeyStore, PostgresKeyStore } from './access/key-store.js';
import { adminRoutes } from './admin/admin-routes.js';
import { checksRoutes } from './admin/checks-routes.js';
import { maintenanceRoutes } from './admin/maintenance-routes.js';
import { keysRoutes } from './admin/keys-routes.js';
import { createPostgresDatabase } from './database.js';
import { uiRoutes } from './ui/ui-routes.js';
import { HealthChecker } from './health/checker.js';
import { fileHealthStorage, postgresHealthStorage } from './health/storage.js';
import { Readiness } from './admin/readiness.js';
import type { Config } from './config/schema.js';
import { errorMessage } from './errors.js';
import { AccessPolicy } from './http/access.js';
import { installErrorHandler } from './http/error-handler.js';
import type { IngestContext } from './ingest/enqueue.js';
import { ingestRoutes } from './ingest/ingest-routes.js';
import { pingRoutes } from './ingest/ping-routes.js';
import { installBodyGuard } from './ingest/body-guard.js';
import { elasticsearchRoutes } from './ingest/elasticsearch/elasticsearch-routes.js';
import { lokiRoutes } from './ingest/loki/loki-routes.js';
import { createOtlpGrpcServer, type OtlpGrpcServer } from './ingest/otlp/grpc-server.js';
import { otlpHttpRoutes } from './ingest/otlp/http-routes.js';
import { ParsePool } from './ingest/parse-threads/parse-pool.js';
import { installRateLimit } from './http/rate-limit/rate-limit-hook.js';
import { certFingerprint, installClientCertCheck, readTlsOptions, reloadTls, tlsEnabled } from './http/tls.js';
import { LazyChildLogger } from './observability/lazy-child-logger.js';
import { createLogger } from './observability/logger.js';
import { Metrics } from './observability/metrics.js';
import { createTracing, type Tracing } from './observability/tracing.js';
import { uuidv7 } from './uuidv7.js';
import { Batcher } from './pipeline/batcher.js';
import type { RecordBuffer } from './pipeline/buffer.js';
import { DeadLetter } from './pipeline/dead-letter.js';
import { MemoryBuffer } from './pipeline/memory-buffer.js';
import { WalBuffer } from './pipeline/wal/wal-buffer.js';
import { WriterPool } from './pipeline/writer-pool.js';
import { JetStreamSource } from './pipeline/jetstream-source.js';
import { encodeTransportLine } from './pipeline/transport-codec.js';
import { NatsSink } from './sinks/nats/nats-sink.js';
import type { PostgresDatabase } from './postgres/database.js';
import { AdvisoryLease } from './postgres/advisory-lease.js';
import { PingRelay } from './health/ping-relay.js';
import { apiRoutes } from './query/api-routes.js';
import { IncidentLog } from './query/status.js';
import { LogTail } from './query/tail.js';
import { syslogListeners, type SyslogListeners } from './ingest/syslog/listeners.js';
import { createSink } from './sinks/create-sink.js';
import type { Sink } from './sinks/sink.js';
import { withTimeout } from './timeout.js';

/** How long past the shutdown deadline to wait for writers whose sink ignores the abort. */
const STUCK_WRITER_GRACE_MS = 5000;
/** While the listener closes, how often connections gone idle are ended. */
const IDLE_SWEEP_MS = 50;
/** Role writer: the advisory lock whose holder runs the health checks ('SluiceHC' as a bigint). */
const HEALTH_LEASE_KEY = '5992788441283102531';
const HEALTH_LEASE_EVERY_MS = 2000;

export interface AppOptions {
  logger?: Logger;
  /** Use this sink instead of the configured one (tests, embedding). */
  sink?: Sink;
  /** Collect Node's default process metrics (off in tests that build many apps). */
  defaultMetrics?: boolean;
}

export interface App {
  readonly config: Config;
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** Spans at request, batch-flush and sink-write; off (and free) unless tracing.endpoint is set. */
  readonly tracing: Tracing;
  readonly server: FastifyInstance;
  readonly buffer: RecordBuffer;
  readonly batcher: Batcher;
  readonly pool: WriterPool;
  readonly sink: Sink;
  /** The PostgreSQL database (sink.kind postgres), shared by the sink and health. */
  readonly database: PostgresDatabase | undefined;
  readonly deadLetter: DeadLetter;
  /** Registered health checks, their probes, push monitors and alerts. */
  readonly health: HealthChecker;
  /** Live tail subscribers (GET /api/logs/tail), fed by ingest. */
  readonly tail: LogTail;
  /** The OTLP/gRPC receiver, when otlp.grpcPort is set. */
  readonly otlpGrpc: OtlpGrpcServer | undefined;
  /** The syslog TCP/UDP listeners (off unless syslog.tcpPort / syslog.udpPort is set). */
  readonly syslog: SyslogListeners;
  /** Role writer: the JetStream consumer feeding the writer pool. */
  readonly source: JetStreamSource | undefined;
  /** Base URL once listening, e.g. http://127.0.0.1:8080 */
  readonly url: string;
  start(): Promise<void>;
  /** SIGHUP: reads the TLS certificate and key again (a bad pair is logged and the old one kept). */
  reload(): void;
  /** Graceful stop; resolves when everything accepted is written or dead-lettered. */
  stop(): Promise<void>;
  /** Called when the app cannot go on and must be stopped (role writer: the health lease was lost). */
  onFatal(listener: (reason: string) => void): void;
}

const REQ_ID = /^[\w.:@/-]{1,128}$/;

/**
 * server.close() on Node 20 ends only the keep-alive connections idle at that moment; one whose
 * request was still in flight goes idle just after and would hold close(), and the process,
 * until keepAliveTimeout (72 s). Sweeping idle connections until close() resolves ends each
 * as soon as its last response is out (a request arriving meanwhile gets 503 and close).
 */
async function closeListener(server: FastifyInstance): Promise<void> {
  const sweep = setInterval(() => server.server.closeIdleConnections(), IDLE_SWEEP_MS);
  sweep.unref();
  try {
    await server.close();
  } finally {
    clearInterval(sweep);
  }
}

export async function createApp(config: Config, opts: AppOptions = {}): Promise<App> {
  const logger = opts.logger ?? createLogger(config.log);
  const metrics = new Metrics({ defaultMetrics: opts.defaultMetrics ?? true });
  // The database is the app's, not the sink's: the sink writes batches into it and health
  // keeps its checks and reads its history from it.
  const role = config.server.role;
  const database =
    role !== 'ingest' && !opts.sink && config.sink.kind === 'postgres'
      ? createPostgresDatabase(config, logger)
      : undefined;
  // An ingest node's sink is the stream the writers consume; records cross it in the WAL's row form.
  const publisher =
    role === 'ingest' && !opts.sink
      ? new NatsSink({ ...config.nats, logger, encodeLine: encodeTransportLine })
      : undefined;
  const sink: Sink =
    opts.sink ??
    publisher ??
    (await createSink(
      { sink: config.sink, postgres: config.postgres, file: config.file, nats: config.nats, redis: config.redis },
      { logger, ...(database ? { database } : {}) },
    ));
  metrics.initSink(sink.name);
  const tracing = await createTracing(config.tracing, { logger });
  const deadLetter = new DeadLetter(config.deadLetter.dir);
  // Records are held as COPY tuples (no objects until the commit) when the sink sends those.
  const holdTuples = sink.sendsRows === true;
  const limits = {
    maxRecords: config.buffer.maxRecords,
    maxBytes: config.buffer.maxBytes,
    retryAfterSeconds: config.ingest.retryAfterSeconds,
    maxWaitingBytes: config.buffer.maxWaitingBytes,
  };
  // Only `durable` needs the disk: in `sink` mode the client waits for the commit, so records
  // lost in a crash were never acknowledged (and replaying them would duplicate its retry).
  // Neither an ingest node (JetStream is its durable log) nor a writer (it takes no ingest) keeps a WAL.
  const wal =
    config.ingest.ack === 'durable' && role === 'all'
      ? await WalBuffer.open({ ...limits, holdTuples, wal: config.wal, logger, metrics })
      : undefined;
  const buffer: RecordBuffer = wal ?? new MemoryBuffer({ ...limits, holdTuples });
  // Set below (it needs the pool, the pool needs it as its ledger).
  let source: JetStreamSource | undefined;
  const pool = new WriterPool({
    sink,
    writers: config.writers.count,
    queue: config.writers.queue,
    retry: config.retry,
    breaker: config.breaker,
    deadLetter,
    metrics,
    logger,
    around: tracing.writeHook(sink.name, (): boolean => pool.breakerState === 'open'),
    ledger:
      wal ??
      (role === 'writer'
        ? { sealed: () => source!.sealed(), started: () => undefined, settled: (b) => source!.settled(b) }
        : undefined),
  });
  const batcher = new Batcher(
    buffer,
    config.batch,
    (batch) => {
      metrics.batchSize.observe(batch.count);
      metrics.batchBytes.observe(batch.bytes);
      metrics.batchesFlushed.labels(batch.trigger).inc();
      tracing.batchFlushed(batch);
      pool.submit(batch);
    },
    () => pool.hasRoom(),
  );
  if (role === 'writer') {
    source = new JetStreamSource({
      nats: config.nats,
      logger,
      pool,
      fetchMax: Math.max(1, config.writers.queue),
      deadLetter: (batch, error, attempts) => deadLetter.write({ batch, sink: sink.name, error, attempts }),
    });
    metrics.initJetStreamWriter(source);
  }
  pool.onRoom(() => {
    batcher.pump();
    source?.pump();
  });
  metrics.onScrape(() => {
    const s = buffer.stats();
    metrics.bufferRecords.set(s.records);
    metrics.bufferBytes.set(s.bytes);
    metrics.bufferMaxRecords.set(s.maxRecords);
    metrics.bufferMaxBytes.set(s.maxBytes);
    if (wal) metrics.walBytes.set(wal.walStats().diskBytes);
  });

  let accepting = false;
  const startedAt = Date.now();
  // Read before anything listens: a certificate that cannot be used stops the start-up, naming its file.
  const tls = tlsEnabled(config.server) ? readTlsOptions(config.server) : undefined;
  const server = fastify({
    ...(tls ? { https: tls } : {}),
    loggerInstance: logger as FastifyBaseLogger,
    // No log line per request: ingest is the hot path. Errors are logged by the error handler.
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'req_id' }),
    childLoggerFactory: (parent, bindings, opts) =>
      new LazyChildLogger(parent as Logger, bindings, opts) as unknown as FastifyBaseLogger,
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQ_ID.test(given) ? given : uuidv7();
    },
    // Our ingest parser enforces ingest.maxBodyBytes itself (after decompression, too).
    bodyLimit: config.ingest.maxBodyBytes,
    return503OnClosing: true,
    // Set on purpose (docs/security.md): each bounds how long a client can hold a connection.
    keepAliveTimeout: config.server.keepAliveTimeoutMs,
    // Node's own 408 for a whole request, a backstop behind the body guard's precise timeout
    // (Node checks it only every 30 s).
    requestTimeout: config.server.headersTimeoutMs + config.ingest.bodyTimeoutMs,
  });
  server.server.headersTimeout = config.server.headersTimeoutMs;
  server.server.maxConnections = config.server.maxConnections;
  const bodyGuard = installBodyGuard(server, {
    maxInFlightBytes: config.ingest.maxInFlightBodyBytes,
    timeoutMs: config.ingest.bodyTimeoutMs,
    retryAfterSeconds: config.ingest.retryAfterSeconds,
  });
  // Callback-style hook: on the per-request path it avoids a promise and a microtask.
  server.addHook('onRequest', (req, reply, done) => {
    void reply.header('x-request-id', req.id);
    done();
  });
  // Ingest requests are counted where they are answered (route handlers and the error
  // handler): an onResponse hook costs a 'finish' listener per request, measured at ~15% of
  // single-record ingest.
  installErrorHandler(server, metrics);
  tracing.instrument(server);
  if (tls?.requestCert) installClientCertCheck(server, config.server.tlsRequireClientCert);
  // Before any route: it attaches to the ingest routes (INGEST_ROUTE) as they are registered.
  installRateLimit(server, { config: config.rateLimit, metrics });
  // Until the database first connects: in ack mode durable the WAL holds what arrives; in the
  // other modes nothing could hold it, so ingest answers 503 at once.
  const databaseMissing = (): string | undefined =>
    database && !database.connected ? `database not connected (${database.notConnectedReason})` : undefined;
  const ingestLimits = {
    maxRecords: config.ingest.maxRecordsPerRequest,
    maxDepth: config.ingest.maxDepth,
    maxKeys: config.ingest.maxKeysPerRecord,
  };
  // API keys live beside the checks: in PostgreSQL when the collector has its database.
  const keys = new ApiKeys(
    database ? new PostgresKeyStore(() => database.pool) : new FileKeyStore(config.auth.keysFile),
    logger,
  );
  const access = new AccessPolicy(config.auth, keys);
  const ingestCtx: IngestContext = {
    config: { ingest: config.ingest, auth: config.auth },
    access,
    buffer,
    metrics,
    limits: ingestLimits,
    accepting: () => accepting,
    ...(wal ? {} : { unavailable: databaseMissing }),
  };
  // Parse threads hand back tuples only, so only a buffer holding tuples can take their work.
  const parseThreads = role !== 'writer' && holdTuples ? config.ingest.parseThreads : 0;
  if (config.ingest.parseThreads > 0 && parseThreads === 0)
    logger.warn(
      { sink: sink.name, role },
      'ingest.parseThreads is ignored: only the ingest of a PostgreSQL sink with binary COPY parses on threads',
    );
  const parsePool = parseThreads > 0 ? new ParsePool(parseThreads, logger) : undefined;
  if (parsePool) ingestCtx.parsePool = parsePool;
  // An ingest node answers once JetStream acked the batch (the `sink` ack mode, with JetStream as the sink).
  // While JetStream is away (or refusing: the breaker open) requests get 503 at once, and none
  // waits longer than a publish and two retries for its ack.
  if (role === 'ingest') {
    ingestCtx.config = { ...ingestCtx.config, ingest: { ...config.ingest, ack: 'sink' } };
    ingestCtx.unavailable = () =>
      publisher?.unavailable() ??
      (pool.breakerState === 'open' ? 'JetStream refused the last publishes (breaker open)' : undefined);
    ingestCtx.ackTimeoutMs = 3 * config.nats.timeoutMs;
  }
  // Check results enter the same buffer as ingested records; push checks listen to POST /health.
  const health = new HealthChecker({
    config: {
      health: config.health,
      checks: config.checks,
      ingest: config.ingest,
      sink: config.sink,
      postgres: config.postgres,
      server: config.server,
    },
    buffer,
    metrics,
    logger,
    storage: () => (database ? postgresHealthStorage(database.pool) : fileHealthStorage(config.health)),
  });
  // Role writer with PostgreSQL: the checks run on whichever writer holds the lease. The
  // checker cannot be restarted in place, so a writer that loses the lease stops (to be
  // restarted by its supervisor: a writer holds nothing JetStream does not deliver again).
  let fatal: ((reason: string) => void) | undefined;
  // Pings reach ingest nodes; push checks run on the lease holder: relayed over core NATS.
  const relay = role === 'all' ? undefined : new PingRelay(config.nats, logger);
  const healthLease =
    role === 'writer' && database
      ? new AdvisoryLease({
          pool: () => (database.connected ? database.pool : undefined),
          key: HEALTH_LEASE_KEY,
          everyMs: HEALTH_LEASE_EVERY_MS,
          logger,
          what: 'health',
          onAcquired: () => {
            health.start().then(
              () => {
                logger.info('health lease held: health checks loaded and running here');
                relay?.serve({
                  onPings: (records) => health.onPings(records),
                  onPing: (check, signal, message) => health.pingCheck(check, signal, message),
                });
              },
              (err: unknown) => fatal?.(`loading the health checks failed: ${errorMessage(err)}`),
            );
          },
          onLost: (reason) => fatal?.(`health lease lost (${reason})`),
        })
      : undefined;
  const tail = new LogTail(config.tail);
  const incidents = new IncidentLog();
  health.transitionListener = (event) => incidents.add(event);
  const takesIngest = role !== 'writer';
  if (takesIngest) {
    await server.register(
      ingestRoutes(ingestCtx, {
        onHealthPings: (records) => (relay ? relay.publishPings(records) : health.onPings(records)),
        onLogs: (records) => tail.publish(records),
        wantsLogs: () => tail.listening,
      }),
    );
    await server.register(lokiRoutes(ingestCtx, { onLogs: (records) => tail.publish(records) }));
    await server.register(elasticsearchRoutes(ingestCtx, { onLogs: (records) => tail.publish(records) }));
    await server.register(otlpHttpRoutes(ingestCtx, { onLogs: (records) => tail.publish(records) }));
    // Ping URLs act on the push checks' schedules: here, or on the health lease holder (relayed).
    await server.register(
      pingRoutes(ingestCtx, (check, signal, message) =>
        relay ? relay.ping(check, signal, message) : health.pingCheck(check, signal, message),
      ),
    );
  }
  const otlpGrpc =
    config.otlp.grpcPort > 0 && takesIngest
      ? createOtlpGrpcServer(ingestCtx, {
          host: config.otlp.grpcHost || config.server.host,
          port: config.otlp.grpcPort,
          logger,
          onLogs: (records) => tail.publish(records),
        })
      : undefined;
  const syslog = syslogListeners(takesIngest ? config.syslog : { ...config.syslog, tcpPort: 0, udpPort: 0 }, {
    ctx: ingestCtx,
    onLogs: (records) => tail.publish(records),
  });
  const walStats = wal ? () => wal.walStats() : undefined;
  const readiness = new Readiness({
    highWaterMark: config.buffer.highWaterMark,
    buffer,
    pool,
    sink,
    accepting: () => accepting,
    wal: walStats,
    unavailable: () => databaseMissing() ?? source?.notReady(),
  });
  await server.register(
    adminRoutes({
      config: { auth: config.auth },
      access,
      metrics,
      buffer,
      batcher,
      pool,
      sink,
      deadLetter,
      accepting: () => accepting,
      startedAt,
      readiness,
      bodies: bodyGuard,
      ...(walStats ? { wal: walStats } : {}),
      ...(source ? { jetstream: () => source!.stats() } : {}),
    }),
  );
  await server.register(keysRoutes({ access, keys }));
  await server.register(checksRoutes({ config: { auth: config.auth }, access, health }));
  await server.register(maintenanceRoutes({ access, maintenance: health.maintenance }));
  // The read side queries the database directly, not through the sink.
  const db = (): pg.Pool | undefined => (database?.connected ? database.pool : undefined);
  await server.register(
    apiRoutes({ config: { auth: config.auth, sink: config.sink }, access, health, tail, incidents, db }),
  );
  await server.register(
    uiRoutes({ config: { auth: config.auth, statusPage: config.statusPage }, access, health, pool: db }),
  );

  let url = '';
  let stopping: Promise<void> | undefined;

  async function stop(): Promise<void> {
    accepting = false;
    readiness.stop();
    const deadlineMs = config.shutdown.timeoutMs;
    const deadlineAt = Date.now() + deadlineMs;
    // At the deadline, whatever stage the stop is in, in-flight writes are cut.
    const timer = setTimeout(() => {
      logger.error(
        { timeoutMs: deadlineMs },
        wal
          ? 'shutdown deadline reached: leaving what is left in the WAL'
          : 'shutdown deadline reached: dead-lettering what is left',
      );
      pool.abortAll(`shutdown deadline (${deadlineMs} ms) reached before the sink took the batch`);
    }, deadlineMs);
    // Tail streams never end by themselves: server.close() would wait for them.
    tail.close();
    // A writer stops fetching first; what it fetched is written below, or handed back.
    await source?.stop();
    // Syslog first: it stops reading, and what it read is in the buffer before the buffer closes.
    await syslog.stop(deadlineAt);
    // In-flight requests finish (ack-mode `sink` waits still need the pipeline running).
    const grpcStopped = otlpGrpc?.stop(deadlineAt - Date.now());
    const closed = await withTimeout(closeListener(server), deadlineAt - Date.now(), () => 'deadline' as const);
    await grpcStopped;
    await parsePool?.close();
    // Past the deadline a connection still open (a body trickling in) is cut: it would
    // otherwise hold the process until requestTimeout.
    if (closed === 'deadline') server.server.closeAllConnections();
    // No new results after this point: probes in flight are cut, their results discarded.
    await health.stop();
    await healthLease?.stop();
    await relay?.close();
    buffer.close();
    batcher.drain();
    const before = pool.stats();
    logger.info({ queued: before.queued, inFlight: before.inFlight.length }, 'draining writers');
    // A sink that ignores the abort (a stdout pipe nobody reads) must not hold the process
    // for ever: a few seconds past the deadline, stop waiting for it.
    const drained = await withTimeout(
      pool.idle(),
      deadlineAt + STUCK_WRITER_GRACE_MS - Date.now(),
      () => 'gave up' as const,
    );
    if (drained === 'gave up') {
      logger.error(
        { inFlight: pool.stats().inFlight, graceMs: STUCK_WRITER_GRACE_MS },
        wal
          ? 'writers still busy past the shutdown deadline (the sink ignores the abort): stopping without them; their batches stay in the WAL'
          : 'writers still busy past the shutdown deadline (the sink ignores the abort): stopping without them; their batches may not be stored',
      );
    }
    clearTimeout(timer);
    // Past the deadline the WAL still gets a second to write its last frames, no more.
    await wal?.shutdown(Math.max(1000, deadlineAt - Date.now()));
    await source?.close();
    await sink.close();
    keys.stop();
    await database?.close();
    await tracing.shutdown();
    const s = pool.stats();
    logger.info(
      { committedRecords: s.committedRecords, deadLetteredBatches: s.deadLetteredBatches, keptInWal: s.keptBatches },
      'stopped',
    );
  }

  return {
    config,
    logger,
    metrics,
    tracing,
    server,
    buffer,
    batcher,
    pool,
    sink,
    database,
    deadLetter,
    health,
    tail,
    otlpGrpc,
    syslog,
    get source() {
      return source;
    },
    get url() {
      return url;
    },
    async start() {
      // One try in the foreground (so a reachable database is connected and migrated before
      // the first request, as before); if it fails the collector starts anyway and keeps
      // trying in the background.
      if (database) {
        await database.start().catch((err: unknown) => {
          logger.error(
            { err: errorMessage(err) },
            wal
              ? 'postgres: not reachable; starting anyway (the WAL takes records; /readyz says not ready until connected)'
              : 'postgres: not reachable; starting anyway (ingest answers 503 until connected)',
          );
          void database.connectInBackground();
        });
      }
      await sink.start?.();
      source?.start();
      // Batches in flight at the last crash go first, exactly as they were cut.
      for (const batch of wal?.recovered() ?? []) {
        metrics.batchesFlushed.labels(batch.trigger).inc();
        pool.submit(batch);
      }
      // Keys before the listener, so the first request is judged by them; with the database
      // down, as soon as it connects (meanwhile only config tokens are known).
      if (!database || database.connected) await keys.start();
      else
        database.onConnected(() => {
          if (stopping) return;
          keys.start().catch((err: unknown) => logger.error({ err: errorMessage(err) }, 'api keys: loading failed'));
        });
      // After the database: with PostgreSQL, checks and history live in its tables.
      if (role === 'ingest') {
        // Health checks need the database and run on one writer at a time.
      } else if (healthLease) {
        healthLease.start();
      } else if (!database || database.connected) {
        await health.start();
      } else {
        database.onConnected(() => {
          if (stopping) return;
          health.start().then(
            () => logger.info('postgres connected: health checks loaded and running'),
            (err: unknown) =>
              logger.error({ err: errorMessage(err) }, 'postgres connected, but loading the health checks failed'),
          );
        });
      }
      readiness.start();
      await server.listen({ host: config.server.host, port: config.server.port });
      const addr = server.server.address();
      const port = typeof addr === 'object' && addr ? addr.port : config.server.port;
      health.listeningOn(port);
      const host = config.server.host === '0.0.0.0' || config.server.host === '::' ? '127.0.0.1' : config.server.host;
      url = `${tls ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${port}`;
      await otlpGrpc?.start();
      await syslog.start();
      accepting = true;
      logger.info(
        {
          url,
          role,
          sink: sink.name,
          ack: role === 'ingest' ? 'jetstream' : config.ingest.ack,
          writers: config.writers.count,
        },
        'sluice listening',
      );
      if (tls) {
        const clientCert = !tls.requestCert
          ? 'not asked'
          : config.server.tlsRequireClientCert
            ? 'required on ingest routes'
            : 'asked, optional';
        logger.info(
          { fingerprint256: certFingerprint(tls), clientCert },
          'tls: HTTPS only; SIGHUP reloads the certificate',
        );
      }
      const { warnings, ...exposed } = access.exposure(config.server.host);
      logger.info({ host: config.server.host, ...exposed }, 'access: who may use what');
      for (const w of warnings) logger.warn(w);
    },
    reload() {
      if (!tls) {
        logger.info('reload: nothing to reload (no TLS configured)');
        return;
      }
      try {
        const fingerprint256 = reloadTls(server.server as unknown as HttpsServer, config.server);
        logger.info({ fingerprint256 }, 'tls: certificate reloaded; new connections use it');
      } catch (err) {
        logger.error({ err: errorMessage(err) }, 'tls: reload failed; keeping the certificate in use');
      }
    },
    stop() {
      stopping ??= stop();
      return stopping;
    },
    onFatal(listener) {
      fatal = listener;
    },
  };
}
