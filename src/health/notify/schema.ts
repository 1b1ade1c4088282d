// Notification channels of health.notifications: one entry per destination, its provider
// (`kind`) and that provider's fields, plus routing (which checks) and the re-notify interval.
// No delivery code here, so loading config loads no HTTP or SMTP client.
import { z } from 'zod';
import { parseDuration } from '../duration.js';
import { groupSchema, tagSchema } from '../check-labels.js';

const httpUrl = z.url({ protocol: /^https?$/ });

const renotify = z.union([z.string(), z.number()]).transform((v, ctx) => {
  const ms = parseDuration(v);
  if (ms === null || ms < 1000 || ms > 30 * 86_400_000) {
    ctx.addIssue({ code: 'custom', message: 'must be a duration between 1s and 30d, e.g. "30m"' });
    return z.NEVER;
  }
  return ms;
});

const common = {
  name: z
    .string()
    .regex(
      /^[A-Za-z0-9][\w.-]{0,63}$/,
      'must be 1–64 letters, digits, "_", "." or "-", starting with a letter or digit',
    ),
  /** Check names or ids, `*` and `?` as wildcards; absent = every check that names no channel itself. */
  checks: z.array(z.string().min(1).max(200)).max(1000).optional(),
  /** Check groups; absent = any group (or none). */
  groups: z.array(groupSchema).min(1).max(100).optional(),
  /** Check tags, any of them; absent = any tags (or none). */
  tags: z.array(tagSchema).min(1).max(100).optional(),
  /** Repeat a down alert this often while the check stays down (doubling, at most 24 h apart). */
  renotifyAfter: renotify.optional(),
};

const headers = z.record(z.string(), z.string()).default({});

export const channelSchema = z.discriminatedUnion('kind', [
  z.strictObject({ ...common, kind: z.literal('webhook'), url: httpUrl, headers }),
  z.strictObject({ ...common, kind: z.literal('slack'), url: httpUrl }),
  z.strictObject({ ...common, kind: z.literal('discord'), url: httpUrl, username: z.string().max(80).optional() }),
  z.strictObject({ ...common, kind: z.literal('teams'), url: httpUrl }),
  z.strictObject({
    ...common,
    kind: z.literal('telegram'),
    botToken: z.string().regex(/^\d+:[\w-]+$/, 'must be a bot token like 123456:ABC-DEF'),
    chatId: z.union([z.string().min(1).max(100), z.number().int()]).transform(String),
    apiUrl: httpUrl.default('https://api.telegram.org'),
  }),
  z.strictObject({
    ...common,
    kind: z.literal('pagerduty'),
    routingKey: z.string().min(1).max(100),
    eventsUrl: httpUrl.default('https://events.pagerduty.com/v2/enqueue'),
    severity: z.enum(['critical', 'error', 'warning', 'info']).default('critical'),
  }),
  z.strictObject({
    ...common,
    kind: z.literal('opsgenie'),
    apiKey: z.string().min(1).max(200),
    apiUrl: httpUrl.default('https://api.opsgenie.com'),
    priority: z.enum(['P1', 'P2', 'P3', 'P4', 'P5']).default('P3'),
  }),
  z.strictObject({
    ...common,
    kind: z.literal('ntfy'),
    url: httpUrl,
    token: z.string().min(1).max(500).optional(),
    priority: z.number().int().min(1).max(5).default(4),
  }),
  z.strictObject({
    ...common,
    kind: z.literal('email'),
    host: z.string().min(1).max(253),
    port: z.number().int().min(1).max(65535).default(587),
    secure: z.boolean().default(false),
    auth: z.strictObject({ user: z.string().min(1), pass: z.string().min(1) }).optional(),
    from: z.string().min(3).max(320),
    to: z.union([
      z
        .string()
        .min(3)
        .max(320)
        .transform((s) => [s]),
      z.array(z.string().min(3).max(320)).min(1).max(50),
    ]),
  }),
]);
export type Channel = z.output<typeof channelSchema>;
export type ChannelKind = Channel['kind'];

export const channelsSchema = z
  .array(channelSchema)
  .max(100)
  .superRefine((list, ctx) => {
    const seen = new Set<string>();
    list.forEach((c, i) => {
      if (seen.has(c.name)) ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `"${c.name}" is used twice` });
      seen.add(c.name);
    });
  });

/** Fields whose values are secrets, per provider: masked by `config print` and never logged. */
const SECRET_FIELDS = ['botToken', 'routingKey', 'apiKey', 'token'] as const;

/** A channel as printed: secret fields and URL secrets replaced by `mask`. */
export function maskChannel(c: Channel, mask: (url: string) => string, stars: string): Record<string, unknown> {
  const out: Record<string, unknown> = { ...c };
  for (const f of SECRET_FIELDS) if (f in out) out[f] = stars;
  // Webhook URLs of Slack, Discord and Teams are themselves the credential: keep the origin only.
  if ('url' in c) out.url = c.kind === 'ntfy' ? mask(c.url) : originOnly(c.url, stars);
  if (c.kind === 'webhook') out.headers = Object.fromEntries(Object.keys(c.headers).map((k) => [k, stars]));
  if (c.kind === 'email' && c.auth) out.auth = { user: c.auth.user, pass: stars };
  return out;
}

function originOnly(url: string, stars: string): string {
  try {
    return `${new URL(url).origin}/${stars}`;
  } catch {
    return stars;
  }
}
