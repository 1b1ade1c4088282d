// What a probe run found, and the helpers every probe kind shares to say it: a failure with
// its short class, rounded latencies, an error's text.
import type { HealthStatus } from '../record.js';
import type { ProbeFacts } from './conditions/evaluate.js';

export interface ProbeResult {
  status: HealthStatus;
  latencyMs: number | null;
  statusCode: number | null;
  /** null on success; `timeout` for a run cut by its timeout; otherwise a short failure class. */
  errorClass: string | null;
  message: string | null;
  details: Record<string, unknown> | null;
  /** What the run observed, for the check's conditions (conditions/verdict.ts drops it). */
  facts?: ProbeFacts;
}

export function failure(
  errorClass: string,
  message: string,
  latencyMs: number | null = null,
  extra: Partial<ProbeResult> = {},
): ProbeResult {
  return { status: 'down', latencyMs, statusCode: null, errorClass, message, details: null, ...extra };
}

const CODE_CLASSES: Record<string, string> = {
  ECONNREFUSED: 'connection_refused',
  ECONNRESET: 'connection_reset',
  EPIPE: 'connection_reset',
  UND_ERR_SOCKET: 'connection_reset',
  ENOTFOUND: 'dns',
  EAI_AGAIN: 'dns',
  EAI_NONAME: 'dns',
  EHOSTUNREACH: 'unreachable',
  ENETUNREACH: 'unreachable',
  UND_ERR_CONNECT_TIMEOUT: 'timeout',
  UND_ERR_HEADERS_TIMEOUT: 'timeout',
  UND_ERR_BODY_TIMEOUT: 'timeout',
  CERT_HAS_EXPIRED: 'tls_expired',
  UND_ERR_MAX_REDIRECTS: 'too_many_redirects',
  SLUICE_ERR_TARGET_DENIED: 'denied',
};

/** A short, stable class for an error from node:net/tls/dns or undici. */
export function classifyError(err: unknown): string {
  const e = err as { code?: unknown; cause?: { code?: unknown } };
  const code = typeof e.code === 'string' ? e.code : typeof e.cause?.code === 'string' ? e.cause.code : '';
  if (CODE_CLASSES[code]) return CODE_CLASSES[code];
  if (/CERT|SELF_SIGNED|TLS|SSL|ERR_SSL/.test(code)) return 'tls';
  return 'error';
}

export function errorText(err: unknown): string {
  const e = err as { message?: unknown; code?: unknown; cause?: { message?: unknown } };
  const msg =
    typeof e.message === 'string' && e.message !== '' ? e.message : typeof e.code === 'string' ? e.code : String(err);
  const cause = typeof e.cause?.message === 'string' && e.cause.message !== msg ? `: ${e.cause.message}` : '';
  return (msg + cause).slice(0, 500);
}

export function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}
