// The health checker service: owns the registered checks (config file + admin API), runs them
// through the scheduler (or the push monitors), and hands each result on: as a record into the
// buffer (results.ts) and to the state machine and alerts (state-alerts.ts). Its storage
// (PostgreSQL tables, or file + memory) is handed in by the composition root.
import type { Logger } from 'pino';
import { SluiceError } from '../errors.js';
import { CHECKER_PROTOCOL, type Metrics } from '../observability/metrics.js';
import type { RecordBuffer } from '../pipeline/buffer.js';
import { type HealthRecord } from '../record.js';
import { nowMicros } from '../timestamp.js';
import type { AlertEvent } from './alert-schema.js';
import { Alerter } from './alerts.js';
import {
  hostKey,
  idFromName,
  parseCheck,
  type Check,
  type CheckDefinition,
  type ConfigChecks,
} from './check-schema.js';
import type { HealthConfig } from './config.js';
import { entryOf, type CheckHistory, type HistoryEntry, type HistoryQuery } from './history.js';
import { runProbe } from './probe.js';
import { HttpPools } from './probe-http.js';
import { PushMonitors, lastPingOf, type PingSignal, type PushView } from './push-monitor.js';
import { MaintenanceSchedule, type ActiveWindow } from './maintenance.js';
import { CheckRegistry, type AppliedCheck, type RegisteredCheck } from './registry.js';
import { ResultQueue, checkRecordOf, type Outcome } from './results.js';
import { Scheduler } from './scheduler.js';
import { StateAlerts } from './state-alerts.js';
import { initialState, stateValue, type CheckStateName } from './state.js';
import type { HealthStorage } from './storage.js';
import type { CheckStore, StoredState } from './store.js';
import type { Uptime } from './uptime.js';
import { checksOrigin, type ChecksOriginConfig } from './checks-origin.js';
import { checkPolicyProblem } from './check-policy.js';
import { TargetPolicy } from './target-policy.js';

/** The checker's slice of the config. */
export interface HealthCheckerConfig {
  health: HealthConfig;
  checks: ConfigChecks;
  /** How long a batch of results may wait for buffer room. */
  ingest: { enqueueTimeoutMs: number };
  /** Where checks registered under another sink may be (logged at start). */
  sink: ChecksOriginConfig['sink'];
  postgres: ChecksOriginConfig['postgres'];
  /** The collector's own port: checks may not reach it (0 until it listens: see listeningOn). */
  server: { port: number };
}

export interface HealthCheckerDeps {
  config: HealthCheckerConfig;
  buffer: RecordBuffer;
  metrics: Metrics;
  logger: Logger;
  /** Checks, states and results: PostgreSQL or file + memory, chosen by the composition root; asked at start(). */
  storage: () => HealthStorage;
}

export interface CheckView extends Record<string, unknown> {
  id: string;
  state: CheckStateName;
  /** RFC 3339 time of the last state change. */
  since: string;
  lastResult: HistoryEntry | null;
  /** Push checks: the schedule's own state (new, up, late, down) and times. */
  push?: PushView;
  /** The maintenance window covering the check now, if any. */
  maintenance?: { window: string; until: string };
}

/** What a ping by URL came to. */
export type PingAnswer = 'ok' | 'unknown' | 'not_push' | 'disabled';

export class HealthChecker {
  private readonly registry: CheckRegistry;
  private readonly scheduler: Scheduler;
  private readonly push: PushMonitors;
  private readonly alerter: Alerter;
  private readonly pools: HttpPools;
  private readonly targets: TargetPolicy;
  private readonly results: ResultQueue;
  private readonly states: StateAlerts;
  /** Maintenance windows from the config file and the admin API. */
  readonly maintenance: MaintenanceSchedule;
  private store: CheckStore | undefined;
  private historyRef: CheckHistory | undefined;

