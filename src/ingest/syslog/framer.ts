// Splits a syslog TCP byte stream into messages. Each message picks its own framing (RFC 6587):
// a leading digit means octet counting (`<len> <msg>`), anything else a line ended by LF.
// Memory is bounded by maxMessageBytes: a longer message is skipped (its bytes discarded as
// they arrive) and reported, and the stream stays in step. A message cut across chunks is
// gathered in a buffer that grows by doubling, and only the new chunk is looked at for its end,
// so one sent a byte at a time costs linear work, not a copy and a rescan of all it holds at
// every chunk (and not a Buffer kept per chunk: each socket read is its own allocation, ~200x a
// byte's worth of memory when a sender drips one byte at a time).

export type FrameDrop = 'oversize' | 'framing';

export interface FrameSink {
  message(bytes: Buffer): void;
  drop(reason: FrameDrop): void;
}

const LF = 10;
const CR = 13;
const SPACE = 32;
/** An octet count longer than this many digits is not one (10 digits is past 4 GiB already). */
const MAX_COUNT_DIGITS = 10;
const NOTHING = Buffer.alloc(0);

export class SyslogFramer {
  /**
   * An incomplete message carried over, from where it starts: `rest[0, restBytes)`. A new buffer
   * for each message, never reused: messages handed out are views into it.
   */
  private rest = NOTHING;
  private restBytes = 0;
  /** What the held message waits for: its LF, or this many bytes held (0: any next chunk). */
  private waitFor: 'line' | number = 0;
  /** Bytes still to discard of an oversize octet-counted message. */
  private skipBytes = 0;
  /** Discarding an oversize line up to its LF. */
  private skipLine = false;

  constructor(private readonly maxMessageBytes: number) {}

  /** Feeds one chunk; calls `out` for each complete message (a view into the chunk) and each drop. */
  push(chunk: Buffer, out: FrameSink): void {
    let data = chunk;
    if (this.restBytes > 0) {
      if (this.waitFor === 'line' && chunk.indexOf(LF) < 0) {
        // Still no end. One byte over the cap may be the CR of a CRLF still to come.
        if (this.restBytes + chunk.length > this.maxMessageBytes + 1) {
          this.release();
          out.drop('oversize');
          this.skipLine = true;
        } else this.hold(chunk);
        return;
      }
      this.hold(chunk);
      if (this.waitFor !== 'line' && this.restBytes < this.waitFor) return;
      data = this.rest.subarray(0, this.restBytes);
      this.release();
    }
    const len = data.length;
    let pos = 0;
    while (pos < len) {
      if (this.skipBytes > 0) {
        const n = Math.min(this.skipBytes, len - pos);
        pos += n;
        this.skipBytes -= n;
        continue;
      }
      if (this.skipLine) {
        const lf = data.indexOf(LF, pos);
        if (lf < 0) return;
        pos = lf + 1;
        this.skipLine = false;
        continue;
      }
      const c = data[pos]!;
      // Stray line ends and NULs between frames (some senders end octet-counted frames with LF).
      if (c === LF || c === CR || c === 0) {
        pos++;
        continue;
      }
      if (c >= 49 && c <= 57) {
        const counted = this.octetCounted(data, pos, out);
        if (typeof counted === 'object') {
          this.hold(data.subarray(pos));
          this.waitFor = counted.need;
          return;
        }
        if (counted !== 'not counted') {
          pos = counted;
          continue;
        }
      }
      const lf = data.indexOf(LF, pos);
      if (lf < 0) {
        if (len - pos > this.maxMessageBytes + 1) {
          out.drop('oversize');
          this.skipLine = true;
          return;
        }
        this.hold(data.subarray(pos));
        this.waitFor = 'line';
        return;
      }
      const end = lf > pos && data[lf - 1] === CR ? lf - 1 : lf;
      if (end - pos > this.maxMessageBytes) out.drop('oversize');
      else out.message(data.subarray(pos, end));
      pos = lf + 1;
    }
  }

  /**
   * An octet-counted frame at `pos`: the position after it (message delivered or skipped),
   * `{ need }` when it is not all here yet (the bytes from `pos` it needs, 0 while its count is
   * still coming), or 'not counted' when the digits are not followed by a
   * space (then the bytes are read as a line, and fail to parse there, so garbage that starts
   * with a digit costs one counted message, not the connection).
   */
  private octetCounted(data: Buffer, pos: number, out: FrameSink): number | { need: number } | 'not counted' {
    let i = pos;
    let count = 0;
    while (i < data.length && i - pos < MAX_COUNT_DIGITS) {
      const d = data[i]! - 48;
      if (d < 0 || d > 9) break;
      count = count * 10 + d;
      i++;
    }
    // Digits up to the end of what is here: the next byte says whether this is a count.
    if (i === data.length) return { need: 0 };
    if (data[i] !== SPACE) return 'not counted';
    const start = i + 1;
    if (count > this.maxMessageBytes) {
      out.drop('oversize');
      this.skipBytes = count;
      return start;
    }
    if (data.length - start < count) return { need: start - pos + count };
    out.message(data.subarray(start, start + count));
    return start + count;
  }

  /** The connection ended: a last line without its LF is still a message; a cut frame is a drop. */
  end(out: FrameSink): void {
    const rest = this.restBytes > 0 ? this.rest.subarray(0, this.restBytes) : undefined;
    this.release();
    if (this.skipBytes > 0 || this.skipLine || !rest) return;
    const c = rest[0]!;
    if (c >= 49 && c <= 57) {
      // An octet count whose frame never completed.
      let i = 0;
      while (i < rest.length && rest[i]! >= 48 && rest[i]! <= 57) i++;
      if (i < rest.length && rest[i] === SPACE) return out.drop('framing');
    }
    out.message(rest);
  }

  /** Bytes held for an incomplete message. */
  get held(): number {
    return this.restBytes;
  }

  private hold(bytes: Buffer): void {
    const need = this.restBytes + bytes.length;
    if (need > this.rest.length) {
      const grown = Buffer.allocUnsafe(Math.max(need, 2 * this.rest.length, 256));
      this.rest.copy(grown, 0, 0, this.restBytes);
      this.rest = grown;
    }
    bytes.copy(this.rest, this.restBytes);
    this.restBytes = need;
  }

  private release(): void {
    this.rest = NOTHING;
    this.restBytes = 0;
    this.waitFor = 0;
  }
}
