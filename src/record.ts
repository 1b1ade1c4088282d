// The Record types that flow through the pipeline, their log levels, size accounting and
// external JSON form. Time lives in timestamp.ts, ids in uuidv7.ts.
import { formatMicros } from './timestamp.js';

export const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const;
export type Level = (typeof LEVELS)[number];

export const HEALTH_STATUSES = ['up', 'down', 'degraded'] as const;
export type HealthStatus = (typeof HEALTH_STATUSES)[number];

/** Fields every record has. Timestamps are integer microseconds since the Unix epoch. */
interface RecordBase {
  id: string;
  ts: number;
  received_at: number;
  /** Approximate in-memory/encoded size in bytes, used for buffer and batch byte limits. */
  size: number;
}

export interface LogRecord extends RecordBase {
  type: 'log';
  level: Level;
  service: string | null;
  message: string | null;
  /** Serialised JSON (object or any JSON value), or null. Kept as text: every sink writes text. */
  attrs: string | null;
  trace_id: string | null;
  span_id: string | null;
  /** The sending key's tenant (set by ingest from the key, never from the body); absent: none. */
  tenant?: string;
}

/** A health ping pushed by a service (POST /health). */
export interface HealthRecord extends RecordBase {
  type: 'health';
  service: string;
  status: HealthStatus;
  latency_ms: number | null;
  message: string | null;
  attrs: string | null;
}

/** The result of one run of a registered health check (the health checker's output). */
export interface CheckRecord extends RecordBase {
  type: 'check';
  check_id: string;
  check_name: string;
  kind: string;
  ok: boolean;
  /** `maintenance`: run inside a maintenance window (what the run found is in details). */
  status: HealthStatus | 'maintenance';
  latency_ms: number | null;
  status_code: number | null;
  error_class: string | null;
  message: string | null;
  /** Serialised JSON with kind-specific details (e.g. TLS days left), or null. */
  details: string | null;
}

export type SluiceRecord = LogRecord | HealthRecord | CheckRecord;
export type RecordType = SluiceRecord['type'];
export const RECORD_TYPES: readonly RecordType[] = ['log', 'health', 'check'];

// ---- levels ---------------------------------------------------------------------------

/** A Map, not an object literal: a client's level must not find `constructor` or `__proto__`. */
const LEVEL_ALIASES = new Map<string, Level>(
  Object.entries({
    trace: 'trace',
    debug: 'debug',
    dbg: 'debug',
    info: 'info',
    information: 'info',
    informational: 'info',
    notice: 'info',
    warn: 'warn',
    warning: 'warn',
    error: 'error',
    err: 'error',
    fatal: 'fatal',
    critical: 'fatal',
    crit: 'fatal',
    alert: 'fatal',
    emerg: 'fatal',
    emergency: 'fatal',
    panic: 'fatal',
  } satisfies Record<string, Level>),
);

/**
 * Normalises a level: names (case-insensitive, common aliases), syslog severities 0–7
 * and pino numbers 10–60. Returns null for anything else.
 */
export function normaliseLevel(v: unknown): Level | null {
  if (typeof v === 'string') return LEVEL_ALIASES.get(v.toLowerCase()) ?? null;
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0) {
    if (v <= 7) return v <= 2 ? 'fatal' : v === 3 ? 'error' : v === 4 ? 'warn' : v <= 6 ? 'info' : 'debug';
    if (v < 10 || v > 60) return null; // neither a syslog severity nor a pino level
    if (v <= 10) return 'trace';
    if (v <= 20) return 'debug';
    if (v <= 30) return 'info';
    if (v <= 40) return 'warn';
    if (v <= 50) return 'error';
    return 'fatal';
  }
  return null;
}

// ---- size and rendering -----------------------------------------------------------------

/**
 * Fixed per-record cost in byte accounting: the record object (about a dozen in-object
 * fields), its string headers and its slot in the buffer. Chosen so that the accounted size
 * matches the live heap a buffered record was measured to hold (~280 bytes for a typical
 * 150-byte log line), so buffer.maxBytes bounds real memory, not a fraction of it.
 */
export const RECORD_OVERHEAD_BYTES = 208;

export function strBytes(s: string | null): number {
  return s === null ? 0 : s.length;
}

/** The external JSON form of a record (file sink, stdout, dead letters): times as RFC 3339. */
export function toJsonLine(r: SluiceRecord): string {
  const { size: _size, ts, received_at, ...rest } = r;
  const out: Record<string, unknown> = { ...rest, ts: formatMicros(ts), received_at: formatMicros(received_at) };
  if ('attrs' in r && r.attrs !== null) out.attrs = JSON.parse(r.attrs) as unknown;
  if (r.type === 'check' && r.details !== null) out.details = JSON.parse(r.details) as unknown;
  return JSON.stringify(out);
}
