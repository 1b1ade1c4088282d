// The health checker service: owns the registered checks (config file + admin API), runs them
// through the scheduler (or the push monitors), turns every result into a CheckRecord pushed
// into the same buffer as ingested records, moves each check's state machine and alerts on
// changes. Its storage (PostgreSQL tables, or file + memory) is handed in by the composition root.
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import { SluiceError } from '../errors.js';
import type { Metrics } from '../observability/metrics.js';
import type { RecordBuffer } from '../pipeline/buffer.js';
import { RECORD_OVERHEAD_BYTES, nowMicros, strBytes, uuidv7, type CheckRecord, type HealthRecord } from '../record.js';
import { Alerter, type AlertEvent } from './alerts.js';
import { hostKey, idFromName, parseCheck, type Check, type CheckDefinition, type CheckProblem } from './check-schema.js';
import { entryOf, type CheckHistory, type HistoryEntry, type HistoryQuery } from './history.js';
import { runProbe, type ProbeResult } from './probe.js';
import { HttpPools } from './probe-http.js';
import { PushMonitors } from './push-monitor.js';
import { Scheduler } from './scheduler.js';
import { applyResult, initialState, stateValue, type CheckState, type CheckStateName } from './state.js';
import type { HealthStorage } from './storage.js';
import type { CheckStore, StoredState } from './store.js';
import type { Uptime } from './uptime.js';

export interface HealthCheckerDeps {
  config: Config;
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
}

interface Entry {
  check: Check;
  state: CheckState;
  last: CheckRecord | null;
  /** The newest stored result, from before this start (until the first run here). */
  stored: HistoryEntry | null;
  up: { set(v: number): void };
  duration: { observe(v: number): void };
  /** Aborts this entry's probe run when the check is deleted or replaced (and at shutdown). */
  ac: AbortController;
  /** A run of this entry is under way (a PUT's new entry does not wait for the old one's run). */
  running: boolean;
  /** Being deleted: its results no longer save state (a late save would re-create the row). */
  deleting: boolean;
}

type Outcome = Pick<ProbeResult, 'status' | 'latencyMs' | 'errorClass' | 'message' | 'details'> & { statusCode?: number | null };

const WARN_EVERY_MS = 10_000;
// Results are handed to the buffer in small groups rather than one push each: at 1,000 runs a
// second that is ~50 pushes instead of 1,000, and one WAL append each in ack mode durable.
const RESULT_GROUP_MS = 20;
const RESULT_GROUP_MAX = 500;

export class HealthChecker {
  private readonly entries = new Map<string, Entry>();
  private readonly busy = new Map<string, Promise<void>>();
  private creating = 0;
  private readonly scheduler: Scheduler;
  private readonly push: PushMonitors;
  private readonly alerter: Alerter;
  private readonly pools: HttpPools;
  private store: CheckStore | undefined;
  private historyRef: CheckHistory | undefined;
  private lastDropWarn = 0;
  private dropped = 0;
  /** The last state write per check id: writes of one id run in order (the newest lands last). */
  private readonly stateWrites = new Map<string, Promise<void>>();
  private pending: CheckRecord[] = [];
  private pendingBytes = 0;
  private groupTimer: NodeJS.Timeout | undefined;

