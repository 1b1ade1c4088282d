// Maps decoded Loki streams onto log records. The rule (docs/ingest.md):
// - every stream label goes into attrs under its own name (also the ones read below);
// - service: the label service_name, else service, else job;
// - level: the label level, else detected_level, else the same names in structured metadata
//   (a value Sluice does not know as a level leaves the level at info; the label keeps it);
// - structured metadata: attrs.structured_metadata, an object of its names to values; its
//   trace_id/traceID and span_id/spanID also fill the trace_id and span_id columns;
// - the line is the message; the entry's nanosecond time is ts (to the microsecond).
// Any entry that cannot be stored fails the whole push (400): nothing from it is stored.
import { END_MICROS, normaliseLevel, type Level, type LogRecord } from '../../record.js';
import { normaliseLog } from '../normalise.js';
import { pushError, type LokiStream } from './streams.js';

const SERVICE_LABELS = ['service_name', 'service', 'job'];
const LEVEL_NAMES = ['level', 'detected_level'];
const TRACE_KEYS = ['trace_id', 'traceID', 'traceId'];
const SPAN_KEYS = ['span_id', 'spanID', 'spanId'];
const MAX_TRACE = 64;

function put(o: Record<string, unknown>, k: string, v: unknown): void {
  if (k === '__proto__')
    Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
  else o[k] = v;
}

function find(pairs: ReadonlyArray<[string, string]> | undefined, names: readonly string[]): string | undefined {
  if (!pairs) return undefined;
  for (const n of names) for (const [k, v] of pairs) if (k === n) return v;
  return undefined;
}

function levelOf(...sources: Array<ReadonlyArray<[string, string]> | undefined>): Level | undefined {
  for (const s of sources) {
    const raw = find(s, LEVEL_NAMES);
    if (raw !== undefined) return normaliseLevel(raw) ?? undefined;
  }
  return undefined;
}

/** How a stream is named in messages: its labels as Loki prints them. */
function shownLabels(labels: ReadonlyArray<[string, string]>): string {
  return `{${labels.map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(', ')}}`;
}

export interface Mapped {
  records: LogRecord[];
  bytes: number;
}

export function streamsToRecords(streams: readonly LokiStream[], receivedAt: number): Mapped {
  const records: LogRecord[] = [];
  let bytes = 0;
  for (const s of streams) {
    if (s.labels.length === 0) throw pushError('error at least one label pair is required per stream');
    const labels: Record<string, unknown> = {};
    for (const [k, v] of s.labels) {
      if (k === '') throw pushError(`stream '${shownLabels(s.labels)}' has an empty label name`);
      put(labels, k, v);
    }
    const service = find(s.labels, SERVICE_LABELS);
    const streamLevel = levelOf(s.labels);
    s.entries.forEach((e, j) => {
      const where = `stream '${shownLabels(s.labels)}' entry ${j}`;
      if (e.us >= END_MICROS) throw pushError(`${where}: timestamp is past the year 9999`);
      let attrs = labels;
      let traceId: string | undefined;
      let spanId: string | undefined;
      if (e.metadata) {
        const meta: Record<string, unknown> = {};
        for (const [k, v] of e.metadata) put(meta, k, v);
        attrs = { ...labels };
        put(attrs, 'structured_metadata', meta);
        traceId = find(e.metadata, TRACE_KEYS);
        spanId = find(e.metadata, SPAN_KEYS);
      }
      const level = streamLevel ?? levelOf(e.metadata);
      const r = normaliseLog(
        {
          message: e.line,
          attrs,
          ...(service !== undefined ? { service } : {}),
          ...(level !== undefined ? { level } : {}),
          ...(traceId !== undefined && traceId.length <= MAX_TRACE ? { trace_id: traceId } : {}),
          ...(spanId !== undefined && spanId.length <= MAX_TRACE ? { span_id: spanId } : {}),
        },
        { index: j },
        receivedAt,
      );
      if (!r.ok) throw pushError(`${where}: ${r.problem.field} ${r.problem.message}`);
      r.record.ts = e.us;
      records.push(r.record);
      bytes += r.record.size;
    });
  }
  return { records, bytes };
}
