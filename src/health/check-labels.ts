// A check's group and tags: what a valid one looks like (shared by the check schema and the
// notification channels' selectors), and the one rule every filter follows, so the admin API,
// the read API, the status page and alert routing agree on which checks a selector means.
import { z } from 'zod';
import { SluiceError } from '../errors.js';

/** Tags per check at most: a selector, not a place for free text. */
export const MAX_TAGS = 20;

// Group names may have spaces ("Payments API"); tags are single words like "prod", "team:web",
// "tier/1". Both start with a letter or digit so a query string or YAML scalar stays plain.
const GROUP = /^[A-Za-z0-9][\w .:/-]{0,63}$/;
const TAG = /^[A-Za-z0-9][\w.:/=-]{0,63}$/;
const GROUP_RULE = 'must be 1–64 letters, digits, spaces or "_.:/-", starting with a letter or digit';
const TAG_RULE = 'must be 1–64 letters, digits or "_.:/=-", starting with a letter or digit';

export const groupSchema = z.string().regex(GROUP, GROUP_RULE);
export const tagSchema = z.string().regex(TAG, TAG_RULE);
export const tagsSchema = z
  .array(tagSchema)
  .max(MAX_TAGS, `at most ${MAX_TAGS} tags`)
  .superRefine((tags, ctx) => {
    const seen = new Set<string>();
    tags.forEach((t, i) => {
      if (seen.has(t)) ctx.addIssue({ code: 'custom', path: [i], message: `"${t}" is listed twice` });
      seen.add(t);
    });
  });

/** A check or a view of one (views are loose records, hence `unknown`). */
export type Labelled = Readonly<Record<string, unknown>> & { group?: unknown; tags?: unknown };

/** A filter on labels: absent parts match everything. */
export interface LabelFilter {
  group?: string | undefined;
  /** Every one of these must be among the check's tags. */
  tags?: readonly string[] | undefined;
}

/** Whether a check is in the filter's group and carries all of its tags (exact, case-sensitive). */
export function matchesLabels(c: Labelled, f: LabelFilter): boolean {
  if (f.group !== undefined && c.group !== f.group) return false;
  if (f.tags && f.tags.length > 0) {
    const have: unknown[] = Array.isArray(c.tags) ? c.tags : [];
    if (!f.tags.every((t) => have.includes(t))) return false;
  }
  return true;
}

/**
 * `?group=…&tag=…&tag=…` of a request (a repeated parameter arrives as an array) → a filter;
 * a bad value is a 400 naming the parameter.
 */
export function labelFilterOf(query: Record<string, unknown>): LabelFilter {
  const filter: LabelFilter = {};
  const group = query.group;
  if (group !== undefined && group !== '') {
    if (typeof group !== 'string') throw badQuery('group', 'must be given once');
    if (!groupSchema.safeParse(group).success) throw badQuery('group', GROUP_RULE);
    filter.group = group;
  }
  const raw = query.tag;
  if (raw !== undefined && raw !== '') {
    const tags = (Array.isArray(raw) ? (raw as unknown[]) : [raw]).filter((t) => t !== '');
    if (tags.length > MAX_TAGS) throw badQuery('tag', `at most ${MAX_TAGS} tags`);
    for (const t of tags) if (typeof t !== 'string' || !tagSchema.safeParse(t).success) throw badQuery('tag', TAG_RULE);
    filter.tags = tags as string[];
  }
  return filter;
}

function badQuery(field: string, message: string): SluiceError {
  return new SluiceError('SLUICE_ERR_INVALID_QUERY', { field, problem: message }, { problems: [{ field, message }] });
}
