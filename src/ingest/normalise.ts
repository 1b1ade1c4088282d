// Turns one untrusted JSON value into a typed record, or a FieldProblem naming what is
// wrong. Shared by the JSON and NDJSON paths of POST /logs and by POST /health.
import type { FieldProblem } from '../errors.js';
import { oneOf, shown } from '../given.js';
import {
  HEALTH_STATUSES,
  LEVELS,
  RECORD_OVERHEAD_BYTES,
  normaliseLevel,
  strBytes,
  type HealthRecord,
  type HealthStatus,
  type LogRecord,
  type SluiceRecord,
} from '../record.js';
import { toMicros } from '../timestamp.js';
import { uuidv7 } from '../uuidv7.js';

/** Where a value sits in the request: a line (NDJSON) or an index (JSON). */
export interface Position {
  line?: number;
  index?: number;
}

const MAX_ID = 128;
const MAX_SERVICE = 256;
const MAX_TRACE = 64;
/** NUL, or a surrogate without its pair. */
const BAD_ID_CHAR = /\0|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export type Normalised<T> = { ok: true; record: T } | { ok: false; problem: FieldProblem };
/** JSON text of a record's attrs; undefined when it cannot be stored. */
export type Serialise = (v: unknown) => string | undefined;
/**
 * `serialise` turns attrs into text; a record too large to serialise in one go gets one that
 * returns '' and keeps the value, and the caller fills `attrs` (and `size`) in steps.
 */
export type Normaliser<T> = (v: unknown, pos: Position, receivedAt: number, serialise?: Serialise) => Normalised<T>;

function fail<T>(pos: Position, field: string, message: string): Normalised<T> {
  return { ok: false, problem: { ...pos, field, message } };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Optional bounded string; numbers and booleans are accepted and stringified. */
function optString(v: unknown, max: number): string | null | undefined {
  if (v === undefined || v === null) return null;
  if (typeof v === 'string') return v.length <= max ? v : undefined;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return undefined;
}

/** The record's time from `ts` (or its alias `timestamp`); receive time when absent. */
function timeOf(v: Record<string, unknown>, receivedAt: number): { field: string; ts: number | undefined } {
  const field = v.ts !== undefined && v.ts !== null ? 'ts' : 'timestamp';
  const raw = v[field];
  if (raw === undefined || raw === null) return { field, ts: receivedAt };
  return { field, ts: toMicros(raw) ?? undefined };
}

/** The client's idempotency key, or a fresh time-ordered id; undefined when the key is invalid. */
function idOf(v: Record<string, unknown>, receivedAt: number): string | undefined {
  if (v.id === undefined || v.id === null) return uuidv7(Math.floor(receivedAt / 1000));
  // NUL and lone surrogates cannot be stored as sent (they became U+FFFD), so two distinct
  // idempotency keys could collide: refused rather than rewritten.
  if (typeof v.id === 'string' && v.id.length > 0 && v.id.length <= MAX_ID && !BAD_ID_CHAR.test(v.id)) return v.id;
  return undefined;
}

/**
 * Where in a value a number sits that JSON text cannot have meant as parsed: past the double
 * range (1e400 parses to Infinity, stored as null) or an integer past 2^53 (its last digits
 * lost). Such a record is refused rather than stored changed. Null when there is none.
 */
export function inexactNumberAt(v: unknown, path: string): string | null {
  if (typeof v === 'number')
    return !Number.isFinite(v) || (Number.isInteger(v) && !Number.isSafeInteger(v)) ? path : null;
  if (typeof v !== 'object' || v === null) return null;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const p = inexactNumberAt(v[i], `${path}[${i}]`);
      if (p !== null) return p;
    }
    return null;
  }
  for (const k in v) {
    const p = inexactNumberAt((v as Record<string, unknown>)[k], path === '' ? k : `${path}.${k}`);
    if (p !== null) return p;
  }
  return null;
}

export const INEXACT_NUMBER_PROBLEM =
  'is a number that cannot be kept exactly (beyond ±1.8e308, or an integer beyond 2^53): send it as a string';

/**
 * Adds an extra field. A plain assignment of `__proto__` would set the object's prototype and
 * drop the field; a null-prototype object avoids that but is ~35% slower to fill and serialise.
 */
export function put(o: Record<string, unknown>, k: string, v: unknown): void {
  if (k === '__proto__')
    Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
  else o[k] = v;
}

const NESTING_PROBLEM = 'is nested too deeply to store';