  constructor(private readonly deps: HealthCheckerDeps) {
    const h = deps.config.health;
    const lag = deps.metrics.schedulerLag;
    this.scheduler = new Scheduler({
      concurrency: h.concurrency,
      perHost: h.perHostConcurrency,
      probesPerSecond: h.maxProbesPerSecond,
      probesPerSecondPerHost: h.maxProbesPerSecondPerHost,
      onLag: (ms) => {
        lag.observe(ms / 1000);
        this.lagListener?.(ms);
      },
      onOverlap: (id) => this.countRun(this.registry.get(id)?.check.kind ?? 'unknown', 'skipped_overlap'),
    });
    this.maintenance = new MaintenanceSchedule(h.maintenance);
    this.targets = new TargetPolicy(h, [deps.config.server.port]);
    this.pools = new HttpPools(h.perHostConcurrency, this.targets);
    this.push = new PushMonitors((id, outcome) => {
      const e = this.registry.get(id);
      if (e) this.apply(e, outcome);
    });
    this.alerter = new Alerter({
      webhooks: h.webhooks,
      channels: h.notifications,
      retries: h.webhookRetries,
      baseDelayMs: h.webhookBaseDelayMs,
      timeoutMs: h.webhookTimeoutMs,
      logger: deps.logger,
      maxInFlightPerWebhook: h.webhookConcurrency,
      maxQueued: h.webhookMaxQueued,
      onDelivery: (outcome) => deps.metrics.alertDeliveries.labels(outcome).inc(),
      onDiscard: (reason, n) => deps.metrics.alertsDiscarded.labels(reason).inc(n),
    });
    this.results = new ResultQueue({
      buffer: deps.buffer,
      enqueueTimeoutMs: deps.config.ingest.enqueueTimeoutMs,
      logger: deps.logger,
      onAccepted: (n) => deps.metrics.recordsCounter('check', CHECKER_PROTOCOL).inc(n),
    });
    this.states = new StateAlerts({
      alerter: this.alerter,
      logger: deps.logger,
      store: () => this.requireStore(),
      onTransition: (event) => this.transitionListener?.(event),
    });
    this.registry = new CheckRegistry({
      maxChecks: h.maxChecks,
      store: () => this.requireStore(),
      activate: (check, stored) => this.activate(check, stored),
      deactivate: (e, deleted) => this.deactivate(e, deleted),
      settled: (id) => this.states.settled(id),
      vet: (def) => checkPolicyProblem(def, h, this.targets),
    });
  }

  /** Benchmarks and tests: sees every run's scheduling lag (ms). */
  lagListener: ((ms: number) => void) | undefined;

  /** Sees every state change (the read API keeps the recent ones as incidents). */
  transitionListener: ((event: AlertEvent) => void) | undefined;

  get history(): CheckHistory {
    if (!this.historyRef) throw new Error('HealthChecker used before start()');
    return this.historyRef;
  }

  get storeKind(): 'postgres' | 'file' | undefined {
    return this.store?.kind;
  }

  /** The collector listens on this port (a configured port 0 is known only now): checks may not reach it. */
  listeningOn(port: number): void {
    this.targets.addListenerPort(port);
  }

  schedulerStats(): ReturnType<Scheduler['stats']> {
    return this.scheduler.stats();
  }

