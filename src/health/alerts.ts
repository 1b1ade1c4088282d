// Alert delivery on state changes: one log line each, and a request (or mail) to every
// notification channel the check is routed to (notify/route.ts), rendered by its provider
// (notify/render.ts); reminders repeat while a check stays down when the channel asks for them.
// Deliveries run in the background, each retried with exponential backoff and full jitter
// on network errors, 408, 429 and 5xx; other 4xx answers are final. Per (webhook, check) one
// delivery is under way at a time, so a retried `down` can never land after the later `up`;
// an event not yet sent is replaced by a newer one for the same check (receivers want the
// latest state, not the history). Requests per webhook and events waiting are both capped,
// so a dead webhook during a storm of changes costs bounded memory, sockets and timers.
import type { Logger } from 'pino';
import { Agent, request } from 'undici';
import type { AlertEvent, Webhook } from './alert-schema.js';
import { createMailer, isPermanentMailError, type Mailer } from './notify/email.js';
import type { Outgoing } from './notify/message.js';
import { render } from './notify/render.js';
import { channelMatcher, type Matcher, type RouteInfo } from './notify/route.js';
import type { Channel } from './notify/schema.js';
import { fullJitterDelay } from '../pipeline/backoff.js';
import { withTimeout } from '../timeout.js';

/** Retry delays double from baseDelayMs up to this. */
const MAX_RETRY_DELAY_MS = 60_000;

/** Reminders double their spacing up to this (or the channel's renotifyAfter, if longer). */
const MAX_RENOTIFY_MS = 24 * 3_600_000;

/** Why an event was never sent: superseded by a newer one for its check, over the queue cap, or still queued at stop. */
export type DiscardReason = 'replaced' | 'dropped' | 'abandoned';

export interface AlerterOptions {
  /** health.webhooks: each becomes a channel of kind webhook or slack that hears every check. */
  webhooks?: readonly Webhook[];
  /** health.notifications. */
  channels?: readonly Channel[];
  retries: number;
  baseDelayMs: number;
  /** Largest retry delay (default 60 s): a retry never waits longer, however many came before. */
  maxDelayMs?: number;
  timeoutMs: number;
  logger: Logger;
  /** Requests in flight to one webhook at most (default 8). */
  maxInFlightPerWebhook?: number;
  /** Events waiting to be sent, over all webhooks (default 10,000); past it the oldest is dropped. */
  maxQueued?: number;
  onDelivery?: (outcome: 'delivered' | 'failed') => void;
  onDiscard?: (reason: DiscardReason, count: number) => void;
}

export interface AlerterStats {
  /** Events not yet attempted. */
  queued: number;
  /** Requests under way, over all webhooks. */
  inFlight: number;
  /** (webhook, check) pairs with a delivery under way or waiting. */
  lanes: number;
  replaced: number;
  dropped: number;
}

// One warning per window at most: a storm drops events by the thousand.
const DROP_WARN_INTERVAL_MS = 10_000;

interface Delivery {
  lane: Lane;
  payload: Outgoing;
  /** Attempts made so far. */
  attempts: number;
  lastError: string;
}

/** The deliveries of one check to one webhook: `current` is under way (or waiting for a request slot), `next` is the newest event after it. */
interface Lane {
  hook: HookState;
  check: string;
  current: Delivery | undefined;
  next: Delivery | undefined;
  retryTimer: NodeJS.Timeout | undefined;
}

interface HookState {
  hook: Channel;
  /** For logs: kind and name, never the URL (Slack, Discord and Teams URLs are credentials). */
  label: string;
  matches: Matcher;
  mailer: Mailer | undefined;
  lanes: Map<string, Lane>;
  /** Lanes whose current delivery waits for a request slot, oldest first (a Set: O(1) removal on drop). */
  ready: Set<Lane>;
  inFlight: number;
}

type AttemptResult = 'delivered' | 'retry' | 'final';

