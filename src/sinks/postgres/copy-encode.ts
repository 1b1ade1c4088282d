// Encodes records for COPY … FROM STDIN, in PostgreSQL's binary or text format, one buffer per
// table. This is the sink's hot path: measured in bench/sink-postgres.ts.
import type { CheckRecord, HealthRecord, LogRecord, RecordType, SluiceRecord } from '../../record.js';

export type CopyFormat = 'binary' | 'text';

/** Target table and columns per record type; column order is the encoding order below. */
export const TABLES: Record<RecordType, { table: string; columns: readonly string[] }> = {
  log: {
    table: 'logs',
    columns: ['id', 'ts', 'received_at', 'level', 'service', 'message', 'attrs', 'trace_id', 'span_id', 'tenant'],
  },
  health: {
    table: 'health_pings',
    columns: ['id', 'ts', 'received_at', 'service', 'status', 'latency_ms', 'message', 'attrs'],
  },
  check: {
    table: 'check_results',
    columns: [
      'id',
      'ts',
      'received_at',
      'check_id',
      'check_name',
      'kind',
      'ok',
      'status',
      'latency_ms',
      'status_code',
      'error_class',
      'message',
      'details',
    ],
  },
};

export function copySql(table: string, columns: readonly string[], format: CopyFormat): string {
  return `COPY ${table} (${columns.join(', ')}) FROM STDIN${format === 'binary' ? ' (FORMAT binary)' : ''}`;
}

// PostgreSQL rejects NUL in text and, in jsonb, the \u0000 escape and escapes of lone surrogates
// (SQLSTATE 22021/22P05/22P02), in keys as in values: one such record would fail its whole
// batch, other clients' records included. So NUL becomes U+FFFD, and so does a lone surrogate
// (which JSON.stringify writes as an escape; in text columns UTF-8 encoding replaces it anyway).
const REPLACEMENT = '\uFFFD';
/** The escapes jsonb refuses, as JSON.stringify writes them (well-formed pairs are written raw). */
const BAD_JSON_ESCAPE = /\\u(0000|d[89a-f][0-9a-f]{2})/i;

function cleanText(s: string): string {
  return s.indexOf('\0') === -1 ? s : s.replaceAll('\0', REPLACEMENT);
}

function cleanString(s: string): string {
  return (cleanText(s) as string & { toWellFormed(): string }).toWellFormed();
}

function cleanValue(v: unknown): unknown {
  if (typeof v === 'string') return cleanString(v);
  if (Array.isArray(v)) return v.map(cleanValue);
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v))
      Object.defineProperty(out, cleanString(k), {
        value: cleanValue(x),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    return out;
  }
  return v;
}

function cleanJson(s: string): string {
  // A false alarm (an escaped backslash before "u0000" in some string) only costs the slow path.
  if (!BAD_JSON_ESCAPE.test(s)) return s;
  return JSON.stringify(cleanValue(JSON.parse(s)));
}

// ---- binary ---------------------------------------------------------------------------

const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');
/** Microseconds between the Unix epoch and PostgreSQL's (2000-01-01). */
export const PG_EPOCH_US = 946_684_800_000_000;
export const TWO_32 = 4_294_967_296;
/** Strings up to this length are tried as ASCII in JS before calling the native UTF-8 writer. */
const SHORT_STRING = 64;

/**
 * A growable buffer with the field writers of the binary COPY format. Reusable: each encode
 * starts over at the header, so a sink can keep one per connection instead of allocating a
 * batch-sized Buffer per batch (external memory that lingers until V8's next full GC).
 */
export class BinaryWriter {
  buf: Buffer;
  off = 0;

  constructor(sizeHint: number) {
    this.buf = Buffer.allocUnsafe(Math.max(1024, sizeHint));
  }

