// The one config schema: every key with its type, default and description. Loading order
// (defaults < file < env < flags) lives in load.ts; docs/configuration.md's table is generated from here.
import { z } from 'zod';
import { fileSinkConfig } from '../sinks/file/config.js';
import { natsConfig } from '../sinks/nats/config.js';
import { redisConfig } from '../sinks/redis/config.js';
import { postgresConfig, retentionConfig } from '../sinks/postgres/config.js';
import { authConfig, serverConfig } from '../http/config.js';
import { ingestConfig } from '../ingest/config.js';
import { otlpConfig } from '../ingest/otlp/config.js';
import { syslogConfig } from '../ingest/syslog/config.js';
import {
  batchConfig,
  breakerConfig,
  bufferConfig,
  deadLetterConfig,
  retryConfig,
  writersConfig,
} from '../pipeline/config.js';
import { sinkConfig } from '../sinks/config.js';
import { logConfig, tracingConfig } from '../observability/config.js';
import { healthConfig } from '../health/config.js';
import { configChecksSchema } from '../health/check-schema.js';
import { configChecksRefused } from '../health/check-policy.js';
import { walConfig } from '../pipeline/wal/config.js';
import { tailConfig } from '../query/config.js';
import { statusPageConfig } from '../ui/config.js';
import { rateLimitConfig } from '../http/rate-limit/config.js';

const configFields = z.object({
  server: serverConfig,
  log: logConfig,
  auth: authConfig,
  ingest: ingestConfig,
  otlp: otlpConfig,
  rateLimit: rateLimitConfig,
  syslog: syslogConfig,
  buffer: bufferConfig,
  batch: batchConfig,
  writers: writersConfig,
  retry: retryConfig,
  breaker: breakerConfig,
  deadLetter: deadLetterConfig,
  sink: sinkConfig,
  file: fileSinkConfig,
  nats: natsConfig,
  redis: redisConfig,
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
        .describe(
          'How far the JS heap may grow past its live data before a full GC (V8 heap-growing-percent); lower keeps RSS flatter under load for more GC work; 0 leaves it to V8',
        ),
    })
    .prefault({}),
  shutdown: z
    .object({
      timeoutMs: z
        .number()
        .int()
        .min(100)
        .default(20_000)
        .describe('Deadline for a graceful stop; what is left then goes to the dead-letter file'),
    })
    .prefault({}),
});

// Checks of the config file meet the same health.* limits as those of the admin API.
export const configSchema = configFields.superRefine((c, ctx) => {
  for (const p of configChecksRefused(c.checks, c.health, c.server.port))
    ctx.addIssue({ code: 'custom', path: ['checks', p.index, p.field], message: `${p.field}: ${p.message}` });
});

export type Config = z.infer<typeof configSchema>;

/** Keys whose values are masked by `config print` and in logs. */
export const SECRET_KEYS = new Set([
  'auth.ingestTokens',
  'auth.adminTokens',
  'auth.readTokens',
  'postgres.url',
  'health.webhooks',
  'nats.pass',
  'nats.token',
  'redis.url',
]);

/** Extra environment names for a key, beside its SLUICE_* name (spec compatibility). */
export const ENV_ALIASES: Record<string, string[]> = {
  'server.port': ['PORT'],
  'server.role': ['SLUICE_ROLE'],
  'postgres.url': ['DATABASE_URL', 'POSTGRES_DSN'],
  'tracing.endpoint': ['OTEL_EXPORTER_OTLP_ENDPOINT'],
  'tracing.serviceName': ['OTEL_SERVICE_NAME'],
};
