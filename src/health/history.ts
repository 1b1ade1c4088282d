// Reading results back: from PostgreSQL's check_results when the sink is postgres (what the
// pipeline actually stored), otherwise from an in-memory ring of the latest results per check
// (lost on restart; the API says which one answered). Uptime follows uptime.ts's rules; the SQL
// below computes the same sums in the database rather than shipping 30 days of rows.
import type pg from 'pg';
import { type CheckRecord } from '../record.js';
import { formatMicros } from '../timestamp.js';
import { computeUptime, UPTIME_WINDOWS, windowResult, type Uptime, type UptimeWindow } from './uptime.js';

export interface HistoryQuery {
  limit: number;
  /** Epoch ms, inclusive. */
  from?: number | undefined;
  /** Epoch ms, inclusive. */
  to?: number | undefined;
}

export interface HistoryEntry {
  id: string;
  ts: string;
  ok: boolean;
  status: string;
  latency_ms: number | null;
  status_code: number | null;
  error_class: string | null;
  message: string | null;
  details: unknown;
}

export interface CheckHistory {
  readonly source: 'postgres' | 'memory';
  /** Sees every result as it is produced (the memory history keeps it; postgres ignores it). */
  add(r: CheckRecord): void;
  forget(checkId: string): void;
  list(checkId: string, q: HistoryQuery): Promise<HistoryEntry[]>;
  uptime(checkId: string, maxGapMs: number, now?: number): Promise<Uptime>;
  /** The newest stored result of each check (at start, so a restart still shows the last result). */
  latest(checkIds: readonly string[]): Promise<Map<string, HistoryEntry>>;
}

/** The API form of one check result (history and a check's last result). */
export function entryOf(r: CheckRecord): HistoryEntry {
  return {
    id: r.id,
    ts: formatMicros(r.ts),
    ok: r.ok,
    status: r.status,
    latency_ms: r.latency_ms,
    status_code: r.status_code,
    error_class: r.error_class,
    message: r.message,
    details: r.details === null ? null : (JSON.parse(r.details) as unknown),
  };
}

export class MemoryHistory implements CheckHistory {
  readonly source = 'memory';
  private readonly rings = new Map<string, { items: CheckRecord[]; next: number }>();

  constructor(private readonly perCheck: number) {}

  add(r: CheckRecord): void {
    let ring = this.rings.get(r.check_id);
    if (!ring) this.rings.set(r.check_id, (ring = { items: [], next: 0 }));
    if (ring.items.length < this.perCheck) ring.items.push(r);
    else {
      ring.items[ring.next] = r;
      ring.next = (ring.next + 1) % this.perCheck;
    }
  }

  forget(checkId: string): void {
    this.rings.delete(checkId);
  }

  /** Oldest first. */
  private ordered(checkId: string): CheckRecord[] {
    const ring = this.rings.get(checkId);
    if (!ring) return [];
    return [...ring.items.slice(ring.next), ...ring.items.slice(0, ring.next)];
  }

  async list(checkId: string, q: HistoryQuery): Promise<HistoryEntry[]> {
    const out: HistoryEntry[] = [];
    const all = this.ordered(checkId);
    for (let i = all.length - 1; i >= 0 && out.length < q.limit; i--) {
      const ms = all[i]!.ts / 1000;
      if (q.to !== undefined && ms > q.to) continue;
      if (q.from !== undefined && ms < q.from) break;
      out.push(entryOf(all[i]!));
    }
    return out;
  }

  async latest(): Promise<Map<string, HistoryEntry>> {
    return new Map(); // nothing survives a restart in memory
  }

  async uptime(checkId: string, maxGapMs: number, now = Date.now()): Promise<Uptime> {
    return computeUptime(
      this.ordered(checkId).map((r) => ({ ts: r.ts / 1000, ok: r.ok, excluded: r.status === 'maintenance' })),
      now,
      maxGapMs,
    );
  }
}