  ensure(n: number): void {
    if (this.off + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.off + n));
    this.buf.copy(next, 0, 0, this.off);
    this.buf = next;
  }

  header(): void {
    this.ensure(19);
    SIGNATURE.copy(this.buf, 0);
    this.buf.writeInt32BE(0, 11); // flags: no OIDs
    this.buf.writeInt32BE(0, 15); // header extension length
    this.off = 19;
  }

  trailer(): void {
    this.ensure(2);
    this.off = this.buf.writeInt16BE(-1, this.off);
  }

  fields(n: number): void {
    this.ensure(2);
    this.buf[this.off] = n >>> 8;
    this.buf[this.off + 1] = n;
    this.off += 2;
  }

  nul(): void {
    this.ensure(4);
    this.length(this.off, -1);
    this.off += 4;
  }

  /** A field's length before its bytes; byte stores, not Buffer's checked writers (hot path). */
  private length(at: number, n: number): void {
    const b = this.buf;
    b[at] = n >>> 24;
    b[at + 1] = n >>> 16;
    b[at + 2] = n >>> 8;
    b[at + 3] = n;
  }

  /**
   * Stores a short string of ASCII without NUL (ids, levels, service names) at `at` a byte at a
   * time, cheaper than a call into native code for each; false (partly written) otherwise.
   */
  private ascii(s: string, at: number): boolean {
    const n = s.length;
    if (n > SHORT_STRING) return false;
    const b = this.buf;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c === 0 || c >= 0x80) return false;
      b[at + i] = c;
    }
    return true;
  }

  text(s: string | null): void {
    if (s === null) return this.nul();
    this.ensure(4 + s.length * 3);
    let n = s.length;
    if (!this.ascii(s, this.off + 4)) n = this.buf.write(cleanText(s), this.off + 4, 'utf8');
    this.length(this.off, n);
    this.off += 4 + n;
  }

  /** jsonb's binary form is a version byte (1) followed by the JSON text. */
  jsonb(s: string | null): void {
    if (s === null) return this.nul();
    s = cleanJson(s);
    this.ensure(5 + s.length * 3);
    this.buf[this.off + 4] = 1;
    const n = this.ascii(s, this.off + 5) ? s.length : this.buf.write(s, this.off + 5, 'utf8');
    this.length(this.off, n + 1);
    this.off += 5 + n;
  }

  /**
   * timestamptz: int64 microseconds since 2000-01-01 UTC. Written byte by byte: Buffer's
   * checked integer writers made this a third of the encoder's time (issue 17's profile).
   */
  timestamp(us: number): void {
    this.ensure(12);
    const v = us - PG_EPOCH_US;
    const hi = Math.floor(v / TWO_32);
    const lo = v - hi * TWO_32;
    const b = this.buf;
    const o = this.off;
    b[o] = 0;
    b[o + 1] = 0;
    b[o + 2] = 0;
    b[o + 3] = 8;
    b[o + 4] = hi >>> 24;
    b[o + 5] = hi >>> 16;
    b[o + 6] = hi >>> 8;
    b[o + 7] = hi;
    b[o + 8] = lo >>> 24;
    b[o + 9] = lo >>> 16;
    b[o + 10] = lo >>> 8;
    b[o + 11] = lo;
    this.off = o + 12;
  }

  float8(n: number | null): void {
    if (n === null) return this.nul();
    this.ensure(12);
    const o = this.buf.writeInt32BE(8, this.off);
    this.off = this.buf.writeDoubleBE(n, o);
  }

  int4(n: number | null): void {
    if (n === null) return this.nul();
    this.ensure(8);
    const o = this.buf.writeInt32BE(4, this.off);
    this.off = this.buf.writeInt32BE(n, o);
  }

  bool(v: boolean): void {
    this.ensure(5);
    const o = this.buf.writeInt32BE(1, this.off);
    this.buf[o] = v ? 1 : 0;
    this.off = o + 1;
  }
}

function binaryLog(w: BinaryWriter, r: LogRecord): void {
  w.fields(10);
  w.text(r.id);
  w.timestamp(r.ts);
  w.timestamp(r.received_at);
  w.text(r.level);
  w.text(r.service);
  w.text(r.message);
  w.jsonb(r.attrs);
  w.text(r.trace_id);
  w.text(r.span_id);
  w.text(r.tenant ?? null);
}

function binaryHealth(w: BinaryWriter, r: HealthRecord): void {
  w.fields(8);
  w.text(r.id);
  w.timestamp(r.ts);
  w.timestamp(r.received_at);
  w.text(r.service);
  w.text(r.status);
  w.float8(r.latency_ms);
  w.text(r.message);
  w.jsonb(r.attrs);
}

function binaryCheck(w: BinaryWriter, r: CheckRecord): void {
  w.fields(13);
  w.text(r.id);
  w.timestamp(r.ts);
  w.timestamp(r.received_at);
  w.text(r.check_id);
  w.text(r.check_name);
  w.text(r.kind);
  w.bool(r.ok);
  w.text(r.status);
  w.float8(r.latency_ms);
  w.int4(r.status_code);
  w.text(r.error_class);
  w.text(r.message);
  w.jsonb(r.details);
}

