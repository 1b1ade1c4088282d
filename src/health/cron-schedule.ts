// Cron expressions in a time zone, for push checks that expect a ping on a schedule and for
// recurring maintenance windows. The calendar maths (and its daylight-saving rules) is
// croner's: a local time skipped by a spring-forward fires once at the jump, a time repeated
// by a fall-back fires once, at its first occurrence.
import { Cron } from 'croner';

/** Parsed expressions by "timezone\nexpression": few distinct ones, each asked many times. */
const cache = new Map<string, Cron>();
const CACHE_MAX = 10_000;

/** Whether `tz` is an IANA time zone name this runtime knows. */
export function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** Why a 5-field expression (or a @daily-style nickname) cannot be used, or null when it can. */
export function cronProblem(expr: string, timezone: string): string | null {
  const s = expr.trim();
  if (!s.startsWith('@') && s.split(/\s+/).length !== 5)
    return 'must have 5 fields (minute hour day-of-month month day-of-week) or be a nickname like @daily';
  if (!isTimeZone(timezone)) return null; // the timezone field reports its own problem
  let cron: Cron;
  try {
    cron = cronOf(s, timezone);
  } catch (err) {
    return `is not a valid cron expression: ${(err as Error).message.replace(/^CronPattern: /, '')}`;
  }
  if (cron.nextRun(new Date()) === null) return 'never fires';
  return null;
}

/** Epoch ms of the first time the expression fires strictly after `afterMs`, or null if never. */
export function nextFire(expr: string, timezone: string, afterMs: number): number | null {
  const next = cronOf(expr.trim(), timezone).nextRun(new Date(afterMs));
  return next === null ? null : next.getTime();
}

function cronOf(expr: string, timezone: string): Cron {
  const key = `${timezone}\n${expr}`;
  let c = cache.get(key);
  if (!c) {
    // Paused: croner is used as a calculator only; the callers own their timers.
    c = new Cron(expr, { timezone, paused: true });
    if (cache.size >= CACHE_MAX) cache.clear();
    cache.set(key, c);
  }
  return c;
}
