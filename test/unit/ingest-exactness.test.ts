// Issue #13 item 7: values are never changed silently. Times up to the end of 9999 are taken;
// numbers JSON.parse cannot keep (1e400, integers past 2^53) and ids that would be rewritten
// (NUL, lone surrogates) are refused with 400 naming the field; of duplicate keys the last wins.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SluiceError } from '../../src/errors.js';
import { normaliseHealth, normaliseLog, withTenant, type Normaliser } from '../../src/ingest/normalise.js';
import { parseBulk } from '../../src/ingest/elasticsearch/bulk.js';
import { UNLIMITED, parseBody } from '../../src/ingest/parse-body.js';
import { isProblem, numberMayBeInexact, scanJson, scanNdjson } from '../../src/ingest/scan-json.js';
import type { LogRecord } from '../../src/record.js';
import { formatMicros, parseRfc3339 } from '../../src/timestamp.js';

const parse = (text: string, ndjson = false) =>
  parseBody(Buffer.from(text), ndjson, 1_700_000_000_000_000, normaliseLog);

function refused(text: string, field: RegExp, ndjson = false): void {
  assert.throws(
    () => parse(text, ndjson),
    (err: unknown) =>
      err instanceof SluiceError && err.statusCode === 400 && field.test(String(err.problems?.[0]?.field)),
    text.slice(0, 60),
  );
}

test('the last microsecond of 9999 is taken, the first of 10000 is not', () => {
  const us = parseRfc3339('9999-12-31T23:59:59.999999Z');
  assert.notEqual(us, null);
  assert.match(formatMicros(us!), /^9999-12-31T23:59:59\.9999\d\dZ$/);
  assert.equal(parse('{"ts":"9999-12-31T23:59:59.999999Z","message":"m"}').records.length, 1);
  assert.equal(parseRfc3339('10000-01-01T00:00:00Z'), null);
  assert.equal(parseRfc3339('9999-12-31T23:30:00-01:00'), null);
});

test('1e400 and integers past 2^53 are refused with the field named, as JSON, NDJSON and health pings', () => {
  refused('{"message":"m","attrs":{"big":1e400}}', /^attrs\.big$/);
  refused('{"message":"m","n":12345678901234567890}', /^n$/);
  refused('[{"message":"ok"},{"message":"m","attrs":{"list":[1,-1e999]}}]', /^attrs\.list\[1\]$/);
  refused('{"message":"ok"}\n{"x":9007199254740993}', /^x$/, true);
  assert.throws(
    () => parseBody(Buffer.from('{"service":"s","status":"up","q":1e400}'), false, 0, normaliseHealth),
    /field q /,
  );
  // An integer past 2^53 in any notation is refused (its value cannot tell which digits were meant).
  refused('{"message":"m","f":1.5e300}', /^f$/);
  // What a double keeps is taken, also when it looks long; the same digits as strings, always.
  const ok = parse(
    '{"message":"m","attrs":{"max":9007199254740991,"f":1.5e-300,"s":"12345678901234567890","e":"1e400"}}',
  );
  assert.equal(ok.records[0]!.attrs, '{"max":9007199254740991,"f":1.5e-300,"s":"12345678901234567890","e":"1e400"}');
});

test('_bulk documents are held to the same rule as POST /logs, in every notation', () => {
  const docs = ['{"n":1e20}', '{"n":1.5e20}', '{"a":{"n":12345678e10}}', '{"n":9007199254740993}', '{"n":1e400}'];
  const ok = ['{"n":1.5e-20}', '{"n":9007199254740991}', '{"n":123e4}', '{"n":"1e20"}'];
  for (const doc of [...docs, ...ok]) {
    const text = `{"message":"m",${doc.slice(1)}`;
    const logs = (() => {
      try {
        parse(text);
        return 'stored';
      } catch {
        return 'refused';
      }
    })();
    const bulk = parseBulk(Buffer.from(`{"index":{}}\n${text}\n`), 'ix', 0, UNLIMITED).items[0]!;
    assert.equal(bulk.error === undefined ? 'stored' : 'refused', logs, doc);
    assert.equal(logs, docs.includes(doc) ? 'refused' : 'stored', doc);
    if (bulk.error) assert.match(bulk.error.cause.reason, /cannot be kept exactly/, doc);
  }
});

test('an id with NUL or a lone surrogate is refused, so two distinct keys cannot collide', () => {
  refused('{"id":"a\\u0000b","message":"m"}', /^id$/);
  refused('{"id":"a\\ud800","message":"m"}', /^id$/);
  refused('{"id":"\\udc00b","message":"m"}', /^id$/);
  assert.equal(parse('{"id":"a\\ud83d\\ude00","message":"m"}').records[0]!.id, 'a\u{1F600}');
});

test('of duplicate keys in a record, the last one wins (as documented)', () => {
  const r = parse('{"message":"first","message":"second","attrs":{"k":1,"k":2}}').records[0]!;
  assert.equal(r.message, 'second');
  // attrs keep the client's text (issue 17); whoever reads it (jsonb, JSON.parse) keeps the last k.
  assert.deepEqual(JSON.parse(r.attrs!), { k: 2 });
  assert.equal(parse('{"attrs":{"a":1},"message":"m","attrs":{"b":2}}').records[0]!.attrs, '{"b":2}');
});

