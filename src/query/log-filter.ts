// The filters of GET /api/logs and GET /api/logs/tail, parsed from the query string once into
// a typed LogFilter (a 400 naming the parameter otherwise). The SQL builder and the tail's
// in-memory matcher both read this one shape, so the two agree on what a filter means.
import { SluiceError } from '../errors.js';
import { parseDuration } from '../health/duration.js';
import { LEVELS, type Level } from '../record.js';
import { formatMicros, nowMicros, parseRfc3339 } from '../timestamp.js';
import { decodeCursor, type Cursor } from './cursor.js';

export const DEFAULT_LIMIT = 100;
export const MAX_LIMIT = 1000;
/** Guards against a query string that would build a huge WHERE clause. */
const MAX_VALUES = 50;
const MAX_PATH_DEPTH = 16;

/** `attr.<path>=<value>`: equality at a path in attrs. */
export interface AttrFilter {
  path: string[];
  /** The value as text: matches a JSON string equal to it. */
  text: string;
  /** JSON text of a number, true, false or null when `text` reads as one: matches that JSON value too. */
  literal: string | null;
}

export interface LogFilter {
  services: string[];
  /** Levels at or above the minimum asked for (empty: any level). */
  levels: Level[];
  /** Epoch microseconds, inclusive. */
  from?: number;
  /** Epoch microseconds, exclusive. */
  to?: number;
  /** Case-insensitive substring of message. */
  q?: string;
  traceId?: string;
  attrs: AttrFilter[];
  limit: number;
  cursor?: Cursor;
  /** Only this tenant's records: set from the reading key, never from the query string. */
  tenant?: string;
}

export function badParam(field: string, message: string): SluiceError {
  return new SluiceError('SLUICE_ERR_INVALID_QUERY', { field, problem: message }, { problems: [{ field, message }] });
}

type Query = Record<string, unknown>;

const JSON_LITERAL = /^(?:-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null)$/;

/** `range`: from/to/cursor/limit are accepted (the query API); the tail takes only the record filters. */
export function parseLogFilter(query: Query, opts: { range: boolean; now?: number }): LogFilter {
  const now = opts.now ?? nowMicros();
  const known = opts.range ? RANGE_PARAMS : RECORD_PARAMS;
  const f: LogFilter = { services: [], levels: [], attrs: [], limit: DEFAULT_LIMIT };
  for (const [key, raw] of Object.entries(query)) {
    if (key.startsWith('attr.')) {
      const path = key.slice(5).split('.');
      if (path.length > MAX_PATH_DEPTH || path.some((p) => p === ''))
        throw badParam(
          key,
          `needs a path of 1 to ${MAX_PATH_DEPTH} non-empty names separated by dots (attr.user.id=42)`,
        );
      for (const text of values(key, raw)) f.attrs.push({ path, text, literal: JSON_LITERAL.test(text) ? text : null });
      continue;
    }
    if (!known.has(key)) throw badParam(key, `is not known; accepted: ${[...known].join(', ')}, attr.<path>`);
    switch (key) {
      case 'service':
        for (const s of values(key, raw)) if (s !== '') f.services.push(s);
        break;
      case 'level': {
        const v = single(key, raw).toLowerCase();
        const i = LEVELS.indexOf(v as Level);
        if (i < 0) throw badParam(key, `must be one of ${LEVELS.join(', ')} (the minimum level)`);
        f.levels = LEVELS.slice(i);
        break;
      }
      case 'from':
      case 'to':
        f[key] = timeParam(key, single(key, raw), now);
        break;
      case 'q': {
        const v = single(key, raw);
        if (v.length > 1000) throw badParam(key, 'must be at most 1000 characters');
        if (v !== '') f.q = v;
        break;
      }
      case 'trace_id': {
        const v = single(key, raw);
        if (v !== '') f.traceId = v;
        break;
      }
      case 'limit': {
        const v = single(key, raw);
        const n = /^\d{1,7}$/.test(v) ? Number(v) : NaN;
        if (!(n >= 1 && n <= MAX_LIMIT)) throw badParam(key, `must be an integer from 1 to ${MAX_LIMIT}`);
        f.limit = n;
        break;
      }
      case 'cursor': {
        const c = decodeCursor(single(key, raw));
        if (!c) throw badParam(key, 'is not a cursor this API returned (pass the "next" value as it is)');
        f.cursor = c;
        break;
      }
    }
  }
  if (f.attrs.length > MAX_VALUES || f.services.length > MAX_VALUES)
    throw badParam(f.attrs.length > MAX_VALUES ? 'attr.*' : 'service', `may be given at most ${MAX_VALUES} times`);
  if (f.from !== undefined && f.to !== undefined && f.from >= f.to) throw badParam('from', 'must be before to');
  return f;
}

const RECORD_PARAMS = new Set(['service', 'level', 'q', 'trace_id']);
const RANGE_PARAMS = new Set([...RECORD_PARAMS, 'from', 'to', 'limit', 'cursor']);

function values(key: string, raw: unknown): string[] {
  const list = Array.isArray(raw) ? raw : [raw];
  if (list.length > MAX_VALUES) throw badParam(key, `may be given at most ${MAX_VALUES} times`);
  return list.map((v) => String(v));
}

function single(key: string, raw: unknown): string {
  if (Array.isArray(raw)) throw badParam(key, 'may be given only once');
  return String(raw);
}

/** RFC 3339, or a duration back from now (`15m`, `24h`, `7d`, `90s`). */
function timeParam(key: string, v: string, now: number): number {
  const abs = parseRfc3339(v);
  if (abs !== null) return abs;
  const ms = /^\d/.test(v) && !/^\d+$/.test(v) ? parseDuration(v) : null;
  if (ms !== null) return now - ms * 1000;
  throw badParam(
    key,
    `must be an RFC 3339 time (${formatMicros(now).slice(0, 19)}Z) or a duration back from now (15m, 24h, 7d)`,
  );
}
