// Config keys of the Redis Streams sink (composed into the one config schema in config/schema.ts).
import { z } from 'zod';

export const redisConfig = z
  .object({
    url: z
      .string()
      .refine((v) => /^rediss?:\/\//.test(v), 'must be a redis:// or rediss:// URL')
      .default('redis://127.0.0.1:6379')
      .describe('Redis URL (password in it is masked)'),
    streamPrefix: z
      .string()
      .min(1)
      .default('sluice')
      .describe('Stream key prefix: records go to <prefix>:logs, <prefix>:health and <prefix>:checks'),
    maxLen: z
      .number()
      .int()
      .min(0)
      .default(1_000_000)
      .describe('Trim each stream to about this many entries (XADD MAXLEN ~); 0: never trim'),
    dedupeWindowMs: z
      .number()
      .int()
      .min(1000)
      .default(86_400_000)
      .describe('How long a written batch id is remembered, so that a retry of it is skipped'),
    timeoutMs: z
      .number()
      .int()
      .min(100)
      .default(5000)
      .describe('Connect timeout, and how long one batch write may take'),
  })
  .prefault({});

export type RedisConfig = z.infer<typeof redisConfig>;
