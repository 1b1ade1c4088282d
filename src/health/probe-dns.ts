// dns probe: the name resolves through the system resolver (what the services themselves
// use), optionally to one of the expected addresses. getaddrinfo cannot be cancelled: the
// abort settles the run on time, and lookup.ts keeps abandoned lookups from piling up.
// getaddrinfo reports no DNS response code; [DNS_RCODE] is read from its outcome (an answer:
// NOERROR, no such name: NXDOMAIN, the resolver failing: SERVFAIL).
import type { LookupAddress } from 'node:dns';
import type { DnsCheck } from './check-schema.js';
import { conditionsRead } from './conditions/verdict.js';
import { lookupAllAbortable } from './lookup.js';
import { failure, round, type ProbeResult } from './probe-result.js';
import { assertHostAllowed } from './target-guard.js';
import type { TargetPolicy } from './target-policy.js';

const RCODE_OF_ERROR: Record<string, string> = {
  ENOTFOUND: 'NXDOMAIN',
  EAI_NONAME: 'NXDOMAIN',
  EAI_AGAIN: 'SERVFAIL',
  EAI_FAIL: 'SERVFAIL',
};

export async function probeDns(check: DnsCheck, signal: AbortSignal, targets: TargetPolicy): Promise<ProbeResult> {
  // Only name rules apply: the query goes to the resolver, nothing is sent to the addresses.
  assertHostAllowed(targets, check.hostname, 0);
  const started = performance.now();
  let found: LookupAddress[];
  let rcode = 'NOERROR';
  try {
    found = await lookupAllAbortable(check.hostname, signal);
  } catch (err) {
    // With conditions on [DNS_RCODE], a name that does not resolve is theirs to judge.
    const code = RCODE_OF_ERROR[String((err as { code?: unknown }).code)];
    if (signal.aborted || code === undefined || !conditionsRead(check, 'DNS_RCODE')) throw err;
    found = [];
    rcode = code;
  }
  const latencyMs = round(performance.now() - started);
  const addresses = found.map((a) => a.address);
  const details = { addresses, ...(rcode === 'NOERROR' ? {} : { rcode }) };
  const facts = { connected: true, dnsRcode: rcode, ip: addresses[0] ?? null };
  if (check.expect && !addresses.some((a) => check.expect!.includes(a))) {
    return failure(
      'dns_mismatch',
      `${check.hostname} resolved to ${addresses.join(', ') || 'nothing'}, none of ${check.expect.join(', ')}`,
      latencyMs,
      { details, facts },
    );
  }
  return { status: 'up', latencyMs, statusCode: null, errorClass: null, message: null, details, facts };
}