  /** Loads config and stored checks and starts running them. Call once the storage is usable. */
  async start(): Promise<void> {
    const { config, logger } = this.deps;
    const storage = this.deps.storage();
    this.store = storage.store;
    this.historyRef = storage.history;
    const { checks: stored, states } = await this.store.load();
    for (const { id, why } of await this.maintenance.attach(storage.maintenance))
      logger.warn({ window: id, why }, 'stored maintenance window not used');
    const now = new Date().toISOString();
    for (const raw of config.checks) {
      const r = parseCheck(raw);
      if (!r.ok) continue; // the config schema already refused invalid entries
      const id = r.check.id ?? idFromName(r.check.name);
      this.registry.add({ ...r.check, id, source: 'config', createdAt: now, updatedAt: now }, states.get(id));
    }
    for (const c of stored) {
      if (this.registry.has(c.id)) {
        logger.warn(
          { check: c.id },
          'a check stored through the admin API has the id of a config-file check: the config file wins',
        );
        continue;
      }
      const r = parseCheck(stripMeta(c));
      const refused = r.ok ? checkPolicyProblem(r.check, config.health, this.targets) : null;
      if (!r.ok || refused) {
        const problems = r.ok ? [refused] : r.problems;
        logger.warn(
          { check: c.id, problems },
          'stored check no longer valid (or no longer allowed by health.*): not run',
        );
        continue;
      }
      this.registry.add(
        { ...r.check, id: c.id, source: 'api', createdAt: c.createdAt, updatedAt: c.updatedAt },
        states.get(c.id),
      );
    }
    for (const [id, entry] of await this.historyRef.latest(this.registry.ids())) {
      const e = this.registry.get(id);
      if (!e) continue;
      e.stored = entry;
      // A push check's deadline counts from its last result, not from this start: a collector
      // restarted more often than interval + grace would otherwise never see a ping missed.
      const at = Date.parse(entry.ts);
      if (e.check.kind === 'push' && e.check.enabled)
        this.push.resume(id, at, lastPingOf(entry.error_class, at, entry.details), !entry.ok);
    }
    // Results are not stored with the file store: it keeps each push check's last mark instead.
    if (this.store.savePush) {
      for (const e of this.registry.values()) {
        const mark = states.get(e.check.id)?.push;
        if (mark && e.check.kind === 'push' && e.check.enabled)
          this.push.resume(e.check.id, mark.lastResultAt, mark.lastPingAt);
      }
    }
    this.scheduler.start();
    const origin = checksOrigin(this.deps.config);
    logger.info(
      { checks: this.registry.size, store: this.store.kind, history: this.historyRef.source, checksFrom: origin.from },
      `health checker started: API checks from ${origin.from}`,
    );
    if (origin.notLoaded) {
      logger.warn(
        { checksNotLoaded: origin.notLoaded },
        `checks registered through the API under another sink are not loaded: they may be in ${origin.notLoaded}; start with that sink to use them`,
      );
    }
  }

  /** Stops probing (in-flight probes are cut and their results discarded) and flushes alerts. */
  async stop(): Promise<void> {
    const stopping = new Error('health checker stopping');
    for (const e of this.registry.values()) e.ac.abort(stopping);
    this.push.stop();
    await this.scheduler.stop();
    this.results.flush();
    await this.alerter.close(2000);
    await this.states.flush();
    await this.store?.close?.();
    await this.pools.close();
  }

  // ---- the admin API's operations -------------------------------------------------------

  list(): CheckView[] {
    return [...this.registry.values()].map((e) => this.view(e));
  }

  get(id: string): CheckView | undefined {
    const e = this.registry.get(id);
    return e && this.view(e);
  }

  /** The id of the check with this id or, failing that, this name (names are unique). */
  idOf(idOrName: string): string | undefined {
    if (this.registry.has(idOrName)) return idOrName;
    return this.registry.idByName(idOrName);
  }

  /** Creates or replaces many checks by name, all validated first (registry.ts `apply`). */
  applyMany(inputs: readonly unknown[]): Promise<AppliedCheck[]> {
    return this.registry.apply(inputs);
  }

  async create(input: unknown): Promise<CheckView> {
    return this.view(await this.registry.create(input));
  }

  async update(id: string, input: unknown): Promise<CheckView> {
    return this.view(await this.registry.update(id, input));
  }

  remove(id: string): Promise<void> {
    return this.registry.remove(id);
  }

  async historyOf(id: string, q: HistoryQuery): Promise<HistoryEntry[]> {
    this.registry.mustGet(id);
    return this.history.list(id, q);
  }

  async uptimeOf(id: string, now = Date.now()): Promise<Uptime> {
    const e = this.registry.mustGet(id);
    return this.history.uptime(id, maxGapMs(e.check), now);
  }

  /** Accepted POST /health pings: feed the push monitors. */
  onPings(records: readonly HealthRecord[]): void {
    for (const r of records) this.push.ping(r);
  }

  /** A ping by URL (`/health/<check>[/start|/fail]`) to the push check with this id or name. */
  pingCheck(idOrName: string, signal: PingSignal, message: string | null): PingAnswer {
    const id = this.idOf(idOrName);
    const e = id === undefined ? undefined : this.registry.get(id);
    if (!e) return 'unknown';
    if (e.check.kind !== 'push') return 'not_push';
    return this.push.signal(e.check.id, signal, message) ? 'ok' : 'disabled';
  }

  // ---- running -------------------------------------------------------------------------

