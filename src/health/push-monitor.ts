// Push monitors (a dead man's switch): a `push` check expects a ping from its service, either
// every interval or on a cron schedule, each within its grace. Each ping is a result (its own
// status); each deadline that passes without one is a `missed` down result, repeated every
// interval (or every scheduled run) while pings stay away. A `start` ping opens a run: the run
// must end (success or fail ping) within grace, and its success records the run's duration.
//
// The schedule's own state (`new`, `up`, `late`, `down`) is shown beside the check's state:
// `late` (past due, within grace) is not a result and moves no state, so a job that pings a few
// seconds after its time alerts nobody; only a missed deadline (or a fail ping) does.
import type { HealthRecord, HealthStatus } from '../record.js';
import type { PushCheck } from './check-schema.js';
import { nextFire } from './cron-schedule.js';

export interface PushOutcome {
  status: HealthStatus;
  latencyMs: number | null;
  errorClass: string | null;
  message: string | null;
  details: Record<string, unknown> | null;
}

/** What a ping by URL says: the job succeeded, started, or failed. */
export type PingSignal = 'success' | 'start' | 'fail';

export type ScheduleState = 'new' | 'up' | 'late' | 'down';

/** A push check's schedule as the API shows it. */
export interface PushView {
  state: ScheduleState;
  lastPingAt: string | null;
  /** Set while a run announced by a start ping has not ended. */
  startedAt: string | null;
  /** When the next ping is expected (late from then on). */
  dueAt: string | null;
  /** When the check is counted as missed (down) without a ping. */
  deadlineAt: string | null;
  lastDurationMs: number | null;
}

interface Watch {
  check: PushCheck;
  timer: NodeJS.Timeout | undefined;
  lastPing: number | null;
  startedAt: number | null;
  lastDurationMs: number | null;
  /** Epoch ms the next ping is expected; null when a cron expression no longer fires. */
  dueAt: number | null;
  /** Epoch ms the missed result fires. */
  deadline: number | null;
  /** The last word was a missed deadline or a fail ping. */
  down: boolean;
}

/** Node's timers hold at most 2^31-1 ms (~24.8 days); a longer wait is armed in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** When a ping is next expected after one at `fromMs`: one interval on, or the next cron run. */
export function dueAfter(check: PushCheck, fromMs: number): number | null {
  if (check.cron === undefined) return fromMs + check.interval;
  return nextFire(check.cron, check.timezone ?? 'UTC', fromMs);
}

/** When the next missed result fires after one at `missedAtMs`. */
function repeatAfterMissed(check: PushCheck, missedAtMs: number): number | null {
  // An interval check repeats every interval (as it always has); a cron one at each later run + grace.
  if (check.cron === undefined) return missedAtMs + check.interval;
  const due = dueAfter(check, missedAtMs);
  return due === null ? null : due + check.grace;
}

export class PushMonitors {
  private readonly watches = new Map<string, Watch>();
  private readonly byService = new Map<string, Set<string>>();

  constructor(private readonly onOutcome: (checkId: string, outcome: PushOutcome) => void) {}

  /** Starts (or restarts) waiting for pings; the first ping is due one interval (or at the first run) from now. */
  watch(id: string, check: PushCheck): void {
    this.unwatch(id);
    const w: Watch = {
      check,
      timer: undefined,
      lastPing: null,
      startedAt: null,
      lastDurationMs: null,
      dueAt: null,
      deadline: null,
      down: false,
    };
    this.watches.set(id, w);
    let ids = this.byService.get(check.service);
    if (!ids) this.byService.set(check.service, (ids = new Set()));
    ids.add(id);
    this.expect(id, w, Date.now());
  }

