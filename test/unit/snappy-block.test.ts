// The Snappy block decoder Loki pushes go through: it undoes an independent encoder (snappyjs's
// compress) exactly, refuses every malformed input with a SnappyError — including the 8 bytes
// on which snappyjs's own decoder loops for ever — and never writes past the stated length.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { compress } from 'snappyjs';
import { SnappyError, SnappyTooBig, uncompressSnappy } from '../../src/ingest/loki/snappy-block.js';

const LIMIT = 1 << 20;

test('undoes snappyjs compress exactly, repetitive and random bytes alike', () => {
  const repetitive = fc
    .array(fc.tuple(fc.uint8Array({ minLength: 1, maxLength: 20 }), fc.integer({ min: 1, max: 400 })), {
      maxLength: 20,
    })
    .map((parts) => Buffer.concat(parts.flatMap(([b, n]) => Array.from({ length: n }, () => Buffer.from(b)))));
  fc.assert(
    fc.property(fc.oneof(fc.uint8Array({ maxLength: 5000 }), repetitive), (bytes) => {
      const input = Buffer.from(bytes);
      assert.deepEqual(uncompressSnappy(Buffer.from(compress(input)), LIMIT), input);
    }),
    { numRuns: 300 },
  );
});

test('a copy with a 4-byte offset, and an overlapping copy', () => {
  // length 12; literal "abcd"; copy kind 3 (len 8, offset 4): "abcd" three times.
  const block = Buffer.from([12, (3 << 2) | 0, 0x61, 0x62, 0x63, 0x64, (7 << 2) | 3, 4, 0, 0, 0]);
  assert.equal(uncompressSnappy(block, LIMIT).toString(), 'abcdabcdabcd');
});

test('the input snappyjs 0.7.0 loops on is refused at once', () => {
  // A literal whose 4-byte length has its top bit set.
  assert.throws(() => uncompressSnappy(Buffer.from('2dfc584505f9ac02', 'hex'), LIMIT), SnappyError);
});

test('a stated length past the limit is refused before allocating', () => {
  assert.throws(() => uncompressSnappy(Buffer.from([0x80, 0x80, 0x80, 0x80, 0x04]), LIMIT), SnappyTooBig);
});

test('any bytes: the stated output or a SnappyError, never another error or more than stated', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 400 }), (bytes) => {
      try {
        const out = uncompressSnappy(Buffer.from(bytes), 4096);
        assert.ok(out.length <= 4096);
      } catch (err) {
        assert.ok(err instanceof SnappyError, String(err));
      }
    }),
    { numRuns: 5000 },
  );
});
