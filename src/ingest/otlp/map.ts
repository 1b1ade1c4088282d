// Maps an OTLP logs export (ExportLogsServiceRequest) onto Sluice log records. One module for
// both encodings: the protobuf decoder's messages and OTLP/JSON's parsed objects have the same
// lowerCamelCase shape and differ only in how ids, 64-bit integers and bytes are written
// (bytes and Long/number in protobuf; hex, decimal strings and base64 in JSON), which the value
// readers below accept either way. A record that cannot be kept is rejected alone and counted
// (OTLP's partial success); a request whose structure is wrong is refused whole.
import { SluiceError } from '../../errors.js';
import { RECORD_OVERHEAD_BYTES, normaliseLevel, strBytes, type Level, type LogRecord } from '../../record.js';
import { END_MICROS } from '../../timestamp.js';
import { uuidv7 } from '../../uuidv7.js';
import type { ParseLimits } from '../parse-body.js';
import { runAtOnce } from '../../steps.js';

export type OtlpEncoding = 'protobuf' | 'json';

export interface OtlpMapped {
  records: LogRecord[];
  /** Accounted bytes of the records (buffer limits). */
  bytes: number;
  /** Log records refused one by one (the partial success's rejected_log_records). */
  rejected: number;
  /** Why, for the first few (the partial success's error_message); '' when none. */
  rejectedMessage: string;
}

/** Keys of attrs that carry OTLP fields; a log attribute of the same name goes under `attributes`. */
export const OTLP_ATTR_KEYS = ['resource', 'scope', 'body', 'severity_text', 'event_name', 'attributes'] as const;
const RESERVED = new Set<string>(OTLP_ATTR_KEYS);

const MAX_SERVICE = 256;
const MAX_PROBLEMS = 5;

/**
 * SeverityNumber ranges (logs data model): 1–4 TRACE, 5–8 DEBUG, 9–12 INFO, 13–16 WARN,
 * 17–20 ERROR, 21–24 FATAL. 0 (unspecified) or out of range: the severity text decides.
 */
export function severityLevel(num: unknown, text: unknown): Level {
  const n = typeof num === 'number' ? num : typeof num === 'string' ? SEVERITY_NAMES[num] : undefined;
  if (n !== undefined && Number.isInteger(n) && n >= 1 && n <= 24) return BY_RANGE[(n - 1) >> 2]!;
  if (typeof text === 'string' && text.length > 0 && text.length <= 16) {
    return normaliseLevel(text.replace(/\d+$/, '')) ?? 'info';
  }
  return 'info';
}
const BY_RANGE: readonly Level[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'];
// OTLP/JSON writes enums as integers, but proto3 JSON also allows the names.
const SEVERITY_NAMES: Record<string, number> = Object.fromEntries(
  BY_RANGE.flatMap((l, i) =>
    [1, 2, 3, 4].map((k) => [`SEVERITY_NUMBER_${l.toUpperCase()}${k === 1 ? '' : k}`, i * 4 + k] as const),
  ),
);

class Rejected extends Error {}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);

function malformed(encoding: OtlpEncoding, detail: string): SluiceError {
  return new SluiceError('SLUICE_ERR_INVALID_OTLP', { encoding, detail });
}

/** A repeated field: absent is empty; anything but an array is a malformed request. */
function list(v: unknown, where: string, encoding: OtlpEncoding): unknown[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw malformed(encoding, `${where} must be an array`);
  return v;
}

function message(v: unknown, where: string, encoding: OtlpEncoding): Record<string, unknown> {
  if (!isObject(v)) throw malformed(encoding, `${where} must be an object`);
  return v;
}

// ---- values ------------------------------------------------------------------------------

interface Long {
  low: number;
  high: number;
}
const isLong = (v: unknown): v is Long =>
  typeof v === 'object' && v !== null && typeof (v as Long).low === 'number' && typeof (v as Long).high === 'number';

