// Just enough of the Prometheus text format for the Pipeline view: sums a counter or a
// histogram's buckets across labels, and reads percentiles from bucket counts.
export function sumSamples(text: string, name: string): number | null {
  let total: number | null = null;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    if (rest[0] !== ' ' && rest[0] !== '{') continue;
    const v = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (Number.isFinite(v)) total = (total ?? 0) + v;
  }
  return total;
}

/** Cumulative bucket counts by upper bound (summed over label sets), ascending. */
export function histogramBuckets(text: string, name: string): Array<[number, number]> {
  const byLe = new Map<number, number>();
  const prefix = `${name}_bucket{`;
  for (const line of text.split('\n')) {
    if (!line.startsWith(prefix)) continue;
    const m = /le="([^"]+)"/.exec(line);
    if (!m) continue;
    const le = m[1] === '+Inf' ? Infinity : Number(m[1]);
    const v = Number(line.slice(line.lastIndexOf(' ') + 1));
    byLe.set(le, (byLe.get(le) ?? 0) + v);
  }
  return [...byLe.entries()].sort((a, b) => a[0] - b[0]);
}

/** Quantile from cumulative buckets, interpolated inside the bucket (as histogram_quantile does). */
export function quantile(buckets: Array<[number, number]>, q: number): number | null {
  const total = buckets.at(-1)?.[1] ?? 0;
  if (total === 0) return null;
  const rank = q * total;
  let prevLe = 0;
  let prevCount = 0;
  for (const [le, count] of buckets) {
    if (count >= rank) {
      if (le === Infinity) return prevLe;
      const inBucket = count - prevCount;
      return inBucket === 0 ? le : prevLe + ((le - prevLe) * (rank - prevCount)) / inBucket;
    }
    prevLe = le;
    prevCount = count;
  }
  return prevLe;
}

/** Bucket counts of `now` minus `before` (what happened between two scrapes). */
export function bucketDelta(now: Array<[number, number]>, before: Array<[number, number]>): Array<[number, number]> {
  const old = new Map(before);
  return now.map(([le, c]) => [le, c - (old.get(le) ?? 0)]);
}
