// The benchmarks use the load generator's histogram (HdrHistogram, µs in, ms out).
export { LatencyHistogram, type LatencySummary } from '../../src/load/histogram.js';
