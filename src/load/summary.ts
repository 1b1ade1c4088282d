// The human-readable summary of a load run (the --json form is the result object itself).
import type { LatencySummary } from './histogram.js';
import type { LoadResult } from './run-load.js';
import type { VerifyResult } from './verify.js';

const ms = (x: number): string => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));

export function latencyLine(l: LatencySummary): string {
  return `p50 ${ms(l.p50)} ms  p95 ${ms(l.p95)} ms  p99 ${ms(l.p99)} ms  max ${ms(l.max)} ms`;
}

export function formatSummary(r: LoadResult, v: VerifyResult | undefined): string {
  const codes = Object.entries(r.statusCounts)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, n]) => `${k}: ${n}`)
    .join(', ');
  const lines = [
    `run ${r.runId} (service "${r.service}", ids "${r.runId}-<n>")`,
    `target      POST ${r.target}`,
    `sent        ${r.recordsSent} records in ${r.requests} requests over ${(r.elapsedMs / 1000).toFixed(2)} s`,
    `throughput  ${r.requestsPerSec.toFixed(0)} requests/s, ${r.recordsPerSec.toFixed(0)} records/s accepted`,
    `status      ${codes || 'none'}`,
    `accepted    ${r.recordsAccepted} records`,
    ...(r.transportErrors
      ? [`no answer   ${r.transportErrors} requests (connection refused or reset, or timed out): not counted as sent`]
      : []),
    ...(r.stoppedEarly ? [`STOPPED     ${r.stoppedEarly}`] : []),
    `latency     ${latencyLine(r.latency)} (per request)`,
  ];
  if (v) {
    const ok = v.missing === 0 && v.duplicates === 0;
    const duplicates = v.duplicates ? `, ${v.duplicates} duplicate rows` : '';
    const missing = v.missing ? `, ${v.missing} MISSING` : '';
    lines.push(
      `database    ${v.distinct} of ${v.expected} accepted records stored${duplicates}${missing} ` +
        `(${ok ? 'ok' : 'NOT OK'}; waited ${(v.waitedMs / 1000).toFixed(1)} s after the last request)`,
      `end to end  ${v.e2e.count ? latencyLine(v.e2e) : 'n/a'} (${v.e2eMethod})`,
      `            ${v.e2eNote}`,
    );
  }
  return lines.join('\n');
}