export class PostgresHistory implements CheckHistory {
  readonly source = 'postgres';

  constructor(private readonly pool: pg.Pool) {}

  add(): void {}

  forget(): void {}

  async list(checkId: string, q: HistoryQuery): Promise<HistoryEntry[]> {
    const { rows } = await this.pool.query<Omit<HistoryEntry, 'ts'> & { ts: Date; us: string }>(
      `SELECT id, ts, (extract(epoch FROM ts) * 1000000)::bigint::text AS us, ok, status, latency_ms, status_code, error_class, message, details
         FROM check_results
        WHERE check_id = $1
          AND ($2::double precision IS NULL OR ts >= to_timestamp($2 / 1000))
          AND ($3::double precision IS NULL OR ts <= to_timestamp($3 / 1000))
        ORDER BY ts DESC, id DESC
        LIMIT $4`,
      [checkId, q.from ?? null, q.to ?? null, q.limit],
    );
    return rows.map(({ us, ts: _ts, ...r }) => ({ ...r, ts: formatMicros(Number(us)) }));
  }

  async latest(checkIds: readonly string[]): Promise<Map<string, HistoryEntry>> {
    // One index probe (check_id, ts DESC) per check, not a scan of everything stored.
    const { rows } = await this.pool.query<Omit<HistoryEntry, 'ts'> & { check_id: string; us: string }>(
      `SELECT c.check_id, r.*
         FROM unnest($1::text[]) AS c(check_id)
         CROSS JOIN LATERAL (
           SELECT id, (extract(epoch FROM ts) * 1000000)::bigint::text AS us, ok, status, latency_ms, status_code, error_class, message, details
             FROM check_results WHERE check_id = c.check_id ORDER BY ts DESC LIMIT 1) r`,
      [checkIds],
    );
    return new Map(rows.map(({ check_id, us, ...r }) => [check_id, { ...r, ts: formatMicros(Number(us)) }]));
  }

  async uptime(checkId: string, maxGapMs: number, now = Date.now()): Promise<Uptime> {
    const windows = Object.entries(UPTIME_WINDOWS) as Array<[UptimeWindow, number]>;
    const longest = Math.max(...windows.map(([, ms]) => ms));
    // Each result spans [ts, least(next ts, ts + maxGap, now)); per window the part inside it counts.
    const { rows } = await this.pool.query<{ name: UptimeWindow; up: number | null; observed: number | null }>(
      `WITH r AS (
         SELECT ts, ok, status = 'maintenance' AS excluded,
                least(coalesce(lead(ts) OVER (ORDER BY ts, id), n.now), ts + n.gap, n.now) AS te
           FROM check_results, (SELECT to_timestamp($2::double precision / 1000) AS now, make_interval(secs => $3::double precision / 1000) AS gap) n
          WHERE check_id = $1
            AND ts <= n.now
            AND ts > n.now - make_interval(secs => $4::double precision / 1000) - n.gap
       ), w AS (
         SELECT name, to_timestamp(($2::double precision - len) / 1000) AS wfrom
           FROM unnest($5::text[], $6::double precision[]) AS t(name, len)
       )
       SELECT w.name,
              sum(greatest(0, extract(epoch FROM r.te - greatest(r.ts, w.wfrom)))) FILTER (WHERE r.ok AND NOT r.excluded) AS up,
              sum(greatest(0, extract(epoch FROM r.te - greatest(r.ts, w.wfrom)))) FILTER (WHERE NOT r.excluded) AS observed
         FROM w LEFT JOIN r ON r.te > w.wfrom
        GROUP BY w.name`,
      [checkId, now, maxGapMs, longest, windows.map(([n]) => n), windows.map(([, ms]) => ms)],
    );
    const out = {} as Uptime;
    for (const [name] of windows) {
      const row = rows.find((x) => x.name === name);
      out[name] = windowResult(Number(row?.up ?? 0), Number(row?.observed ?? 0));
    }
    return out;
  }
}
