// What every provider says about one alert: whether it opens or resolves an incident, a title,
// the detail lines, and the request or mail each provider turns it into.
import type { AlertEvent } from '../alert-schema.js';

export type Outgoing =
  | { kind: 'http'; url: string; method: 'POST'; headers: Record<string, string>; body: string }
  | { kind: 'mail'; subject: string; text: string };

/** An alert as handed to a provider: the event, and how many reminders came before (0 = the change itself). */
export interface Notice {
  event: AlertEvent;
  /** 0 for the state change; n for the nth reminder while still down. */
  reminder: number;
}

/** A recovery closes what a down or degraded alert opened. */
export function isResolve(e: AlertEvent): boolean {
  return e.to === 'up';
}

export function title(n: Notice): string {
  const e = n.event;
  if (isResolve(e)) return `RESOLVED: ${e.check.name} is UP (was ${e.from})`;
  const still = n.reminder > 0 ? `STILL ${e.to.toUpperCase()}` : e.to.toUpperCase();
  return `${still}: ${e.check.name}${n.reminder > 0 ? ` (reminder ${n.reminder})` : ` (was ${e.from})`}`;
}

/** Name/value facts shown under the title, in this order by every provider that has fields. */
export function facts(n: Notice): Array<[string, string]> {
  const e = n.event;
  const out: Array<[string, string]> = [
    ['Check', e.check.name],
    ['State', `${e.from} → ${e.to}`],
    ['Since', e.at],
  ];
  if (e.check.target) out.push(['Target', e.check.target]);
  if (e.result.message) out.push(['Reason', e.result.message]);
  if (e.result.status_code !== null) out.push(['Status', String(e.result.status_code)]);
  if (e.result.latency_ms !== null) out.push(['Latency', `${e.result.latency_ms} ms`]);
  return out;
}

/** Plain text: the title, then one `Name: value` line per fact. */
export function plainText(n: Notice): string {
  return [title(n), ...facts(n).map(([k, v]) => `${k}: ${v}`)].join('\n');
}

/** A stable key per check, shared by the trigger and its resolve (PagerDuty dedup_key, Opsgenie alias). */
export function incidentKey(e: AlertEvent): string {
  return `sluice-check-${e.check.id}`;
}

export function jsonPost(url: string, body: unknown, headers: Record<string, string> = {}): Outgoing {
  return {
    kind: 'http',
    url,
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  };
}
