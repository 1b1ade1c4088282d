// One probe run: the kind's probe under a timeout enforced with an AbortSignal. A timeout is
// its own error class (not a generic failure), and the run always settles by the deadline,
// even when the probe underneath cannot be cancelled (getaddrinfo). The check's conditions
// then decide the result (conditions/verdict.ts).
import { withTimeout } from '../timeout.js';
import type { CheckDefinition } from './check-schema.js';
import { judge } from './conditions/verdict.js';
import { probeOnce, type ProbeDeps } from './probe-kinds.js';
import { classifyError, errorText, failure, round, type ProbeResult } from './probe-result.js';

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
    const result = await withTimeout(Promise.race([probeOnce(check, ac.signal, deps), aborted]), check.timeout, () => {
      const err = new ProbeTimeout(check.timeout);
      ac.abort(err);
      return failure('timeout', err.message, round(performance.now() - started));
    });
    return judge(check, result);
  } catch (err) {
    if (ac.signal.aborted)
      return judge(check, failure('timeout', (ac.signal.reason as Error).message, round(performance.now() - started)));
    return judge(check, failure(classifyError(err), errorText(err), round(performance.now() - started)));
  } finally {
    if (onOuter) outer?.removeEventListener('abort', onOuter);
  }
}
