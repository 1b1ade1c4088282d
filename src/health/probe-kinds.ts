// The probe-kind table: which probe runs a check of each kind. The kinds import only the
// shared result helpers (probe-result.ts), so nothing here imports back.
import type { CheckDefinition } from './check-schema.js';
import { probeDns } from './probe-dns.js';
import { probeHttp, type HttpPools } from './probe-http.js';
import type { ProbeResult } from './probe-result.js';
import { probeTcp } from './probe-tcp.js';
import { probeTls } from './probe-tls.js';
import type { TargetPolicy } from './target-policy.js';

export interface ProbeDeps {
  /** Built with the same target policy, which it checks on every new connection. */
  http: HttpPools;
  targets: TargetPolicy;
}

export function probeOnce(check: CheckDefinition, signal: AbortSignal, deps: ProbeDeps): Promise<ProbeResult> {
  switch (check.kind) {
    case 'http':
      return probeHttp(check, signal, deps.http);
    case 'tcp':
      return probeTcp(check, signal, deps.targets);
    case 'dns':
      return probeDns(check, signal, deps.targets);
    case 'tls':
      return probeTls(check, signal, deps.targets);
    case 'push':
      throw new Error('push checks are not probed: they wait for POST /health');
  }
}
