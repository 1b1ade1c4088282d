// Which channels hear about a check: those the check names in its `notify` list; or, for a
// check that names none, every channel whose selectors all match it — `checks` patterns (its
// name or id), `groups` (its group is one of them), `tags` (it carries one of them). A channel
// without selectors hears every such check.
import type { Channel } from './schema.js';

export interface RouteInfo {
  id: string;
  name: string;
  /** The check's own `notify` list, when it has one. */
  notify?: readonly string[] | undefined;
  group?: string | undefined;
  tags?: readonly string[] | undefined;
}

export type Matcher = (r: RouteInfo) => boolean;

export function channelMatcher(c: Pick<Channel, 'name' | 'checks' | 'groups' | 'tags'>): Matcher {
  const patterns = c.checks?.map(globRegex);
  const groups = c.groups && new Set(c.groups);
  const tags = c.tags && new Set(c.tags);
  return (r) => {
    if (r.notify) return r.notify.includes(c.name);
    if (patterns && !patterns.some((p) => p.test(r.name) || p.test(r.id))) return false;
    if (groups && (r.group === undefined || !groups.has(r.group))) return false;
    if (tags && !(r.tags ?? []).some((t) => tags.has(t))) return false;
    return true;
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