/** fixed64 nanoseconds → microseconds, exactly; 0 when absent; undefined when not a time. */
function nanosToMicros(v: unknown): number | undefined {
  if (v === undefined || v === null) return 0;
  if (typeof v === 'number') return Number.isFinite(v) && v >= 0 ? Math.floor(v / 1000) : undefined;
  if (typeof v === 'string') {
    // OTLP/JSON writes 64-bit integers as decimal strings; dropping the last three digits is exact.
    if (!/^\d{1,20}$/.test(v)) return undefined;
    return v.length <= 3 ? 0 : Number(v.slice(0, -3));
  }
  if (isLong(v)) {
    // hi·2^32 + lo = hi·4294967·1000 + (hi·296 + lo): both parts exact in a double.
    const hi = v.high >>> 0;
    const lo = v.low >>> 0;
    return hi * 4294967 + Math.floor((hi * 296 + lo) / 1000);
  }
  return undefined;
}

/** int64 → a JSON number when exact, else its decimal text. */
function int64(v: unknown): number | string {
  if (typeof v === 'number') return Number.isSafeInteger(v) ? v : String(v);
  if (typeof v === 'string') {
    const n = Number(v);
    return /^-?\d{1,20}$/.test(v) && Number.isSafeInteger(n) ? n : v;
  }
  if (isLong(v)) {
    const n = v.high * 4294967296 + (v.low >>> 0);
    if (Number.isSafeInteger(n)) return n;
    return (BigInt(v.high) * 4294967296n + BigInt(v.low >>> 0)).toString();
  }
  throw new Rejected('intValue is not an integer');
}

const ALL_ZERO = /^0+$/;

/** trace_id / span_id: bytes (protobuf) or hex (OTLP/JSON) → lowercase hex; empty or all zero → null. */
function idHex(v: unknown, bytes: number, field: string): string | null {
  // protobufjs leaves an absent bytes field as its default, an empty array.
  if (v === undefined || v === null || (Array.isArray(v) && v.length === 0)) return null;
  let hex: string;
  if (v instanceof Uint8Array) {
    if (v.length === 0) return null;
    if (v.length !== bytes) throw new Rejected(`${field} must be ${bytes} bytes, got ${v.length}`);
    let zero = true;
    for (let i = 0; i < v.length; i++) if (v[i] !== 0) zero = false;
    if (zero) return null;
    return Buffer.from(v.buffer, v.byteOffset, v.length).toString('hex');
  } else if (typeof v === 'string') {
    if (v.length === 0) return null;
    if (v.length !== bytes * 2 || !/^[0-9a-fA-F]+$/.test(v))
      throw new Rejected(`${field} must be ${bytes * 2} hex digits`);
    hex = v.toLowerCase();
  } else throw new Rejected(`${field} must be ${bytes * 2} hex digits`);
  return ALL_ZERO.test(hex) ? null : hex;
}

/** Counts what one record holds, against ingest.maxKeysPerRecord and ingest.maxDepth. */
class Budget {
  keys = 0;
  constructor(readonly limits: ParseLimits) {}
  take(depth: number): void {
    if (depth > this.limits.maxDepth)
      throw new Rejected(`nests deeper than ${this.limits.maxDepth} levels (ingest.maxDepth)`);
    if (++this.keys > this.limits.maxKeys)
      throw new Rejected(`holds more than ${this.limits.maxKeys} keys and values (ingest.maxKeysPerRecord)`);
  }
}