  constructor(private readonly deps: HealthCheckerDeps) {
    const h = deps.config.health;
    const lag = deps.metrics.schedulerLag;
    this.scheduler = new Scheduler({
      concurrency: h.concurrency,
      perHost: h.perHostConcurrency,
      onLag: (ms) => {
        lag.observe(ms / 1000);
        this.lagListener?.(ms);
      },
      onOverlap: (id) => this.countRun(this.entries.get(id)?.check.kind ?? 'unknown', 'skipped_overlap'),
    });
    this.pools = new HttpPools(h.perHostConcurrency);
    this.push = new PushMonitors((id, outcome) => {
      const e = this.entries.get(id);
      if (e) this.apply(e, outcome);
    });
    this.alerter = new Alerter({
      webhooks: h.webhooks,
      retries: h.webhookRetries,
      baseDelayMs: h.webhookBaseDelayMs,
      timeoutMs: h.webhookTimeoutMs,
      logger: deps.logger,
      maxInFlightPerWebhook: h.webhookConcurrency,
      maxQueued: h.webhookMaxQueued,
      onDelivery: (outcome) => deps.metrics.alertDeliveries.labels(outcome).inc(),
      onDiscard: (reason, n) => deps.metrics.alertsDiscarded.labels(reason).inc(n),
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

  schedulerStats(): ReturnType<Scheduler['stats']> {
    return this.scheduler.stats();
  }

  /** Loads config and stored checks and starts running them. Call after the sink started. */
  async start(): Promise<void> {
    const { config, logger } = this.deps;
    const storage = this.deps.storage();
    this.store = storage.store;
    this.historyRef = storage.history;
    const { checks: stored, states } = await this.store.load();
    const now = new Date().toISOString();
    for (const raw of config.checks) {
      const r = parseCheck(raw);
      if (!r.ok) continue; // the config schema already refused invalid entries
      const id = r.check.id ?? idFromName(r.check.name);
      this.register({ ...r.check, id, source: 'config', createdAt: now, updatedAt: now }, states.get(id));
    }
    for (const c of stored) {
      if (this.entries.has(c.id)) {
        logger.warn({ check: c.id }, 'a check stored through the admin API has the id of a config-file check: the config file wins');
        continue;
      }
      const r = parseCheck(stripMeta(c));
      if (!r.ok) {
        logger.warn({ check: c.id, problems: r.problems }, 'stored check no longer valid: not run');
        continue;
      }
      this.register({ ...r.check, id: c.id, source: 'api', createdAt: c.createdAt, updatedAt: c.updatedAt }, states.get(c.id));
    }
    for (const [id, entry] of await this.historyRef.latest([...this.entries.keys()])) {
      const e = this.entries.get(id);
      if (!e) continue;
      e.stored = entry;
      // A push check's deadline counts from its last result, not from this start: a collector
      // restarted more often than interval + grace would otherwise never see a ping missed.
      const at = Date.parse(entry.ts);
      if (e.check.kind === 'push' && e.check.enabled) this.push.resume(id, at, lastPingOf(entry.error_class, at, entry.details));
    }
    // Results are not stored with the file store: it keeps each push check's last mark instead.
    if (this.store.savePush) {
      for (const [id, e] of this.entries) {
        const mark = states.get(id)?.push;
        if (mark && e.check.kind === 'push' && e.check.enabled) this.push.resume(id, mark.lastResultAt, mark.lastPingAt);
      }
    }
    this.scheduler.start();
    logger.info({ checks: this.entries.size, store: this.store.kind, history: this.historyRef.source }, 'health checker started');
  }

  /** Stops probing (in-flight probes are cut and their results discarded) and flushes alerts. */
  async stop(): Promise<void> {
    const stopping = new Error('health checker stopping');
    for (const e of this.entries.values()) e.ac.abort(stopping);
    this.push.stop();
    await this.scheduler.stop();
    this.flushResults();
    await this.alerter.close(2000);
    await Promise.allSettled([...this.stateWrites.values()]);
    await this.pools.close();
  }

  // ---- the admin API's operations -------------------------------------------------------

  list(): CheckView[] {
    return [...this.entries.values()].map((e) => this.view(e));
  }

  get(id: string): CheckView | undefined {
    const e = this.entries.get(id);
    return e && this.view(e);
  }

  /**
   * Changes to one check id run one at a time: each checks, then awaits the store, then
   * registers, and two interleaved could both pass the check (two creates of one id, a delete
   * racing an update). Different ids still run concurrently.
   */
  private serial<T>(id: string, change: () => Promise<T>): Promise<T> {
    const next = (this.busy.get(id) ?? Promise.resolve()).then(change, change);
    const tail = next.then(
      () => undefined,
      () => undefined,
    );
    this.busy.set(id, tail);
    void tail.then(() => {
      if (this.busy.get(id) === tail) this.busy.delete(id);
    });
    return next;
  }

  create(input: unknown): Promise<CheckView> {
    let def: CheckDefinition;
    try {
      def = validate(input);
    } catch (err) {
      return Promise.reject(err as Error);
    }
    const id = def.id ?? uuidv7();
    return this.serial(id, () => this.createNow(def, id));
  }

  update(id: string, input: unknown): Promise<CheckView> {
    return this.serial(id, () => this.updateNow(id, input));
  }

  remove(id: string): Promise<void> {
    return this.serial(id, () => this.removeNow(id));
  }

  private async createNow(def: CheckDefinition, id: string): Promise<CheckView> {
    if (this.entries.has(id)) throw new SluiceError('SLUICE_ERR_CONFLICT', `a check with id "${id}" already exists`);
    // Creates of other ids may be awaiting the store: they count against the limit too.
    if (this.entries.size + this.creating >= this.deps.config.health.maxChecks) {
      throw new SluiceError('SLUICE_ERR_CONFLICT', `health.maxChecks (${this.deps.config.health.maxChecks}) checks are registered already`);
    }
    const now = new Date().toISOString();
    const check: Check = { ...def, id, source: 'api', createdAt: now, updatedAt: now };
    this.creating++;
    try {
      await this.requireStore().put(check);
    } finally {
      this.creating--;
    }
    this.register(check);
    return this.view(this.entries.get(id)!);
  }

  /** Replaces a check's definition; the check starts afresh (state unknown). */
  private async updateNow(id: string, input: unknown): Promise<CheckView> {
    const e = this.mustGet(id);
    if (e.check.source === 'config') throw new SluiceError('SLUICE_ERR_CONFLICT', `check "${id}" is defined in the config file: change it there`);
    const def = validate(input);
    if (def.id !== undefined && def.id !== id) {
      throw new SluiceError('SLUICE_ERR_INVALID_CHECK', `id in the body ("${def.id}") differs from the id in the path`, { problems: [{ field: 'id', message: 'must match the path' }] });
    }
    const check: Check = { ...def, id, source: 'api', createdAt: e.check.createdAt, updatedAt: new Date().toISOString() };
    await this.requireStore().put(check);
    this.unregister(id);
    this.register(check);
    return this.view(this.entries.get(id)!);
  }

  private async removeNow(id: string): Promise<void> {
    const e = this.mustGet(id);
    if (e.check.source === 'config') throw new SluiceError('SLUICE_ERR_CONFLICT', `check "${id}" is defined in the config file: remove it there`);
    e.deleting = true;
    try {
      await this.stateWrites.get(id);
      await this.requireStore().delete(id);
    } catch (err) {
      e.deleting = false;
      throw err;
    }
    this.unregister(id);
    this.historyRef?.forget(id);
  }

  async historyOf(id: string, q: HistoryQuery): Promise<HistoryEntry[]> {
    this.mustGet(id);
    return this.history.list(id, q);
  }

  async uptimeOf(id: string, now = Date.now()): Promise<Uptime> {
    const e = this.mustGet(id);
    return this.history.uptime(id, maxGapMs(e.check), now);
  }

  /** Accepted POST /health pings: feed the push monitors. */
  onPings(records: readonly HealthRecord[]): void {
    for (const r of records) this.push.ping(r);
  }

  // ---- running -------------------------------------------------------------------------

  private register(check: Check, stored?: StoredState): void {
    const m = this.deps.metrics;
    const state = stored ? initialState(Date.now(), stored.state, stored.since) : initialState(Date.now());
    const e: Entry = {
      check,
      state,
      last: null,
      stored: null,
      up: m.checkUp.labels(check.id),
      duration: m.checkDuration.labels(check.id),
      ac: new AbortController(),
      running: false,
      deleting: false,
    };
    this.entries.set(check.id, e);
    e.up.set(stateValue(state.state));
    if (!check.enabled) return;
    if (check.kind === 'push') this.push.watch(check.id, check);
    else this.scheduler.add({ id: check.id, intervalMs: check.interval, host: hostKey(check), run: () => this.runOnce(check.id) });
  }

  private unregister(id: string): void {
    this.entries.get(id)?.ac.abort(new Error('check deleted or replaced'));
    this.entries.delete(id);
    this.scheduler.remove(id);
    this.push.unwatch(id);
    this.deps.metrics.checkUp.remove(id);
    this.deps.metrics.checkDuration.remove(id);
  }

  private async runOnce(id: string): Promise<void> {
    const e = this.entries.get(id);
    if (!e) return;
    // The scheduler never overlaps one job; this is a second guard, per entry (a PUT's new
    // entry runs at once: unregister aborted the old entry's run).
    if (e.running) {
      this.countRun(e.check.kind, 'skipped_overlap');
      return;
    }
    e.running = true;
    try {
      const result = await runProbe(e.check, { http: this.pools }, e.ac.signal);
      if (e.ac.signal.aborted || this.entries.get(id) !== e) return;
      this.apply(e, result);
    } finally {
      e.running = false;
    }
  }

  private apply(e: Entry, o: Outcome): void {
    const c = e.check;
    const receivedAt = nowMicros();
    const details = o.details === null ? null : JSON.stringify(o.details);
    const rec: CheckRecord = {
      type: 'check',
      id: uuidv7(Math.floor(receivedAt / 1000)),
      ts: receivedAt,
      received_at: receivedAt,
      check_id: c.id,
      check_name: c.name,
      kind: c.kind,
      ok: o.status !== 'down',
      status: o.status,
      latency_ms: o.latencyMs,
      status_code: o.statusCode ?? null,
      error_class: o.errorClass,
      message: o.message,
      details,
      size: 0,
    };
    rec.size = RECORD_OVERHEAD_BYTES + rec.id.length + c.id.length + c.name.length + strBytes(o.message) + strBytes(details) + 32;
    e.last = rec;
    this.countRun(c.kind, o.errorClass === 'timeout' ? 'timeout' : o.status === 'down' ? 'failure' : o.status);
    if (o.latencyMs !== null) e.duration.observe(o.latencyMs / 1000);
    this.historyRef?.add(rec);
    this.pending.push(rec);
    this.pendingBytes += rec.size;
    if (this.pending.length >= RESULT_GROUP_MAX) this.flushResults();
    else this.groupTimer ??= setTimeout(() => this.flushResults(), RESULT_GROUP_MS);

    if (c.kind === 'push') this.savePushMark(e, o, Math.floor(receivedAt / 1000));
    const tr = applyResult(e.state, o.status, c, Math.floor(receivedAt / 1000));
    if (!tr) return;
    e.up.set(stateValue(tr.to));
    if (!e.deleting) this.saveState(c.id, { state: tr.to, since: tr.at });
    const event: AlertEvent = {
      check: { id: c.id, name: c.name, kind: c.kind, target: targetOf(c) },
      from: tr.from,
      to: tr.to,
      at: new Date(tr.at).toISOString(),
      result: { errorClass: o.errorClass, message: o.message, latencyMs: o.latencyMs, statusCode: o.statusCode ?? null },
    };
    this.transitionListener?.(event);
    // A check seen up for the first time is news to nobody; everything else is alerted.
    if (tr.from === 'unknown' && tr.to === 'up') this.deps.logger.debug({ check: c.id }, `check ${c.name} is up`);
    else this.alerter.notify(event);
  }

  private flushResults(): void {
    clearTimeout(this.groupTimer);
    this.groupTimer = undefined;
    if (this.pending.length === 0) return;
    const records = this.pending;
    const bytes = this.pendingBytes;
    this.pending = [];
    this.pendingBytes = 0;
    this.deps.buffer.push(records, bytes, { timeoutMs: this.deps.config.ingest.enqueueTimeoutMs }).catch((err: unknown) => this.dropWarn(err, records.length));
  }

  private savePushMark(e: Entry, o: Outcome, atMs: number): void {
    const store = this.requireStore();
    if (!store.savePush || e.deleting) return;
    const lastPingAt = lastPingOf(o.errorClass, atMs, o.details);
    this.storeWrite(e.check.id, () => store.savePush!(e.check.id, { lastResultAt: atMs, lastPingAt }));
  }

  private saveState(id: string, s: StoredState): void {
    const store = this.requireStore();
    this.storeWrite(id, () => store.saveState(id, s));
  }

  /** Chained per id: two quick transitions on two pool connections could land oldest last. */
  private storeWrite(id: string, write: () => Promise<void>): void {
    const p = (this.stateWrites.get(id) ?? Promise.resolve())
      .then(write)
      .catch((err: unknown) => this.deps.logger.warn({ check: id, err: (err as Error).message }, 'could not persist check state'))
      .finally(() => {
        if (this.stateWrites.get(id) === p) this.stateWrites.delete(id);
      });
    this.stateWrites.set(id, p);
  }

  private countRun(kind: string, result: string): void {
    this.deps.metrics.checkRuns.labels(kind, result).inc();
  }

  /** Results are not client data: when the buffer refuses one it is logged (rate-limited) and counted. */
  private dropWarn(err: unknown, n: number): void {
    this.dropped += n;
    const now = Date.now();
    if (now - this.lastDropWarn < WARN_EVERY_MS) return;
    this.lastDropWarn = now;
    this.deps.logger.warn({ dropped: this.dropped, err: (err as Error).message }, 'health results not buffered (buffer full or closing)');
  }

  private view(e: Entry): CheckView {
    return {
      ...e.check,
      state: e.state.state,
      since: new Date(e.state.since).toISOString(),
      lastResult: e.last ? entryOf(e.last) : e.stored,
    };
  }

  private mustGet(id: string): Entry {
    const e = this.entries.get(id);
    if (!e) throw new SluiceError('SLUICE_ERR_NOT_FOUND', `no check with id "${id}"`);
    return e;
  }

  private requireStore(): CheckStore {
    if (!this.store) throw new Error('HealthChecker used before start()');
    return this.store;
  }
}

function validate(input: unknown): CheckDefinition {
  const r = parseCheck(input);
  if (r.ok) return r.check;
  const first: CheckProblem = r.problems[0]!;
  throw new SluiceError('SLUICE_ERR_INVALID_CHECK', `invalid check: ${first.field} ${first.message}`, { problems: r.problems });
}

function stripMeta(c: Check): Record<string, unknown> {
  const { source: _s, createdAt: _c, updatedAt: _u, ...def } = c;
  return def;
}

/** The longest a result may stand for in uptime maths (see uptime.ts). */
export function maxGapMs(c: CheckDefinition): number {
  return c.kind === 'push' ? 2 * c.interval + c.grace : 2 * c.interval + c.timeout;
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

/** When the service last pinged, from a push result at `atMs`: a ping is one; a missed result carries it in its details. */
function lastPingOf(errorClass: string | null, atMs: number, details: unknown): number | null {
  if (errorClass !== 'missed') return atMs;
  const last = (details as { lastPing?: unknown } | null)?.lastPing;
  return typeof last === 'string' ? Date.parse(last) : null;
}
