// ntfy: a POST of the text to the topic URL, title, priority and tags (emoji names) as headers.
import type { Channel } from './schema.js';
import { facts, isResolve, title, type Notice, type Outgoing } from './message.js';

export function ntfyRequest(c: Extract<Channel, { kind: 'ntfy' }>, n: Notice): Outgoing {
  const e = n.event;
  const resolve = isResolve(e);
  // Header values must be Latin-1 for undici; anything else becomes "?" rather than a refusal.
  const latin1 = (s: string) => s.replace(/[^\x20-\x7e\xa0-\xff]/g, '?');
  return {
    kind: 'http',
    url: c.url,
    method: 'POST',
    headers: {
      'content-type': 'text/plain; charset=utf-8',
      title: latin1(title(n)),
      priority: String(resolve ? 3 : c.priority),
      tags: resolve ? 'white_check_mark,sluice' : e.to === 'down' ? 'rotating_light,sluice' : 'warning,sluice',
      ...(c.token ? { authorization: `Bearer ${c.token}` } : {}),
    },
    body: facts(n)
      .map(([k, v]) => `${k}: ${v}`)
      .join('\n'),
  };
}
