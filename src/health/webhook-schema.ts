// The schema of one alert webhook in config: apart from alerts.ts so that loading config does
// not load the HTTP client that delivers alerts.
import { z } from 'zod';

export const webhookSchema = z.union([
  z.url({ protocol: /^https?$/ }).transform((url) => ({ url, template: 'json' as const, headers: {} as Record<string, string> })),
  z.strictObject({
    url: z.url({ protocol: /^https?$/ }),
    template: z.enum(['json', 'slack']).default('json'),
    headers: z.record(z.string(), z.string()).default({}),
  }),
]);
export type Webhook = z.output<typeof webhookSchema>;
