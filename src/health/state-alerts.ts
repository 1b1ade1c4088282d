// After each result of a check: its state machine moves, a change is persisted and alerted,
// and a push check's mark (when the file store keeps it) is saved. Writes of one check id run
// in order, so the newest state lands last.
import type { Logger } from 'pino';
import type { AlertEvent } from './alert-schema.js';
import type { Alerter } from './alerts.js';
import type { CheckDefinition } from './check-schema.js';
import { lastPingOf } from './push-monitor.js';
import type { Outcome } from './results.js';
import type { RegisteredCheck } from './registry.js';
import { applyResult, stateValue } from './state.js';
import type { CheckStore, StoredState } from './store.js';

export interface StateAlertsOptions {
  alerter: Alerter;
  logger: Logger;
  /** The store in use (known once health started). */
  store: () => CheckStore;
  /** Sees every state change, alerted or not. */
  onTransition?: (event: AlertEvent) => void;
}

export class StateAlerts {
  /** The last state write per check id. */
  private readonly writes = new Map<string, Promise<void>>();

  constructor(private readonly opts: StateAlertsOptions) {}

  /**
   * A result of `e` at `atMs`: saves the push mark, moves the state, persists and alerts a change.
   * `held` (a maintenance window covers the check): the state does not move, so nothing is
   * alerted now or later for this result; the first result after the window compares with the
   * state from before it.
   */
  onResult(e: RegisteredCheck, o: Outcome, atMs: number, held = false): void {
    const c = e.check;
    if (c.kind === 'push') this.savePushMark(e, o, atMs);
    if (held) return;
    const tr = applyResult(e.state, o.status, c, atMs);
    if (!tr) return;
    e.up.set(stateValue(tr.to));
    if (!e.deleting) this.saveState(c.id, { state: tr.to, since: tr.at });
    const event: AlertEvent = {
      check: { id: c.id, name: c.name, kind: c.kind, target: targetOf(c) },
      from: tr.from,
      to: tr.to,
      at: new Date(tr.at).toISOString(),
      result: {
        error_class: o.errorClass,
        message: o.message,
        latency_ms: o.latencyMs,
        status_code: o.statusCode ?? null,
      },
    };
    this.opts.onTransition?.(event);
    // A check seen up for the first time is news to nobody; everything else is alerted.
    if (tr.from === 'unknown' && tr.to === 'up') this.opts.logger.debug({ check: c.id }, `check ${c.name} is up`);
    else this.opts.alerter.notify(event, { notify: c.notify, group: c.group, tags: c.tags });
  }

  /** Resolves when the writes of `id` under way have landed (before deleting its row). */
  async settled(id: string): Promise<void> {
    await this.writes.get(id);
  }

  /** Resolves when every write under way has landed. */
  async flush(): Promise<void> {
    await Promise.allSettled([...this.writes.values()]);
  }

  private savePushMark(e: RegisteredCheck, o: Outcome, atMs: number): void {
    const store = this.opts.store();
    if (!store.savePush || e.deleting) return;
    const lastPingAt = lastPingOf(o.errorClass, atMs, o.details);
    this.write(e.check.id, () => store.savePush!(e.check.id, { lastResultAt: atMs, lastPingAt }));
  }

  private saveState(id: string, s: StoredState): void {
    const store = this.opts.store();
    this.write(id, () => store.saveState(id, s));
  }

  /** Chained per id: two quick transitions on two pool connections could land oldest last. */
  private write(id: string, write: () => Promise<void>): void {
    const p = (this.writes.get(id) ?? Promise.resolve())
      .then(write)
      .catch((err: unknown) =>
        this.opts.logger.warn({ check: id, err: (err as Error).message }, 'could not persist check state'),
      )
      .finally(() => {
        if (this.writes.get(id) === p) this.writes.delete(id);
      });
    this.writes.set(id, p);
  }
}

function targetOf(c: CheckDefinition): string | null {
  switch (c.kind) {
    case 'http':
      return c.url;
    case 'tcp':
    case 'tls':
      return `${c.host}:${c.port}`;
    case 'dns':
      return c.hostname;
    case 'push':
      return `push from ${c.service}`;
  }
}
