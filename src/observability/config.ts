// Config keys of tracing (composed into the one config schema in config/schema.ts). The
// standard OTEL_* variables are aliases of these keys (see ENV_ALIASES there), so the
// collector is configured the way every OpenTelemetry SDK is, yet tests can pass a value
// per app instance instead of through the process environment.
import { z } from 'zod';

export const tracingConfig = z
  .object({
    endpoint: z
      .string()
      .refine((v) => v === '' || /^https?:\/\/[^/]/.test(v), 'must be an http:// or https:// URL, or empty')
      .default('')
      .describe('OTLP/HTTP base URL for traces (/v1/traces is appended); empty: tracing off, at no cost (env OTEL_EXPORTER_OTLP_ENDPOINT also works)'),
    serviceName: z.string().min(1).default('sluice').describe('service.name on exported spans (env OTEL_SERVICE_NAME also works)'),
    sampleRatio: z
      .number()
      .min(0)
      .max(1)
      .default(1)
      .describe('Fraction of new traces recorded; a request with a traceparent follows its sampled flag'),
  })
  .prefault({});

export type TracingConfig = z.infer<typeof tracingConfig>;
