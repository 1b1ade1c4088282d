// Uptime maths, shared by the in-memory history and (as SQL with the same rules) the
// PostgreSQL one. Time-weighted: each result stands for the time until the next result, but
// for no longer than `maxGapMs` (after that Sluice was not looking: the time is unobserved and
// counts neither way), and so is the time a run inside a maintenance window stands for. A
// window's uptime is up time / observed time; degraded counts as up. A window with nothing
// observed has uptime null, not 100%.

export const UPTIME_WINDOWS = {
  '1h': 3_600_000,
  '24h': 86_400_000,
  '7d': 7 * 86_400_000,
  '30d': 30 * 86_400_000,
} as const;
export type UptimeWindow = keyof typeof UPTIME_WINDOWS;

export interface WindowUptime {
  /** Percent with three decimals, or null when nothing was observed in the window. */
  percent: number | null;
  upSeconds: number;
  observedSeconds: number;
}

export type Uptime = Record<UptimeWindow, WindowUptime>;

export interface UptimePoint {
  /** Epoch ms. */
  ts: number;
  ok: boolean;
  /** A run inside a maintenance window: the time it stands for counts neither way. */
  excluded?: boolean;
}

/** `points` in ascending time order. */
export function computeUptime(points: readonly UptimePoint[], now: number, maxGapMs: number): Uptime {
  const out = {} as Uptime;
  for (const [name, len] of Object.entries(UPTIME_WINDOWS) as Array<[UptimeWindow, number]>) {
    const from = now - len;
    let up = 0;
    let observed = 0;
    for (let i = 0; i < points.length; i++) {
      const p = points[i]!;
      if (p.ts > now) break;
      const next = i + 1 < points.length ? points[i + 1]!.ts : now;
      const end = Math.min(next, p.ts + maxGapMs, now);
      const span = end - Math.max(p.ts, from);
      if (span <= 0 || p.excluded) continue;
      observed += span;
      if (p.ok) up += span;
    }
    out[name] = windowResult(up / 1000, observed / 1000);
  }
  return out;
}

export function windowResult(upSeconds: number, observedSeconds: number): WindowUptime {
  return {
    percent: observedSeconds > 0 ? Math.round((upSeconds / observedSeconds) * 100_000) / 1000 : null,
    upSeconds: Math.round(upSeconds * 1000) / 1000,
    observedSeconds: Math.round(observedSeconds * 1000) / 1000,
  };
}
