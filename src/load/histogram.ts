// Latency histograms for the load generator and the benchmarks: HdrHistogram recording in
// microseconds (3 significant digits), reported in milliseconds.
import * as hdr from 'hdr-histogram-js';

export interface LatencySummary {
  count: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  mean: number;
}

export class LatencyHistogram {
  private readonly h = hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 3_600_000_000,
    numberOfSignificantValueDigits: 3,
  });

  /** Records one latency given in milliseconds (fractions kept to the microsecond). */
  recordMs(ms: number, count = 1): void {
    // Clock differences can make a tiny negative; a latency is never below 1 µs.
    const us = Math.max(1, Math.round(ms * 1000));
    if (count === 1) this.h.recordValue(us);
    else this.h.recordValueWithCount(us, count);
  }

  get count(): number {
    return this.h.totalCount;
  }

  summary(): LatencySummary {
    // Percentiles are reported at their bucket's upper edge, which can pass the exact max.
    const at = (p: number): number =>
      this.h.totalCount === 0 ? 0 : Math.min(this.h.getValueAtPercentile(p), this.h.maxValue) / 1000;
    return {
      count: this.h.totalCount,
      p50: at(50),
      p95: at(95),
      p99: at(99),
      max: this.h.totalCount === 0 ? 0 : this.h.maxValue / 1000,
      mean: this.h.totalCount === 0 ? 0 : this.h.mean / 1000,
    };
  }
}
