// Config keys of the file sink (composed into the one config schema in config/schema.ts).
import { z } from 'zod';

export const fileSinkConfig = z
  .object({
    dir: z.string().min(1).default('./data/logs').describe('Directory for NDJSON files, one file per record type'),
    maxBytes: z
      .number()
      .int()
      .min(1024)
      .default(100 * 1024 * 1024)
      .describe('Rotate a file when it grows past this many bytes'),
    maxAgeMs: z.number().int().min(1000).default(3_600_000).describe('Rotate a file when it is older than this (ms)'),
    fsync: z.boolean().default(true).describe('fsync each batch before acknowledging it (durable, slower)'),
  })
  .prefault({});

export type FileSinkConfig = z.infer<typeof fileSinkConfig>;