/** Appends one record's tuple (its field count, then each field) to `w`. */
export function encodeTuple(w: BinaryWriter, r: SluiceRecord): void {
  if (r.type === 'log') binaryLog(w, r);
  else if (r.type === 'health') binaryHealth(w, r);
  else binaryCheck(w, r);
}

/**
 * A COPY … (FORMAT binary) stream of tuples encoded earlier (`encodeTuple`), all of one record
 * type: header, the tuples as they are, trailer. A view of `w`'s buffer, as `encodeBinary`'s.
 */
export function binaryFromTuples(tuples: readonly Buffer[], w: BinaryWriter): Buffer {
  w.header();
  for (const t of tuples) {
    w.ensure(t.length);
    t.copy(w.buf, w.off);
    w.off += t.length;
  }
  w.trailer();
  return w.buf.subarray(0, w.off);
}

/** The result is a view of `w`'s buffer: valid until `w` encodes again. */
export function encodeBinary(
  records: readonly SluiceRecord[],
  sizeHint: number,
  w = new BinaryWriter(sizeHint),
): Buffer {
  w.header();
  for (const r of records) encodeTuple(w, r);
  w.trailer();
  return w.buf.subarray(0, w.off);
}

// ---- text -----------------------------------------------------------------------------

const SPECIAL = /[\\\t\n\r\0]/;
const SPECIAL_G = /[\\\t\n\r\0]/g;
const ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r', '\0': REPLACEMENT };
const escapeChar = (c: string): string => ESCAPES[c]!;

function t(s: string | null): string {
  if (s === null) return '\\N';
  return SPECIAL.test(s) ? s.replace(SPECIAL_G, escapeChar) : s;
}

function j(s: string | null): string {
  return s === null ? '\\N' : t(cleanJson(s));
}

function n(v: number | null): string {
  return v === null ? '\\N' : String(v);
}

// Formatting a Date per timestamp is the text encoder's biggest cost; records in a batch
// mostly share their second, so the "YYYY-MM-DD HH:MM:SS" part is cached.
let lastSecond = NaN;
let lastPrefix = '';

function ts(us: number): string {
  const sec = Math.floor(us / 1e6);
  if (sec !== lastSecond) {
    lastSecond = sec;
    lastPrefix = new Date(sec * 1000).toISOString().slice(0, 19);
  }
  return `${lastPrefix}.${String(us - sec * 1e6).padStart(6, '0')}Z`;
}

function textRow(r: SluiceRecord): string {
  switch (r.type) {
    case 'log':
      return (
        `${t(r.id)}\t${ts(r.ts)}\t${ts(r.received_at)}\t${t(r.level)}\t${t(r.service)}\t${t(r.message)}\t` +
        `${j(r.attrs)}\t${t(r.trace_id)}\t${t(r.span_id)}\t${t(r.tenant ?? null)}\n`
      );
    case 'health':
      return (
        `${t(r.id)}\t${ts(r.ts)}\t${ts(r.received_at)}\t${t(r.service)}\t${t(r.status)}\t${n(r.latency_ms)}\t` +
        `${t(r.message)}\t${j(r.attrs)}\n`
      );
    case 'check':
      return (
        `${t(r.id)}\t${ts(r.ts)}\t${ts(r.received_at)}\t${t(r.check_id)}\t${t(r.check_name)}\t${t(r.kind)}\t` +
        `${r.ok ? 't' : 'f'}\t${t(r.status)}\t${n(r.latency_ms)}\t${n(r.status_code)}\t${t(r.error_class)}\t` +
        `${t(r.message)}\t${j(r.details)}\n`
      );
  }
}

export function encodeText(records: readonly SluiceRecord[]): Buffer {
  let out = '';
  for (const r of records) out += textRow(r);
  return Buffer.from(out, 'utf8');
}

/** Encodes records (all of one type) in the given format. */
export function encodeRows(
  records: readonly SluiceRecord[],
  format: CopyFormat,
  sizeHint: number,
  writer?: BinaryWriter,
): Buffer {
  return format === 'binary' ? encodeBinary(records, sizeHint, writer) : encodeText(records);
}
