// Latency of a check's recent results, oldest to newest.
import { useMemo } from 'preact/hooks';
import type { CheckResult } from './types.js';
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
