// What an alert is: the webhook entries of health.webhooks (validated by the config schema)
// and the event sent on a state change. No delivery code here, so loading config loads no HTTP client.
import { z } from 'zod';
import type { CheckStateName } from './state.js';

export const webhookSchema = z.union([
  z
    .url({ protocol: /^https?$/ })
    .transform((url) => ({ url, template: 'json' as const, headers: {} as Record<string, string> })),
  z.strictObject({
    url: z.url({ protocol: /^https?$/ }),
    template: z.enum(['json', 'slack']).default('json'),
    headers: z.record(z.string(), z.string()).default({}),
  }),
]);
export type Webhook = z.output<typeof webhookSchema>;

export interface AlertEvent {
  check: { id: string; name: string; kind: string; target: string | null };
  from: CheckStateName;
  to: CheckStateName;
  /** RFC 3339. */
  at: string;
  /** A check result: records keep their stored snake_case names everywhere (docs/ingest.md). */
  result: { error_class: string | null; message: string | null; latency_ms: number | null; status_code: number | null };
}
