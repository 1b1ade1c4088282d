// What the public status page and badges may show: only the checks statusPage.checks names
// (by id or name; empty = all), each with state, uptime and 90 daily bars. No definitions (URLs,
// hosts, headers) and no error messages leave through here. Answers are cached for a few
// seconds: the page is public, and a flood of requests must not become a flood of queries.
import type pg from 'pg';
import type { CheckView, HealthChecker } from '../health/checker.js';
import { bucketsFromPostgres, bucketsOf, firstBucketStart, type Bucket, type BucketUnit } from './check-buckets.js';
import type { StatusPageConfig } from './config.js';

export interface PublicCheck {
  id: string;
  name: string;
  /** The check's group (the page shows one section per group); its tags stay private. */
  group: string | null;
  state: string;
  since: string;
  uptime: { '24h': number | null; '7d': number | null; '30d': number | null };
  last_latency_ms: number | null;
  days: Bucket[];
}

export interface PublicStatus {
  title: string;
  /** up: every shown check up; degraded: some degraded or unknown; down: any down. */
  overall: 'up' | 'degraded' | 'down';
  updated_at: string;
  checks: PublicCheck[];
}

export interface StatusDeps {
  health: HealthChecker;
  config: StatusPageConfig;
  /** check_results lives here when the sink is postgres (once started); otherwise the in-memory history. */
  pool: () => pg.Pool | undefined;
}

const CACHE_MS = 5000;

export async function checkBuckets(
  deps: Pick<StatusDeps, 'health' | 'pool'>,
  id: string,
  unit: BucketUnit,
  now = Date.now(),
): Promise<Bucket[]> {
  const pool = deps.health.history.source === 'postgres' ? deps.pool() : undefined;
  if (pool) return bucketsFromPostgres(pool, id, unit, now);
  const entries = await deps.health.historyOf(id, {
    limit: Number.MAX_SAFE_INTEGER,
    from: firstBucketStart(unit, now),
  });
  return bucketsOf(entries, unit, now);
}

export class PublicStatusSource {
  private cached: { at: number; value: Promise<PublicStatus> } | undefined;

  constructor(private readonly deps: StatusDeps) {}

  /** The checks the status page may show, in name order. */
  visible(): CheckView[] {
    const wanted = this.deps.config.checks;
    const all = this.deps.health.list();
    const shown =
      wanted.length === 0 ? all : all.filter((c) => wanted.includes(c.id) || wanted.includes(String(c.name)));
    return shown.sort((a, b) => String(a.name).localeCompare(String(b.name)));
  }

  /** A visible check by id, or else by name (case-insensitive). */
  find(idOrName: string): CheckView | undefined {
    const shown = this.visible();
    const lower = idOrName.toLowerCase();
    return shown.find((c) => c.id === idOrName) ?? shown.find((c) => String(c.name).toLowerCase() === lower);
  }

  /** Every visible check, or only those of `group` (the overall state then is that group's). */
  async status(now = Date.now(), group?: string): Promise<PublicStatus> {
    const all = await this.cachedStatus(now);
    if (group === undefined) return all;
    const checks = all.checks.filter((c) => c.group === group);
    return { ...all, overall: overallOf(checks), checks };
  }

  private cachedStatus(now: number): Promise<PublicStatus> {
    if (this.cached && now - this.cached.at < CACHE_MS) return this.cached.value;
    const value = this.compute(now);
    this.cached = { at: now, value };
    value.catch(() => (this.cached = undefined));
    return value;
  }

  private async compute(now: number): Promise<PublicStatus> {
    const checks = await Promise.all(
      this.visible().map(async (c): Promise<PublicCheck> => {
        const [uptime, days] = await Promise.all([
          this.deps.health.uptimeOf(c.id, now),
          checkBuckets(this.deps, c.id, 'day', now),
        ]);
        return {
          id: c.id,
          name: String(c.name),
          group: typeof c.group === 'string' ? c.group : null,
          state: c.enabled === false ? 'paused' : c.state,
          since: c.since,
          uptime: { '24h': uptime['24h'].percent, '7d': uptime['7d'].percent, '30d': uptime['30d'].percent },
          last_latency_ms: c.lastResult?.latency_ms ?? null,
          days,
        };
      }),
    );
    return {
      title: this.deps.config.title,
      overall: overallOf(checks),
      updated_at: new Date(now).toISOString(),
      checks,
    };
  }
}

function overallOf(checks: readonly PublicCheck[]): PublicStatus['overall'] {
  const states = checks.map((c) => c.state);
  return states.includes('down') ? 'down' : states.every((s) => s === 'up' || s === 'paused') ? 'up' : 'degraded';
}