  private activate(check: Check, stored?: StoredState): RegisteredCheck {
    const m = this.deps.metrics;
    const state = stored ? initialState(Date.now(), stored.state, stored.since) : initialState(Date.now());
    const e: RegisteredCheck = {
      check,
      state,
      last: null,
      stored: null,
      // Labelled with the name (readable on a dashboard; unique) and the id.
      up: m.checkUp.labels(check.name, check.id),
      duration: m.checkDuration.labels(check.name, check.id),
      ac: new AbortController(),
      running: false,
      deleting: false,
    };
    e.up.set(stateValue(state.state));
    if (!check.enabled) return e;
    if (check.kind === 'push') this.push.watch(check.id, check);
    else
      this.scheduler.add({
        id: check.id,
        intervalMs: check.interval,
        host: hostKey(check),
        run: () => this.runOnce(check.id),
      });
    return e;
  }

  private deactivate(e: RegisteredCheck, deleted: boolean): void {
    const id = e.check.id;
    e.ac.abort(new Error('check deleted or replaced'));
    this.scheduler.remove(id);
    this.push.unwatch(id);
    this.deps.metrics.checkUp.remove(e.check.name, id);
    this.deps.metrics.checkDuration.remove(e.check.name, id);
    if (deleted) this.historyRef?.forget(id);
    if (deleted) this.alerter.forget(id);
  }

  private async runOnce(id: string): Promise<void> {
    const e = this.registry.get(id);
    if (!e) return;
    // The scheduler never overlaps one job; this is a second guard, per entry (a PUT's new
    // entry runs at once: deactivating aborted the old entry's run).
    if (e.running) {
      this.countRun(e.check.kind, 'skipped_overlap');
      return;
    }
    e.running = true;
    try {
      const result = await runProbe(e.check, { http: this.pools, targets: this.targets }, e.ac.signal);
      if (e.ac.signal.aborted || this.registry.get(id) !== e) return;
      this.apply(e, result);
    } finally {
      e.running = false;
    }
  }

  private apply(e: RegisteredCheck, o: Outcome): void {
    const c = e.check;
    const receivedAt = nowMicros();
    const held = this.maintenance.activeFor(c, Math.floor(receivedAt / 1000));
    const rec = checkRecordOf(c, held ? inMaintenance(o, held) : o, receivedAt);
    if (held) rec.status = 'maintenance';
    e.last = rec;
    this.countRun(c.kind, o.errorClass === 'timeout' ? 'timeout' : o.status === 'down' ? 'failure' : o.status);
    if (o.latencyMs !== null) e.duration.observe(o.latencyMs / 1000);
    this.historyRef?.add(rec);
    this.results.add(rec);
    this.states.onResult(e, o, Math.floor(receivedAt / 1000), held !== null);
  }

  private countRun(kind: string, result: string): void {
    this.deps.metrics.checkRuns.labels(kind, result).inc();
  }

  private view(e: RegisteredCheck): CheckView {
    const now = Date.now();
    const push = e.check.kind === 'push' ? this.push.view(e.check.id, now) : undefined;
    const held = this.maintenance.activeFor(e.check, now);
    return {
      ...e.check,
      state: e.state.state,
      since: new Date(e.state.since).toISOString(),
      lastResult: e.last ? entryOf(e.last) : e.stored,
      ...(push ? { push } : {}),
      ...(held ? { maintenance: { window: held.window, until: new Date(held.until).toISOString() } } : {}),
    };
  }

  private requireStore(): CheckStore {
    // Before start(): the database holding the checks has not connected yet.
    if (!this.store)
      throw new SluiceError(
        'SLUICE_ERR_SINK_FAILED',
        { subject: 'health checks are not loaded yet', detail: 'their storage (the database) is not connected' },
        { retryAfter: 1 },
      );
    return this.store;
  }
}

/** A result inside a maintenance window: what the run found moves to details. */
function inMaintenance(o: Outcome, held: ActiveWindow): Outcome {
  return { ...o, details: { ...o.details, maintenance: { window: held.window, status: o.status } } };
}

function stripMeta(c: Check): Record<string, unknown> {
  const { source: _s, createdAt: _c, updatedAt: _u, ...def } = c;
  return def;
}

/** The longest a result may stand for in uptime maths (see uptime.ts). */
export function maxGapMs(c: CheckDefinition): number {
  return c.kind === 'push' ? 2 * c.interval + c.grace : 2 * c.interval + c.timeout;
}
