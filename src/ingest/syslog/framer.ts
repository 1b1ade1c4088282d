// Splits a syslog TCP byte stream into messages. Each message picks its own framing (RFC 6587):
// a leading digit means octet counting (`<len> <msg>`), anything else a line ended by LF.
// Memory is bounded by maxMessageBytes: a longer message is skipped (its bytes discarded as
// they arrive) and reported, and the stream stays in step. A message cut across chunks is kept
// as its chunks and joined once it is whole, so one sent a byte at a time costs linear work,
// not a copy and a rescan of all it holds at every chunk.

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

export class SyslogFramer {
  /** Chunks of an incomplete message carried over (the first from where the message starts). */
  private rest: Buffer[] = [];
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
      this.hold(chunk);
      if (this.waitFor === 'line') {
        if (chunk.indexOf(LF) < 0) {
          if (this.restBytes > this.maxMessageBytes) {
            this.release();
            out.drop('oversize');
            this.skipLine = true;
          }
          return;
        }
      } else if (this.restBytes < this.waitFor) return;
      data = Buffer.concat(this.rest, this.restBytes);
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
        if (len - pos > this.maxMessageBytes) {
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
    if (i === data.length) return i - pos < MAX_COUNT_DIGITS ? { need: 0 } : 'not counted';
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
    const rest = this.restBytes > 0 ? Buffer.concat(this.rest, this.restBytes) : undefined;
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
    this.rest.push(bytes);
    this.restBytes += bytes.length;
  }

  private release(): void {
    this.rest = [];
    this.restBytes = 0;
    this.waitFor = 0;
  }
}