export class Alerter {
  private readonly hooks: HookState[];
  /** Deliveries not yet attempted, oldest first: what the queue cap counts and drops from. */
  private readonly unsent = new Set<Delivery>();
  private readonly attempts = new Set<Promise<void>>();
  private readonly ac = new AbortController();
  private readonly agent: Agent;
  private readonly maxInFlight: number;
  private readonly maxQueued: number;
  private idleWaiters: Array<() => void> = [];
  private stopping: Promise<void> | undefined;
  private replaced = 0;
  private dropped = 0;
  private droppedUnlogged = 0;
  private lastDropWarn = 0;
  /** Reminder timers per (channel, check) of checks that are down. */
  private readonly reminders = new Map<HookState, Map<string, NodeJS.Timeout>>();

  constructor(private readonly opts: AlerterOptions) {
    this.maxInFlight = Math.max(1, opts.maxInFlightPerWebhook ?? 8);
    this.maxQueued = Math.max(1, opts.maxQueued ?? 10_000);
    const channels = [...webhookChannels(opts.webhooks ?? []), ...(opts.channels ?? [])];
    this.hooks = channels.map((hook) => ({
      hook,
      label: `${hook.kind}:${hook.name}`,
      matches: channelMatcher(hook),
      mailer: hook.kind === 'email' ? createMailer(hook, opts.timeoutMs) : undefined,
      lanes: new Map(),
      ready: new Set(),
      inFlight: 0,
    }));
    // Our own pool, so stop() can close its sockets and the connection cap holds even if
    // two webhooks share an origin.
    this.agent = new Agent({ connections: this.maxInFlight });
  }

  /** A state change of a check; `route` carries what routing reads of it (its own channel list, group, tags). */
  notify(e: AlertEvent, route: Pick<RouteInfo, 'notify' | 'group' | 'tags'> = {}): void {
    const line = {
      check: e.check.id,
      name: e.check.name,
      from: e.from,
      to: e.to,
      error_class: e.result.error_class,
      reason: e.result.message,
    };
    if (e.to === 'down') this.opts.logger.warn(line, `check ${e.check.name} is down`);
    else this.opts.logger.info(line, `check ${e.check.name} is ${e.to}`);
    if (this.stopping) return;
    this.forget(e.check.id);
    const info: RouteInfo = { ...route, id: e.check.id, name: e.check.name };
    const to = this.hooks.filter((h) => h.matches(info));
    for (const h of to) {
      this.enqueue(h, e.check.id, render(h.hook, { event: e, reminder: 0 }));
      const every = h.hook.renotifyAfter;
      if (every !== undefined && (e.to === 'down' || e.to === 'degraded')) this.remind(h, e, 1, every);
    }
    this.enforceCap();
    for (const h of to) this.pump(h);
  }

  /** Stops the reminders of a check (it recovered, changed, or was deleted). */
  forget(checkId: string): void {
    for (const timers of this.reminders.values()) {
      clearTimeout(timers.get(checkId));
      timers.delete(checkId);
    }
  }

  private remind(h: HookState, e: AlertEvent, n: number, delayMs: number): void {
    let timers = this.reminders.get(h);
    if (!timers) this.reminders.set(h, (timers = new Map()));
    const t = setTimeout(() => {
      timers.delete(e.check.id);
      if (this.stopping) return;
      this.enqueue(h, e.check.id, render(h.hook, { event: e, reminder: n }));
      this.enforceCap();
      this.pump(h);
      const cap = Math.max(MAX_RENOTIFY_MS, h.hook.renotifyAfter ?? 0);
      this.remind(h, e, n + 1, Math.min(delayMs * 2, cap));
    }, delayMs);
    // Reminders alone never keep the process alive.
    t.unref();
    timers.set(e.check.id, t);
  }

  stats(): AlerterStats {
    let inFlight = 0;
    let lanes = 0;
    for (const h of this.hooks) {
      inFlight += h.inFlight;
      lanes += h.lanes.size;
    }
    return { queued: this.unsent.size, inFlight, lanes, replaced: this.replaced, dropped: this.dropped };
  }

