// Config keys of the ingest routes (composed into the one config schema in config/schema.ts).
import { z } from 'zod';

export const ingestConfig = z
  .object({
    maxBodyBytes: z.number().int().min(1024).default(10 * 1024 * 1024).describe('Largest request body, after gzip decompression (413 above)'),
    enqueueTimeoutMs: z.number().int().min(0).default(200).describe('How long a request may wait for buffer space before 429'),
    retryAfterSeconds: z.number().int().min(1).default(1).describe('Retry-After sent with 429 and 503'),
    ack: z.enum(['memory', 'durable', 'sink']).default('durable').describe('When 202 is sent: memory = once buffered in memory; durable = once fsynced to the WAL (wal.*); sink = once the sink committed'),
  })
  .prefault({});

export type IngestConfig = z.infer<typeof ingestConfig>;
