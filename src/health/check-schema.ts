// What a check is: the zod schema shared by the config file's `checks:` list and the admin
// API, the normalised Check type the rest of src/health works with, and the one function
// that turns untrusted input into a Check or a problem naming the field.
import { z } from 'zod';
import { parseDuration } from './duration.js';
import { patternProblem } from './body-match.js';
import { conditionsField, refuseCertificateWithoutTls } from './conditions/schema.js';
import { oneOf } from '../given.js';
import { groupSchema, tagsSchema } from './check-labels.js';
import { cronProblem, isTimeZone } from './cron-schedule.js';

export const CHECK_KINDS = ['http', 'tcp', 'dns', 'tls', 'push'] as const;
export type CheckKind = (typeof CHECK_KINDS)[number];

const ID = /^[A-Za-z0-9][\w.-]{0,63}$/;
const MIN_INTERVAL_MS = 100;
const MAX_INTERVAL_MS = 7 * 86_400_000;
export const DEFAULT_TIMEOUT_MS = 10_000;

function duration(min: number, max: number) {
  return z.union([z.string(), z.number()]).transform((v, ctx) => {
    const ms = parseDuration(v);
    if (ms === null) {
      ctx.addIssue({
        code: 'custom',
        message: 'must be a duration like "500ms", "10s", "5m" or a number of milliseconds',
      });
      return z.NEVER;
    }
    if (ms < min || ms > max) {
      ctx.addIssue({ code: 'custom', message: `must be between ${min} ms and ${max} ms` });
      return z.NEVER;
    }
    return ms;
  });
}

/** "200", "2xx", "200-299" or a number → the canonical "lo-hi" string. */
function statusRange(v: string | number): string | null {
  const s = String(v).trim();
  let lo: number, hi: number;
  let m: RegExpExecArray | null;
  if ((m = /^([1-5])xx$/i.exec(s))) [lo, hi] = [Number(m[1]) * 100, Number(m[1]) * 100 + 99];
  else if ((m = /^(\d{3})-(\d{3})$/.exec(s))) [lo, hi] = [Number(m[1]), Number(m[2])];
  else if (/^\d{3}$/.test(s)) lo = hi = Number(s);
  else return null;
  if (lo < 100 || hi > 599 || lo > hi) return null;
  return `${lo}-${hi}`;
}

const expectedStatus = z
  .union([
    z.string(),
    z.number(),
    z
      .array(z.union([z.string(), z.number()]))
      .min(1)
      .max(20),
  ])
  .transform((v, ctx) => {
    const out: string[] = [];
    for (const item of Array.isArray(v) ? v : [v]) {
      const r = statusRange(item);
      if (r === null) {
        ctx.addIssue({
          code: 'custom',
          message: `${JSON.stringify(item)} is not a status code, "2xx" class or "200-299" range`,
        });
        return z.NEVER;
      }
      out.push(r);
    }
    return out;
  });

// Patterns are RE2 syntax (no backreferences or lookaround), matched in linear time off the
// event loop (body-match.ts), so no pattern can stall the process.
const regex = z
  .string()
  .min(1)
  .max(1000)
  .superRefine((s, ctx) => {
    const problem = patternProblem(s);
    if (problem !== null)
      ctx.addIssue({ code: 'custom', message: `must be a valid RE2 regular expression: ${problem}` });
  });

const hostname = z
  .string()
  .min(1)
  .max(253)
  .regex(/^[^\s/]+$/, 'must be a host name or address, without scheme or path');
const port = z.number().int().min(1).max(65535);

const common = {
  id: z.string().regex(ID, 'must be 1–64 letters, digits, "_", "." or "-", starting with a letter or digit').optional(),
  name: z.string().min(1).max(200),
  interval: duration(MIN_INTERVAL_MS, MAX_INTERVAL_MS).default(60_000),
  timeout: duration(1, 5 * 60_000).optional(),
  failureThreshold: z.number().int().min(1).max(100).default(2),
  successThreshold: z.number().int().min(1).max(100).default(1),
  enabled: z.boolean().default(true),
  /** Names of health.notifications channels; when present, the check alerts to these only. */
  notify: z.array(z.string().min(1).max(64)).max(50).optional(),
  /** For filters, the status page, alert routing and maintenance windows (check-labels.ts). */
  group: groupSchema.optional(),
  tags: tagsSchema.optional(),
};

