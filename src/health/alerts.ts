// Alerts on state changes: one log line each, and a POST to every configured webhook with a
// JSON body (Sluice's own shape, or Slack-compatible `{"text": …}` with template "slack").
// Deliveries run in the background, each retried with exponential backoff and full jitter
// on network errors, 408, 429 and 5xx; other 4xx answers are final.
import type { Logger } from 'pino';
import { request } from 'undici';
import { z } from 'zod';
import type { CheckStateName } from './state.js';

export const webhookSchema = z.union([
  z.url({ protocol: /^https?$/ }).transform((url) => ({ url, template: 'json' as const, headers: {} as Record<string, string> })),
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
  result: { errorClass: string | null; message: string | null; latencyMs: number | null; statusCode: number | null };
}

export interface AlerterOptions {
  webhooks: readonly Webhook[];
  retries: number;
  baseDelayMs: number;
  timeoutMs: number;
  logger: Logger;
  onDelivery?: (outcome: 'delivered' | 'failed') => void;
}

const EMOJI: Record<CheckStateName, string> = { up: ':large_green_circle:', degraded: ':large_yellow_circle:', down: ':red_circle:', unknown: ':white_circle:' };

export function alertBody(e: AlertEvent, template: Webhook['template']): unknown {
  if (template === 'json') return { event: 'check.state_changed', ...e };
  const why = e.result.message ? ` — ${e.result.message}` : '';
  const target = e.check.target ? ` (${e.check.target})` : '';
  return { text: `${EMOJI[e.to]} *${e.check.name}*${target} is ${e.to.toUpperCase()} (was ${e.from}) at ${e.at}${why}` };
}

export class Alerter {
  private readonly pending = new Set<Promise<void>>();
  private readonly ac = new AbortController();

  constructor(private readonly opts: AlerterOptions) {}

  notify(e: AlertEvent): void {
    const line = { check: e.check.id, name: e.check.name, from: e.from, to: e.to, error_class: e.result.errorClass, reason: e.result.message };
    if (e.to === 'down') this.opts.logger.warn(line, `check ${e.check.name} is down`);
    else this.opts.logger.info(line, `check ${e.check.name} is ${e.to}`);
    for (const hook of this.opts.webhooks) {
      const p = this.deliver(hook, alertBody(e, hook.template)).finally(() => this.pending.delete(p));
      this.pending.add(p);
    }
  }

  /** Waits up to `ms` for deliveries in flight, then abandons the rest. */
  async close(ms: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(this.pending), new Promise((r) => (timer = setTimeout(r, ms)))]);
    clearTimeout(timer);
    this.ac.abort(new Error('alerter closed'));
  }

  private async deliver(hook: Webhook, body: unknown): Promise<void> {
    const payload = JSON.stringify(body);
    let lastError = '';
    for (let attempt = 0; attempt <= this.opts.retries; attempt++) {
      if (attempt > 0) {
        const cap = this.opts.baseDelayMs * 2 ** (attempt - 1);
        if (!(await sleep(cap / 2 + Math.random() * (cap / 2), this.ac.signal))) break;
      }
      try {
        const res = await request(hook.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'user-agent': 'sluice-alerts/1', ...hook.headers },
          body: payload,
          signal: AbortSignal.any([this.ac.signal, AbortSignal.timeout(this.opts.timeoutMs)]),
        });
        await res.body.dump();
        if (res.statusCode < 300) {
          this.opts.onDelivery?.('delivered');
          return;
        }
        lastError = `HTTP ${res.statusCode}`;
        if (res.statusCode < 500 && res.statusCode !== 408 && res.statusCode !== 429) break;
      } catch (err) {
        lastError = (err as Error).message;
        if (this.ac.signal.aborted) break;
      }
    }
    this.opts.onDelivery?.('failed');
    this.opts.logger.error({ webhook: redact(hook.url), err: lastError }, 'alert webhook delivery failed');
  }
}

/** Webhook URLs often carry a secret in the path (Slack): log only the origin. */
function redact(url: string): string {
  try {
    return new URL(url).origin + '/…';
  } catch {
    return '(invalid url)';
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve(false);
    const t = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    const onAbort = (): void => {
      clearTimeout(t);
      resolve(false);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
