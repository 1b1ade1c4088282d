// The syslog parsers and the TCP framer on known messages: the RFCs' own examples, what
// util-linux `logger` sends, and the malformed cases the listeners must count and skip.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SyslogFramer, type FrameDrop } from '../../src/ingest/syslog/framer.js';
import { parseSyslog } from '../../src/ingest/syslog/parse.js';
import type { LogRecord } from '../../src/record.js';

const NOW = Date.UTC(2026, 11, 2, 12, 0, 0) * 1000;

function ok(text: string | Buffer, receivedAt = NOW): LogRecord & { a: Record<string, unknown> } {
  const p = parseSyslog(Buffer.isBuffer(text) ? text : Buffer.from(text), receivedAt);
  assert.ok(p.ok, `parsed: ${p.ok ? '' : p.reason}`);
  return { ...p.record, a: JSON.parse(p.record.attrs!) as Record<string, unknown> };
}

function reason(text: string | Buffer): string {
  const p = parseSyslog(Buffer.isBuffer(text) ? text : Buffer.from(text), NOW);
  assert.ok(!p.ok, 'refused');
  return p.reason;
}

describe('RFC 5424', () => {
  test('maps PRI, header fields, structured data and message', () => {
    const r = ok(
      '<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog 1234 ID47 ' +
        '[exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"][examplePriority@32473 class="high"] ' +
        '\uFEFFAn application event log entry...',
    );
    assert.equal(r.level, 'info'); // 165 = local4.notice
    assert.equal(r.service, 'evntslog');
    assert.equal(r.message, 'An application event log entry...');
    assert.equal(r.ts, Date.UTC(2003, 9, 11, 22, 14, 15, 3) * 1000);
    assert.deepEqual(r.a, {
      syslog: 'rfc5424',
      facility: 'local4',
      severity: 'notice',
      hostname: 'mymachine.example.com',
      procid: '1234',
      msgid: 'ID47',
      sd: {
        'exampleSDID@32473': { iut: '3', eventSource: 'Application', eventID: '1011' },
        'examplePriority@32473': { class: 'high' },
      },
    });
  });

  test('NILVALUEs: no time takes the receive time, no SD and no message are allowed', () => {
    const r = ok('<34>1 - - - - - -');
    assert.equal(r.ts, NOW);
    assert.equal(r.service, null);
    assert.equal(r.message, null);
    assert.equal(r.level, 'fatal'); // auth.crit
    assert.deepEqual(r.a, { syslog: 'rfc5424', facility: 'auth', severity: 'crit' });
    assert.equal(ok('<34>1 - - - - ID1 -').a.msgid, 'ID1');
    assert.equal(ok('<34>1 - - - - - - ').message, '');
  });

  test('SD escapes \\" \\\\ \\] are undone, other backslashes kept, repeated params kept in order', () => {
    const r = ok('<14>1 - h app - - [x@1 a="q\\"b\\\\c\\]d\\n" a="two"] m');
    assert.deepEqual(r.a.sd, { 'x@1': { a: ['q"b\\c]d\\n', 'two'] } });
  });

  test('severity → level: 0-2 fatal, 3 error, 4 warn, 5-6 info, 7 debug', () => {
    const levels = [0, 1, 2, 3, 4, 5, 6, 7].map((s) => ok(`<${8 + s}>1 - - - - - -`).level);
    assert.deepEqual(levels, ['fatal', 'fatal', 'fatal', 'error', 'warn', 'info', 'info', 'debug']);
  });

  test('what logger --rfc5424 sends', () => {
    const r = ok(
      '<156>1 2026-12-02T21:30:29.413991+00:00 vm myapp 42 - [timeQuality tzKnown="1" isSynced="0"] hello world\n',
    );
    assert.equal(r.ts, Date.UTC(2026, 11, 2, 21, 30, 29) * 1000 + 413991);
    assert.equal(r.level, 'warn');
    assert.equal(r.message, 'hello world');
    assert.deepEqual(r.a.sd, { timeQuality: { tzKnown: '1', isSynced: '0' } });
  });

  test('malformed: bad timestamp, missing fields, broken SD', () => {
    assert.match(reason('<14>1 yesterday h a p m - x'), /TIMESTAMP/);
    assert.match(reason('<14>1 - h a'), /APP-NAME/);
    assert.match(reason('<14>1 - h a p m'), /STRUCTURED-DATA missing/);
    assert.match(reason('<14>1 - h a p m [x a="b"'), /unterminated|expected/);
    assert.match(reason('<14>1 - h a p m [x a=b] m'), /="value"/);
    assert.match(reason('<14>1 - h a p m -x'), /space expected/);
  });
});

