// CRC32C (Castagnoli), the checksum of every WAL frame. Table-driven, eight bytes per step
// ("slicing-by-8") so checksumming stays well below the cost of the fsync it guards; pure
// TypeScript, so no native module has to build on the target machine.

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
  return crc32cSigned(buf, start, end, ~prior) >>> 0;
}

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
