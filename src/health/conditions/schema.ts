// The `conditions` and `degradedConditions` fields of a check definition: a short list of
// condition strings, each compiled for the check's kind when the check is created, so a bad
// one is refused with its index and the character where it goes wrong.
import { z } from 'zod';
import { compileCondition, type ProbedKind } from './compile.js';
import { ConditionError, MAX_CONDITION_LENGTH } from './parse.js';

/** Most conditions in one list (bounds each run's work). */
export const MAX_CONDITIONS = 20;

export function conditionsField(kind: ProbedKind) {
  return z
    .array(z.string().min(1).max(MAX_CONDITION_LENGTH))
    .max(MAX_CONDITIONS)
    .superRefine((list, ctx) => {
      list.forEach((text, i) => {
        try {
          compileCondition(text, kind);
        } catch (err) {
          if (!(err instanceof ConditionError)) throw err;
          ctx.addIssue({ code: 'custom', path: [i], message: `${JSON.stringify(text)} ${err.message}` });
        }
      });
    })
    .optional();
}
