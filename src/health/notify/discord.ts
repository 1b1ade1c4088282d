// Discord: an execute-webhook request with one embed (title, colour by state, a field per fact).
import type { Channel } from './schema.js';
import { facts, isResolve, jsonPost, title, type Notice, type Outgoing } from './message.js';

const COLOR = { up: 0x2eb67d, degraded: 0xecb22e, down: 0xe01e5a, unknown: 0x9e9e9e } as const;

export function discordRequest(c: Extract<Channel, { kind: 'discord' }>, n: Notice): Outgoing {
  const e = n.event;
  return jsonPost(c.url, {
    ...(c.username ? { username: c.username } : {}),
    embeds: [
      {
        title: title(n).slice(0, 256),
        color: COLOR[isResolve(e) ? 'up' : e.to],
        timestamp: e.at,
        fields: facts(n).map(([name, value]) => ({ name, value: value.slice(0, 1024), inline: name !== 'Reason' })),
      },
    ],
    // Never ping @everyone or roles from text a check target controls (its error message).
    allowed_mentions: { parse: [] },
  });
}