/** AnyValue → the JSON value it stands for (bytes as base64); an empty AnyValue is null. */
function anyValue(v: unknown, budget: Budget, depth: number): unknown {
  budget.take(depth);
  if (!isObject(v)) {
    if (v === undefined || v === null) return null;
    throw new Rejected('an AnyValue must be an object');
  }
  // Own keys only: protobufjs keeps every field's default on the prototype, so the oneof member
  // that was sent is the own one (in OTLP/JSON, the only one).
  const keys = Object.keys(v);
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    const x = v[k];
    switch (k) {
      case 'stringValue':
        if (typeof x !== 'string') throw new Rejected('stringValue must be a string');
        return x;
      case 'boolValue':
        if (typeof x !== 'boolean') throw new Rejected('boolValue must be a boolean');
        return x;
      case 'intValue':
        return int64(x);
      case 'doubleValue':
        return double(x);
      case 'arrayValue':
        return listOf(x, 'arrayValue').map((e) => anyValue(e, budget, depth + 1));
      case 'kvlistValue':
        return keyValues(listOf(x, 'kvlistValue'), budget, depth + 1);
      case 'bytesValue':
        if (x instanceof Uint8Array) return Buffer.from(x.buffer, x.byteOffset, x.length).toString('base64');
        if (typeof x === 'string') return x; // OTLP/JSON already writes bytes as base64
        throw new Rejected('bytesValue must be base64');
    }
  }
  return null;
}

function double(d: unknown): number | string {
  // Infinity and NaN have no JSON number: kept as their text, as proto3 JSON writes them.
  if (typeof d === 'number') return Number.isFinite(d) ? d : String(d);
  if (typeof d === 'string') {
    const n = Number(d);
    if (Number.isFinite(n) && d.trim() !== '') return n;
    if (d === 'NaN' || d === 'Infinity' || d === '-Infinity') return d;
  }
  throw new Rejected('doubleValue must be a number');
}

/** The `values` of an ArrayValue or KeyValueList. */
function listOf(x: unknown, field: string): readonly unknown[] {
  if (!isObject(x)) throw new Rejected(`${field} must be an object with a values array`);
  const values = x.values;
  if (values === undefined || values === null) return [];
  if (!Array.isArray(values)) throw new Rejected(`${field} must be an object with a values array`);
  return values;
}

/** Defines a key even when it is `__proto__` (a plain assignment would set the prototype). */
function put(o: Record<string, unknown>, k: string, v: unknown): void {
  if (k === '__proto__')
    Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
  else o[k] = v;
}

function attributeList(v: unknown, where: string): readonly unknown[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new Rejected(`${where} must be an array`);
  return v;
}

/** repeated KeyValue → an object (a later duplicate key wins). */
function keyValues(kvs: readonly unknown[], budget: Budget, depth: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const kv of kvs) {
    if (!isObject(kv) || typeof kv.key !== 'string') throw new Rejected('an attribute must have a string key');
    put(out, kv.key, anyValue(kv.value, budget, depth));
  }
  return out;
}

// ---- the request -------------------------------------------------------------------------

/** What every record of one ResourceLogs × ScopeLogs shares. */
interface Shared {
  service: string | null;
  resource: Record<string, unknown> | undefined;
  scope: Record<string, unknown> | undefined;
  /** `"resource":{…},"scope":{…}` (the parts present), for every record's attrs; '' for none. */
  json: string;
  /** Set when the resource or scope itself cannot be kept: every record under it is rejected. */
  problem: string | undefined;
}

/** Counts the log records first, so a request past ingest.maxRecordsPerRequest is refused before any is mapped. */
function countRecords(resourceLogs: unknown[], encoding: OtlpEncoding): number {
  let n = 0;
  resourceLogs.forEach((rl, i) => {
    const r = message(rl, `resourceLogs[${i}]`, encoding);
    list(r.scopeLogs, `resourceLogs[${i}].scopeLogs`, encoding).forEach((sl, j) => {
      const s = message(sl, `resourceLogs[${i}].scopeLogs[${j}]`, encoding);
      n += list(s.logRecords, `resourceLogs[${i}].scopeLogs[${j}].logRecords`, encoding).length;
    });
  });
  return n;
}