  /**
   * At start-up, from the check's newest stored result (at `lastResultMs`; `lastPingMs` when
   * the service last pinged, if known): the deadline continues from there rather than
   * starting afresh, so restarts do not keep a dead service's switch from firing. `failed`:
   * that result was a failure (a fail ping), when known.
   */
  resume(id: string, lastResultMs: number, lastPingMs: number | null, failed = false): void {
    const w = this.watches.get(id);
    if (!w || !Number.isFinite(lastResultMs)) return;
    if (lastPingMs !== null && Number.isFinite(lastPingMs)) w.lastPing = lastPingMs;
    if (lastPingMs === lastResultMs) {
      w.down = failed;
      this.expect(id, w, lastResultMs);
    } else {
      // The newest result was a missed deadline: the next one is due as if it had just fired.
      w.down = true;
      w.dueAt = dueAfter(w.check, lastResultMs);
      this.arm(id, w, repeatAfterMissed(w.check, lastResultMs));
    }
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
      this.ended(id, w, r.status === 'down', {
        status: r.status,
        latencyMs: r.latency_ms,
        errorClass: r.status === 'down' ? 'reported_down' : null,
        message: r.message,
        details: { ping_id: r.id },
      });
    }
  }

  /**
   * A ping by URL (`/health/<check>`, `/start`, `/fail`). False when `id` is not a watched
   * push check (unknown, not push, or disabled).
   */
  signal(id: string, signal: PingSignal, message: string | null = null): boolean {
    const w = this.watches.get(id);
    if (!w) return false;
    const now = Date.now();
    if (signal === 'start') {
      // The run must end within grace; no result yet: a start says nothing of success.
      w.startedAt = now;
      this.arm(id, w, now + w.check.grace);
      return true;
    }
    const durationMs = w.startedAt === null ? null : now - w.startedAt;
    const failed = signal === 'fail';
    this.ended(id, w, failed, {
      status: failed ? 'down' : 'up',
      latencyMs: durationMs,
      errorClass: failed ? 'reported_down' : null,
      message: message ?? (failed ? 'the job reported failure' : null),
      details: { ping: signal, ...(durationMs === null ? {} : { duration_ms: durationMs }) },
    });
    return true;
  }

  /** The schedule state of a watched check at `now`, or undefined when not watched. */
  view(id: string, now = Date.now()): PushView | undefined {
    const w = this.watches.get(id);
    if (!w) return undefined;
    let state: ScheduleState;
    if (w.down) state = 'down';
    else if (w.startedAt !== null) state = 'up';
    else if (w.dueAt !== null && now >= w.dueAt) state = 'late';
    else state = w.lastPing === null ? 'new' : 'up';
    const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());
    return {
      state,
      lastPingAt: iso(w.lastPing),
      startedAt: iso(w.startedAt),
      dueAt: iso(w.dueAt),
      deadlineAt: iso(w.deadline),
      lastDurationMs: w.lastDurationMs,
    };
  }

  stop(): void {
    for (const id of [...this.watches.keys()]) this.unwatch(id);
  }

  /** A run ended (a success or fail ping): the next one is expected from now. */
  private ended(id: string, w: Watch, failed: boolean, outcome: PushOutcome): void {
    const now = Date.now();
    w.lastPing = now;
    if (w.startedAt !== null) w.lastDurationMs = now - w.startedAt;
    w.startedAt = null;
    w.down = failed;
    this.expect(id, w, now);
    this.onOutcome(id, outcome);
  }

  /** Expects the next ping after one at `fromMs`: due then, missed once grace has passed too. */
  private expect(id: string, w: Watch, fromMs: number): void {
    w.dueAt = dueAfter(w.check, fromMs);
    this.arm(id, w, w.dueAt === null ? null : w.dueAt + w.check.grace);
  }

  private arm(id: string, w: Watch, deadline: number | null): void {
    clearTimeout(w.timer);
    w.timer = undefined;
    w.deadline = deadline;
    if (deadline === null) return; // a cron expression that fires no more: nothing can be missed
    const wait = Math.max(0, deadline - Date.now());
    w.timer = setTimeout(
      () => (wait > MAX_TIMER_MS ? this.arm(id, w, deadline) : this.missed(id, w)),
      Math.min(wait, MAX_TIMER_MS),
    );
    w.timer.unref();
  }

  private missed(id: string, w: Watch): void {
    const now = Date.now();
    const c = w.check;
    const since = w.lastPing === null ? 'since monitoring started' : `since ${new Date(w.lastPing).toISOString()}`;
    const expected = c.cron === undefined ? `interval ${c.interval} ms` : `schedule "${c.cron}" ${c.timezone ?? 'UTC'}`;
    const running = w.startedAt === null ? '' : `; a run started ${new Date(w.startedAt).toISOString()} has not ended`;
    const outcome: PushOutcome = {
      status: 'down',
      latencyMs: null,
      errorClass: 'missed',
      message: `no ping from service "${c.service}" ${since} (${expected} + grace ${c.grace} ms)${running}`,
      details: { lastPing: w.lastPing === null ? null : new Date(w.lastPing).toISOString() },
    };
    w.down = true;
    w.startedAt = null;
    w.dueAt = dueAfter(c, now);
    this.arm(id, w, repeatAfterMissed(c, now));
    this.onOutcome(id, outcome);
  }
}

/** When the service last pinged, from a push result at `atMs`: a ping is one; a missed result carries it in its details. */
export function lastPingOf(errorClass: string | null, atMs: number, details: unknown): number | null {
  if (errorClass !== 'missed') return atMs;
  const last = (details as { lastPing?: unknown } | null)?.lastPing;
  return typeof last === 'string' ? Date.parse(last) : null;
}
