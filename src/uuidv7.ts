// Time-ordered record ids (UUIDv7), made without a syscall per id.
import { randomFillSync } from 'node:crypto';

const RAND_POOL = Buffer.alloc(16 * 256);
let randPos = RAND_POOL.length;
let lastMs = 0;
let seq = 0;
const HEX: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/**
 * A UUIDv7 (RFC 9562): 48-bit ms timestamp, then a 12-bit counter that keeps ids
 * monotonic within one millisecond in this thread (parse threads make their own), then random bits.
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
    HEX[(hi >>> 24) & 0xff]! +
    HEX[(hi >>> 16) & 0xff]! +
    HEX[(hi >>> 8) & 0xff]! +
    HEX[hi & 0xff]! +
    '-' +
    HEX[lo >>> 8]! +
    HEX[lo & 0xff]! +
    '-' +
    HEX[0x70 | (seq >>> 8)]! +
    HEX[seq & 0xff]! +
    '-' +
    HEX[0x80 | (b[p + 8]! & 0x3f)]! +
    HEX[b[p + 9]!]! +
    '-' +
    HEX[b[p + 10]!]! +
    HEX[b[p + 11]!]! +
    HEX[b[p + 12]!]! +
    HEX[b[p + 13]!]! +
    HEX[b[p + 14]!]! +
    HEX[b[p + 15]!]!
  );
}