function resourceOf(
  rl: Record<string, unknown>,
  limits: ParseLimits,
): Pick<Shared, 'service' | 'resource' | 'problem'> {
  try {
    const res = rl.resource;
    if (res === undefined || res === null) return { service: null, resource: undefined, problem: undefined };
    if (!isObject(res)) throw new Rejected('resource must be an object');
    const attrs = attributeList(res.attributes, 'resource.attributes');
    if (attrs.length === 0) return { service: null, resource: undefined, problem: undefined };
    const resource = keyValues(attrs, new Budget(limits), 1);
    const name = resource['service.name'];
    let service: string | null = null;
    if (typeof name === 'string' && name.length > 0) {
      if (name.length > MAX_SERVICE) throw new Rejected(`service.name is longer than ${MAX_SERVICE} characters`);
      service = name;
    }
    return { service, resource, problem: undefined };
  } catch (err) {
    return { service: null, resource: undefined, problem: `resource: ${(err as Error).message}` };
  }
}

function scopeOf(sl: Record<string, unknown>, limits: ParseLimits): Pick<Shared, 'scope' | 'problem'> {
  try {
    const sc = sl.scope;
    if (sc === undefined || sc === null) return { scope: undefined, problem: undefined };
    if (!isObject(sc)) throw new Rejected('scope must be an object');
    const scope: Record<string, unknown> = {};
    if (typeof sc.name === 'string' && sc.name !== '') scope.name = sc.name;
    if (typeof sc.version === 'string' && sc.version !== '') scope.version = sc.version;
    const attrs = attributeList(sc.attributes, 'scope.attributes');
    if (attrs.length > 0) scope.attributes = keyValues(attrs, new Budget(limits), 1);
    return { scope: Object.keys(scope).length > 0 ? scope : undefined, problem: undefined };
  } catch (err) {
    return { scope: undefined, problem: `scope: ${(err as Error).message}` };
  }
}

function mapRecord(lr: unknown, shared: Shared, receivedAt: number, limits: ParseLimits): LogRecord {
  if (shared.problem) throw new Rejected(shared.problem);
  if (!isObject(lr)) throw new Rejected('a log record must be an object');
  const time = nanosToMicros(lr.timeUnixNano);
  if (time === undefined) throw new Rejected('timeUnixNano must be an unsigned 64-bit integer');
  const observed = nanosToMicros(lr.observedTimeUnixNano);
  if (observed === undefined) throw new Rejected('observedTimeUnixNano must be an unsigned 64-bit integer');
  const ts = time > 0 ? time : observed > 0 ? observed : receivedAt;
  if (ts >= END_MICROS) throw new Rejected('timeUnixNano is past the year 9999');
  const traceId = idHex(lr.traceId, 16, 'traceId');
  const spanId = idHex(lr.spanId, 8, 'spanId');
  const level = severityLevel(lr.severityNumber, lr.severityText);

  const budget = new Budget(limits);
  let attrs: Record<string, unknown> | undefined;
  const logAttrs = attributeList(lr.attributes, 'attributes');
  if (logAttrs.length > 0) {
    let clashing: Record<string, unknown> | undefined;
    attrs = {};
    for (const kv of logAttrs) {
      if (!isObject(kv) || typeof kv.key !== 'string') throw new Rejected('an attribute must have a string key');
      put(RESERVED.has(kv.key) ? (clashing ??= {}) : attrs, kv.key, anyValue(kv.value, budget, 1));
    }
    if (clashing) attrs.attributes = clashing;
  }
  let messageText: string | null = null;
  const body = anyValue(lr.body, budget, 1);
  if (typeof body === 'string') messageText = body;
  else if (typeof body === 'number' || typeof body === 'boolean') messageText = String(body);
  else if (body !== null) (attrs ??= {}).body = body;
  const sevText = lr.severityText;
  if (typeof sevText === 'string' && sevText !== '' && sevText.toLowerCase() !== level)
    (attrs ??= {}).severity_text = sevText;
  if (typeof lr.eventName === 'string' && lr.eventName !== '') (attrs ??= {}).event_name = lr.eventName;

  // The resource and scope are serialised once for all their records, then spliced in.
  let attrsText = attrs ? JSON.stringify(attrs) : null;
  if (shared.json !== '')
    attrsText =
      attrsText === null || attrsText.length === 2 ? `{${shared.json}}` : `${attrsText.slice(0, -1)},${shared.json}}`;
  const id = uuidv7(Math.floor(receivedAt / 1000));
  return {
    type: 'log',
    id,
    ts,
    received_at: receivedAt,
    level,
    service: shared.service,
    message: messageText,
    attrs: attrsText,
    trace_id: traceId,
    span_id: spanId,
    size:
      RECORD_OVERHEAD_BYTES +
      id.length +
      strBytes(shared.service) +
      strBytes(messageText) +
      strBytes(attrsText) +
      strBytes(traceId) +
      strBytes(spanId),
  };
}