test('attrs are kept as the text the client sent when nothing else joins them, and built otherwise', () => {
  const attrsOf = (text: string, ndjson = false): (string | null)[] => parse(text, ndjson).records.map((r) => r.attrs);
  // Kept as sent: spacing, number spelling and key order as the client wrote them.
  assert.deepEqual(attrsOf('{"message":"m","attrs":{"b": 1.50, "a":[1, {"c":"\\\\"}]}}'), [
    '{"b": 1.50, "a":[1, {"c":"\\\\"}]}',
  ]);
  assert.deepEqual(attrsOf('[{"attrs":{ "a" : 1 }},{"attrs":{"b":2},"level":"warn"}]'), ['{ "a" : 1 }', '{"b":2}']);
  assert.deepEqual(attrsOf('{"attrs":{"a":1}}\n{"attrs":{"a":2},"id":"x"}\n', true), ['{"a":1}', '{"a":2}']);
  // The scan's end of attrs is its own closing brace, not a nested one's nor a string's.
  assert.deepEqual(attrsOf('{"attrs":{"a":{"b":[1,{}]},"c":[]},"id":"y","level":"warn"}\n', true), [
    '{"a":{"b":[1,{}]},"c":[]}',
  ]);
  assert.deepEqual(attrsOf('[{"attrs":{"a":{"b":1}},"message":"m"},{"attrs":{"x":"}"}}]'), [
    '{"a":{"b":1}}',
    '{"x":"}"}',
  ]);
  // Built from the parsed value: other fields join attrs, attrs is no object, a raw line break
  // inside it (the tail sends the text on one SSE line), or a \u escape that could spell a key.
  assert.deepEqual(attrsOf('{"message":"m","x":1,"attrs":{"a": 1}}'), ['{"x":1,"a":1}']);
  assert.deepEqual(attrsOf('[{"attrs":[1, 2]},{"attrs":"s"},{"attrs":{\n"a": 1}}]'), ['[1,2]', '"s"', '{"a":1}']);
  assert.deepEqual(attrsOf('{"attrs":{"a":\r1}}\n{"attrs":{"a": 2}}\n', true), ['{"a":1}', '{"a": 2}']);
  assert.deepEqual(attrsOf('{"attrs":{"a": 1},"att\\u0072s":{"b": 2}}'), ['{"b":2}']);
  assert.deepEqual(attrsOf('{"message":"\\u00e9","attrs":{"a": 1}}'), ['{"a":1}']);
});

test("attrs are kept as sent for a key with a tenant too, and the record takes the key's tenant", () => {
  const text = '{"message":"m","attrs":{"b": 1.50}}\n{"attrs":{"a":1},"tenant":"other"}\n';
  const { records } = parseBody(Buffer.from(text), true, 0, withTenant(normaliseLog, 'acme'));
  assert.deepEqual(
    records.map((r) => [r.attrs, r.tenant]),
    [
      ['{"b": 1.50}', 'acme'],
      ['{"tenant":"other","a":1}', 'acme'],
    ],
  );
  // The serialiser is passed on: a record too large for a slice is serialised in pieces with it.
  const passed: boolean[] = [];
  const spy: Normaliser<LogRecord> = (v, pos, at, serialise) => {
    passed.push(serialise !== undefined);
    return normaliseLog(v, pos, at, serialise);
  };
  withTenant(spy, 'acme')({}, { index: 0 }, 0, (v) => JSON.stringify(v));
  assert.deepEqual(passed, [true]);
});

test('the scan flags every number token JSON.parse cannot keep, and only the records holding one', () => {
  const inexact = (t: string): boolean => {
    const v = JSON.parse(t) as number;
    return !Number.isFinite(v) || (Number.isInteger(v) && !Number.isSafeInteger(v));
  };
  const tokens = ['0', '-0', '1', '9007199254740991', '9007199254740992', '-9007199254740993', '1e15', '1e16'];
  tokens.push('1E+16', '12345678e9', '1234567e9', '1234567.5e9', '0.1234567e16', '1.5e-300', '1e400', '-1e999');
  tokens.push('90071992547409.93e2', '123456789012345678', '0.12345678901234567', '9.5e15', '99999999e8', '5e-1');
  // A seeded walk over digit counts and exponents: every inexact token must be flagged.
  let seed = 17;
  const rand = (n: number): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n;
  for (let k = 0; k < 2000; k++) {
    const digits = Array.from({ length: 1 + rand(20) }, () => String(rand(10))).join('');
    const frac = rand(3) === 0 ? `.${String(rand(10 ** (1 + rand(8))))}` : '';
    const exp = rand(2) === 0 ? `e${['', '+', '-'][rand(3)]}${rand(400)}` : '';
    tokens.push(`${rand(4) === 0 ? '-' : ''}${digits.replace(/^0+(?=\d)/, '')}${frac}${exp}`);
  }
  for (const t of tokens) {
    const buf = Buffer.from(t);
    if (inexact(t)) assert.ok(numberMayBeInexact(buf, 0, buf.length), `${t} must be flagged`);
  }
  for (const t of ['0', '42', '-17.25', '900719925474099', '1.5e-3', '1e9', '1234567e-9'])
    assert.equal(numberMayBeInexact(Buffer.from(t), 0, t.length), false, t);

  // Digits in strings and keys are never numbers; records are flagged by their own text.
  const body = '{"s":"12345678901234567890"}\n{"n":1}\n{"x":1e400}\n{"y":[2,3e99]}\n';
  const scan = scanNdjson(Buffer.from(body), UNLIMITED);
  assert.ok(!isProblem(scan));
  assert.deepEqual(scan.inexact, [2, 3]);
  const array = scanJson(Buffer.from('[{"a":1},{"b":{"c":-1e400}},{"d":"1e400"}]'), UNLIMITED);
  assert.ok(!isProblem(array));
  assert.deepEqual(array.inexact, [1]);
  // A big number in one record of a slice is still refused, its neighbours still taken as sent.
  refused('[{"message":"a","n":1},{"message":"b","n":18446744073709551616}]', /^n$/);
  assert.equal(parse('[{"n":12345678901234567},{"s":"x"}]'.replace('12345678901234567', '"1"')).records.length, 2);
});
