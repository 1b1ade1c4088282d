// Config keys of the disk write-ahead buffer used by ack mode `durable` (composed into the
// one config schema in config/schema.ts).
import { z } from 'zod';

export const walConfig = z
  .object({
    dir: z
      .string()
      .min(1)
      .default('./data/wal')
      .describe('Directory of the write-ahead buffer (ack mode durable); one collector per directory (locked)'),
    segmentBytes: z
      .number()
      .int()
      .min(4096)
      .default(64 * 1024 * 1024)
      .describe(
        'Start a new WAL segment file past this size; whole segments are deleted once all their batches are written',
      ),
    maxBytes: z
      .number()
      .int()
      .min(16_384)
      .default(1024 * 1024 * 1024)
      .describe('Disk the WAL may use (at least 2 segments); ingest answers 429 beyond it'),
    groupCommitDelayMs: z
      .number()
      .int()
      .min(0)
      .max(1000)
      .default(0)
      .describe(
        'Extra wait before a WAL write so more requests share one fsync (0: only those that arrive during the ' +
          'previous fsync)',
      ),
  })
  .prefault({});

export type WalConfig = z.infer<typeof walConfig>;
