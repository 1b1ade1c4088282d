import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { normaliseHealth, normaliseLog } from '../../src/ingest/normalise.js';
import { normaliseLevel } from '../../src/record.js';
import { formatMicros, parseRfc3339, toMicros } from '../../src/timestamp.js';
import { uuidv7 } from '../../src/uuidv7.js';

const NOW = 1_790_000_000_123_456; // µs

describe('timestamps', () => {
  test('parses RFC 3339 with offsets and keeps microseconds', () => {
    assert.equal(parseRfc3339('2026-01-02T03:04:05.123456Z'), Date.UTC(2026, 0, 2, 3, 4, 5) * 1000 + 123456);
    assert.equal(parseRfc3339('2026-01-02T05:04:05+02:00'), Date.UTC(2026, 0, 2, 3, 4, 5) * 1000);
    assert.equal(parseRfc3339('2026-01-02T03:04:05.1Z'), Date.UTC(2026, 0, 2, 3, 4, 5) * 1000 + 100000);
    assert.equal(parseRfc3339('2026-02-31T00:00:00Z'), null, 'no 31 February');
    assert.equal(parseRfc3339('yesterday'), null);
  });

  test('reads epoch seconds, milliseconds and nanoseconds by magnitude', () => {
    const ms = Date.UTC(2026, 0, 2, 3, 4, 5);
    assert.equal(toMicros(ms / 1000), ms * 1000);
    assert.equal(toMicros(ms), ms * 1000);
    assert.equal(toMicros(ms * 1e6), ms * 1000);
    assert.equal(toMicros(String(ms)), ms * 1000);
    assert.equal(toMicros(-5), null);
  });

  test('refuses times outside the years 0001-9999 (year 0 has no text form in PostgreSQL; RFC 3339 stops at 9999) and offsets beyond ±23:59', () => {
    assert.equal(toMicros(1e22), null, 'nanoseconds past 9999');
    assert.equal(toMicros(1e300), null);
    assert.equal(toMicros(99_999_999_999), 99_999_999_999_000_000, 'epoch seconds up to the year 5138 are fine');
    assert.equal(parseRfc3339('9999-12-31T23:59:59.123456-01:00'), null, 'lands in the year 10000');
    assert.equal(parseRfc3339('0000-12-31T23:59:59Z'), null, 'the year 0000');
    assert.equal(parseRfc3339('0001-01-01T00:00:00+01:00'), null, 'lands in the year 0000');
    assert.equal(formatMicros(parseRfc3339('0001-01-01T00:00:00Z')!), '0001-01-01T00:00:00.000000Z');
    assert.equal(parseRfc3339('2024-01-01T00:00:00+99:99'), null);
    assert.equal(parseRfc3339('2024-01-01T00:00:00+24:00'), null);
    assert.equal(parseRfc3339('2024-01-01T00:00:00+23:59'), Date.UTC(2023, 11, 31, 0, 1, 0) * 1000);
  });

  test('formats microseconds as RFC 3339 UTC', () => {
    assert.equal(formatMicros(Date.UTC(2026, 0, 2, 3, 4, 5) * 1000 + 7), '2026-01-02T03:04:05.000007Z');
  });
});

describe('levels', () => {
  test('normalises names, aliases, pino and syslog numbers', () => {
    assert.equal(normaliseLevel('WARNING'), 'warn');
    assert.equal(normaliseLevel('err'), 'error');
    assert.equal(normaliseLevel('critical'), 'fatal');
    assert.equal(normaliseLevel(30), 'info');
    assert.equal(normaliseLevel(50), 'error');
    assert.equal(normaliseLevel(60), 'fatal');
    assert.equal(normaliseLevel(10), 'trace');
    assert.equal(normaliseLevel(3), 'error', 'syslog err');
    assert.equal(normaliseLevel(4), 'warn', 'syslog warning');
    assert.equal(normaliseLevel(7), 'debug', 'syslog debug');
    assert.equal(normaliseLevel('loud'), null);
    assert.equal(normaliseLevel(8), null, 'neither syslog (0-7) nor pino (10-60)');
    assert.equal(normaliseLevel(9), null);
    assert.equal(normaliseLevel(61), null);
  });

  test('names of Object.prototype are unknown levels, not the prototype', () => {
    for (const name of ['constructor', 'Constructor', '__proto__', 'valueOf', 'hasownproperty'])
      assert.equal(normaliseLevel(name), null, name);
  });
});

describe('uuidv7', () => {
  test('is a v7 UUID carrying the time, and ids from one millisecond sort in order', () => {
    const ids = Array.from({ length: 1000 }, () => uuidv7(1_790_000_000_000));
    for (const id of ids) assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal(parseInt(ids[0]!.replace(/-/g, '').slice(0, 12), 16), 1_790_000_000_000);
    assert.deepEqual([...ids].sort(), ids);
    assert.equal(new Set(ids).size, ids.length);
  });
});

