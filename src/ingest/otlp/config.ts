// Config keys of the OTLP receivers (composed into the one config schema in config/schema.ts).
// OTLP/HTTP needs none: POST /v1/logs is served on the main HTTP port, under ingest.* limits.
import { z } from 'zod';

export const otlpConfig = z
  .object({
    // Off by default: every OTLP exporter has to be pointed at Sluice anyway, and binding 4317
    // unasked would collide with an OpenTelemetry Collector on the same host (docs/ingest.md).
    grpcPort: z
      .number()
      .int()
      .min(0)
      .max(65535)
      .default(0)
      .describe('Port of the OTLP/gRPC logs receiver (LogsService/Export); 0 = off, 4317 is the conventional port'),
    grpcHost: z
      .string()
      .default('')
      .describe('Address the OTLP/gRPC receiver listens on; empty = the same as server.host'),
  })
  .prefault({});

export type OtlpConfig = z.infer<typeof otlpConfig>;
