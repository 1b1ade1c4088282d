// The opaque pagination cursor of GET /api/logs: the (ts, id) of the last row of a page, so the
// next page starts strictly after it (newest first) whatever arrives meanwhile.
import { parseRfc3339 } from '../timestamp.js';

export interface Cursor {
  /** RFC 3339 with microseconds, exactly as PostgreSQL wrote it (a number would lose digits past the year 2255). */
  ts: string;
  id: string;
}

export function encodeCursor(c: Cursor): string {
  return Buffer.from(JSON.stringify([c.ts, c.id])).toString('base64url');
}

export function decodeCursor(s: string): Cursor | null {
  if (s.length > 400 || !/^[\w-]+$/.test(s)) return null;
  try {
    const v = JSON.parse(Buffer.from(s, 'base64url').toString()) as unknown;
    if (
      Array.isArray(v) &&
      v.length === 2 &&
      typeof v[0] === 'string' &&
      parseRfc3339(v[0]) !== null &&
      typeof v[1] === 'string'
    )
      return { ts: v[0], id: v[1] };
  } catch {
    // not ours
  }
  return null;
}
