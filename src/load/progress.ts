// Progress of a load run on stderr: a bar redrawn in place on a terminal, a plain line every
// few seconds otherwise (CI logs, pipes), so output stays readable either way.
import type { LoadProgress } from './run-load.js';

export interface ProgressTarget {
  isTTY?: boolean;
  columns?: number;
  write(s: string): unknown;
}

function statuses(c: Record<string, number>): string {
  return Object.entries(c)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}×${v}`)
    .join(' ');
}

export function progressPrinter(
  out: ProgressTarget,
  totalRecords: number,
  durationMs: number,
  plainEveryMs = 5000,
): { update(p: LoadProgress): void; end(): void } {
  let lastPlain = 0;
  let drawn = false;
  const fraction = (p: LoadProgress): number => {
    const byRecords = Number.isFinite(totalRecords) && totalRecords > 0 ? p.recordsSent / totalRecords : 0;
    const byTime = durationMs > 0 ? p.elapsedMs / durationMs : 0;
    return Math.min(1, Math.max(byRecords, byTime));
  };
  return {
    update(p) {
      const rate = p.elapsedMs > 0 ? Math.round((p.recordsAccepted / p.elapsedMs) * 1000) : 0;
      const f = fraction(p);
      const of = Number.isFinite(totalRecords) ? `/${totalRecords}` : '';
      const text =
        `${p.recordsSent}${of} records sent, ${p.recordsAccepted} accepted, ${rate} rec/s, ` +
        `${(p.elapsedMs / 1000).toFixed(1)} s  ${statuses(p.statusCounts)}`;
      if (out.isTTY) {
        const width = 24;
        const full = Math.round(f * width);
        const line = `[${'#'.repeat(full)}${'.'.repeat(width - full)}] ${(f * 100).toFixed(0).padStart(3)}% ${text}`;
        out.write(`\r\x1b[K${line.slice(0, Math.max(20, (out.columns ?? 120) - 1))}`);
        drawn = true;
      } else if (p.elapsedMs - lastPlain >= plainEveryMs) {
        lastPlain = p.elapsedMs;
        out.write(`load: ${(f * 100).toFixed(0)}% ${text}\n`);
      }
    },
    end() {
      if (drawn) out.write('\n');
    },
  };
}
