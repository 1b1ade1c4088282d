// The Record types that flow through the pipeline, and the helpers every stage shares:
// timestamps (epoch microseconds), log levels, time-ordered ids and size accounting.
import { randomFillSync } from 'node:crypto';

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
  status: HealthStatus;
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

// ---- time ----------------------------------------------------------------------------

/** Current time in epoch microseconds. `performance.timeOrigin` keeps sub-ms precision. */
export function nowMicros(): number {
  return Math.round((performance.timeOrigin + performance.now()) * 1000);
}

/** Epoch microseconds → RFC 3339 UTC with microseconds (`2026-01-02T03:04:05.123456Z`). */
export function formatMicros(us: number): string {
  const ms = Math.floor(us / 1000);
  const frac = us - ms * 1000; // 0..999 µs within the millisecond
  const iso = new Date(ms).toISOString(); // YYYY-MM-DDTHH:MM:SS.mmmZ
  return iso.slice(0, 23) + String(frac).padStart(3, '0') + 'Z';
}

const RFC3339 =
  /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?([Zz]|([+-])(\d{2}):?(\d{2}))$/;

/** Parses an RFC 3339 timestamp to epoch microseconds, or returns null when it is not one. */
export function parseRfc3339(s: string): number | null {
  const m = RFC3339.exec(s);
  if (!m) return null;
  const [, y, mo, d, h, mi, sec, frac, , sign, oh, om] = m;
  const year = Number(y), month = Number(mo), day = Number(d);
  const hour = Number(h), minute = Number(mi), second = Number(sec);
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) return null;
  let ms = Date.UTC(year, month - 1, day, hour, minute, Math.min(second, 59));
  // Date.UTC silently rolls 31 Feb into March: reject dates that do not round-trip.
  if (new Date(ms).getUTCDate() !== day) return null;
  if (sign) {
    const offset = (Number(oh) * 60 + Number(om)) * 60_000;
    ms += sign === '+' ? -offset : offset;
  }
  const micros = frac ? Math.floor(Number(frac.padEnd(6, '0').slice(0, 6))) : 0;
  return ms * 1000 + micros;
}

/**
 * Interprets an epoch number by magnitude: seconds, milliseconds, microseconds or nanoseconds.
 * Returns microseconds, or null when not finite/positive.
 */
export function epochToMicros(n: number): number | null {
  if (!Number.isFinite(n) || n < 0) return null;
  if (n < 1e11) return Math.round(n * 1e6); // seconds (until year 5138)
  if (n < 1e14) return Math.round(n * 1e3); // milliseconds
  if (n < 1e17) return Math.round(n); // microseconds
  return Math.round(n / 1e3); // nanoseconds
}

/** Accepts RFC 3339 strings, epoch numbers, or digit strings; returns microseconds or null. */
export function toMicros(v: unknown): number | null {
  if (typeof v === 'number') return epochToMicros(v);
  if (typeof v === 'string') {
    if (/^\d{1,20}(\.\d+)?$/.test(v)) return epochToMicros(Number(v));
    return parseRfc3339(v);
  }
  return null;
}

// ---- levels ---------------------------------------------------------------------------

const LEVEL_ALIASES: Record<string, Level> = {
  trace: 'trace', debug: 'debug', dbg: 'debug',
  info: 'info', information: 'info', informational: 'info', notice: 'info',
  warn: 'warn', warning: 'warn',
  error: 'error', err: 'error',
  fatal: 'fatal', critical: 'fatal', crit: 'fatal', alert: 'fatal', emerg: 'fatal', emergency: 'fatal', panic: 'fatal',
};

/**
 * Normalises a level: names (case-insensitive, common aliases), syslog severities 0–7
 * and pino numbers 10–60. Returns null for anything else.
 */
export function normaliseLevel(v: unknown): Level | null {
  if (typeof v === 'string') return LEVEL_ALIASES[v.toLowerCase()] ?? null;
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0) {
    if (v <= 7) return v <= 2 ? 'fatal' : v === 3 ? 'error' : v === 4 ? 'warn' : v <= 6 ? 'info' : 'debug';
    if (v <= 10) return 'trace';
    if (v <= 20) return 'debug';
    if (v <= 30) return 'info';
    if (v <= 40) return 'warn';
    if (v <= 50) return 'error';
    return 'fatal';
  }
  return null;
}

// ---- ids ------------------------------------------------------------------------------

const RAND_POOL = Buffer.alloc(16 * 256);
let randPos = RAND_POOL.length;
let lastMs = 0;
let seq = 0;
const HEX: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/**
 * A UUIDv7 (RFC 9562): 48-bit ms timestamp, then a 12-bit counter that keeps ids
 * monotonic within one millisecond in this process, then random bits.
 */
export function uuidv7(nowMs: number = Date.now()): string {
  if (randPos + 16 > RAND_POOL.length) {
    randomFillSync(RAND_POOL);
    randPos = 0;
  }
  if (nowMs <= lastMs) {
    seq = (seq + 1) & 0xfff;
    if (seq === 0) lastMs += 1; // counter wrapped: borrow the next millisecond
    nowMs = lastMs;
  } else {
    lastMs = nowMs;
    seq = RAND_POOL[randPos]! & 0x3ff; // random start leaves room to count up
  }
  const b = RAND_POOL;
  const p = randPos;
  randPos += 16;
  const hi = Math.floor(nowMs / 0x10000);
  const lo = nowMs & 0xffff;
  return (
    HEX[(hi >>> 24) & 0xff]! + HEX[(hi >>> 16) & 0xff]! + HEX[(hi >>> 8) & 0xff]! + HEX[hi & 0xff]! + '-' +
    HEX[lo >>> 8]! + HEX[lo & 0xff]! + '-' +
    HEX[0x70 | (seq >>> 8)]! + HEX[seq & 0xff]! + '-' +
    HEX[0x80 | (b[p + 8]! & 0x3f)]! + HEX[b[p + 9]!]! + '-' +
    HEX[b[p + 10]!]! + HEX[b[p + 11]!]! + HEX[b[p + 12]!]! + HEX[b[p + 13]!]! + HEX[b[p + 14]!]! + HEX[b[p + 15]!]!
  );
}


// ---- size and rendering -----------------------------------------------------------------

/** Fixed per-record overhead (object header, numbers, id) used in byte accounting. */
export const RECORD_OVERHEAD_BYTES = 96;

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
