// One alert, rendered for one channel: the request (or mail) its provider expects.
import { alertBody } from '../alert-format.js';
import { discordRequest } from './discord.js';
import { emailMessage } from './email.js';
import { jsonPost, type Notice, type Outgoing } from './message.js';
import { ntfyRequest } from './ntfy.js';
import { opsgenieRequest } from './opsgenie.js';
import { pagerdutyRequest } from './pagerduty.js';
import type { Channel } from './schema.js';
import { teamsRequest } from './teams.js';
import { telegramRequest } from './telegram.js';

export function render(c: Channel, n: Notice): Outgoing {
  switch (c.kind) {
    case 'webhook':
      return jsonPost(
        c.url,
        { ...(alertBody(n.event, 'json') as object), ...(n.reminder ? { reminder: n.reminder } : {}) },
        c.headers,
      );
    case 'slack':
      return jsonPost(c.url, alertBody(n.event, 'slack', n.reminder));
    case 'discord':
      return discordRequest(c, n);
    case 'teams':
      return teamsRequest(c, n);
    case 'telegram':
      return telegramRequest(c, n);
    case 'pagerduty':
      return pagerdutyRequest(c, n);
    case 'opsgenie':
      return opsgenieRequest(c, n);
    case 'ntfy':
      return ntfyRequest(c, n);
    case 'email':
      return emailMessage(n);
  }
}
