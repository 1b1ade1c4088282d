// Config keys of the ingest routes (composed into the one config schema in config/schema.ts).
import { z } from 'zod';

export const ingestConfig = z
  .object({
    maxBodyBytes: z
      .number()
      .int()
      .min(1024)
      .default(10 * 1024 * 1024)
      .describe('Largest request body, after gzip decompression (413 above)'),
    maxRecordsPerRequest: z
      .number()
      .int()
      .min(1)
      .default(10_000)
      .describe('Records one request may hold (413 above); counted before any is parsed'),
    maxKeysPerRecord: z
      .number()
      .int()
      .min(1)
      .default(10_000)
      .describe('Keys, array items and nested objects one record may hold, at every depth (400 above)'),
    maxDepth: z
      .number()
      .int()
      .min(1)
      .max(1000)
      .default(64)
      .describe('How deeply one record may nest objects and arrays (400 above)'),
    maxInFlightBodyBytes: z
      .number()
      .int()
      .min(1024)
      .default(64 * 1024 * 1024)
      .describe(
        'Body bytes all requests being received and parsed may hold together; past it new requests get 429 before their body is read',
      ),
    bodyTimeoutMs: z
      .number()
      .int()
      .min(100)
      .default(30_000)
      .describe('Time a client has to send a whole request body once its headers are in (408 and close after)'),
    enqueueTimeoutMs: z
      .number()
      .int()
      .min(0)
      .default(200)
      .describe('How long a request may wait for buffer space before 429'),
    retryAfterSeconds: z.number().int().min(1).default(1).describe('Retry-After sent with 429 and 503'),
    ack: z
      .enum(['memory', 'durable', 'sink'])
      .default('durable')
      .describe(
        'When 202 is sent: memory = once buffered in memory; durable = once fsynced to the WAL (wal.*); sink = once the sink committed',
      ),
    parseThreads: z
      .number()
      .int()
      .min(0)
      .max(64)
      .default(0)
      .describe(
        'Worker threads that parse and COPY-encode POST /logs bodies (PostgreSQL sink, binary COPY only); 0 = parse on the main thread. Pays only with cores to spare beside PostgreSQL',
      ),
  })
  .prefault({});

export type IngestConfig = z.infer<typeof ingestConfig>;
