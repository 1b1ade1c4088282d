// Latency of a check: its recent results, oldest to newest; and p50/p95 per hour or day from
// the bucketed history (/api/checks/:id/history), p50 solid, p95 dashed.
import { useMemo } from 'preact/hooks';
import type { Bucket, CheckResult } from './types.js';
import { TimeChart } from './time-chart.js';

export function LatencyChart({ results }: { results: CheckResult[] }) {
  const data = useMemo(() => {
    const asc = results.filter((r) => r.latency_ms !== null).reverse();
    return { xs: asc.map((r) => Date.parse(r.ts) / 1000), ys: asc.map((r) => r.latency_ms) };
  }, [results]);
  return (
    <figure>
      <figcaption>Latency, last {data.xs.length} results</figcaption>
      <TimeChart xs={data.xs} ys={data.ys} label="latency" unit="ms" />
    </figure>
  );
}

export function LatencyPercentiles({ items, caption }: { items: Bucket[]; caption: string }) {
  const data = useMemo(
    () => ({
      xs: items.map((b) => Date.parse(b.start) / 1000),
      p50: items.map((b) => b.latency_p50_ms),
      more: [{ label: 'p95', ys: items.map((b) => b.latency_p95_ms) }],
    }),
    [items],
  );
  return (
    <figure>
      <figcaption>{caption}: p50 (solid) and p95 (dashed)</figcaption>
      <TimeChart xs={data.xs} ys={data.p50} label="p50" unit="ms" height={160} more={data.more} sparse />
    </figure>
  );
}
