// The WAL's framing: CRC32C against published check values, frames that round-trip, and a
// decoder that refuses (never guesses) on every kind of damage a crash or a bad disk leaves.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { crc32c, crc32cPortable, nativeCrc32c } from '../../src/pipeline/wal/crc32c.js';
import { decodeTuples } from '../../src/sinks/postgres/copy-decode.js';
import { BinaryWriter, binaryFromTuples, encodeBinary } from '../../src/sinks/postgres/copy-encode.js';
import {
  FRAME_HEADER,
  FrameType,
  decodeFrame,
  decodeSegmentHeader,
  encodeRange,
  encodeSegmentHeader,
  pendingRecords,
  pendingRecordsInSteps,
  recordFrameBytes,
  writeRecordFrame,
  writeRecordFrameSteps,
} from '../../src/pipeline/wal/frame.js';
import { decodeRecordRows, encodeRecordRows } from '../../src/pipeline/wal/record-codec.js';
import { TupleSlab } from '../../src/pipeline/wal/tuple-slab.js';
import type { CheckRecord, HealthRecord, LogRecord, SluiceRecord } from '../../src/record.js';

/** A record frame laid out on its own, as the segment log lays it out in its write buffer. */
function recordFrame(records: SluiceRecord[], firstSeq: number): Buffer {
  const p = { ...pendingRecords(records, new TupleSlab()), firstSeq };
  const buf = Buffer.alloc(recordFrameBytes(p) + 4);
  assert.equal(writeRecordFrame(buf, 2, p), 2 + recordFrameBytes(p));
  return buf.subarray(2, 2 + recordFrameBytes(p));
}

const rec = (i: number): LogRecord => ({
  type: 'log',
  id: `r${i}`,
  ts: 1_700_000_000_000_000 + i,
  received_at: 1_700_000_000_000_001,
  level: 'warn',
  service: 'api',
  message: `m ${i} ✓`,
  attrs: '{"k":1}',
  trace_id: null,
  span_id: null,
  size: 120,
});

describe('crc32c', () => {
  test('matches the standard check values (RFC 3720 B.4 and "123456789")', () => {
    assert.equal(crc32c(Buffer.from('123456789')), 0xe3069283);
    assert.equal(crc32c(Buffer.alloc(32, 0)), 0x8a9136aa);
    assert.equal(crc32c(Buffer.alloc(32, 0xff)), 0x62a8ab43);
    assert.equal(crc32c(Buffer.from(Array.from({ length: 32 }, (_, i) => i))), 0x46dd794e);
    assert.equal(crc32c(Buffer.alloc(0)), 0);
  });

  test('a run checksummed in pieces, each continuing from the last, equals it checksummed whole', () => {
    const buf = Buffer.from(Array.from({ length: 1000 }, (_, i) => (i * 131 + 7) & 0xff));
    const whole = crc32c(buf);
    for (const cut of [0, 1, 7, 8, 9, 500, 999, 1000]) assert.equal(crc32c(buf, cut, 1000, crc32c(buf, 0, cut)), whole);
    assert.equal(crc32c(buf, 600, 1000, crc32c(buf, 300, 600, crc32c(buf, 0, 300))), whole);
  });

  test('the native and the portable checksum agree (half the results are past 2^31), in pieces too', () => {
    // Long inputs go to the native binary where it loads; on Linux x64 (CI) it must.
    if (process.platform === 'linux' && process.arch === 'x64') assert.equal(nativeCrc32c, true);
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 0, maxLength: 5000 }),
        fc.nat(),
        fc.nat(),
        fc.nat({ max: 0xffffffff }),
        (bytes, a, b, prior) => {
          const buf = Buffer.from(bytes);
          const [start, end] = [a % (buf.length + 1), b % (buf.length + 1)].sort((x, y) => x - y) as [number, number];
          assert.equal(crc32c(buf, start, end, prior), crc32cPortable(buf, start, end, prior));
          assert.equal(crc32c(buf), crc32c(buf, start, buf.length, crc32c(buf, 0, start)));
        },
      ),
      { numRuns: 300 },
    );
  });

  test('a sub-range gives the same result as a copy of it, at every alignment', () => {
    const buf = Buffer.from(Array.from({ length: 300 }, (_, i) => (i * 37) & 0xff));
    for (let start = 0; start < 9; start++) {
      for (const end of [start, start + 1, start + 7, start + 8, start + 9, 300]) {
        assert.equal(crc32c(buf, start, end), crc32c(Buffer.from(buf.subarray(start, end))), `[${start}, ${end})`);
      }
    }
  });
});