/** What a refused record counts as work (its mapping stopped early). */
const REJECTED_WORK = 64;

/**
 * Maps a decoded ExportLogsServiceRequest, yielding each log record's accounted size as the work
 * it took (steps.ts groups them into steps of bounded work). Throws a SluiceError (400) for a structure that
 * is not an export, 413 past ingest.maxRecordsPerRequest; a record that cannot be kept is counted
 * in `rejected`.
 */
export function* mapExportSteps(
  request: unknown,
  encoding: OtlpEncoding,
  receivedAt: number,
  limits: ParseLimits,
): Generator<number, OtlpMapped> {
  const root = message(request, 'the request', encoding);
  const resourceLogs = list(root.resourceLogs, 'resourceLogs', encoding);
  const total = countRecords(resourceLogs, encoding);
  if (total > limits.maxRecords)
    throw new SluiceError('SLUICE_ERR_TOO_MANY_RECORDS', {
      detail: `${total} log records; at most ${limits.maxRecords} per request (ingest.maxRecordsPerRequest)`,
    });
  const records: LogRecord[] = [];
  let bytes = 0;
  let rejected = 0;
  const problems: string[] = [];
  for (let i = 0; i < resourceLogs.length; i++) {
    const r = resourceLogs[i] as Record<string, unknown>;
    const res = resourceOf(r, limits);
    const scopeLogs = (r.scopeLogs as unknown[] | undefined) ?? [];
    for (let j = 0; j < scopeLogs.length; j++) {
      const s = scopeLogs[j] as Record<string, unknown>;
      const sc = scopeOf(s, limits);
      const parts: string[] = [];
      if (res.resource) parts.push(`"resource":${JSON.stringify(res.resource)}`);
      if (sc.scope) parts.push(`"scope":${JSON.stringify(sc.scope)}`);
      const shared: Shared = { ...res, scope: sc.scope, json: parts.join(','), problem: res.problem ?? sc.problem };
      const logRecords = (s.logRecords as unknown[] | undefined) ?? [];
      for (let k = 0; k < logRecords.length; k++) {
        let work = REJECTED_WORK;
        try {
          const record = mapRecord(logRecords[k], shared, receivedAt, limits);
          records.push(record);
          bytes += record.size;
          work = record.size;
        } catch (err) {
          if (!(err instanceof Rejected) && !(err instanceof RangeError)) throw err;
          rejected++;
          if (problems.length < MAX_PROBLEMS)
            problems.push(`resourceLogs[${i}].scopeLogs[${j}].logRecords[${k}]: ${err.message}`);
        }
        yield work;
      }
    }
  }
  let rejectedMessage = problems.join('; ');
  if (rejected > problems.length) rejectedMessage += `; and ${rejected - problems.length} more`;
  return { records, bytes, rejected, rejectedMessage };
}

/** mapExportSteps in one go. */
export function mapExport(
  request: unknown,
  encoding: OtlpEncoding,
  receivedAt: number,
  limits: ParseLimits,
): OtlpMapped {
  return runAtOnce(mapExportSteps(request, encoding, receivedAt, limits));
}
