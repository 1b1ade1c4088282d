// Undoes the Snappy block format (what Loki clients send): a varint length, then literals and
// back-references. Written here because snappyjs 0.7.0 loops for ever on some 8-byte inputs (a
// 4-byte literal length with its top bit set turns negative and moves the read position back),
// which would let one request freeze the collector. Every length is checked against the input
// and the stated output size, so the work is linear in the output, which is capped by `limit`;
// it is done in steps (a 10 MiB block took ~25 ms in one go) so a push leaves the loop free.
import { runAtOnce, type Steps } from '../../steps.js';

/** Output made between two yields of uncompressSnappySteps. */
const YIELD_BYTES = 64 * 1024;

export class SnappyError extends Error {}
/** The stated length is past the limit: refused before anything is allocated. */
export class SnappyTooBig extends SnappyError {}

/** The decompressed length a block states up front (a varint of at most 5 bytes), and where its data starts. */
export function snappyHeader(input: Uint8Array): { length: number; start: number } | undefined {
  let length = 0;
  for (let n = 0; n < 5 && n < input.length; n++) {
    length += (input[n]! & 0x7f) * 128 ** n;
    if (input[n]! < 0x80) return { length, start: n + 1 };
  }
  return undefined;
}

export function uncompressSnappy(input: Uint8Array, limit: number): Buffer {
  return runAtOnce(uncompressSnappySteps(input, limit));
}

/** The block undone, yielding the output made every YIELD_BYTES or so. */
export function* uncompressSnappySteps(input: Uint8Array, limit: number): Steps<Buffer> {
  const header = snappyHeader(input);
  if (!header) throw new SnappyError('no readable length');
  const { length } = header;
  let pos = header.start;
  if (length > limit) throw new SnappyTooBig(`stated length ${length} is past ${limit}`);
  const out = Buffer.allocUnsafe(length);
  let o = 0;
  let told = 0;
  while (pos < input.length) {
    if (o - told >= YIELD_BYTES) {
      yield o - told;
      told = o;
    }
    const tag = input[pos++]!;
    const kind = tag & 3;
    if (kind === 0) {
      let len = (tag >>> 2) + 1;
      if (len > 60) {
        const n = len - 60;
        if (pos + n > input.length) throw new SnappyError('truncated literal length');
        len = 1;
        for (let k = 0; k < n; k++) len += input[pos + k]! * 2 ** (8 * k);
        pos += n;
      }
      if (pos + len > input.length) throw new SnappyError('literal past the end of the input');
      if (o + len > length) throw new SnappyError('output past its stated length');
      out.set(input.subarray(pos, pos + len), o);
      pos += len;
      o += len;
      continue;
    }
    let len: number;
    let offset: number;
    if (kind === 1) {
      if (pos + 1 > input.length) throw new SnappyError('truncated copy');
      len = ((tag >>> 2) & 7) + 4;
      offset = ((tag >>> 5) << 8) | input[pos]!;
      pos += 1;
    } else if (kind === 2) {
      if (pos + 2 > input.length) throw new SnappyError('truncated copy');
      len = (tag >>> 2) + 1;
      offset = input[pos]! | (input[pos + 1]! << 8);
      pos += 2;
    } else {
      if (pos + 4 > input.length) throw new SnappyError('truncated copy');
      len = (tag >>> 2) + 1;
      offset = input[pos]! + input[pos + 1]! * 0x100 + input[pos + 2]! * 0x10000 + input[pos + 3]! * 0x1000000;
      pos += 4;
    }
    if (offset === 0 || offset > o) throw new SnappyError('copy from before the start of the output');
    if (o + len > length) throw new SnappyError('output past its stated length');
    if (offset >= len) out.copyWithin(o, o - offset, o - offset + len);
    else for (let k = 0; k < len; k++) out[o + k] = out[o - offset + k]!;
    o += len;
  }
  if (o !== length) throw new SnappyError(`output is ${o} bytes, ${length} stated`);
  yield o - told;
  return out;
}
