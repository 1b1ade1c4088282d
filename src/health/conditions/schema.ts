// The `conditions` and `degradedConditions` fields of a check definition: a short list of
// condition strings, each compiled for the check's kind when the check is created, so a bad
// one is refused with its index and the character where it goes wrong.
import { z } from 'zod';
import { compileCondition, type ProbedKind } from './compile.js';
import { ConditionError, MAX_CONDITION_LENGTH, parseCondition } from './parse.js';

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

/**
 * An http check's conditions on [CERTIFICATE_EXPIRATION] need an https:// URL (a plain http
 * one has no certificate to read): a superRefine step of the http check's schema.
 */
export function refuseCertificateWithoutTls(
  c: { url: string; conditions?: string[] | undefined; degradedConditions?: string[] | undefined },
  ctx: z.RefinementCtx,
): void {
  if (!URL.canParse(c.url) || new URL(c.url).protocol !== 'http:') return;
  for (const field of ['conditions', 'degradedConditions'] as const) {
    (c[field] ?? []).forEach((text, i) => {
      if (readsCertificate(text))
        ctx.addIssue({
          code: 'custom',
          path: [field, i],
          message: `${JSON.stringify(text)}: [CERTIFICATE_EXPIRATION] needs an https:// URL (or a check of kind tls)`,
        });
    });
  }
}

function readsCertificate(text: string): boolean {
  try {
    const t = parseCondition(text);
    return [t.left, t.right].some((o) => 'fact' in o && o.fact === 'CERTIFICATE_EXPIRATION');
  } catch {
    return false;
  }
}
