// Push monitors (a dead man's switch): a `push` check expects a POST /health ping from its
// service within interval + grace. Each ping is a result (its own status); each deadline that
// passes without one is a `missed` down result, repeated every interval while pings stay away.
import type { HealthRecord, HealthStatus } from '../record.js';
import type { PushCheck } from './check-schema.js';

export interface PushOutcome {
  status: HealthStatus;
  latencyMs: number | null;
  errorClass: string | null;
  message: string | null;
  details: Record<string, unknown> | null;
}

interface Watch {
  check: PushCheck;
  timer: NodeJS.Timeout | undefined;
  lastPing: number | null;
}

export class PushMonitors {
  private readonly watches = new Map<string, Watch>();
  private readonly byService = new Map<string, Set<string>>();

  constructor(private readonly onOutcome: (checkId: string, outcome: PushOutcome) => void) {}

  /** Starts (or restarts) waiting for pings; the first deadline is interval + grace from now. */
  watch(id: string, check: PushCheck): void {
    this.unwatch(id);
    const w: Watch = { check, timer: undefined, lastPing: null };
    this.watches.set(id, w);
    let ids = this.byService.get(check.service);
    if (!ids) this.byService.set(check.service, (ids = new Set()));
    ids.add(id);
    this.arm(id, w, check.interval + check.grace);
  }

  /**
   * At start-up, from the check's newest stored result (at `lastResultMs`; `lastPingMs` when
   * the service last pinged, if known): the deadline continues from there rather than
   * starting afresh, so restarts do not keep a dead service's switch from firing.
   */
  resume(id: string, lastResultMs: number, lastPingMs: number | null): void {
    const w = this.watches.get(id);
    if (!w || !Number.isFinite(lastResultMs)) return;
    if (lastPingMs !== null && Number.isFinite(lastPingMs)) w.lastPing = lastPingMs;
    // After a ping the service has interval + grace; after a missed deadline, one interval.
    const wait = lastPingMs === lastResultMs ? w.check.interval + w.check.grace : w.check.interval;
    this.arm(id, w, Math.max(0, lastResultMs + wait - Date.now()));
  }

  unwatch(id: string): void {
    const w = this.watches.get(id);
    if (!w) return;
    clearTimeout(w.timer);
    this.watches.delete(id);
    const ids = this.byService.get(w.check.service);
    ids?.delete(id);
    if (ids?.size === 0) this.byService.delete(w.check.service);
  }

  /** Called for every accepted POST /health record. Cheap when no push check watches the service. */
  ping(r: HealthRecord): void {
    const ids = this.byService.get(r.service);
    if (!ids) return;
    for (const id of ids) {
      const w = this.watches.get(id)!;
      w.lastPing = Date.now();
      this.arm(id, w, w.check.interval + w.check.grace);
      this.onOutcome(id, {
        status: r.status,
        latencyMs: r.latency_ms,
        errorClass: r.status === 'down' ? 'reported_down' : null,
        message: r.message,
        details: { ping_id: r.id },
      });
    }
  }

  stop(): void {
    for (const id of [...this.watches.keys()]) this.unwatch(id);
  }

  private arm(id: string, w: Watch, inMs: number): void {
    clearTimeout(w.timer);
    w.timer = setTimeout(() => {
      const since = w.lastPing === null ? 'since monitoring started' : `since ${new Date(w.lastPing).toISOString()}`;
      this.onOutcome(id, {
        status: 'down',
        latencyMs: null,
        errorClass: 'missed',
        message: `no ping from service "${w.check.service}" ${since} (interval ${w.check.interval} ms + grace ${w.check.grace} ms)`,
        details: { lastPing: w.lastPing === null ? null : new Date(w.lastPing).toISOString() },
      });
      this.arm(id, w, w.check.interval);
    }, inMs);
    w.timer.unref();
  }
}

/** When the service last pinged, from a push result at `atMs`: a ping is one; a missed result carries it in its details. */
export function lastPingOf(errorClass: string | null, atMs: number, details: unknown): number | null {
  if (errorClass !== 'missed') return atMs;
  const last = (details as { lastPing?: unknown } | null)?.lastPing;
  return typeof last === 'string' ? Date.parse(last) : null;
}
