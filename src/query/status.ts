// GET /api/status: every check's state, uptime and last result, plus the recent state changes
// (incidents), in the shape the status page reads. Incidents are kept in memory from the
// health checker's transitions, so they start empty at each start (state and uptime do not:
// with PostgreSQL they come from its tables).
import type { AlertEvent } from '../health/alert-schema.js';
import type { HealthChecker } from '../health/checker.js';
import { matchesLabels, type LabelFilter } from '../health/check-labels.js';

export interface Incident {
  check_id: string;
  check_name: string;
  from: string;
  to: string;
  /** RFC 3339. */
  at: string;
  /** The result that moved the state: its message or error class (null for a recovery without one). */
  error: string | null;
}

export interface CheckStatus {
  id: string;
  name: string;
  kind: string;
  group: string | null;
  tags: string[];
  state: string;
  since: string;
  /** Percent (three decimals), or null when nothing was observed in the window. */
  uptime: { '24h': number | null; '7d': number | null; '30d': number | null };
  last_latency_ms: number | null;
  /** The last result's error (message or class) when it was not up; null otherwise. */
  last_error: string | null;
}

/** Newest first, at most `max`. */
export class IncidentLog {
  private readonly items: Incident[] = [];

  constructor(private readonly max = 100) {}

  add(e: AlertEvent): void {
    this.items.unshift({
      check_id: e.check.id,
      check_name: e.check.name,
      from: e.from,
      to: e.to,
      at: e.at,
      error: e.to === 'up' ? null : (e.result.message ?? e.result.error_class),
    });
    if (this.items.length > this.max) this.items.pop();
  }

  list(): Incident[] {
    return [...this.items];
  }
}

/** Uptime reads run this many at a time: each is one query on the sink's pool. */
const UPTIME_CONCURRENCY = 4;

export async function statusOf(
  health: HealthChecker,
  incidents: IncidentLog,
  filter: LabelFilter = {},
): Promise<{ checks: CheckStatus[]; incidents: Incident[] }> {
  const views = health.list().filter((v) => matchesLabels(v, filter));
  const checks: CheckStatus[] = new Array<CheckStatus>(views.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < views.length) {
      const i = next++;
      const v = views[i]!;
      const u = await health.uptimeOf(v.id);
      const last = v.lastResult;
      checks[i] = {
        id: v.id,
        name: String(v.name),
        kind: String(v.kind),
        group: typeof v.group === 'string' ? v.group : null,
        tags: Array.isArray(v.tags) ? (v.tags as string[]) : [],
        state: v.state,
        since: v.since,
        uptime: { '24h': u['24h'].percent, '7d': u['7d'].percent, '30d': u['30d'].percent },
        last_latency_ms: last?.latency_ms ?? null,
        last_error: last && last.status !== 'up' ? (last.message ?? last.error_class ?? last.status) : null,
      };
    }
  };
  await Promise.all(Array.from({ length: Math.min(UPTIME_CONCURRENCY, views.length) }, worker));
  // Incidents follow the filter too: a team's status view shows its own checks' changes.
  const all = incidents.list();
  if (filter.group === undefined && !filter.tags?.length) return { checks, incidents: all };
  const shown = new Set(views.map((v) => v.id));
  return { checks, incidents: all.filter((i) => shown.has(i.check_id)) };
}
