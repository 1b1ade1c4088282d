// Microsoft Teams (incoming webhook or Workflows "post to a channel when a webhook request is
// received"): a message with one Adaptive Card attachment, a title and a FactSet.
import type { Channel } from './schema.js';
import { facts, isResolve, jsonPost, title, type Notice, type Outgoing } from './message.js';

export function teamsRequest(c: Extract<Channel, { kind: 'teams' }>, n: Notice): Outgoing {
  const e = n.event;
  const color = isResolve(e) ? 'Good' : e.to === 'down' ? 'Attention' : 'Warning';
  return jsonPost(c.url, {
    type: 'message',
    attachments: [
      {
        contentType: 'application/vnd.microsoft.card.adaptive',
        contentUrl: null,
        content: {
          $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
          type: 'AdaptiveCard',
          version: '1.4',
          body: [
            { type: 'TextBlock', text: title(n), weight: 'Bolder', size: 'Medium', color, wrap: true },
            { type: 'FactSet', facts: facts(n).map(([t, value]) => ({ title: t, value })) },
          ],
        },
      },
    ],
  });
}
