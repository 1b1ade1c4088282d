// dns probe: the name resolves through the system resolver (what the services themselves
// use), optionally to one of the expected addresses. getaddrinfo cannot be cancelled: the
// abort settles the run on time, and lookup.ts keeps abandoned lookups from piling up.
import type { DnsCheck } from './check-schema.js';
import { lookupAllAbortable } from './lookup.js';
import { failure, round, type ProbeResult } from './probe-result.js';
import { assertHostAllowed } from './target-guard.js';
import type { TargetPolicy } from './target-policy.js';

export async function probeDns(check: DnsCheck, signal: AbortSignal, targets: TargetPolicy): Promise<ProbeResult> {
  // Only name rules apply: the query goes to the resolver, nothing is sent to the addresses.
  assertHostAllowed(targets, check.hostname, 0);
  const started = performance.now();
  const found = await lookupAllAbortable(check.hostname, signal);
  const latencyMs = round(performance.now() - started);
  const addresses = found.map((a) => a.address);
  const details = { addresses };
  if (check.expect && !addresses.some((a) => check.expect!.includes(a))) {
    return failure(
      'dns_mismatch',
      `${check.hostname} resolved to ${addresses.join(', ')}, none of ${check.expect.join(', ')}`,
      latencyMs,
      { details },
    );
  }
  return { status: 'up', latencyMs, statusCode: null, errorClass: null, message: null, details };
}
