// Which channels hear about a check: those the check names in its `notify` list; or, for a
// check that names none, every channel whose `checks` patterns match its name or id (a
// channel without patterns hears every such check).
import type { Channel } from './schema.js';

export interface RouteInfo {
  id: string;
  name: string;
  /** The check's own `notify` list, when it has one. */
  notify?: readonly string[] | undefined;
}

export type Matcher = (r: RouteInfo) => boolean;

export function channelMatcher(c: Pick<Channel, 'name' | 'checks'>): Matcher {
  const patterns = c.checks?.map(globRegex);
  return (r) => {
    if (r.notify) return r.notify.includes(c.name);
    return !patterns || patterns.some((p) => p.test(r.name) || p.test(r.id));
  };
}

/** `*` is any run of characters, `?` one character; everything else is literal. */
export function globRegex(glob: string): RegExp {
  const src = glob
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${src}$`, 's');
}
