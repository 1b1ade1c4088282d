// Maps decoded Loki streams onto log records. The rule (docs/ingest.md):
// - every stream label goes into attrs under its own name (also the ones read below);
// - service: the label service_name, else service, else job;
// - level: the label level, else detected_level, else the same names in structured metadata
//   (a value Sluice does not know as a level leaves the level at info; the label keeps it);
// - structured metadata: attrs.structured_metadata, an object of its names to values; its
//   trace_id/traceID and span_id/spanID also fill the trace_id and span_id columns;
// - the line is the message; the entry's nanosecond time is ts (to the microsecond).
// Any entry that cannot be stored fails the whole push (400): nothing from it is stored.
// Mapped in steps: each record yields its accounted size, so a large push maps a slice at a time.
import { RECORD_OVERHEAD_BYTES, normaliseLevel, strBytes, type Level, type LogRecord } from '../../record.js';
import { END_MICROS } from '../../timestamp.js';
import { uuidv7 } from '../../uuidv7.js';
import { runAtOnce, type Steps } from '../../steps.js';
import { pushError, type LokiStream } from './streams.js';

const SERVICE_LABELS = ['service_name', 'service', 'job'];
const LEVEL_NAMES = ['level', 'detected_level'];
const TRACE_KEYS = ['trace_id', 'traceID', 'traceId'];
const SPAN_KEYS = ['span_id', 'spanID', 'spanId'];
const MAX_TRACE = 64;
/** As POST /logs (normalise.ts). */
const MAX_SERVICE = 256;

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

/**
 * Records are built here rather than through normaliseLog: a stream's labels are serialised
 * once for all its entries (per entry, that was most of the decoding time), and nothing in a
 * decoded entry needs normaliseLog's checks beyond the two below.
 */
export function* streamsToRecordsSteps(streams: readonly LokiStream[], receivedAt: number): Steps<Mapped> {
  const records: LogRecord[] = [];
  let bytes = 0;
  const idMs = Math.floor(receivedAt / 1000);
  for (const s of streams) {
    if (s.labels.length === 0) throw pushError('error at least one label pair is required per stream');
    const labels: Record<string, unknown> = {};
    for (const [k, v] of s.labels) {
      if (k === '') throw pushError(`stream '${shownLabels(s.labels)}' has an empty label name`);
      put(labels, k, v);
    }
    const labelsJson = JSON.stringify(labels);
    const service = find(s.labels, SERVICE_LABELS) ?? null;
    if (service !== null && service.length > MAX_SERVICE)
      throw pushError(`stream '${shownLabels(s.labels)}': service label must be at most ${MAX_SERVICE} characters`);
    const streamLevel = levelOf(s.labels);
    const fixed = RECORD_OVERHEAD_BYTES + strBytes(service);
    for (let j = 0; j < s.entries.length; j++) {
      const e = s.entries[j]!;
      if (e.us >= END_MICROS)
        throw pushError(`stream '${shownLabels(s.labels)}' entry ${j}: timestamp is past the year 9999`);
      let attrs = labelsJson;
      let traceId: string | null = null;
      let spanId: string | null = null;
      if (e.metadata) {
        const meta: Record<string, unknown> = {};
        for (const [k, v] of e.metadata) put(meta, k, v);
        // Labels always hold one pair at least, so the object is never empty: splice before its "}".
        attrs = `${labelsJson.slice(0, -1)},"structured_metadata":${JSON.stringify(meta)}}`;
        const t = find(e.metadata, TRACE_KEYS);
        const sp = find(e.metadata, SPAN_KEYS);
        if (t !== undefined && t.length <= MAX_TRACE) traceId = t;
        if (sp !== undefined && sp.length <= MAX_TRACE) spanId = sp;
      }
      const id = uuidv7(idMs);
      const record: LogRecord = {
        type: 'log',
        id,
        ts: e.us,
        received_at: receivedAt,
        level: streamLevel ?? levelOf(e.metadata) ?? 'info',
        service,
        message: e.line,
        attrs,
        trace_id: traceId,
        span_id: spanId,
        size: 0,
      };
      record.size = fixed + id.length + strBytes(e.line) + strBytes(attrs) + strBytes(traceId) + strBytes(spanId);
      records.push(record);
      bytes += record.size;
      yield record.size;
    }
  }
  return { records, bytes };
}

/** streamsToRecordsSteps in one go. */
export function streamsToRecords(streams: readonly LokiStream[], receivedAt: number): Mapped {
  return runAtOnce(streamsToRecordsSteps(streams, receivedAt));
}