describe('RFC 3164', () => {
  test('timestamp, hostname, tag[pid] and message', () => {
    const r = ok('<156>Dec  2 21:30:29 vm myapp[42]: hello world');
    assert.equal(r.service, 'myapp');
    assert.equal(r.message, 'hello world');
    assert.equal(r.level, 'warn');
    assert.deepEqual(r.a, { syslog: 'rfc3164', facility: 'local3', severity: 'warning', hostname: 'vm', procid: '42' });
    assert.equal(r.ts, new Date(2026, 11, 2, 21, 30, 29).getTime() * 1000);
  });

  test('no year: the one nearest the receive time (a December message read on 1 January is last year’s)', () => {
    const jan1 = new Date(2027, 0, 1, 0, 0, 5).getTime() * 1000;
    assert.equal(ok('<13>Dec 31 23:59:58 h t: m', jan1).ts, new Date(2026, 11, 31, 23, 59, 58).getTime() * 1000);
    const dec31 = new Date(2026, 11, 31, 23, 59, 59).getTime() * 1000;
    assert.equal(ok('<13>Jan  1 00:00:01 h t: m', dec31).ts, new Date(2027, 0, 1, 0, 0, 1).getTime() * 1000);
    assert.match(reason('<13>Feb 30 00:00:01 h t: m'), /no such date/);
  });

  test('without hostname, without tag, without timestamp: taken as it comes', () => {
    const local = ok('<13>Dec  2 21:30:29 app[7]: started');
    assert.equal(local.service, 'app');
    assert.equal(local.a.hostname, undefined);
    const bare = ok('<13>just some text');
    assert.equal(bare.service, null);
    assert.equal(bare.message, 'just some text');
    assert.equal(bare.ts, NOW);
    const iso = ok('<13>2026-12-02T10:00:00Z host tag: text');
    assert.equal(iso.ts, Date.UTC(2026, 11, 2, 10) * 1000);
    assert.equal(iso.a.hostname, 'host');
  });

  test('bad PRI and garbage are refused', () => {
    for (const bad of ['hello', '<>x', '<192>x', '<1a>x', '<1234>x', '']) assert.match(reason(bad), /PRI|empty/);
    assert.match(reason(Buffer.from([0xff, 0xfe, 0x00, 0x3c])), /PRI/);
  });
});

function frame(chunks: Buffer[], max = 100): { messages: string[]; drops: FrameDrop[]; held: number } {
  const f = new SyslogFramer(max);
  const messages: string[] = [];
  const drops: FrameDrop[] = [];
  const out = { message: (b: Buffer) => messages.push(b.toString()), drop: (r: FrameDrop) => drops.push(r) };
  for (const c of chunks) f.push(c, out);
  const held = f.held;
  f.end(out);
  return { messages, drops, held };
}

describe('TCP framer', () => {
  test('octet-counted and LF-framed messages mixed on one stream, split anywhere', () => {
    const stream = Buffer.from('5 <1>ab<2>cd\n3 <3>\r\n<4>ef\r\n<5>last');
    for (let cut = 0; cut <= stream.length; cut++) {
      const r = frame([stream.subarray(0, cut), stream.subarray(cut)]);
      assert.deepEqual(r.messages, ['<1>ab', '<2>cd', '<3>', '<4>ef', '<5>last'], `cut at ${cut}`);
      assert.deepEqual(r.drops, []);
    }
  });

  test('a stream fed a byte at a time gives the same messages, holding no more than one', () => {
    const big = 'y'.repeat(90);
    const stream = Buffer.from(`93 <1>${big}<2>${big}\r\n${'z'.repeat(150)}\n103 <3>${'w'.repeat(100)}<4>end\n`);
    const bytes = Array.from(stream, (b) => Buffer.from([b]));
    const r = frame(bytes);
    assert.deepEqual(r.messages, [`<1>${big}`, `<2>${big}`, '<4>end']);
    assert.deepEqual(r.drops, ['oversize', 'oversize']);
    assert.deepEqual(frame([stream]).messages, r.messages);
  });

  test('how a stream is cut never changes its messages: a CRLF line at the cap, a count cut after its digits', () => {
    const atCap = Buffer.from(`<1>${'c'.repeat(97)}\r\n<2>after\n`);
    const counted = Buffer.from(`1234567890 ${'a'.repeat(30)}\n<1>next\n`);
    for (const [stream, max] of [
      [atCap, 100],
      [counted, 24],
    ] as const) {
      const whole = frame([stream], max);
      for (const size of [1, 2, 3, 10, 11]) {
        const chunks: Buffer[] = [];
        for (let at = 0; at < stream.length; at += size) chunks.push(stream.subarray(at, at + size));
        const cut = frame(chunks, max);
        assert.deepEqual([cut.messages, cut.drops], [whole.messages, whole.drops], `chunks of ${size}`);
      }
    }
    assert.deepEqual(frame([atCap], 100).messages, [`<1>${'c'.repeat(97)}`, '<2>after']);
  });

  test('oversize messages are skipped and counted; the stream stays in step', () => {
    const big = 'x'.repeat(150);
    const r = frame([Buffer.from(`150 ${big}4 <1>a<2>${big}\n<3>b\n`)]);
    assert.deepEqual(r.messages, ['<1>a', '<3>b']);
    assert.deepEqual(r.drops, ['oversize', 'oversize']);
    const held = frame([Buffer.from(`<2>${big}`), Buffer.from(big), Buffer.from('\n<3>c\n')]);
    assert.deepEqual(held.messages, ['<3>c']);
    assert.deepEqual(held.drops, ['oversize']);
  });

  test('digits not followed by a space are read as a line; a cut octet-counted frame is a drop', () => {
    assert.deepEqual(frame([Buffer.from('12ab\n')]).messages, ['12ab']);
    const cut = frame([Buffer.from('20 <1>short')]);
    assert.deepEqual(cut.messages, []);
    assert.deepEqual(cut.drops, ['framing']);
  });
});