// Header names and values the HTTP client would refuse are refused here, with the field named,
// rather than failing every run (undici also leaks a pool slot per request it refuses, so
// such a check would in time starve every other check of the same host).
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const PROBE_OWNED_HEADERS = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'upgrade',
  'transfer-encoding',
  'te',
  'trailer',
  'expect',
  'content-length',
]);
const headerName = z
  .string()
  .min(1)
  .max(256)
  .regex(TOKEN, "must be an HTTP header name: letters, digits and !#$%&'*+-.^_`|~")
  .refine(
    (h) => !PROBE_OWNED_HEADERS.has(h.toLowerCase()),
    'is set by the probe itself (connection handling and body framing)',
  );
const headerValue = z
  .string()
  .max(8192)
  .regex(/^[^\r\n\0]*$/, 'must not contain CR, LF or NUL');

const httpCheck = z
  .strictObject({
    ...common,
    kind: z.literal('http'),
    url: z
      .string()
      .max(2048)
      .refine((s) => URL.canParse(s) && /^https?:$/.test(new URL(s).protocol), 'must be an http:// or https:// URL'),
    method: z.enum(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']).default('GET'),
    headers: z.record(headerName, headerValue).default({}),
    body: z
      .string()
      .max(1024 * 1024)
      .optional(),
    expectedStatus: expectedStatus.default(['200-299']),
    bodyContains: z.string().min(1).max(1000).optional(),
    bodyRegex: regex.optional(),
    maxLatency: duration(1, 5 * 60_000).optional(),
    followRedirects: z.boolean().default(true),
    verifyTls: z.boolean().default(true),
    conditions: conditionsField('http'),
    degradedConditions: conditionsField('http'),
  })
  .superRefine((c, ctx) => {
    if (c.body !== undefined && (c.method === 'GET' || c.method === 'HEAD')) {
      ctx.addIssue({
        code: 'custom',
        path: ['body'],
        message: `a ${c.method} request has no body: use POST, PUT or PATCH`,
      });
    }
    refuseCertificateWithoutTls(c, ctx);
  });

const tcpCheck = z.strictObject({
  ...common,
  kind: z.literal('tcp'),
  host: hostname,
  port,
  conditions: conditionsField('tcp'),
  degradedConditions: conditionsField('tcp'),
});

const dnsCheck = z.strictObject({
  ...common,
  kind: z.literal('dns'),
  hostname,
  /** When given, at least one resolved address must be one of these. */
  expect: z.array(z.string().min(1).max(64)).min(1).max(50).optional(),
  conditions: conditionsField('dns'),
  degradedConditions: conditionsField('dns'),
});

const tlsCheck = z.strictObject({
  ...common,
  kind: z.literal('tls'),
  host: hostname,
  port: port.default(443),
  servername: z.string().min(1).max(253).optional(),
  minDaysLeft: z.number().min(0).max(3650).default(14),
  verifyTls: z.boolean().default(true),
  conditions: conditionsField('tls'),
  degradedConditions: conditionsField('tls'),
});

const pushCheck = z
  .strictObject({
    ...common,
    kind: z.literal('push'),
    /** The `service` of the POST /health pings this check listens for (default: the name). */
    service: z.string().min(1).max(256).optional(),
    grace: duration(0, MAX_INTERVAL_MS).default(60_000),
    /** Instead of an interval: when the job runs (5-field cron), in `timezone` (IANA, default UTC). */
    cron: z.string().min(1).max(200).optional(),
    timezone: z.string().min(1).max(100).optional(),
  })
  .superRefine((c, ctx) => {
    if (c.timezone !== undefined && !isTimeZone(c.timezone))
      ctx.addIssue({
        code: 'custom',
        path: ['timezone'],
        message: 'must be an IANA time zone like "Europe/Berlin" or "UTC"',
      });
    else if (c.timezone !== undefined && c.cron === undefined)
      ctx.addIssue({ code: 'custom', path: ['timezone'], message: 'applies to cron only: set cron too' });
    const problem = c.cron === undefined ? null : cronProblem(c.cron, c.timezone ?? 'UTC');
    if (problem !== null) ctx.addIssue({ code: 'custom', path: ['cron'], message: problem });
  });

/** The input form: durations as strings or ms, most fields optional. */
export const checkInputSchema = z.discriminatedUnion('kind', [httpCheck, tcpCheck, dnsCheck, tlsCheck, pushCheck]);

type Parsed = z.output<typeof checkInputSchema>;
type Normalise<T> = T extends { kind: 'push' }
  ? Omit<T, 'timeout' | 'service'> & { timeout: number; service: string }
  : Omit<T, 'timeout'> & { timeout: number };

/** A definition after validation: durations in ms, defaults applied; `id` may still be absent. */
export type CheckDefinition = Normalise<Parsed>;
export type HttpCheck = Extract<CheckDefinition, { kind: 'http' }>;
export type TcpCheck = Extract<CheckDefinition, { kind: 'tcp' }>;
export type DnsCheck = Extract<CheckDefinition, { kind: 'dns' }>;
export type TlsCheck = Extract<CheckDefinition, { kind: 'tls' }>;
export type PushCheck = Extract<CheckDefinition, { kind: 'push' }>;

/** A registered check: a definition with its id and where it came from. */
export type Check = CheckDefinition & {
  id: string;
  source: 'config' | 'api';
  createdAt: string;
  updatedAt: string;
};

export interface CheckProblem {
  field: string;
  message: string;
}

export type CheckParse = { ok: true; check: CheckDefinition } | { ok: false; problems: CheckProblem[] };

/** Validates untrusted input; never throws. */
export function parseCheck(input: unknown): CheckParse {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    return { ok: false, problems: [{ field: '(body)', message: 'a check must be a JSON object' }] };
  }
  const kind = (input as { kind?: unknown }).kind;
  if (typeof kind !== 'string' || !(CHECK_KINDS as readonly string[]).includes(kind)) {
    return { ok: false, problems: [{ field: 'kind', message: oneOf(kind, CHECK_KINDS) }] };
  }
  const r = checkInputSchema.safeParse(input);
  if (!r.success) return { ok: false, problems: r.error.issues.map(describeIssue) };
  const c = r.data;
  const timeout = c.timeout ?? Math.min(DEFAULT_TIMEOUT_MS, c.interval);
  if (timeout > c.interval)
    return {
      ok: false,
      problems: [{ field: 'timeout', message: `must not be longer than interval (${c.interval} ms)` }],
    };
  if (c.kind === 'push') return pushDefinition(c, input as Record<string, unknown>, timeout);
  return { ok: true, check: { ...c, timeout } };
}

