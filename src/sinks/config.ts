// Config key choosing the sink (composed into the one config schema in config/schema.ts; each
// sink's own keys are in its folder).
import { z } from 'zod';

export const SINK_KINDS = ['postgres', 'file', 'stdout', 'blackhole', 'nats', 'redis'] as const;

export const sinkConfig = z
  .object({
    kind: z.enum(SINK_KINDS).default('postgres').describe('Where batches are written'),
  })
  .prefault({});

export type SinkConfig = z.infer<typeof sinkConfig>;
