// CRC32C (Castagnoli), the checksum of every WAL frame. A record frame is checksummed with the
// CPU's CRC instructions through @node-rs/crc32's prebuilt binary when it loads: the portable
// table-driven loop below ("slicing-by-8") was ~0.9 µs of every record's CPU in a running
// collector (issue 17's profile). Short inputs (cut and done frames) and machines without a
// prebuilt binary use the loop: nothing has to build on the target machine.
import { createRequire } from 'node:module';

const POLY = 0x82f63b78; // reflected Castagnoli polynomial

const TABLES: Int32Array = (() => {
  const t = new Int32Array(8 * 256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
    t[n] = c;
  }
  for (let n = 0; n < 256; n++) {
    let c = t[n]!;
    for (let s = 1; s < 8; s++) {
      c = t[c & 0xff]! ^ (c >>> 8);
      t[s * 256 + n] = c;
    }
  }
  return t;
})();

/**
 * CRC32C of `buf[start, end)`, as an unsigned 32-bit integer. `prior`: the CRC of the bytes
 * before these, to checksum a long run a piece at a time (crc32c(b, 0, n) equals
 * crc32c(b, k, n, crc32c(b, 0, k))).
 */
export function crc32c(buf: Uint8Array, start = 0, end = buf.length, prior = 0): number {
  if (native !== undefined && end - start >= NATIVE_MIN_BYTES && Buffer.isBuffer(buf))
    return native(buf.subarray(start, end), prior) >>> 0;
  return crc32cPortable(buf, start, end, prior);
}

/** crc32c by the table-driven loop alone (exported for tests that compare the two). */
export function crc32cPortable(buf: Uint8Array, start = 0, end = buf.length, prior = 0): number {
  return crc32cSigned(buf, start, end, ~prior) >>> 0;
}

/** Below this many bytes the loop is cheaper than a call into native code (~150 ns). */
const NATIVE_MIN_BYTES = 256;

type NativeCrc = (input: Buffer, initialState?: number) => number;

function loadNative(): NativeCrc | undefined {
  try {
    const mod = createRequire(import.meta.url)('@node-rs/crc32') as { crc32c?: NativeCrc };
    return typeof mod.crc32c === 'function' ? mod.crc32c : undefined;
  } catch {
    return undefined; // no prebuilt binary for this platform
  }
}

const native = loadNative();

/** Whether long inputs are checksummed natively here (a test requires it on Linux x64). */
export const nativeCrc32c = native !== undefined;

/**
 * The loop, kept apart from the unsigned conversion: with `>>> 0` inside it, V8 speculated an
 * int32 result, deoptimised on the first checksum above 2^31 and kept re-entering the stale
 * on-stack-replaced code — measured ~10x slower in a running collector than in isolation.
 */
function crc32cSigned(buf: Uint8Array, start: number, end: number, init: number): number {
  const t = TABLES;
  let crc = init | 0;
  let i = start;
  const fast = end - ((end - start) & 7);
  while (i < fast) {
    const lo = (crc ^ (buf[i]! | (buf[i + 1]! << 8) | (buf[i + 2]! << 16) | (buf[i + 3]! << 24))) | 0;
    crc =
      t[1792 + (lo & 0xff)]! ^
      t[1536 + ((lo >>> 8) & 0xff)]! ^
      t[1280 + ((lo >>> 16) & 0xff)]! ^
      t[1024 + (lo >>> 24)]! ^
      t[768 + buf[i + 4]!]! ^
      t[512 + buf[i + 5]!]! ^
      t[256 + buf[i + 6]!]! ^
      t[buf[i + 7]!]!;
    i += 8;
  }
  while (i < end) crc = t[(crc ^ buf[i++]!) & 0xff]! ^ (crc >>> 8);
  return crc ^ -1;
}