describe('frames', () => {
  test('a record frame round-trips with its position', () => {
    const records = [rec(1), rec(2), rec(3)];
    const frame = recordFrame(records, 41);
    const r = decodeFrame(frame, 0);
    assert.ok('frame' in r);
    assert.equal(r.next, frame.length);
    assert.deepEqual(r.frame, { type: FrameType.Records, firstSeq: 41, records });
  });

  test('every record type round-trips through the positional codec, nulls and unicode included', () => {
    const health: HealthRecord = {
      type: 'health',
      id: 'h1',
      ts: 5,
      received_at: 6,
      size: 80,
      service: 'db',
      status: 'degraded',
      latency_ms: 12.5,
      message: null,
      attrs: '{"a":[1,"é"]}',
    };
    const check: CheckRecord = {
      type: 'check',
      id: 'c1',
      ts: 7,
      received_at: 8,
      size: 90,
      check_id: 'k',
      check_name: 'home',
      kind: 'http',
      ok: false,
      status: 'down',
      latency_ms: null,
      status_code: 503,
      error_class: 'http_status',
      message: 'bad "gateway"\n',
      details: null,
    };
    const records = [
      rec(1),
      health,
      check,
      { ...rec(2), trace_id: 'ab'.repeat(16), span_id: 'cd'.repeat(8), service: null },
    ];
    assert.deepEqual(decodeRecordRows(encodeRecordRows(records)), records);
    // A tenant round-trips; a log row without one (as written before tenants existed) is one field shorter.
    const tenanted = [{ ...rec(3), tenant: 'acme' }];
    assert.deepEqual(decodeRecordRows(encodeRecordRows(tenanted)), tenanted);
    assert.equal((JSON.parse(encodeRecordRows([rec(4)])) as unknown[][])[0]!.length, 11);
    assert.deepEqual(decodeRecordRows(encodeRecordRows([rec(4)])), [rec(4)]);
    assert.throws(() => decodeRecordRows('[[9,"x"]]'), /bad row/);
    assert.throws(() => decodeRecordRows('[[0,"too few"]]'), /bad row/);
  });

  test('tuple frames hold the COPY tuples the sink sends, and every record type round-trips through them', () => {
    const health: HealthRecord = {
      type: 'health',
      id: 'h1',
      ts: 5,
      received_at: 6,
      size: 80,
      service: 'db',
      status: 'degraded',
      latency_ms: 12.5,
      message: null,
      attrs: '{"a":[1,"é"]}',
    };
    const check: CheckRecord = {
      type: 'check',
      id: 'c1',
      ts: -62_135_596_800_000_000,
      received_at: 253_402_300_799_999_000,
      size: 90,
      check_id: 'k',
      check_name: 'home',
      kind: 'http',
      ok: false,
      status: 'down',
      latency_ms: null,
      status_code: 503,
      error_class: 'http_status',
      message: 'bad "gateway"\n',
      details: '{"days":3}',
    };
    const logs = [
      rec(1),
      { ...rec(2), trace_id: 'ab'.repeat(16), span_id: 'cd'.repeat(8), service: null, attrs: null },
      { ...rec(3), tenant: 'acme', message: 'emoji \u{1F600} and tab\t' },
    ];
    const records: SluiceRecord[] = [...logs, health, check];
    const frame = recordFrame(records, 9);
    assert.equal(frame[FRAME_HEADER], FrameType.Tuples, 'written as a tuple frame');
    const r = decodeFrame(frame, 0);
    assert.ok('frame' in r);
    assert.deepEqual(r.frame, { type: FrameType.Records, firstSeq: 9, records });

    // The tuples are byte for byte what the sink's own encoder writes for the same records.
    const p = pendingRecords(logs, new TupleSlab());
    const fromTuples = Buffer.from(binaryFromTuples([p.tuples!], new BinaryWriter(64)));
    assert.deepEqual(fromTuples, Buffer.from(encodeBinary(logs, 64)));
    assert.equal(p.offsets!.length, logs.length + 1);
    const second = p.tuples!.subarray(p.offsets![1], p.offsets![2]);
    assert.deepEqual(decodeTuples(second, 0, second.length, [7]), [{ ...logs[1]!, size: 7 }]);

    // NUL, short or long, ASCII or not, comes back as PostgreSQL would store it: U+FFFD.
    const nul = [{ ...rec(4), id: 'a\0b', message: `é\0${'x'.repeat(100)}` }];
    const q = pendingRecords(nul, new TupleSlab());
    assert.deepEqual(decodeTuples(q.tuples!, 0, q.tuples!.length, [120]), [
      { ...nul[0]!, id: 'a\uFFFDb', message: `é\uFFFD${'x'.repeat(100)}` },
    ]);
  });

  test('a large request is encoded in steps, to the same bytes, letting the loop run between', async () => {
    const records = Array.from({ length: 10_000 }, (_, i) => ({ ...rec(i), message: `m${i} é` }));
    const whole = pendingRecords(records, new TupleSlab());
    let turns = 0;
    const tick = (): void => {
      turns++;
      if (!done) setImmediate(tick);
    };
    let done = false;
    setImmediate(tick);
    const stepped = await pendingRecordsInSteps(records, 1000);
    done = true;
    assert.deepEqual(stepped.tuples, whole.tuples);
    // Held until the sink has them: a buffer of exactly their size, not a writer's spare room.
    assert.equal(stepped.tuples!.buffer.byteLength, stepped.tuples!.length);
    assert.deepEqual(stepped.offsets, whole.offsets);
    assert.equal(stepped.payloadBytes, whole.payloadBytes);
    // 10 steps of 1,000: the loop ran between them.
    assert.ok(turns >= 9, `${turns} turns of the loop while encoding`);
  });

  test('a large frame is laid out in pieces, to the same bytes, and decodes', () => {
    const records = Array.from({ length: 30_000 }, (_, i) => ({ ...rec(i), message: `m${i} ${'é'.repeat(20)}` }));
    const p = { ...pendingRecords(records, new TupleSlab()), firstSeq: 5 };
    assert.ok(p.payloadBytes > 3 * 1024 * 1024, `${p.payloadBytes} bytes`);
    const whole = Buffer.alloc(recordFrameBytes(p) + 3);
    const end = writeRecordFrame(whole, 3, p);
    const stepped = Buffer.alloc(whole.length);
    const steps = writeRecordFrameSteps(stepped, 3, p);
    let pieces = 0;
    let r = steps.next();
    for (; !r.done; r = steps.next()) {
      pieces++;
      assert.ok(r.value <= 1024 * 1024, `a piece of ${r.value} bytes`);
    }
    assert.equal(r.value, end);
    assert.ok(pieces >= 6, `${pieces} pieces`);
    assert.ok(stepped.equals(whole));
    const decoded = decodeFrame(stepped, 3);
    assert.ok('frame' in decoded && decoded.frame.type === FrameType.Records);
    assert.equal(decoded.frame.records.length, records.length);
    assert.deepEqual(decoded.frame.records[29_999], records[29_999]);
  });

  test('a record COPY cannot carry falls back to a JSON record frame and still round-trips', () => {
    const check: CheckRecord = {
      type: 'check',
      id: 'c2',
      ts: 7,
      received_at: 8,
      size: 90,
      check_id: 'k',
      check_name: 'home',
      kind: 'http',
      ok: true,
      status: 'up',
      latency_ms: 1,
      status_code: 2 ** 40, // past int4: the sink refuses it (dead letter), the WAL must still keep it
      error_class: null,
      message: null,
      details: null,
    };
    const p = pendingRecords([rec(1), check], new TupleSlab());
    assert.equal(p.tuples, undefined);
    const frame = recordFrame([rec(1), check], 3);
    assert.equal(frame[FRAME_HEADER], FrameType.Records);
    const r = decodeFrame(frame, 0);
    assert.ok('frame' in r);
    assert.deepEqual(r.frame, { type: FrameType.Records, firstSeq: 3, records: [rec(1), check] });
  });

  test('cut and done frames round-trip', () => {
    const buf = Buffer.concat([encodeRange(FrameType.Cut, 10, 20), encodeRange(FrameType.Done, 10, 20)]);
    const a = decodeFrame(buf, 0);
    assert.ok('frame' in a);
    assert.deepEqual(a.frame, { type: FrameType.Cut, from: 10, to: 20 });
    const b = decodeFrame(buf, a.next);
    assert.ok('frame' in b);
    assert.deepEqual(b.frame, { type: FrameType.Done, from: 10, to: 20 });
    assert.equal(b.next, buf.length);
  });

  test('every truncation of a frame is reported as an error', () => {
    const frame = recordFrame([rec(1)], 0);
    for (let len = 0; len < frame.length; len++) {
      assert.ok('error' in decodeFrame(frame.subarray(0, len), 0), `cut at ${len}`);
    }
  });

  test('any single flipped bit is caught by the checksum or the length check', () => {
    const frame = recordFrame([rec(1), rec(2)], 7);
    for (let i = 0; i < frame.length; i++) {
      for (const bit of [0x01, 0x80]) {
        const bad = Buffer.from(frame);
        bad[i]! ^= bit;
        assert.ok('error' in decodeFrame(bad, 0), `byte ${i} bit ${bit}`);
      }
    }
  });

  test('zeroed space (a preallocated or torn tail) is not a frame', () => {
    assert.ok('error' in decodeFrame(Buffer.alloc(64), 0));
  });

  test('segment headers round-trip and refuse damage', () => {
    const id = Buffer.from('00112233445566778899aabbccddeeff', 'hex');
    const h = encodeSegmentHeader(id, 12, 3456);
    const d = decodeSegmentHeader(h);
    assert.ok('walId' in d);
    assert.ok(d.walId.equals(id));
    assert.equal(d.segment, 12);
    assert.equal(d.startSeq, 3456);
    const bad = Buffer.from(h);
    bad[30]! ^= 1;
    assert.ok('error' in decodeSegmentHeader(bad));
    assert.ok('error' in decodeSegmentHeader(h.subarray(0, 20)));
    // Format 1 (JSON record frames only) is still read; an intact header of a newer format says so.
    assert.ok('walId' in decodeSegmentHeader(encodeSegmentHeader(id, 1, 0, 1)));
    const newer = decodeSegmentHeader(encodeSegmentHeader(id, 1, 0, 9));
    assert.ok('format' in newer && newer.format === 9);
    const flipped = Buffer.from(encodeSegmentHeader(id, 1, 0, 9));
    flipped[30]! ^= 1;
    assert.ok(!('format' in decodeSegmentHeader(flipped)), 'a damaged header is damage, whatever its magic says');
  });
});
