// Property tests (fast-check) over the Loki push decoders, beside the fuzz suite: a push built
// by an independent encoder (protobufjs + snappyjs, and JSON) decodes to exactly the records it
// holds; any other bytes are a 4xx SluiceError or a valid push, never another error, never a
// stall.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { SluiceError } from '../../src/errors.js';
import { decodePushJson } from '../../src/ingest/loki/push-json.js';
import { decodePushProto, unsnappy } from '../../src/ingest/loki/push-proto.js';
import { streamsToRecords } from '../../src/ingest/loki/to-records.js';
import type { LogRecord } from '../../src/record.js';
import { pushJson, pushProto, type PushStream } from '../helpers/loki-push.js';

const MAX_CASE_MS = 250;
const LIMIT = 1 << 20;
const RUNS = { numRuns: 200 };

function decode(body: Buffer, json: boolean): LogRecord[] {
  const streams = json ? decodePushJson(body, 1000) : decodePushProto(unsnappy(body, LIMIT), 1000);
  return streamsToRecords(streams, 1_700_000_000_000_000).records;
}

/** Decodes, or returns the SluiceError; any other error fails the property. */
function attempt(body: Buffer, json: boolean): LogRecord[] | SluiceError {
  const t = performance.now();
  let out: LogRecord[] | SluiceError;
  try {
    out = decode(body, json);
  } catch (err) {
    if (!(err instanceof SluiceError && err.statusCode >= 400 && err.statusCode < 500)) throw err;
    out = err;
  }
  const ms = performance.now() - t;
  if (ms > MAX_CASE_MS) throw new Error(`decoding held the loop ${ms.toFixed(0)} ms`);
  return out;
}

const labelName = fc.stringMatching(/^[a-zA-Z_][a-zA-Z0-9_]{0,12}$/);
const text = fc.string({ unit: 'grapheme', maxLength: 40 });
const uniquePairs = (min: number) =>
  fc.uniqueArray(fc.tuple(labelName, text), { minLength: min, maxLength: 5, selector: ([k]) => k });
// From 1970 to 2200, in nanoseconds.
const ns = fc.bigInt({ min: 0n, max: 7_258_118_400_000_000_000n }).map(String);
const streams = fc.array(
  fc.record({
    labels: uniquePairs(1),
    entries: fc.array(
      fc.record(
        { ns, line: text, metadata: fc.option(uniquePairs(1), { nil: undefined }) },
        { requiredKeys: ['ns', 'line'] },
      ),
      { maxLength: 5 },
    ),
  }),
  { maxLength: 4 },
) as fc.Arbitrary<PushStream[]>;

function expected(ss: PushStream[]): Array<{ message: string; ts: number; attrs: unknown }> {
  return ss.flatMap((s) =>
    s.entries.map((e) => {
      const attrs: Record<string, unknown> = Object.fromEntries(s.labels);
      if (e.metadata) attrs.structured_metadata = Object.fromEntries(e.metadata);
      return { message: e.line, ts: Number(BigInt(e.ns) / 1000n), attrs };
    }),
  );
}

const seen = (rs: LogRecord[]) =>
  rs.map((r) => ({ message: r.message!, ts: r.ts, attrs: JSON.parse(r.attrs!) as unknown }));

test('a push from an independent encoder decodes to exactly its entries (snappy protobuf and JSON alike)', () => {
  fc.assert(
    fc.property(streams, (ss) => {
      const want = expected(ss);
      assert.deepEqual(seen(decode(pushProto(ss), false)), want);
      assert.deepEqual(seen(decode(pushJson(ss), true)), want);
    }),
    RUNS,
  );
});

test('the entry cap counts exactly the entries, in both encodings (labels and metadata aside)', () => {
  fc.assert(
    fc.property(streams, (ss) => {
      const n = ss.reduce((sum, st) => sum + st.entries.length, 0);
      for (const json of [true, false]) {
        const body = json ? pushJson(ss) : pushProto(ss);
        const read = (cap: number) => (json ? decodePushJson(body, cap) : decodePushProto(unsnappy(body, LIMIT), cap));
        assert.equal(
          read(n).reduce((sum, st) => sum + st.entries.length, 0),
          n,
        );
        if (n > 0) assert.throws(() => read(n - 1), new RegExp(`more than ${n - 1} entries`));
      }
    }),
    RUNS,
  );
});

test('any bytes as snappy protobuf: a valid push or a 4xx, never another error or a stall', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
      attempt(Buffer.from(bytes), false);
    }),
    RUNS,
  );
});

test('a valid push with bytes flipped: a valid push or a 4xx, never another error', () => {
  fc.assert(
    fc.property(
      streams,
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }),
      fc.boolean(),
      (ss, flips, json) => {
        const body = json ? pushJson(ss) : pushProto(ss);
        if (body.length === 0) return;
        for (const [at, b] of flips) body[at % body.length] = b;
        attempt(body, json);
      },
    ),
    RUNS,
  );
});

test('any JSON value or text as a JSON push: a valid push or a 4xx, never another error', () => {
  fc.assert(
    fc.property(
      fc.oneof(
        fc.json(),
        fc.string(),
        fc.jsonValue().map((v) => JSON.stringify({ streams: [v] })),
      ),
      (s) => {
        attempt(Buffer.from(s), true);
      },
    ),
    RUNS,
  );
});

test('a label set that does not parse is a 400 naming it, never another error', () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 30 }), (labels) => {
      const r = attempt(rawStream(labels), false);
      if (r instanceof SluiceError) {
        assert.equal(r.statusCode, 400);
        assert.match(
          r.message,
          /^error parsing labels|^proto: string field is not valid UTF-8|at least one label pair/,
        );
      }
    }),
    RUNS,
  );
});

/** A snappy PushRequest of one stream whose label text is given as is. */
function rawStream(labels: string): Buffer {
  const enc = (field: number, bytes: Buffer): Buffer =>
    Buffer.concat([Buffer.from([(field << 3) | 2, bytes.length]), bytes]);
  // Short enough for one-byte lengths and a one-byte Snappy literal tag (up to 60 bytes).
  const stream = enc(1, Buffer.from(labels).subarray(0, 50));
  return pushProtoRaw(enc(1, stream));
}

function pushProtoRaw(bytes: Buffer): Buffer {
  // Snappy's block format: the length, then one literal.
  return Buffer.concat([Buffer.from([bytes.length]), Buffer.from([(bytes.length - 1) << 2]), bytes]);
}
