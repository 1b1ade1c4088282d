// Issue #13's loop bound, counted rather than timed: a body at the size cap is parsed in steps,
// and no step does more than about two slices of work (bytes scanned, parsed or serialised),
// whatever its shape: many records, one record with 10k keys, one 10 MB line or string, deep
// nesting, escapes. Time per byte is measured in bench/loop-stall.ts; here only work is counted.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SluiceError } from '../../src/errors.js';
import { normaliseLog } from '../../src/ingest/normalise.js';
import { MAX_TOKEN_CHARS, SLICE_CHARS, parseBodyInSteps, type ParseLimits } from '../../src/ingest/parse-body.js';

const MiB = 1024 * 1024;
const LIMITS: ParseLimits = { maxRecords: 10_000, maxDepth: 64, maxKeys: 10_000 };
const BOUND = 2 * SLICE_CHARS;
const NOW = 1_700_000_000_000_000;

function stepped(body: string, ndjson = false) {
  return parseBodyInSteps(Buffer.from(body), ndjson, NOW, normaliseLog, LIMITS);
}

function wide(keys: number, valueBytes: number): string {
  const v = JSON.stringify('v'.repeat(valueBytes));
  return `{"message":"wide","attrs":{${Array.from({ length: keys }, (_, i) => `"k${i}":${v}`).join(',')}}}`;
}

const rec = JSON.stringify({ level: 'info', service: 's', message: 'x'.repeat(1000) });
const cases: Array<[string, string, boolean, number]> = [
  ['10k records of 1 KiB, JSON', `[${Array(10_000).fill(rec).join(',')}]`, false, 10_000],
  ['10k records of 1 KiB, NDJSON', Array(10_000).fill(rec).join('\n'), true, 10_000],
  ['one record of 10k keys x 1 KiB', wide(9990, 1000), false, 1],
  ['an array of one record of 10k keys', `[${wide(9990, 1000)}]`, false, 1],
  ['one 10 MiB NDJSON line', JSON.stringify({ message: 'm'.repeat(10 * MiB - 100) }), true, 1],
  ['a 10 MiB attrs string of escapes', JSON.stringify({ attrs: { s: '"\\'.repeat(2 * MiB) } }), false, 1],
  ['a 10 MiB key', `{"attrs":{${JSON.stringify('k'.repeat(10 * MiB))}:1}}`, false, 1],
  [
    '9k records nested 64 deep',
    `[${Array(9000)
      .fill(`{"attrs":${'{"a":'.repeat(62)}"${'p'.repeat(700)}"${'}'.repeat(62)}}`)
      .join(',')}]`,
    false,
    9000,
  ],
  ['10 MiB of spaces around one record', `${' '.repeat(5 * MiB)}{"message":"m"}${' '.repeat(5 * MiB)}`, false, 1],
];

for (const [name, body, ndjson, count] of cases) {
  test(`${name}: accepted whole, no step over two slices of work`, () => {
    const { parsed, steps, maxStepWork } = stepped(body, ndjson);
    assert.equal(parsed.records.length, count);
    assert.ok(steps > 1, `${steps} steps`);
    assert.ok(maxStepWork <= BOUND, `the largest step did ${maxStepWork} bytes of work (bound ${BOUND})`);
  });
}

test('a record parsed in pieces is the record parsed whole', () => {
  const body = wide(300, 1000);
  const inPieces = stepped(body).parsed.records[0]!;
  const whole = normaliseLog(JSON.parse(body), { index: 0 }, NOW);
  assert.ok(whole.ok);
  assert.equal(inPieces.attrs, whole.record.attrs);
  assert.equal(inPieces.size, whole.record.size);
});

test('a number longer than MAX_TOKEN_CHARS in a record too large for a slice is refused with 400 naming it', () => {
  const body = `{"message":"${'m'.repeat(SLICE_CHARS)}","attrs":{"n":${'1'.repeat(10 * MiB)}}}`;
  assert.throws(
    () => stepped(body),
    (err: unknown) =>
      err instanceof SluiceError &&
      err.statusCode === 400 &&
      new RegExp(`number longer than ${MAX_TOKEN_CHARS}`).test(err.message),
  );
});

test('bad JSON in a record too large for a slice is a 400 saying where', () => {
  const body = `[${wide(2000, 100).replace('"k1000":', '"k1000":x')}]`;
  assert.throws(
    () => stepped(body),
    (err: unknown) =>
      err instanceof SluiceError && err.code === 'SLUICE_ERR_INVALID_JSON' && /byte \d+/.test(err.message),
  );
});
