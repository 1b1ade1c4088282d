// What one probe run returns, and the helpers every probe kind builds it with (apart from
// probe.ts, which imports the probe kinds, so that they do not import it back).
import type { HealthStatus } from '../record.js';

export interface ProbeResult {
  status: HealthStatus;
  latencyMs: number | null;
  statusCode: number | null;
  /** null on success; `timeout` for a run cut by its timeout; otherwise a short failure class. */
  errorClass: string | null;
  message: string | null;
  details: Record<string, unknown> | null;
}

export function failure(errorClass: string, message: string, latencyMs: number | null = null, extra: Partial<ProbeResult> = {}): ProbeResult {
  return { status: 'down', latencyMs, statusCode: null, errorClass, message, details: null, ...extra };
}

export function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}
