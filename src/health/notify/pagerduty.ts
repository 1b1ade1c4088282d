// PagerDuty Events API v2: `trigger` on down or degraded, `resolve` on recovery, both with the
// check's dedup_key so reminders fold into the open incident and the resolve closes it.
import type { Channel } from './schema.js';
import { incidentKey, isResolve, jsonPost, title, type Notice, type Outgoing } from './message.js';

export function pagerdutyRequest(c: Extract<Channel, { kind: 'pagerduty' }>, n: Notice): Outgoing {
  const e = n.event;
  const base = { routing_key: c.routingKey, dedup_key: incidentKey(e) };
  if (isResolve(e)) return jsonPost(c.eventsUrl, { ...base, event_action: 'resolve' });
  return jsonPost(c.eventsUrl, {
    ...base,
    event_action: 'trigger',
    payload: {
      summary: title(n).slice(0, 1024),
      source: e.check.target ?? e.check.name,
      severity: e.to === 'degraded' ? 'warning' : c.severity,
      timestamp: e.at,
      component: e.check.name,
      class: e.result.error_class ?? undefined,
      custom_details: { check_id: e.check.id, kind: e.check.kind, from: e.from, to: e.to, ...e.result },
    },
    client: 'Sluice',
  });
}
