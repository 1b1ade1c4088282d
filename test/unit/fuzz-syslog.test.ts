// Properties (fast-check) of the syslog parsers and the TCP framer: any bytes give a record or
// a reason, never a throw or a stall; what a well-formed message says comes back field by
// field; and the framer returns exactly the messages sent, however the stream is cut, holding
// no more than one message's worth of bytes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { SyslogFramer, type FrameDrop } from '../../src/ingest/syslog/framer.js';
import { parseSyslog } from '../../src/ingest/syslog/parse.js';
import { LEVELS } from '../../src/record.js';

const RUNS = 300;
const MAX_CASE_MS = 250;
const NOW = Date.UTC(2026, 5, 15, 12, 0, 0) * 1000;

/** Printable US-ASCII without space: what RFC 5424 header fields are made of. */
const word = (max: number, extra = ''): fc.Arbitrary<string> =>
  fc
    .string({ unit: fc.constantFrom(...'abcXYZ019.-_@:/'.split(''), ...extra.split('')), minLength: 1, maxLength: max })
    .filter((s) => s !== '-');
const sdName = fc.string({ unit: fc.constantFrom(...'abcZ09@.-_'.split('')), minLength: 1, maxLength: 32 });
const sdValue = fc.string({ unit: fc.constantFrom('a', ' ', '"', '\\', ']', '[', '=', 'é', '✓'), maxLength: 12 });
const text = fc.string({ unit: fc.constantFrom('a', 'Z', ' ', '[', ':', 'é', '✓', '\t'), maxLength: 40 });

function escape(v: string): string {
  return v.replace(/["\\\]]/g, (c) => `\\${c}`);
}

test('parseSyslog: any bytes give a record or a reason, quickly', () => {
  const prefix = fc.constantFrom(
    '',
    '<13>',
    '<165>1 ',
    '<0>1 - - - - - ',
    '<191>Dec  2 ',
    '<7>1 2026-01-01T00:00:00Z ',
  );
  fc.assert(
    fc.property(prefix, fc.uint8Array({ maxLength: 300 }), (p, bytes) => {
      const t = performance.now();
      const r = parseSyslog(Buffer.concat([Buffer.from(p), bytes]), NOW);
      assert.ok(performance.now() - t < MAX_CASE_MS);
      if (r.ok) {
        assert.ok(LEVELS.includes(r.record.level));
        assert.ok(Number.isFinite(r.record.ts));
        JSON.parse(r.record.attrs!);
      } else assert.equal(typeof r.reason, 'string');
    }),
    { numRuns: RUNS * 3 },
  );
});

test('RFC 5424: every field sent comes back', () => {
  const sd = fc.uniqueArray(
    fc.tuple(sdName, fc.uniqueArray(fc.tuple(sdName, sdValue), { maxLength: 3, selector: (p) => p[0] })),
    { maxLength: 3, selector: (e) => e[0] },
  );
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 191 }),
      fc.option(fc.date({ min: new Date('1990-01-01'), max: new Date('2100-01-01'), noInvalidDate: true })),
      fc.option(word(255)),
      fc.option(word(48)),
      fc.option(word(128)),
      fc.option(word(32)),
      sd,
      fc.option(text),
      (pri, date, host, app, procid, msgid, elements, msg) => {
        const sdText =
          elements.length === 0
            ? '-'
            : elements.map(([id, ps]) => `[${id}${ps.map(([k, v]) => ` ${k}="${escape(v)}"`).join('')}]`).join('');
        const line =
          `<${pri}>1 ${date ? date.toISOString() : '-'} ${host ?? '-'} ${app ?? '-'} ${procid ?? '-'} ${msgid ?? '-'} ${sdText}` +
          (msg === null ? '' : ` ${msg}`);
        const r = parseSyslog(Buffer.from(line), NOW);
        assert.ok(r.ok, `${line}: ${r.ok ? '' : r.reason}`);
        const a = JSON.parse(r.record.attrs!) as Record<string, unknown>;
        assert.equal(r.record.ts, date ? date.getTime() * 1000 : NOW);
        assert.equal(r.record.service, app);
        assert.equal(r.record.message, msg);
        assert.equal(a.hostname, host ?? undefined);
        assert.equal(a.procid, procid ?? undefined);
        assert.equal(a.msgid, msgid ?? undefined);
        const expectSd = Object.fromEntries(elements.map(([id, ps]) => [id, Object.fromEntries(ps)]));
        assert.deepEqual(a.sd, elements.length === 0 ? undefined : expectSd);
        assert.equal(r.record.level, ['fatal', 'fatal', 'fatal', 'error', 'warn', 'info', 'info', 'debug'][pri & 7]);
      },
    ),
    { numRuns: RUNS },
  );
});

