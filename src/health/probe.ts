// One probe run: the kind's probe under a timeout enforced with an AbortSignal. A timeout is
// its own error class (not a generic failure), and the run always settles by the deadline,
// even when the probe underneath cannot be cancelled (getaddrinfo).
import { withTimeout } from '../timeout.js';
import type { CheckDefinition } from './check-schema.js';
import { failure, round, type ProbeResult } from './probe-result.js';
import { probeDns } from './probe-dns.js';
import { probeHttp, type HttpPools } from './probe-http.js';
import { probeTcp } from './probe-tcp.js';
import { probeTls } from './probe-tls.js';

export type { ProbeResult };

export interface ProbeDeps {
  http: HttpPools;
}

export class ProbeTimeout extends Error {
  constructor(ms: number) {
    super(`no answer within the ${ms} ms timeout`);
    this.name = 'ProbeTimeout';
  }
}

/** Runs the check's probe once; never throws. */
export async function runProbe(check: CheckDefinition, deps: ProbeDeps, outer?: AbortSignal): Promise<ProbeResult> {
  // Aborted before it began (the check deleted, or shutdown): nothing is connected.
  if (outer?.aborted) return failure('aborted', errorText(outer.reason), 0);
  const ac = new AbortController();
  const started = performance.now();
  let onOuter: (() => void) | undefined;
  // Settles the run at the timeout, and at once when the caller aborts (shutdown, the check
  // deleted or replaced; the caller discards those results), even if the probe underneath
  // cannot be cancelled.
  const aborted = new Promise<ProbeResult>((resolve) => {
    onOuter = (): void => {
      ac.abort(outer!.reason);
      resolve(failure('aborted', errorText(outer!.reason), round(performance.now() - started)));
    };
    outer?.addEventListener('abort', onOuter, { once: true });
  });
  try {
    return await withTimeout(Promise.race([probeOnce(check, ac.signal, deps), aborted]), check.timeout, () => {
      const err = new ProbeTimeout(check.timeout);
      ac.abort(err);
      return failure('timeout', err.message, round(performance.now() - started));
    });
  } catch (err) {
    if (ac.signal.aborted) return failure('timeout', (ac.signal.reason as Error).message, round(performance.now() - started));
    return failure(classifyError(err), errorText(err), round(performance.now() - started));
  } finally {
    if (onOuter) outer?.removeEventListener('abort', onOuter);
  }
}

function probeOnce(check: CheckDefinition, signal: AbortSignal, deps: ProbeDeps): Promise<ProbeResult> {
  switch (check.kind) {
    case 'http':
      return probeHttp(check, signal, deps.http);
    case 'tcp':
      return probeTcp(check, signal);
    case 'dns':
      return probeDns(check, signal);
    case 'tls':
      return probeTls(check, signal);
    case 'push':
      throw new Error('push checks are not probed: they wait for POST /health');
  }
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
  const msg = typeof e.message === 'string' && e.message !== '' ? e.message : typeof e.code === 'string' ? e.code : String(err);
  const cause = typeof e.cause?.message === 'string' && e.cause.message !== msg ? `: ${e.cause.message}` : '';
  return (msg + cause).slice(0, 500);
}
