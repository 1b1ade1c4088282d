// Config keys of tracing (composed into the one config schema in config/schema.ts). The
// standard OTEL_* variables are aliases of these keys (see ENV_ALIASES there), so the
// collector is configured the way every OpenTelemetry SDK is, yet tests can pass a value
// per app instance instead of through the process environment.
import { z } from 'zod';

const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;

export const logConfig = z
  .object({
    level: z.enum(LOG_LEVELS).default('info').describe("Level of the service's own logs"),
    pretty: z
      .enum(['auto', 'true', 'false'])
      .default('auto')
      .describe('Human-readable logs (auto: when stdout is a TTY)'),
  })
  .prefault({});

export type LogConfig = z.infer<typeof logConfig>;

export const tracingConfig = z
  .object({
    endpoint: z
      .string()
      .refine((v) => v === '' || /^https?:\/\/[^/]/.test(v), 'must be an http:// or https:// URL, or empty')
      .default('')
      .describe(
        'OTLP/HTTP base URL for traces (/v1/traces is appended); empty: tracing off, at no cost (env ' +
          'OTEL_EXPORTER_OTLP_ENDPOINT also works)',
      ),
    serviceName: z
      .string()
      .min(1)
      .default('sluice')
      .describe('service.name on exported spans (env OTEL_SERVICE_NAME also works)'),
    sampleRatio: z
      .number()
      .min(0)
      .max(1)
      .default(1)
      .describe('Fraction of new traces recorded; a request with a traceparent follows its sampled flag'),
  })
  .prefault({});

export type TracingConfig = z.infer<typeof tracingConfig>;