describe('normaliseLog', () => {
  test('maps fields, moves unknown top-level fields into attrs, and sets ids and times', () => {
    const r = normaliseLog(
      { msg: 'hi', level: 'WARN', service: 'api', user: 'u1', attrs: { a: 1 }, trace_id: 'abc' },
      { index: 0 },
      NOW,
    );
    assert.ok(r.ok);
    assert.equal(r.record.message, 'hi');
    assert.equal(r.record.level, 'warn');
    assert.equal(r.record.service, 'api');
    assert.deepEqual(JSON.parse(r.record.attrs!), { user: 'u1', a: 1 });
    assert.equal(r.record.trace_id, 'abc');
    assert.equal(r.record.ts, NOW, 'no ts: receive time');
    assert.equal(r.record.received_at, NOW);
    assert.match(r.record.id, /^[0-9a-f-]{36}$/);
    assert.ok(r.record.size > 96);
  });

  test('keeps the client id as the idempotency key and rejects one over 128 characters', () => {
    const ok = normaliseLog({ id: 'client-1', message: 'x' }, { index: 0 }, NOW);
    assert.ok(ok.ok);
    assert.equal(ok.record.id, 'client-1');
    const bad = normaliseLog({ id: 'x'.repeat(129) }, { line: 4 }, NOW);
    assert.ok(!bad.ok);
    assert.deepEqual([bad.problem.line, bad.problem.field], [4, 'id']);
  });

  test('names the field that is wrong', () => {
    const cases: Array<[unknown, string]> = [
      [{ level: 'loud' }, 'level'],
      [{ ts: 'not a time' }, 'ts'],
      [{ timestamp: {} }, 'timestamp'],
      [{ message: { nested: true } }, 'message'],
      [{ service: ['x'] }, 'service'],
      ['just a string', '(record)'],
    ];
    for (const [input, field] of cases) {
      const r = normaliseLog(input, { index: 2 }, NOW);
      assert.ok(!r.ok, JSON.stringify(input));
      assert.equal(r.problem.field, field);
      assert.equal(r.problem.index, 2);
    }
  });

  test('a non-object attrs is kept beside unknown fields', () => {
    const r = normaliseLog({ attrs: [1, 2], extra: true }, { index: 0 }, NOW);
    assert.ok(r.ok);
    assert.deepEqual(JSON.parse(r.record.attrs!), { extra: true, attrs: [1, 2] });
  });
});

describe('normaliseHealth', () => {
  test('requires service and a known status', () => {
    const ok = normaliseHealth(
      { service: 'db', status: 'degraded', latency_ms: 12.5, region: 'eu' },
      { index: 0 },
      NOW,
    );
    assert.ok(ok.ok);
    assert.equal(ok.record.type, 'health');
    assert.equal(ok.record.latency_ms, 12.5);
    assert.deepEqual(JSON.parse(ok.record.attrs!), { region: 'eu' });
    const noService = normaliseHealth({ status: 'up' }, { index: 1 }, NOW);
    assert.ok(!noService.ok);
    assert.equal(noService.problem.field, 'service');
    const badStatus = normaliseHealth({ service: 'db', status: 'sideways' }, { index: 0 }, NOW);
    assert.ok(!badStatus.ok);
    assert.equal(badStatus.problem.field, 'status');
    const badLatency = normaliseHealth({ service: 'db', status: 'up', latency_ms: -1 }, { index: 0 }, NOW);
    assert.ok(!badLatency.ok);
    assert.equal(badLatency.problem.field, 'latency_ms');
  });
});

// The reference: the straightforward regex + Date parser the hand-written one replaced.
const REFERENCE = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?([Zz]|([+-])(\d{2}):?(\d{2}))$/;
function referenceParse(s: string): number | null {
  const m = REFERENCE.exec(s);
  if (!m) return null;
  const [, y, mo, d, h, mi, sec, frac, , sign, oh, om] = m;
  const month = Number(mo),
    day = Number(d),
    hour = Number(h),
    minute = Number(mi),
    second = Number(sec);
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) return null;
  const date = new Date(Date.UTC(2000, month - 1, day, hour, minute, Math.min(second, 59)));
  date.setUTCFullYear(Number(y), month - 1, day);
  if (date.getUTCDate() !== day) return null;
  let ms = date.getTime();
  if (sign) ms += (sign === '+' ? -1 : 1) * (Number(oh) * 60 + Number(om)) * 60_000;
  return ms * 1000 + (frac ? Number(frac.padEnd(6, '0').slice(0, 6)) : 0);
}

describe('parseRfc3339 agrees with a regex reference', () => {
  test('on valid, edge and broken timestamps', () => {
    const cases = [
      '2026-11-25T09:00:00Z',
      '2026-11-25t09:00:00z',
      '2026-11-25 09:00:00Z',
      '2026-11-25T09:00:00.1Z',
      '2026-11-25T09:00:00.123456789Z',
      '2026-11-25T09:00:00.1234567890Z',
      '2026-11-25T09:00:00.Z',
      '2024-02-29T00:00:00Z',
      '2025-02-29T00:00:00Z',
      '2100-02-29T00:00:00Z',
      '2000-02-29T00:00:00Z',
      '2026-04-31T00:00:00Z',
      '2026-12-31T23:59:60Z',
      '2026-12-31T24:00:00Z',
      '2026-13-01T00:00:00Z',
      '2026-00-10T00:00:00Z',
      '2026-01-00T00:00:00Z',
      '2026-06-15T12:30:00+05:30',
      '2026-06-15T12:30:00-0800',
      '2026-06-15T12:30:00+05:3',
      '2026-06-15T12:30:00',
      '2026-06-15T12:30:00ZZ',
      '2026-06-15T12:30:00.5+01:00',
      '0099-06-15T12:30:00Z',
      '2026-6-15T12:30:00Z',
      '2026-06-15X12:30:00Z',
      'abcd-ef-ghTij:kl:mnZ',
      '2026-06-15T12:30:0aZ',
      '',
      '2026-06-15T12:30:00.000001Z',
      '1970-01-01T00:00:00Z',
    ];
    for (const c of cases) assert.equal(parseRfc3339(c), referenceParse(c), c);
    // And a few thousand random valid ones.
    for (let i = 0; i < 5000; i++) {
      const d = new Date(Math.floor(Math.random() * 4e12));
      const iso = d.toISOString().replace(/\.\d+Z$/, `.${String(Math.floor(Math.random() * 1e6)).padStart(6, '0')}Z`);
      assert.equal(parseRfc3339(iso), referenceParse(iso), iso);
    }
  });
});
