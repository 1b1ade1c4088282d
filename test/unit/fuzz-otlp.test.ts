// Properties of the OTLP decoder and mapper (src/ingest/otlp/): whatever arrives — any bytes,
// damaged protobuf, JSON of any shape, generated exports with odd values — the answer is records
// (every log record either kept or counted as rejected) or a client error (4xx), never a throw
// of anything else. A fixed seed per run is printed by fast-check on failure.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { SluiceError } from '../../src/errors.js';
import { END_MICROS } from '../../src/timestamp.js';
import { encodeExportRequest } from '../../src/ingest/otlp/codec.js';
import type { OtlpEncoding } from '../../src/ingest/otlp/map.js';
import { readExport, readExportAsync, readExportSteps } from '../../src/ingest/otlp/read-export.js';
import { runAtOnce } from '../../src/steps.js';
import type { LogRecord } from '../../src/record.js';

const LIMITS = { maxRecords: 50, maxDepth: 8, maxKeys: 200 };
const RUNS = { numRuns: 300 };

/** Records and rejects add up to `total` (when known), or the error is a client's. */
function outcome(body: Buffer, encoding: OtlpEncoding, total?: number): void {
  try {
    const out = readExport(body, encoding, 1_764_672_000_000_000, LIMITS);
    if (total !== undefined) assert.equal(out.records.length + out.rejected, total);
    for (const r of out.records) {
      assert.ok(Number.isInteger(r.ts) && r.ts >= 0 && r.ts < END_MICROS, `ts ${r.ts}`);
      if (r.attrs !== null) JSON.parse(r.attrs);
    }
  } catch (err) {
    if (!(err instanceof SluiceError) || err.statusCode < 400 || err.statusCode >= 500) throw err;
  }
}

const hex = (bytes: number) =>
  fc.uint8Array({ minLength: bytes, maxLength: bytes }).map((b) => Buffer.from(b).toString('hex'));

const { anyValue } = fc.letrec<{ anyValue: object; kv: object }>((tie) => ({
  anyValue: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.record({ stringValue: fc.string() }),
    fc.record({ boolValue: fc.boolean() }),
    fc.record({ intValue: fc.oneof(fc.integer(), fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map(String)) }),
    fc.record({ doubleValue: fc.double() }),
    fc.record({ bytesValue: fc.uint8Array({ maxLength: 8 }).map((b) => Buffer.from(b).toString('base64')) }),
    fc.record({ arrayValue: fc.record({ values: fc.array(tie('anyValue'), { maxLength: 3 }) }) }),
    fc.record({ kvlistValue: fc.record({ values: fc.array(tie('kv'), { maxLength: 3 }) }) }),
    fc.constant({}),
  ),
  kv: fc.record({ key: fc.string({ maxLength: 12 }), value: tie('anyValue') }),
}));
const keyValues = fc.array(fc.record({ key: fc.string({ maxLength: 12 }), value: anyValue }), { maxLength: 4 });

const nanos = fc.oneof(fc.constant('0'), fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }).map(String));
const logRecord = fc.record(
  {
    timeUnixNano: nanos,
    observedTimeUnixNano: nanos,
    severityNumber: fc.integer({ min: 0, max: 30 }),
    severityText: fc.oneof(fc.constantFrom('INFO', 'warn', 'Error3', ''), fc.string({ maxLength: 10 })),
    body: anyValue,
    attributes: keyValues,
    traceId: fc.oneof(hex(16), hex(3), fc.constant('')),
    spanId: fc.oneof(hex(8), hex(16), fc.constant('')),
    eventName: fc.string({ maxLength: 10 }),
    flags: fc.nat(),
  },
  { requiredKeys: [] },
);
const exportRequest = fc.record({
  resourceLogs: fc.array(
    fc.record(
      {
        resource: fc.record({ attributes: keyValues }),
        scopeLogs: fc.array(
          fc.record(
            {
              scope: fc.record({ name: fc.string({ maxLength: 8 }), attributes: keyValues }, { requiredKeys: [] }),
              logRecords: fc.array(logRecord, { maxLength: 6 }),
            },
            { requiredKeys: ['logRecords'] },
          ),
          { maxLength: 3 },
        ),
      },
      { requiredKeys: ['scopeLogs'] },
    ),
    { maxLength: 3 },
  ),
});
type Req = { resourceLogs: Array<{ scopeLogs: Array<{ logRecords: unknown[] }> }> };
const total = (r: Req): number =>
  r.resourceLogs.reduce((n, rl) => n + rl.scopeLogs.reduce((m, sl) => m + sl.logRecords.length, 0), 0);