type ParsedPush = Extract<Parsed, { kind: 'push' }>;

/**
 * A cron push check expects a ping per run, not per interval: an interval beside it is refused,
 * and one missed run is down at once (failureThreshold 1) unless the check says otherwise.
 */
function pushDefinition(c: ParsedPush, input: Record<string, unknown>, timeout: number): CheckParse {
  if (c.cron === undefined) return { ok: true, check: { ...c, timeout, service: c.service ?? c.name } };
  if (input.interval !== undefined)
    return {
      ok: false,
      problems: [{ field: 'interval', message: 'a push check has an interval or a cron, not both' }],
    };
  const failureThreshold = input.failureThreshold === undefined ? 1 : c.failureThreshold;
  return {
    ok: true,
    check: { ...c, timeout, failureThreshold, timezone: c.timezone ?? 'UTC', service: c.service ?? c.name },
  };
}

function describeIssue(issue: z.core.$ZodIssue): CheckProblem {
  const field = issue.path.length > 0 ? issue.path.map(String).join('.') : '(body)';
  if (issue.code === 'unrecognized_keys')
    return { field: issue.keys.join(', '), message: 'unknown field for this kind of check' };
  return { field, message: issue.message.replace(/^Invalid input: /, '') };
}

/** A stable id for a config-file check without one: its name, slugged. */
export function idFromName(name: string): string {
  const slug = name
    .toLowerCase()
    .replace(/[^a-z0-9_.-]+/g, '-')
    .replace(/^[^a-z0-9]+/, '')
    .slice(0, 64);
  return slug === '' ? 'check' : slug;
}

/** The host a check's probes go to, for per-host concurrency limits; null for push checks. */
export function hostKey(c: CheckDefinition): string | null {
  switch (c.kind) {
    case 'http': {
      const u = new URL(c.url);
      return `${u.hostname}:${u.port || (u.protocol === 'https:' ? '443' : '80')}`;
    }
    case 'tcp':
    case 'tls':
      return `${c.host}:${c.port}`;
    case 'dns':
      return 'dns-resolver';
    case 'push':
      return null;
  }
}

/** The list under `checks:` in the config file: validated at load, ids derived from names. */
export const configChecksSchema = z
  .array(z.unknown())
  .default([])
  .superRefine((list, ctx) => {
    const seen = new Set<string>();
    list.forEach((item, i) => {
      const r = parseCheck(item);
      if (!r.ok) {
        for (const p of r.problems)
          ctx.addIssue({ code: 'custom', path: [i, p.field], message: `${p.field}: ${p.message}` });
        return;
      }
      const id = r.check.id ?? idFromName(r.check.name);
      if (seen.has(id)) ctx.addIssue({ code: 'custom', path: [i, 'id'], message: `id "${id}" is used by two checks` });
      seen.add(id);
    });
  })
  .describe('Health checks to run: a list of check objects, usually in the config file (see docs/health.md)');

export type ConfigChecks = z.output<typeof configChecksSchema>;
