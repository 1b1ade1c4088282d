// Property tests (fast-check) over the Elasticsearch _bulk parser, beside the fuzz suite: one
// item per action, in order; a document fails only its own item; every good document becomes
// exactly one record; any other bytes are a 4xx SluiceError or such a result, never another
// error, never a stall.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { SluiceError } from '../../src/errors.js';
import { parseBulk, type ParsedBulk } from '../../src/ingest/elasticsearch/bulk.js';
import type { ParseLimits } from '../../src/ingest/parse-body.js';

const MAX_CASE_MS = 250;
const LIMITS: ParseLimits = { maxRecords: 1000, maxDepth: 16, maxKeys: 200 };
const RUNS = { numRuns: 200 };

function attempt(body: Buffer, index?: string): ParsedBulk | SluiceError {
  const t = performance.now();
  let out: ParsedBulk | SluiceError;
  try {
    out = parseBulk(body, index, 1_700_000_000_000_000, LIMITS);
  } catch (err) {
    if (!(err instanceof SluiceError && err.statusCode >= 400 && err.statusCode < 500)) throw err;
    out = err;
  }
  const ms = performance.now() - t;
  if (ms > MAX_CASE_MS) throw new Error(`parsing held the loop ${ms.toFixed(0)} ms`);
  return out;
}

/** A document line: mostly objects (some ECS-shaped), some not JSON objects at all. */
const docLine = fc.oneof(
  fc
    .dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 6 })
    .map((d) => JSON.stringify(d)),
  fc
    .record(
      {
        '@timestamp': fc.oneof(
          fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
          fc.string(),
          fc.integer(),
        ),
        message: fc.string(),
        log: fc.record({ level: fc.constantFrom('info', 'WARN', 'nope', 3) }),
        service: fc.record({ name: fc.string({ maxLength: 300 }) }),
      },
      { requiredKeys: [] },
    )
    .map((d) => JSON.stringify(d)),
  fc.jsonValue().map((v) => JSON.stringify(v)),
  fc.string().map((s) => s.replace(/\n/g, ' ')),
);
const op = fc.constantFrom('index', 'create', 'update', 'delete');
const actions = fc.array(fc.tuple(op, fc.option(fc.string({ maxLength: 10 }), { nil: undefined }), docLine), {
  minLength: 1,
  maxLength: 20,
});

test('one item per action in order; good documents are records, the rest fail alone', () => {
  fc.assert(
    fc.property(actions, (acts) => {
      const body = acts
        .map(([o, id, doc]) => {
          const a = JSON.stringify({ [o]: { _index: 'idx', ...(id !== undefined ? { _id: id } : {}) } });
          return o === 'delete' ? a : `${a}\n${doc}`;
        })
        .join('\n');
      const r = attempt(Buffer.from(`${body}\n`));
      // A document line that is blank is skipped, so the next action's pairing shifts: a 400 then.
      if (r instanceof SluiceError) {
        assert.ok(
          acts.some(([o, , d]) => o !== 'delete' && d.trim() === ''),
          r.message,
        );
        return;
      }
      assert.deepEqual(
        r.items.map((i) => i.op),
        acts.map(([o]) => o),
      );
      const ok = r.items.filter((i) => !i.error);
      assert.equal(r.records.length, ok.length);
      for (const i of r.items) {
        if (i.op === 'update' || i.op === 'delete') assert.equal(i.error?.status, 400);
        if (i.error) assert.ok(i.error.status === 400 && i.error.cause.reason.length > 0);
        else assert.equal(JSON.parse(i.record!.attrs!)._index, 'idx');
      }
    }),
    RUNS,
  );
});

test('any bytes: a bulk result or a 4xx, never another error or a stall', () => {
  fc.assert(
    fc.property(
      fc.oneof(
        fc.uint8Array({ maxLength: 400 }).map((b) => Buffer.from(b)),
        fc.array(fc.oneof(fc.json(), fc.string()), { maxLength: 10 }).map((ls) => Buffer.from(ls.join('\n'))),
      ),
      fc.option(fc.string({ maxLength: 5 }), { nil: undefined }),
      (body, index) => {
        attempt(body, index);
      },
    ),
    RUNS,
  );
});