test('RFC 3164: timestamp, hostname, tag, pid and message come back', () => {
  const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 191 }),
      // Within five months of the receive time, so the nearest year is the one it was sent in.
      fc.integer({ min: -150 * 86400, max: 150 * 86400 }),
      // A hostname with a colon (`a:`) reads as a tag: BSD syslog is ambiguous there.
      word(64).filter((h) => !h.includes(':')),
      fc.option(fc.string({ unit: fc.constantFrom(...'abcZ09-_.'.split('')), minLength: 1, maxLength: 32 })),
      fc.option(fc.string({ unit: fc.constantFrom(...'0123456789'.split('')), minLength: 1, maxLength: 8 })),
      text,
      (pri, offsetS, host, tag, pid, msg) => {
        const d = new Date(NOW / 1000 + offsetS * 1000);
        const stamp = `${MONTHS[d.getMonth()]} ${String(d.getDate()).padStart(2, ' ')} ${[d.getHours(), d.getMinutes(), d.getSeconds()].map((n) => String(n).padStart(2, '0')).join(':')}`;
        const head = tag === null ? '' : `${tag}${pid === null ? '' : `[${pid}]`}: `;
        const body = tag === null ? `:${msg}` : msg; // without a tag, make sure the text cannot read as one
        const r = parseSyslog(Buffer.from(`<${pri}>${stamp} ${host} ${head}${body}`), NOW);
        assert.ok(r.ok);
        const a = JSON.parse(r.record.attrs!) as Record<string, unknown>;
        assert.equal(r.record.ts, Math.floor(d.getTime() / 1000) * 1_000_000);
        assert.equal(a.hostname, host);
        assert.equal(r.record.service, tag);
        assert.equal(a.procid, tag === null ? undefined : (pid ?? undefined));
        assert.equal(r.record.message, body);
      },
    ),
    { numRuns: RUNS },
  );
});

test('framer: the messages sent come back in order however the stream is cut; memory stays bounded', () => {
  const MAX = 64;
  const message = fc.record({
    counted: fc.boolean(),
    body: fc.uint8Array({ minLength: 1, maxLength: 90 }),
  });
  fc.assert(
    fc.property(fc.array(message, { maxLength: 20 }), fc.array(fc.nat(), { maxLength: 10 }), (msgs, cuts) => {
      const parts: Buffer[] = [];
      const expected: Array<string | FrameDrop> = [];
      for (const m of msgs) {
        let body = Buffer.from(m.body);
        if (m.counted) {
          parts.push(Buffer.from(`${body.length} `), body);
        } else {
          // A line: no LF inside, and a first byte that cannot be an octet count or be skipped.
          body = Buffer.concat([Buffer.from('<'), Buffer.from(body.map((b) => (b === 10 ? 32 : b)))]);
          parts.push(body, Buffer.from('\n'));
          if (body[body.length - 1] === 13) body = body.subarray(0, -1);
        }
        expected.push(body.length > MAX ? 'oversize' : body.toString('latin1'));
      }
      const stream = Buffer.concat(parts);
      const points = [...new Set(cuts.map((c) => c % (stream.length + 1)))].sort((a, b) => a - b);
      const f = new SyslogFramer(MAX);
      const got: Array<string | FrameDrop> = [];
      const out = { message: (b: Buffer) => got.push(b.toString('latin1')), drop: (r: FrameDrop) => got.push(r) };
      let at = 0;
      for (const p of [...points, stream.length]) {
        f.push(stream.subarray(at, p), out);
        assert.ok(f.held <= MAX + 12, `holds ${f.held} bytes`);
        at = p;
      }
      f.end(out);
      assert.deepEqual(got, expected);
    }),
    { numRuns: RUNS },
  );
});

test('framer: arbitrary bytes in arbitrary chunks never throw and never pile up', () => {
  fc.assert(
    fc.property(fc.array(fc.uint8Array({ maxLength: 200 }), { maxLength: 20 }), (chunks) => {
      const f = new SyslogFramer(64);
      const out = { message: () => undefined, drop: () => undefined };
      for (const c of chunks) {
        f.push(Buffer.from(c), out);
        assert.ok(f.held <= 64 + 12);
      }
      f.end(out);
    }),
    { numRuns: RUNS },
  );
});