  /** Waits up to `ms` for the queue to drain (retries included), then stops. */
  async close(ms: number): Promise<void> {
    if (!this.stopping && this.busy()) {
      await withTimeout(new Promise<void>((r) => this.idleWaiters.push(r)), ms, () => undefined);
    }
    await this.stop();
  }

  /** Cancels everything at once: queued events, backoff timers, requests; closes the sockets. */
  stop(): Promise<void> {
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  private async shutdown(): Promise<void> {
    this.ac.abort(new Error('alerter closed'));
    for (const timers of this.reminders.values()) for (const t of timers.values()) clearTimeout(t);
    this.reminders.clear();
    const abandoned = this.clearLanes();
    if (abandoned > 0) {
      this.opts.onDiscard?.('abandoned', abandoned);
      this.opts.logger.warn({ abandoned }, 'alerter stopped with alerts not yet delivered');
    }
    this.warnDropped(true);
    await Promise.allSettled([...this.attempts]);
    await this.agent.destroy();
    for (const h of this.hooks) h.mailer?.close();
    this.wakeIdle();
  }

  /** Counts the deliveries it throws away: those never attempted and those between retries. */
  private clearLanes(): number {
    let n = this.unsent.size;
    for (const h of this.hooks) {
      for (const lane of h.lanes.values()) {
        clearTimeout(lane.retryTimer);
        if (lane.current && !this.unsent.has(lane.current)) n++;
      }
      h.lanes.clear();
      h.ready.clear();
    }
    this.unsent.clear();
    return n;
  }

  private enqueue(h: HookState, check: string, payload: Outgoing): void {
    let lane = h.lanes.get(check);
    if (!lane) {
      lane = { hook: h, check, current: undefined, next: undefined, retryTimer: undefined };
      h.lanes.set(check, lane);
    }
    const d: Delivery = { lane, payload, attempts: 0, lastError: '' };
    this.unsent.add(d);
    if (!lane.current) {
      lane.current = d;
      h.ready.add(lane);
    } else if (this.unsent.has(lane.current)) {
      // Still waiting for a slot: take its place (and its turn in the line).
      this.supersede(lane.current);
      lane.current = d;
    } else {
      if (lane.next) this.supersede(lane.next);
      lane.next = d;
    }
  }

  private supersede(old: Delivery): void {
    this.unsent.delete(old);
    this.replaced++;
    this.opts.onDiscard?.('replaced', 1);
    this.opts.logger.debug(
      { check: old.lane.check, channel: old.lane.hook.label, replaced: this.replaced },
      'queued alert replaced by a newer one for the same check',
    );
  }

  private enforceCap(): void {
    let n = 0;
    for (const d of this.unsent) {
      if (this.unsent.size <= this.maxQueued) break;
      this.drop(d);
      n++;
    }
    if (n === 0) return;
    this.dropped += n;
    this.droppedUnlogged += n;
    this.opts.onDiscard?.('dropped', n);
    this.warnDropped(false);
  }

  private drop(d: Delivery): void {
    this.unsent.delete(d);
    const lane = d.lane;
    if (lane.next === d) lane.next = undefined;
    else if (lane.current === d) {
      // Never attempted, so nothing comes after it: the lane is empty.
      lane.hook.ready.delete(lane);
      lane.hook.lanes.delete(lane.check);
    }
  }

  private warnDropped(force: boolean): void {
    const now = Date.now();
    if (this.droppedUnlogged === 0 || (!force && now - this.lastDropWarn < DROP_WARN_INTERVAL_MS)) return;
    this.opts.logger.warn(
      { dropped: this.droppedUnlogged, total: this.dropped, maxQueued: this.maxQueued },
      'alert queue full: oldest alerts dropped',
    );
    this.droppedUnlogged = 0;
    this.lastDropWarn = now;
  }

  /** Starts attempts while the webhook has free request slots. */
  private pump(h: HookState): void {
    while (h.inFlight < this.maxInFlight && !this.stopping) {
      const lane = h.ready.values().next().value;
      if (!lane) return;
      h.ready.delete(lane);
      const d = lane.current;
      if (!d) continue;
      this.unsent.delete(d);
      h.inFlight++;
      const p = this.attempt(h, d)
        .then((r) => this.settle(d, r))
        .finally(() => {
          this.attempts.delete(p);
          h.inFlight--;
          this.pump(h);
          if (!this.busy()) this.wakeIdle();
        });
      this.attempts.add(p);
    }
  }

  private settle(d: Delivery, r: AttemptResult): void {
    if (this.stopping) return;
    const lane = d.lane;
    if (r === 'retry' && d.attempts <= this.opts.retries) {
      lane.retryTimer = setTimeout(
        () => {
          lane.retryTimer = undefined;
          lane.hook.ready.add(lane);
          this.pump(lane.hook);
        },
        fullJitterDelay(d.attempts, this.opts.baseDelayMs, this.opts.maxDelayMs ?? MAX_RETRY_DELAY_MS),
      );
      return;
    }
    if (r === 'delivered') this.opts.onDelivery?.('delivered');
    else {
      this.opts.onDelivery?.('failed');
      this.opts.logger.error(
        { channel: lane.hook.label, check: lane.check, attempts: d.attempts, err: d.lastError },
        'alert delivery failed',
      );
    }
    this.advance(lane);
  }

  /** The lane's delivery is done: its newest waiting event, if any, goes to the back of the line. */
  private advance(lane: Lane): void {
    lane.current = lane.next;
    lane.next = undefined;
    if (lane.current) lane.hook.ready.add(lane);
    else lane.hook.lanes.delete(lane.check);
  }

  private async attempt(h: HookState, d: Delivery): Promise<AttemptResult> {
    d.attempts++;
    const out = d.payload;
    if (out.kind === 'mail') return this.mail(h, d, out);
    try {
      const res = await request(out.url, {
        method: out.method,
        dispatcher: this.agent,
        headers: { 'user-agent': 'sluice-alerts/1', ...out.headers },
        body: out.body,
        signal: AbortSignal.any([this.ac.signal, AbortSignal.timeout(this.opts.timeoutMs)]),
      });
      await res.body.dump();
      if (res.statusCode < 300) return 'delivered';
      d.lastError = `HTTP ${res.statusCode}`;
      return res.statusCode >= 500 || res.statusCode === 408 || res.statusCode === 429 ? 'retry' : 'final';
    } catch (err) {
      d.lastError = (err as Error).message;
      return this.ac.signal.aborted ? 'final' : 'retry';
    }
  }

  private async mail(h: HookState, d: Delivery, out: Extract<Outgoing, { kind: 'mail' }>): Promise<AttemptResult> {
    try {
      // nodemailer's own timeouts are per step (connect, greeting, socket): bound the whole send too.
      await withTimeout(h.mailer!.send(out.subject, out.text), 2 * this.opts.timeoutMs, () => {
        throw new Error(`SMTP send timed out after ${2 * this.opts.timeoutMs} ms`);
      });
      return 'delivered';
    } catch (err) {
      d.lastError = (err as Error).message;
      return this.ac.signal.aborted || isPermanentMailError(err) ? 'final' : 'retry';
    }
  }

  private busy(): boolean {
    return this.hooks.some((h) => h.lanes.size > 0 || h.inFlight > 0);
  }

  private wakeIdle(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }
}

/** health.webhooks as channels: a URL or {url, template, headers}, named webhook-1, webhook-2, … */
export function webhookChannels(webhooks: readonly Webhook[]): Channel[] {
  return webhooks.map((w, i): Channel => {
    const name = `webhook-${i + 1}`;
    return w.template === 'slack'
      ? { name, kind: 'slack', url: w.url }
      : { name, kind: 'webhook', url: w.url, headers: w.headers };
  });
}
