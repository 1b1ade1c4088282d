// The one config schema: every key with its type, default and description. Loading order
// (defaults < file < env < flags) lives in load.ts; docs/configuration.md's table is generated from here.
import { z } from 'zod';
import { fileSinkConfig } from '../sinks/file/config.js';
import { postgresConfig, retentionConfig } from '../sinks/postgres/config.js';
import { tracingConfig } from '../observability/config.js';
import { healthConfig } from '../health/config.js';
import { configChecksSchema } from '../health/check-schema.js';
import { walConfig } from '../pipeline/wal/config.js';
import { tailConfig } from '../query/config.js';
import { statusPageConfig } from '../ui/config.js';

const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export const SINK_KINDS = ['postgres', 'file', 'stdout', 'blackhole'] as const;

const tokenList = z.array(z.string().min(8)).default([]);

export const configSchema = z.object({
  server: z
    .object({
      host: z.string().min(1).default('0.0.0.0').describe('Address the HTTP server listens on'),
      port: z.number().int().min(0).max(65535).default(8080).describe('HTTP port (env PORT also works); 0 picks a free port'),
      // Each connection costs a socket and its buffers; past the cap new ones are closed at once.
      maxConnections: z.number().int().min(1).default(4096).describe('Open client connections the server keeps; past it new connections are closed at once'),
      headersTimeoutMs: z.number().int().min(100).default(10_000).describe('Time a client has to send its request headers (408 and close after)'),
      // Above the 60 s idle timeout of common load balancers, so they close first (no race on reuse).
      keepAliveTimeoutMs: z.number().int().min(100).default(72_000).describe('How long an idle keep-alive connection stays open'),
    })
    .prefault({}),
  log: z
    .object({
      level: z.enum(LOG_LEVELS).default('info').describe('Level of the service\'s own logs'),
      pretty: z.enum(['auto', 'true', 'false']).default('auto').describe('Human-readable logs (auto: when stdout is a TTY)'),
    })
    .prefault({}),
  auth: z
    .object({
      ingestTokens: tokenList.describe('Bearer tokens accepted on ingest routes (comma-separated in env); empty: no auth'),
      adminTokens: tokenList.describe('Bearer tokens accepted on /admin and /api routes; empty: no auth'),
    })
    .prefault({}),
  ingest: z
    .object({
      maxBodyBytes: z.number().int().min(1024).default(10 * 1024 * 1024).describe('Largest request body, after gzip decompression (413 above)'),
      maxRecordsPerRequest: z.number().int().min(1).default(10_000).describe('Records one request may hold (413 above); counted before any is parsed'),
      maxKeysPerRecord: z.number().int().min(1).default(10_000).describe('Keys, array items and nested objects one record may hold, at every depth (400 above)'),
      maxDepth: z.number().int().min(1).max(1000).default(64).describe('How deeply one record may nest objects and arrays (400 above)'),
      maxInFlightBodyBytes: z.number().int().min(1024).default(64 * 1024 * 1024).describe('Body bytes all requests being received and parsed may hold together; past it new requests get 429 before their body is read'),
      bodyTimeoutMs: z.number().int().min(100).default(30_000).describe('Time a client has to send a whole request body once its headers are in (408 and close after)'),
      enqueueTimeoutMs: z.number().int().min(0).default(200).describe('How long a request may wait for buffer space before 429'),
      retryAfterSeconds: z.number().int().min(1).default(1).describe('Retry-After sent with 429 and 503'),
      ack: z.enum(['memory', 'durable', 'sink']).default('durable').describe('When 202 is sent: memory = once buffered in memory; durable = once fsynced to the WAL (wal.*); sink = once the sink committed'),
    })
    .prefault({}),
  buffer: z
    .object({
      // Five default batches: the writers' queue (writers.queue, 4 batches) plus the one being
      // filled. Measured in interleaved runs: end to end no slower than 20000 (75-82k vs 69-70k
      // records/s), and under overload ~5-8 MiB less RSS; requests waiting for room are bounded
      // apart (maxWaitingBytes).
      maxRecords: z.number().int().min(1).default(10_000).describe('Records held in memory (waiting for a batch) before pushing back'),
      maxBytes: z.number().int().min(1024).default(8 * 1024 * 1024).describe('Accounted bytes held in memory before pushing back (records are accounted at about their live heap size)'),
      // Requests waiting for room hold their raw bodies (parsed only when their turn comes):
      // 8 MiB is ~500 waiting 100-record requests, and caps what a flood of them can hold.
      maxWaitingBytes: z.number().int().min(0).default(8 * 1024 * 1024).describe('Body bytes the requests waiting for room (up to ingest.enqueueTimeoutMs) may hold together; past it a request gets 429 at once'),
      highWaterMark: z.number().min(0.1).max(1).default(0.9).describe('Fill fraction above which /readyz reports not ready'),
    })
    .prefault({}),
  batch: z
    .object({
      maxRecords: z.number().int().min(1).default(2000).describe('Flush a batch at this many records'),
      maxBytes: z.number().int().min(1024).default(4 * 1024 * 1024).describe('Flush a batch at this many bytes'),
      maxWaitMs: z.number().int().min(1).default(200).describe('Flush a batch this long after its first record'),
    })
    .prefault({}),
  writers: z
    .object({
      count: z.number().int().min(1).max(256).default(4).describe('Concurrent sink writers'),
      queue: z.number().int().min(1).default(4).describe('Batches that may wait for a free writer before the batcher pauses'),
    })
    .prefault({}),
  retry: z
    .object({
      maxRetries: z.number().int().min(0).default(5).describe('Retries of a failing batch (while the sink is otherwise healthy) before dead-lettering'),
      baseDelayMs: z.number().int().min(1).default(100).describe('First retry delay cap; doubles each retry (full jitter)'),
      maxDelayMs: z.number().int().min(1).default(10_000).describe('Largest retry delay'),
    })
    .prefault({}),
  breaker: z
    .object({
      failureThreshold: z.number().int().min(1).default(5).describe('Consecutive sink failures that open the circuit breaker'),
      halfOpenAfterMs: z.number().int().min(10).default(5000).describe('How long the breaker stays open before one probe write'),
    })
    .prefault({}),
  deadLetter: z
    .object({
      dir: z.string().min(1).default('./data/dead-letter').describe('Where batches that could not be written go (NDJSON, with the error)'),
    })
    .prefault({}),
  sink: z
    .object({
      kind: z.enum(SINK_KINDS).default('postgres').describe('Where batches are written'),
    })
    .prefault({}),
  file: fileSinkConfig,
  postgres: postgresConfig,
  retention: retentionConfig,
  tracing: tracingConfig,
  health: healthConfig,
  checks: configChecksSchema,
  statusPage: statusPageConfig,
  wal: walConfig,
  tail: tailConfig,
  runtime: z
    .object({
      heapGrowthPercent: z
        .number()
        .int()
        .min(0)
        .max(1000)
        .default(50)
        .describe('How far the JS heap may grow past its live data before a full GC (V8 heap-growing-percent); lower keeps RSS flatter under load for more GC work; 0 leaves it to V8'),
    })
    .prefault({}),
  shutdown: z
    .object({
      timeoutMs: z.number().int().min(100).default(20_000).describe('Deadline for a graceful stop; what is left then goes to the dead-letter file'),
    })
    .prefault({}),
});

export type Config = z.infer<typeof configSchema>;

/** Keys whose values are masked by `config print` and in logs. */
export const SECRET_KEYS = new Set(['auth.ingestTokens', 'auth.adminTokens', 'postgres.url', 'health.webhooks']);

/** Extra environment names for a key, beside its SLUICE_* name (spec compatibility). */
export const ENV_ALIASES: Record<string, string[]> = {
  'server.port': ['PORT'],
  'postgres.url': ['DATABASE_URL', 'POSTGRES_DSN'],
  'tracing.endpoint': ['OTEL_EXPORTER_OTLP_ENDPOINT'],
  'tracing.serviceName': ['OTEL_SERVICE_NAME'],
};
