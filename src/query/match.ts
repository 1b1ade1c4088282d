// The tail's side of a LogFilter: the same filters as the SQL in log-query.ts, applied in
// memory to records as ingest accepts them.
import type { LogRecord } from '../record.js';
import type { AttrFilter, LogFilter } from './log-filter.js';

export type RecordMatcher = (r: LogRecord) => boolean;

export function matcherOf(f: LogFilter): RecordMatcher {
  const services = f.services.length > 0 ? new Set(f.services) : null;
  const levels = f.levels.length > 0 ? new Set<string>(f.levels) : null;
  const q = f.q?.toLowerCase();
  const traceId = f.traceId;
  const tenant = f.tenant;
  const attrs = f.attrs.length > 0 ? f.attrs.map(attrTest) : null;
  return (r) => {
    if (tenant !== undefined && r.tenant !== tenant) return false;
    if (services && (r.service === null || !services.has(r.service))) return false;
    if (levels && !levels.has(r.level)) return false;
    if (traceId !== undefined && r.trace_id !== traceId) return false;
    if (q !== undefined && (r.message === null || !r.message.toLowerCase().includes(q))) return false;
    if (attrs) {
      if (r.attrs === null) return false;
      const doc = JSON.parse(r.attrs) as unknown;
      for (const test of attrs) if (!test(doc)) return false;
    }
    return true;
  };
}

/** Equality at the path as jsonb containment has it: objects all the way down, then an equal scalar. */
function attrTest(a: AttrFilter): (doc: unknown) => boolean {
  const literal = a.literal === null ? undefined : (JSON.parse(a.literal) as unknown);
  return (doc) => {
    let v = doc;
    for (const key of a.path) {
      if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
      v = (v as Record<string, unknown>)[key];
    }
    return v === a.text || (literal !== undefined && v === literal);
  };
}
