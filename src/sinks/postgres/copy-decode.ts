// Reads back the binary COPY tuples copy-encode.ts's encodeTuple wrote: the WAL keeps records
// as those tuples and decodes them on replay.
import type { CheckRecord, HealthRecord, LogRecord, SluiceRecord } from '../../record.js';
import { PG_EPOCH_US, TWO_32 } from './copy-encode.js';

/** Reads the fields of tuples `encodeTuple` wrote; throws on anything else. */
class TupleReader {
  constructor(
    private readonly buf: Buffer,
    public off: number,
    private readonly end: number,
  ) {}

  private length(): number {
    if (this.off + 4 > this.end) throw new Error('tuple runs past its frame');
    const n = this.buf.readInt32BE(this.off);
    this.off += 4;
    if (n > this.end - this.off) throw new Error('tuple field runs past its frame');
    return n;
  }

  fields(): number {
    if (this.off + 2 > this.end) throw new Error('tuple runs past its frame');
    const n = this.buf.readInt16BE(this.off);
    this.off += 2;
    return n;
  }

  text(): string | null {
    const n = this.length();
    if (n < 0) return null;
    const s = this.buf.toString('utf8', this.off, this.off + n);
    this.off += n;
    return s;
  }

  string(): string {
    const s = this.text();
    if (s === null) throw new Error('null in a column that is never null');
    return s;
  }

  jsonb(): string | null {
    const n = this.length();
    if (n < 0) return null;
    if (n < 1 || this.buf[this.off] !== 1) throw new Error('jsonb field without its version byte');
    const s = this.buf.toString('utf8', this.off + 1, this.off + n);
    this.off += n;
    return s;
  }

  private fixed(size: number): boolean {
    const n = this.length();
    if (n < 0) return false;
    if (n !== size) throw new Error(`field of ${n} bytes where ${size} belong`);
    return true;
  }

  timestamp(): number {
    if (!this.fixed(8)) throw new Error('null timestamp');
    const v = this.buf.readInt32BE(this.off) * TWO_32 + this.buf.readUInt32BE(this.off + 4);
    this.off += 8;
    return v + PG_EPOCH_US;
  }

  float8(): number | null {
    if (!this.fixed(8)) return null;
    const v = this.buf.readDoubleBE(this.off);
    this.off += 8;
    return v;
  }

  int4(): number | null {
    if (!this.fixed(4)) return null;
    const v = this.buf.readInt32BE(this.off);
    this.off += 4;
    return v;
  }

  bool(): boolean {
    if (!this.fixed(1)) throw new Error('null boolean');
    return this.buf[this.off++] === 1;
  }
}

/**
 * The records whose tuples fill buf[start, end), with the accounted sizes given (a tuple does
 * not hold them). The record type follows from the field count (10 log, 8 health, 13 check).
 * Values come back as the sink stores them: NUL and lone surrogates already replaced.
 */
export function decodeTuples(buf: Buffer, start: number, end: number, sizes: readonly number[]): SluiceRecord[] {
  const r = new TupleReader(buf, start, end);
  const out: SluiceRecord[] = [];
  while (r.off < end) {
    const size = sizes[out.length];
    if (size === undefined) throw new Error('more tuples than sizes');
    const fields = r.fields();
    if (fields === 10) {
      const rec: LogRecord = {
        type: 'log',
        id: r.string(),
        ts: r.timestamp(),
        received_at: r.timestamp(),
        level: r.string() as LogRecord['level'],
        service: r.text(),
        message: r.text(),
        attrs: r.jsonb(),
        trace_id: r.text(),
        span_id: r.text(),
        size,
      };
      const tenant = r.text();
      if (tenant !== null) rec.tenant = tenant;
      out.push(rec);
    } else if (fields === 8) {
      out.push({
        type: 'health',
        id: r.string(),
        ts: r.timestamp(),
        received_at: r.timestamp(),
        service: r.string(),
        status: r.string() as HealthRecord['status'],
        latency_ms: r.float8(),
        message: r.text(),
        attrs: r.jsonb(),
        size,
      });
    } else if (fields === 13) {
      out.push({
        type: 'check',
        id: r.string(),
        ts: r.timestamp(),
        received_at: r.timestamp(),
        check_id: r.string(),
        check_name: r.string(),
        kind: r.string(),
        ok: r.bool(),
        status: r.string() as CheckRecord['status'],
        latency_ms: r.float8(),
        status_code: r.int4(),
        error_class: r.text(),
        message: r.text(),
        details: r.jsonb(),
        size,
      });
    } else throw new Error(`tuple of ${fields} fields`);
  }
  if (out.length !== sizes.length) throw new Error('fewer tuples than sizes');
  return out;
}
