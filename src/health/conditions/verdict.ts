// Where conditions decide a run: after the probe, its result and the facts it observed go
// through the check's conditions (failure: down) and degraded conditions (failure: degraded).
// Each result then carries every condition's outcome in details.conditions. A run the probe
// already failed stays down (its own error says why); its conditions are still shown.
import type { ProbeResult } from '../probe-result.js';
import { compileCondition, type CompiledCondition, type ProbedKind } from './compile.js';
import { evaluateConditions, type ConditionOutcome, type ProbeFacts } from './evaluate.js';
import type { FactName } from './parse.js';

/** The condition fields of a check of a probed kind. */
export interface WithConditions {
  kind: string;
  conditions?: readonly string[] | undefined;
  degradedConditions?: readonly string[] | undefined;
}

interface Compiled {
  hard: CompiledCondition[];
  soft: CompiledCondition[];
  facts: Set<FactName>;
}

/** Compiled once per registered check: its definition object is replaced, never changed, on an update. */
const compiled = new WeakMap<object, Compiled | null>();

function compiledOf(check: WithConditions): Compiled | null {
  let c = compiled.get(check);
  if (c !== undefined) return c;
  const hard = check.conditions ?? [];
  const soft = check.degradedConditions ?? [];
  if (hard.length + soft.length === 0 || check.kind === 'push') c = null;
  else {
    const kind = check.kind as ProbedKind;
    // Validated at creation, so compiling cannot fail here.
    c = {
      hard: hard.map((t) => compileCondition(t, kind)),
      soft: soft.map((t) => compileCondition(t, kind)),
      facts: new Set(),
    };
    for (const x of [...c.hard, ...c.soft]) c.facts.add(x.subject.fact);
  }
  compiled.set(check, c);
  return c;
}

/**
 * Whether the check's conditions read `fact`: then they decide it, and the kind's own test of
 * it (the default expected status, minDaysLeft, a name that does not resolve) gives way.
 */
export function conditionsRead(check: WithConditions, fact: FactName): boolean {
  return compiledOf(check)?.facts.has(fact) ?? false;
}

export type ConditionResult = ConditionOutcome & { degraded?: true };

/** The run's result as the conditions decide it; the probe's facts are dropped (the body with them). */
export function judge(check: WithConditions, result: ProbeResult & { facts?: ProbeFacts }): ProbeResult {
  const { facts, ...r } = result;
  const c = compiledOf(check);
  if (!c) return r;
  const seen: ProbeFacts = { responseTimeMs: r.latencyMs, ...(facts ?? { connected: false }) };
  const hard = evaluateConditions(c.hard, seen);
  const soft = evaluateConditions(c.soft, seen);
  const conditions: ConditionResult[] = [...hard, ...soft.map((s) => ({ ...s, degraded: true as const }))];
  const out: ProbeResult = { ...r, details: { ...(r.details ?? {}), conditions } };
  if (r.status === 'down') return out;
  const failed = hard.filter((h) => !h.ok);
  if (failed.length > 0)
    return { ...out, status: 'down', errorClass: 'condition', message: failedMessage('condition failed', failed) };
  const slow = soft.filter((s) => !s.ok);
  if (slow.length > 0) return { ...out, status: 'degraded', message: failedMessage('degraded condition failed', slow) };
  return out;
}

function failedMessage(what: string, failed: ConditionOutcome[]): string {
  const first = failed[0]!;
  const more = failed.length > 1 ? ` (and ${failed.length - 1} more)` : '';
  return `${what}: ${first.condition}, saw ${JSON.stringify(first.value)}${more}`.slice(0, 500);
}