/** The records of a read, without their generated ids; or the error's status. */
async function settled(read: () => Promise<{ records: LogRecord[]; rejected: number }>): Promise<unknown> {
  try {
    const out = await read();
    return { records: out.records.map(({ id: _id, ...r }) => r), rejected: out.rejected };
  } catch (err) {
    if (!(err instanceof SluiceError) || err.statusCode < 400 || err.statusCode >= 500) throw err;
    return err.statusCode;
  }
}

describe('OTLP decoder and mapper properties', () => {
  test('any bytes as protobuf or JSON: records or a 4xx', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.constantFrom<OtlpEncoding>('protobuf', 'json'), (b, enc) => {
        outcome(Buffer.from(b), enc);
      }),
      RUNS,
    );
  });

  test('generated exports: every log record is kept or counted as rejected, in both encodings', () => {
    fc.assert(
      fc.property(exportRequest, (req) => {
        const n = total(req as Req);
        outcome(Buffer.from(JSON.stringify(req)), 'json', n > LIMITS.maxRecords ? undefined : n);
        outcome(encodeExportRequest(req), 'protobuf', n > LIMITS.maxRecords ? undefined : n);
      }),
      RUNS,
    );
  });

  test('the record cap counts exactly the log records while decoding, in both encodings', () => {
    fc.assert(
      fc.property(exportRequest, (req) => {
        const n = total(req as Req);
        for (const [enc, body] of [
          ['json', Buffer.from(JSON.stringify(req))],
          ['protobuf', encodeExportRequest(req)],
        ] as const) {
          const read = (maxRecords: number) =>
            runAtOnce(readExportSteps(body, enc, 0, { ...LIMITS, maxRecords, maxKeys: Infinity }));
          const kept = read(n);
          assert.equal(kept.records.length + kept.rejected, n, enc);
          if (n > 0)
            assert.throws(
              () => read(n - 1),
              (err: SluiceError) => err.code === 'SLUICE_ERR_TOO_MANY_RECORDS',
              enc,
            );
        }
      }),
      RUNS,
    );
  });

  test('damaged protobuf exports (bytes flipped, cut short): records or a 4xx', () => {
    fc.assert(
      fc.property(exportRequest, fc.nat(), fc.integer({ min: 1, max: 255 }), fc.boolean(), (req, at, xor, cut) => {
        const bytes = encodeExportRequest(req);
        if (bytes.length === 0) return;
        const i = at % bytes.length;
        const damaged = cut ? bytes.subarray(0, i) : Buffer.from(bytes);
        if (!cut) damaged[i] = damaged[i]! ^ xor;
        outcome(damaged, 'protobuf');
      }),
      RUNS,
    );
  });

  test('JSON of any shape, and exports with values of the wrong types: records or a 4xx', () => {
    const wrongTyped = exportRequest.chain((req) =>
      fc.jsonValue({ maxDepth: 2 }).map((junk) => {
        const copy = JSON.parse(JSON.stringify(req)) as Req;
        const sl = copy.resourceLogs[0]?.scopeLogs[0];
        if (sl && sl.logRecords.length > 0) {
          const lr = sl.logRecords[0] as Record<string, unknown>;
          const keys = ['timeUnixNano', 'severityNumber', 'body', 'attributes', 'traceId', 'spanId'];
          lr[keys[JSON.stringify(junk).length % keys.length]!] = junk;
        }
        return copy;
      }),
    );
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue({ maxDepth: 5 }), wrongTyped), (value) => {
        outcome(Buffer.from(JSON.stringify(value) ?? 'null'), 'json');
      }),
      RUNS,
    );
  });

  test('the sliced protobuf reader (large bodies) agrees with the whole-message decoder; damaged, both answer records or a 4xx', async () => {
    await fc.assert(
      fc.asyncProperty(exportRequest, fc.nat(), fc.boolean(), async (req, at, damage) => {
        const bytes = encodeExportRequest(req);
        if (damage && bytes.length > 0) bytes[at % bytes.length] = bytes[at % bytes.length]! ^ 0xa5;
        const received = 1_764_672_000_000_000;
        const sliced = await settled(() => readExportAsync(bytes, 'protobuf', received, LIMITS));
        const whole = await settled(async () => readExport(bytes, 'protobuf', received, LIMITS));
        if (!damage) assert.deepEqual(sliced, whole);
      }),
      RUNS,
    );
  });
});
