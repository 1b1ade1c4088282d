// What the operator lets checks do, applied to a valid definition before it is registered
// (admin API and config file alike): the minimum interval, the HTTP methods and the Host
// header allowed, and whether the check's literal target is denied (target-policy.ts).
import { parseCheck, type CheckDefinition, type CheckProblem } from './check-schema.js';
import { TargetPolicy, denialText, type TargetRulesConfig } from './target-policy.js';

export interface CheckLimits {
  minIntervalMs: number;
  allowMethods: readonly string[];
  allowHostHeader: boolean;
}

/** The first thing the operator's settings refuse about this check, or null. */
export function checkPolicyProblem(
  c: CheckDefinition,
  limits: CheckLimits,
  targets: TargetPolicy,
): CheckProblem | null {
  if (c.kind !== 'push' && c.interval < limits.minIntervalMs)
    return { field: 'interval', message: `must be at least health.minIntervalMs (${limits.minIntervalMs} ms)` };
  if (c.kind === 'http') {
    if (!limits.allowMethods.some((m) => m.toUpperCase() === c.method))
      return {
        field: 'method',
        message: `${c.method} is not allowed: health.allowMethods is ${limits.allowMethods.join(', ')}`,
      };
    const host = Object.keys(c.headers).find((h) => h.toLowerCase() === 'host');
    if (host !== undefined && !limits.allowHostHeader)
      return { field: `headers.${host}`, message: 'may not be set: health.allowHostHeader is false' };
  }
  const t = checkTarget(c);
  if (t === null) return null;
  const denial = targets.checkHost(t.host, t.port);
  return denial && { field: t.field, message: denialText(denial) };
}

/** The host and port a check connects to, as written; null for push checks. */
export function checkTarget(c: CheckDefinition): { field: string; host: string; port: number } | null {
  switch (c.kind) {
    case 'http': {
      const u = new URL(c.url);
      return { field: 'url', host: u.hostname, port: Number(u.port) || (u.protocol === 'https:' ? 443 : 80) };
    }
    case 'tcp':
    case 'tls':
      return { field: 'host', host: c.host, port: c.port };
    // A dns check talks to the resolver, not to the name: only name rules (without a port) apply.
    case 'dns':
      return { field: 'hostname', host: c.hostname, port: 0 };
    case 'push':
      return null;
  }
}

/** The config file's checks that the health.* settings refuse (each already valid on its own). */
export function configChecksRefused(
  checks: readonly unknown[],
  health: CheckLimits & TargetRulesConfig,
  listenerPort: number,
): Array<CheckProblem & { index: number }> {
  const targets = new TargetPolicy(health, [listenerPort]);
  const out: Array<CheckProblem & { index: number }> = [];
  checks.forEach((raw, index) => {
    const r = parseCheck(raw);
    const p = r.ok ? checkPolicyProblem(r.check, health, targets) : null;
    if (p) out.push({ ...p, index });
  });
  return out;
}
