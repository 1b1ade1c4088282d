// Config keys of the pipeline: buffer, batcher, writer pool with its retry and breaker, dead
// letters (composed into the one config schema in config/schema.ts; the WAL's are in wal/config.ts).
import { z } from 'zod';

export const bufferConfig = z
  .object({
    // Five default batches: the writers' queue (writers.queue, 4 batches) plus the one being
    // filled. Measured in interleaved runs: end to end no slower than 20000 (75-82k vs 69-70k
    // records/s), and under overload ~5-8 MiB less RSS; requests waiting for room are bounded
    // apart (maxWaitingBytes).
    maxRecords: z
      .number()
      .int()
      .min(1)
      .default(10_000)
      .describe('Records held in memory (waiting for a batch) before pushing back'),
    maxBytes: z
      .number()
      .int()
      .min(1024)
      .default(8 * 1024 * 1024)
      .describe(
        'Accounted bytes held in memory before pushing back (records are accounted at about their live heap size)',
      ),
    // Requests waiting for room hold their raw bodies (parsed only when their turn comes):
    // 8 MiB is ~500 waiting 100-record requests, and caps what a flood of them can hold.
    maxWaitingBytes: z
      .number()
      .int()
      .min(0)
      .default(8 * 1024 * 1024)
      .describe(
        'Body bytes the requests waiting for room (up to ingest.enqueueTimeoutMs) may hold together; past it a ' +
          'request gets 429 at once',
      ),
    highWaterMark: z
      .number()
      .min(0.1)
      .max(1)
      .default(0.9)
      .describe('Fill fraction above which /readyz reports not ready'),
  })
  .prefault({});

export type BufferConfig = z.infer<typeof bufferConfig>;

export const batchConfig = z
  .object({
    maxRecords: z.number().int().min(1).default(2000).describe('Flush a batch at this many records'),
    maxBytes: z
      .number()
      .int()
      .min(1024)
      .default(4 * 1024 * 1024)
      .describe('Flush a batch at this many bytes'),
    maxWaitMs: z.number().int().min(1).default(200).describe('Flush a batch this long after its first record'),
  })
  .prefault({});

export type BatchConfig = z.infer<typeof batchConfig>;

export const writersConfig = z
  .object({
    count: z.number().int().min(1).max(256).default(4).describe('Concurrent sink writers'),
    queue: z
      .number()
      .int()
      .min(1)
      .default(4)
      .describe('Batches that may wait for a free writer before the batcher pauses'),
  })
  .prefault({});

export type WritersConfig = z.infer<typeof writersConfig>;

export const retryConfig = z
  .object({
    maxRetries: z
      .number()
      .int()
      .min(0)
      .default(5)
      .describe('Retries of a failing batch (while the sink is otherwise healthy) before dead-lettering'),
    baseDelayMs: z
      .number()
      .int()
      .min(1)
      .default(100)
      .describe('First retry delay cap; doubles each retry (full jitter)'),
    maxDelayMs: z.number().int().min(1).default(10_000).describe('Largest retry delay'),
  })
  .prefault({});

export type RetryConfig = z.infer<typeof retryConfig>;

export const breakerConfig = z
  .object({
    failureThreshold: z
      .number()
      .int()
      .min(1)
      .default(5)
      .describe('Consecutive sink failures that open the circuit breaker'),
    halfOpenAfterMs: z
      .number()
      .int()
      .min(10)
      .default(5000)
      .describe('How long the breaker stays open before one probe write'),
  })
  .prefault({});

export type BreakerConfig = z.infer<typeof breakerConfig>;

export const deadLetterConfig = z
  .object({
    dir: z
      .string()
      .min(1)
      .default('./data/dead-letter')
      .describe('Where batches that could not be written go (NDJSON, with the error)'),
  })
  .prefault({});

export type DeadLetterConfig = z.infer<typeof deadLetterConfig>;
