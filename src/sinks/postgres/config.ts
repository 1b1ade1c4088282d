// Config keys of the PostgreSQL sink and of retention (composed into the one config schema
// in config/schema.ts). An empty url means: start the embedded PostgreSQL under embeddedDataDir.
import { z } from 'zod';

export const postgresConfig = z
  .object({
    url: z
      .string()
      .refine((v) => v === '' || /^postgres(ql)?:\/\//.test(v), 'must be a postgres:// or postgresql:// URL, or empty')
      .default('')
      .describe('Connection URL (env DATABASE_URL or POSTGRES_DSN also work); empty: start the embedded PostgreSQL'),
    poolSize: z
      .number()
      .int()
      .min(0)
      .max(1000)
      .default(0)
      .describe('Connections in the pool; 0: writers.count + 2 (health checks, maintenance)'),
    statementTimeoutMs: z
      .number()
      .int()
      .min(0)
      .default(30_000)
      .describe(
        'Server statement_timeout, and the longest one batch write may take before its connection is cut (0: none)',
      ),
    connectTimeoutMs: z
      .number()
      .int()
      .min(100)
      .default(5000)
      .describe('Give up connecting after this long (the writer pool then retries)'),
    copyFormat: z
      .enum(['binary', 'text'])
      .default('binary')
      .describe('COPY wire format (binary measured faster, see docs/postgres.md)'),
    dedupe: z
      .boolean()
      .default(false)
      .describe(
        'Drop records whose id was already stored (client idempotency keys); costs throughput, see docs/postgres.md',
      ),
    partitionDaysAhead: z
      .number()
      .int()
      .min(1)
      .max(60)
      .default(3)
      .describe('Daily partitions of logs created ahead of today'),
    embeddedDataDir: z
      .string()
      .min(1)
      .default('./data/postgres')
      .describe('Data directory of the embedded PostgreSQL (kept across restarts)'),
    embeddedPort: z
      .number()
      .int()
      .min(0)
      .max(65535)
      .default(0)
      .describe(
        'Port of the embedded PostgreSQL on 127.0.0.1; 0: the port of the last start when free (kept in the data ' +
          'directory), else a free one',
      ),
  })
  .prefault({});

export const retentionConfig = z
  .object({
    days: z.number().int().min(1).default(7).describe('Days of logs kept: older daily partitions are dropped'),
    tenants: z
      .record(z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'must be a tenant name'), z.number().int().min(1))
      .default({})
      .describe(
        'Days of logs kept per tenant, overriding days for that tenant\'s records (e.g. {"acme": 30}; env: JSON)',
      ),
    intervalMs: z
      .number()
      .int()
      .min(1000)
      .default(3_600_000)
      .describe('How often partitions are created ahead and old ones dropped'),
  })
  .prefault({});

export type PostgresConfig = z.infer<typeof postgresConfig>;
export type RetentionConfig = z.infer<typeof retentionConfig>;
