// Config keys of the health checker (composed into the one config schema in config/schema.ts).
// The checks themselves are the top-level `checks:` list (see check-schema.ts).
import { z } from 'zod';
import { webhookSchema } from './alert-schema.js';
import { channelsSchema } from './notify/schema.js';
import { parseRule } from './target-match.js';
import { configMaintenanceSchema } from './maintenance.js';

const HTTP_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;

const targetRules = z
  .array(z.string().max(300))
  .max(10_000)
  .superRefine((list, ctx) => {
    list.forEach((text, i) => {
      const r = parseRule(text);
      if (typeof r === 'string') ctx.addIssue({ code: 'custom', path: [i], message: `"${text}" ${r}` });
    });
  });

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
    notifications: channelsSchema
      .default([])
      .describe(
        'Notification channels: a list of {name, kind (webhook, slack, discord, teams, telegram, pagerduty, opsgenie, ntfy, email), provider fields, checks, renotifyAfter} (docs/health.md)',
      ),
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
    denyTargets: targetRules
      .default([])
      .describe(
        'Targets checks may not reach, besides the built-in list (link-local, cloud metadata, 0.0.0.0, the collector itself): CIDRs, addresses or host patterns (*.internal), each with an optional :port',
      ),
    allowTargets: targetRules
      .default([])
      .describe(
        'Exceptions to the deny rules: an address rule here lifts address deny rules, a name rule lifts name deny rules (never the collector itself)',
      ),
    minIntervalMs: z
      .number()
      .int()
      .min(100)
      .max(86_400_000)
      .default(1000)
      .describe('Shortest interval a check may ask for; a check asking less is refused (400)'),
    maxProbesPerSecond: z
      .number()
      .min(0)
      .default(500)
      .describe(
        'Probe runs started per second over all checks (token bucket); runs over it wait their turn; 0 = no cap',
      ),
    maxProbesPerSecondPerHost: z
      .number()
      .min(0)
      .default(50)
      .describe('Probe runs started per second against one host:port (token bucket); runs over it wait; 0 = no cap'),
    allowMethods: z
      .array(
        z.string().regex(new RegExp(`^(${HTTP_METHODS.join('|')})$`, 'i'), `must be one of ${HTTP_METHODS.join(', ')}`),
      )
      .min(1)
      .default(['GET', 'HEAD'])
      .describe('HTTP methods http checks may use; others (and so request bodies) are refused (400)'),
    maintenance: configMaintenanceSchema
      .default([])
      .describe(
        'Maintenance windows: a list of {id, checks, groups, start + end (one-off) or cron + duration + timezone (recurring)}; results inside one are recorded as maintenance, alert nothing and leave uptime alone (docs/health.md)',
      ),
    allowHostHeader: z
      .boolean()
      .default(false)
      .describe('Whether http checks may set their own Host header (a virtual-host override)'),
  })
  .prefault({});

export type HealthConfig = z.infer<typeof healthConfig>;
