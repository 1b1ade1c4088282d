// Config keys of the health checker (composed into the one config schema in config/schema.ts).
// The checks themselves are the top-level `checks:` list (see check-schema.ts).
import { z } from 'zod';
import { webhookSchema } from './alert-schema.js';

export const healthConfig = z
  .object({
    concurrency: z.number().int().min(1).max(10_000).default(256).describe('Probes running at once, across all checks'),
    perHostConcurrency: z
      .number()
      .int()
      .min(1)
      .max(1000)
      .default(16)
      .describe('Probes running at once against one host:port (also its keep-alive connections)'),
    maxChecks: z
      .number()
      .int()
      .min(1)
      .max(1_000_000)
      .default(20_000)
      .describe('Most checks that may be registered (config file + admin API)'),
    dataDir: z
      .string()
      .min(1)
      .default('./data/health')
      .describe('Where API-registered checks and check states are kept when the sink is not postgres'),
    historySize: z
      .number()
      .int()
      .min(1)
      .max(100_000)
      .default(1000)
      .describe('Results kept in memory per check for history/uptime when the sink is not postgres'),
    webhooks: z
      .array(webhookSchema)
      .default([])
      .describe('Alert webhooks: a list of URLs or of {url, template (json or slack), headers}'),
    webhookRetries: z.number().int().min(0).max(20).default(5).describe('Retries of a failed alert delivery'),
    webhookBaseDelayMs: z
      .number()
      .int()
      .min(1)
      .default(1000)
      .describe('First retry delay of an alert delivery; doubles each retry'),
    webhookTimeoutMs: z.number().int().min(100).default(5000).describe('Timeout of one alert delivery attempt'),
    webhookConcurrency: z
      .number()
      .int()
      .min(1)
      .max(256)
      .default(8)
      .describe('Alert requests in flight at once per webhook (one per check at a time, in order)'),
    webhookMaxQueued: z
      .number()
      .int()
      .min(1)
      .default(10_000)
      .describe(
        'Alert events waiting to be sent, over all webhooks; past it the oldest is dropped (counted in sluice_alerts_discarded_total)',
      ),
  })
  .prefault({});

export type HealthConfig = z.infer<typeof healthConfig>;
