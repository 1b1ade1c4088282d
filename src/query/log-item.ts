// One log record as the read API shows it — the same JSON from GET /api/logs and from the
// tail — built as text so that attrs go out exactly as stored (no parse and re-serialise).
import { type LogRecord } from '../record.js';
import { formatMicros } from '../timestamp.js';

export interface LogItemFields {
  id: string;
  /** RFC 3339 UTC with microseconds. */
  ts: string;
  received_at: string;
  level: string;
  service: string | null;
  message: string | null;
  /** JSON text, or null. */
  attrs: string | null;
  trace_id: string | null;
  span_id: string | null;
}

const str = (s: string | null): string => (s === null ? 'null' : JSON.stringify(s));

export function logItemJson(r: LogItemFields): string {
  return (
    `{"id":${JSON.stringify(r.id)},"ts":"${r.ts}","received_at":"${r.received_at}","level":${JSON.stringify(r.level)},` +
    `"service":${str(r.service)},"message":${str(r.message)},"attrs":${r.attrs ?? 'null'},"trace_id":${str(r.trace_id)},"span_id":${str(r.span_id)}}`
  );
}

export function recordItemJson(r: LogRecord): string {
  return logItemJson({ ...r, ts: formatMicros(r.ts), received_at: formatMicros(r.received_at) });
}