/** JSON text of a parsed value; undefined when it nests deeper than JSON.stringify can recurse. */
export function serialiseJson(v: unknown): string | undefined {
  try {
    return JSON.stringify(v);
  } catch {
    return undefined;
  }
}

const TS_PROBLEM =
  'must be an RFC 3339 string or epoch seconds/milliseconds/nanoseconds, between the years 0001 and 9999';
const ID_PROBLEM = `must be a non-empty string of at most ${MAX_ID} characters, without NUL or unpaired surrogates`;

const LOG_FIELDS = new Set([
  'ts',
  'timestamp',
  'level',
  'service',
  'message',
  'msg',
  'attrs',
  'id',
  'trace_id',
  'span_id',
]);

export function normaliseLog(
  v: unknown,
  pos: Position,
  receivedAt: number,
  serialiseAttrs: Serialise = serialiseJson,
): Normalised<LogRecord> {
  if (!isObject(v)) return fail(pos, '(record)', 'each log record must be a JSON object');
  const { field: tsField, ts } = timeOf(v, receivedAt);
  if (ts === undefined) return fail(pos, tsField, TS_PROBLEM);
  let level: LogRecord['level'] = 'info';
  if (v.level !== undefined && v.level !== null) {
    const l = normaliseLevel(v.level);
    if (l === null)
      return fail(
        pos,
        'level',
        `unknown level ${JSON.stringify(v.level)}: use ${LEVELS.join('/')}, a syslog severity 0-7 or a pino level 10-60`,
      );
    level = l;
  }
  const service = optString(v.service, MAX_SERVICE);
  if (service === undefined) return fail(pos, 'service', `must be a string of at most ${MAX_SERVICE} characters`);
  const msgField = v.message !== undefined && v.message !== null ? 'message' : 'msg';
  const message = optString(v[msgField], Number.MAX_SAFE_INTEGER);
  if (message === undefined) return fail(pos, msgField, 'must be a string');
  const id = idOf(v, receivedAt);
  if (id === undefined) return fail(pos, 'id', ID_PROBLEM);
  const traceId = optString(v.trace_id, MAX_TRACE);
  if (traceId === undefined) return fail(pos, 'trace_id', `must be a string of at most ${MAX_TRACE} characters`);
  const spanId = optString(v.span_id, MAX_TRACE);
  if (spanId === undefined) return fail(pos, 'span_id', `must be a string of at most ${MAX_TRACE} characters`);

  let extra: Record<string, unknown> | undefined;
  for (const k in v) {
    if (LOG_FIELDS.has(k)) continue;
    put((extra ??= {}), k, v[k]);
  }
  // Drop the alias that lost (both ts and timestamp, or message and msg) into attrs too: nothing sent is lost.
  if (tsField === 'ts' && v.timestamp !== undefined) (extra ??= {}).timestamp = v.timestamp;
  if (msgField === 'message' && v.msg !== undefined) (extra ??= {}).msg = v.msg;
  let attrsValue: unknown = v.attrs ?? null;
  if (extra)
    attrsValue = isObject(attrsValue)
      ? { ...extra, ...attrsValue }
      : attrsValue === null
        ? extra
        : { ...extra, attrs: attrsValue };
  const attrs = attrsValue === null ? null : serialiseAttrs(attrsValue);
  if (attrs === undefined) return fail(pos, 'attrs', NESTING_PROBLEM);

  const record: LogRecord = {
    type: 'log',
    id,
    ts,
    received_at: receivedAt,
    level,
    service,
    message,
    attrs,
    trace_id: traceId,
    span_id: spanId,
    size: 0,
  };
  record.size =
    RECORD_OVERHEAD_BYTES +
    id.length +
    strBytes(service) +
    strBytes(message) +
    strBytes(attrs) +
    strBytes(traceId) +
    strBytes(spanId);
  return { ok: true, record };
}

const HEALTH_FIELDS = new Set(['service', 'status', 'latency_ms', 'message', 'ts', 'timestamp', 'id']);

