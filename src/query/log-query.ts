// GET /api/logs against PostgreSQL: a LogFilter turned into one parameterised SELECT (values
// only ever travel as parameters), newest first, keyset-paginated on (ts, id).
import type pg from 'pg';
import { formatMicros } from '../timestamp.js';
import { encodeCursor } from './cursor.js';
import type { LogFilter } from './log-filter.js';
import { logItemJson, type LogItemFields } from './log-item.js';

/** RFC 3339 with microseconds, written by PostgreSQL (exact, unlike a JS Date). */
const RFC3339 = (col: string): string => `to_char(${col} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

export interface BuiltQuery {
  text: string;
  values: unknown[];
}

/** The SELECT for a filter; fetches one row more than the limit to know whether a next page exists. */
export function buildLogQuery(f: LogFilter): BuiltQuery {
  const values: unknown[] = [];
  const p = (v: unknown): string => {
    values.push(v);
    return `$${values.length}`;
  };
  const where: string[] = [];
  if (f.from !== undefined) where.push(`ts >= ${p(formatMicros(f.from))}::timestamptz`);
  if (f.to !== undefined) where.push(`ts < ${p(formatMicros(f.to))}::timestamptz`);
  if (f.cursor) {
    // Spelled out rather than (ts, id) < (…): the ts bound alone is what the ts indexes can use.
    const ts = p(f.cursor.ts);
    where.push(`ts <= ${ts}::timestamptz AND (ts < ${ts}::timestamptz OR id < ${p(f.cursor.id)})`);
  }
  if (f.services.length === 1) where.push(`service = ${p(f.services[0])}`);
  else if (f.services.length > 1) where.push(`service = ANY(${p(f.services)}::text[])`);
  if (f.levels.length > 0) where.push(`level = ANY(${p(f.levels)}::text[])`);
  if (f.q !== undefined) where.push(`message ILIKE ${p(`%${escapeLike(f.q)}%`)}`);
  if (f.traceId !== undefined) where.push(`trace_id = ${p(f.traceId)}`);
  if (f.tenant !== undefined) where.push(`tenant = ${p(f.tenant)}`);
  for (const a of f.attrs) {
    // Containment (@>) is what the jsonb_path_ops GIN index serves; a value that reads as a
    // JSON number/true/false/null also matches that JSON value (attr.user.id=42 finds 42 and "42").
    const alternatives = [containment(a.path, JSON.stringify(a.text))];
    if (a.literal !== null) alternatives.push(containment(a.path, a.literal));
    where.push(
      alternatives.length === 1
        ? `attrs @> ${p(alternatives[0])}::jsonb`
        : `(${alternatives.map((d) => `attrs @> ${p(d)}::jsonb`).join(' OR ')})`,
    );
  }
  const text =
    `SELECT id, ${RFC3339('ts')} AS ts, ${RFC3339('received_at')} AS received_at, level, service, message, attrs::text AS attrs, trace_id, span_id FROM logs` +
    (where.length > 0 ? ` WHERE ${where.join(' AND ')}` : '') +
    // Qualified: a bare `ts` here would be the output column (the text), which no index serves.
    ` ORDER BY logs.ts DESC, logs.id DESC LIMIT ${p(f.limit + 1)}`;
  return { text, values };
}

/** `{"a":{"b":<leaf>}}` for path [a, b]; `leaf` is JSON text. */
function containment(path: readonly string[], leaf: string): string {
  let doc = leaf;
  for (let i = path.length - 1; i >= 0; i--) doc = `{${JSON.stringify(path[i])}:${doc}}`;
  return doc;
}

function escapeLike(s: string): string {
  return s.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/** Runs the query; answers the API's JSON body as text: `{"items":[…],"next":cursor|null}`. */
export async function queryLogs(pool: pg.Pool, f: LogFilter): Promise<string> {
  const { rows } = await pool.query<LogItemFields>(buildLogQuery(f));
  const more = rows.length > f.limit;
  const page = more ? rows.slice(0, f.limit) : rows;
  const last = page[page.length - 1];
  const next = more && last ? JSON.stringify(encodeCursor({ ts: last.ts, id: last.id })) : 'null';
  return `{"items":[${page.map(logItemJson).join(',')}],"next":${next}}`;
}
