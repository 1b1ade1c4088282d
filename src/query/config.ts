// Config keys of the read side's live tail (composed into the one config schema in
// config/schema.ts): how many may follow at once and how much each may fall behind.
import { z } from 'zod';

export const tailConfig = z
  .object({
    maxSubscribers: z
      .number()
      .int()
      .min(0)
      .max(10_000)
      .default(32)
      .describe('Concurrent GET /api/logs/tail streams; one more gets 429 (0: tail off)'),
    queueRecords: z
      .number()
      .int()
      .min(1)
      .max(1_000_000)
      .default(1000)
      .describe(
        'Records one tail subscriber may fall behind before the overflow is dropped (and counted in an `event: dropped`)',
      ),
    heartbeatMs: z
      .number()
      .int()
      .min(1000)
      .max(600_000)
      .default(15_000)
      .describe('A comment line this often on an idle tail stream, so proxies keep it open'),
  })
  .prefault({});

export type TailConfig = z.infer<typeof tailConfig>;
