// Opsgenie Alert API: create an alert aliased to the check on down or degraded (Opsgenie folds
// repeats of an open alias into one alert), close it by alias on recovery.
import type { Channel } from './schema.js';
import { incidentKey, isResolve, jsonPost, plainText, title, type Notice, type Outgoing } from './message.js';

export function opsgenieRequest(c: Extract<Channel, { kind: 'opsgenie' }>, n: Notice): Outgoing {
  const e = n.event;
  const base = c.apiUrl.replace(/\/+$/, '');
  const auth = { authorization: `GenieKey ${c.apiKey}` };
  const alias = incidentKey(e);
  if (isResolve(e))
    return jsonPost(
      `${base}/v2/alerts/${encodeURIComponent(alias)}/close?identifierType=alias`,
      { source: 'Sluice', note: title(n) },
      auth,
    );
  return jsonPost(
    `${base}/v2/alerts`,
    {
      message: title(n).slice(0, 130),
      alias,
      description: plainText(n).slice(0, 15_000),
      priority: e.to === 'degraded' ? 'P4' : c.priority,
      source: 'Sluice',
      entity: e.check.name,
      tags: ['sluice', e.to],
      details: { check_id: e.check.id, kind: e.check.kind, target: e.check.target ?? '' },
    },
    auth,
  );
}