export function normaliseHealth(
  v: unknown,
  pos: Position,
  receivedAt: number,
  serialiseAttrs: Serialise = serialiseJson,
): Normalised<HealthRecord> {
  if (!isObject(v)) return fail(pos, '(record)', 'each health ping must be a JSON object');
  if (typeof v.service !== 'string' || v.service.length === 0 || v.service.length > MAX_SERVICE) {
    const rule = `a non-empty string of at most ${MAX_SERVICE} characters`;
    return fail(
      pos,
      'service',
      v.service === undefined ? `is required: ${rule}` : `must be ${rule}, got ${shown(v.service)}`,
    );
  }
  if (typeof v.status !== 'string' || !(HEALTH_STATUSES as readonly string[]).includes(v.status)) {
    return fail(pos, 'status', oneOf(v.status, HEALTH_STATUSES));
  }
  let latency: number | null = null;
  if (v.latency_ms !== undefined && v.latency_ms !== null) {
    if (typeof v.latency_ms !== 'number' || !Number.isFinite(v.latency_ms) || v.latency_ms < 0) {
      return fail(pos, 'latency_ms', 'must be a non-negative number');
    }
    latency = v.latency_ms;
  }
  const message = optString(v.message, Number.MAX_SAFE_INTEGER);
  if (message === undefined) return fail(pos, 'message', 'must be a string');
  const { field: tsField, ts } = timeOf(v, receivedAt);
  if (ts === undefined) return fail(pos, tsField, TS_PROBLEM);
  const id = idOf(v, receivedAt);
  if (id === undefined) return fail(pos, 'id', ID_PROBLEM);
  let extra: Record<string, unknown> | undefined;
  for (const k in v) if (!HEALTH_FIELDS.has(k)) put((extra ??= {}), k, v[k]);
  const attrs = extra ? serialiseAttrs(extra) : null;
  if (attrs === undefined) return fail(pos, '(record)', NESTING_PROBLEM);
  const record: HealthRecord = {
    type: 'health',
    id,
    ts,
    received_at: receivedAt,
    service: v.service,
    status: v.status as HealthStatus,
    latency_ms: latency,
    message,
    attrs,
    size: 0,
  };
  record.size = RECORD_OVERHEAD_BYTES + id.length + v.service.length + strBytes(message) + strBytes(attrs);
  return { ok: true, record };
}

/**
 * Containers the stepwise parser built a member at a time (too large to parse in one go):
 * `stringifyPieces` descends into them instead of stringifying them whole.
 */
export const largeValues = new WeakSet<object>();

const isHigh = (c: number): boolean => c >= 0xd800 && c <= 0xdbff;
const isLow = (c: number): boolean => c >= 0xdc00 && c <= 0xdfff;

/**
 * JSON.stringify(v) in pieces of bounded work, for a record too large to serialise at once:
 * the root, and every container in `largeValues`, are written a member at a time; a string
 * longer than `piece` is written `piece` characters at a time (never splitting a surrogate
 * pair, so the text is the same as JSON.stringify's); anything else is stringified whole (it
 * was parsed whole, so it is no larger than a parse step).
 */
export function* stringifyPieces(v: unknown, piece: number, root = true): Generator<string, void, void> {
  piece = Math.max(2, piece); // a piece never splits a surrogate pair, so it must hold one
  if (typeof v === 'string' && v.length > piece) {
    yield '"';
    for (let a = 0; a < v.length;) {
      let b = Math.min(v.length, a + piece);
      if (b < v.length && isHigh(v.charCodeAt(b - 1)) && isLow(v.charCodeAt(b))) b--;
      yield JSON.stringify(v.slice(a, b)).slice(1, -1);
      a = b;
    }
    yield '"';
    return;
  }
  if (typeof v !== 'object' || v === null || !(root || largeValues.has(v))) {
    yield JSON.stringify(v);
    return;
  }
  if (Array.isArray(v)) {
    yield '[';
    for (let i = 0; i < v.length; i++) {
      if (i > 0) yield ',';
      yield* stringifyPieces(v[i], piece, false);
    }
    yield ']';
    return;
  }
  yield '{';
  let first = true;
  for (const k of Object.keys(v)) {
    if (!first) yield ',';
    first = false;
    yield* stringifyPieces(k, piece, false);
    yield ':';
    yield* stringifyPieces((v as Record<string, unknown>)[k], piece, false);
  }
  yield '}';
}

/**
 * Log records take the sending key's tenant. Never the body's: a field named `tenant` in a
 * record is an unknown field like any other (kept in attrs), so no client picks its tenant.
 */
export function withTenant<T extends SluiceRecord>(normalise: Normaliser<T>, tenant: string): Normaliser<T> {
  return (v, pos, receivedAt, serialise) => {
    const n = normalise(v, pos, receivedAt, serialise);
    if (n.ok && n.record.type === 'log') (n.record as LogRecord).tenant = tenant;
    return n;
  };
}
