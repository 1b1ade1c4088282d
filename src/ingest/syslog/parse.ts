// One syslog message (RFC 5424 or RFC 3164, told apart per message) → a log record, or the
// reason it cannot be one. The mapping table is in docs/ingest.md ("Syslog").
import { RECORD_OVERHEAD_BYTES, normaliseLevel, strBytes, type LogRecord } from '../../record.js';
import { parseRfc3339 } from '../../timestamp.js';
import { uuidv7 } from '../../uuidv7.js';

export type SyslogParsed = { ok: true; record: LogRecord } | { ok: false; reason: string };

const FACILITIES = [
  'kern',
  'user',
  'mail',
  'daemon',
  'auth',
  'syslog',
  'lpr',
  'news',
  'uucp',
  'cron',
  'authpriv',
  'ftp',
  'ntp',
  'security',
  'console',
  'solaris-cron',
  'local0',
  'local1',
  'local2',
  'local3',
  'local4',
  'local5',
  'local6',
  'local7',
] as const;
const SEVERITIES = ['emerg', 'alert', 'crit', 'err', 'warning', 'notice', 'info', 'debug'] as const;
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

// RFC 5424 field lengths (section 6).
const MAX_HOSTNAME = 255;
const MAX_APP_NAME = 48;
const MAX_PROCID = 128;
const MAX_MSGID = 32;
const MAX_SD_NAME = 32;
/** A BSD tag is at most 32 characters by RFC 3164; real senders go past it, so allow some room. */
const MAX_TAG = 48;

/** One SD element's params; a param sent more than once keeps every value, in order. */
type SdParams = Record<string, string | string[]>;

function fail(reason: string): SyslogParsed {
  return { ok: false, reason };
}

/** Printable US-ASCII without space (RFC 5424 PRINTUSASCII). */
function printable(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 33 || c > 126) return false;
  }
  return true;
}

/** The text of a message: UTF-8 (bad bytes become U+FFFD), a leading BOM and one trailing newline dropped. */
function textOf(s: string): string {
  let end = s.length;
  if (s.charCodeAt(end - 1) === 10) end--;
  if (s.charCodeAt(end - 1) === 13) end--;
  const start = s.charCodeAt(0) === 0xfeff ? 1 : 0;
  return start === 0 && end === s.length ? s : s.slice(start, end);
}

/**
 * Parses one message (already framed). `receivedAt` (epoch µs) is the record's time when the
 * message carries none, and picks the year of an RFC 3164 timestamp.
 */
export function parseSyslog(bytes: Buffer, receivedAt: number): SyslogParsed {
  if (bytes.length === 0) return fail('empty message');
  const s = bytes.toString('utf8');
  if (s.charCodeAt(0) !== 60) return fail('no <PRI> at the start');
  const close = s.indexOf('>');
  if (close < 2 || close > 4) return fail('bad <PRI>: 1 to 3 digits expected');
  let pri = 0;
  for (let i = 1; i < close; i++) {
    const c = s.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return fail('bad <PRI>: 1 to 3 digits expected');
    pri = pri * 10 + c;
  }
  if (pri > 191) return fail(`bad <PRI>: ${pri} is past 191`);
  const rest = s.slice(close + 1);
  const facility = FACILITIES[pri >> 3]!;
  const severity = pri & 7;
  // "1 " after the PRI is RFC 5424's VERSION; anything else is read as BSD syslog, which
  // (RFC 3164 section 4.3.3) a receiver takes as it comes.
  if (rest.charCodeAt(0) === 49 && rest.charCodeAt(1) === 32)
    return parse5424(rest.slice(2), facility, severity, receivedAt);
  return parse3164(rest, facility, severity, receivedAt);
}

function parse5424(s: string, facility: string, severity: number, receivedAt: number): SyslogParsed {
  let pos = 0;
  // One space-terminated header field; undefined when malformed, null when NILVALUE.
  const field = (max: number): string | null | undefined => {
    const sp = s.indexOf(' ', pos);
    if (sp < 0) return undefined;
    const v = s.slice(pos, sp);
    pos = sp + 1;
    if (v.length === 0 || v.length > max || !printable(v)) return undefined;
    return v === '-' ? null : v;
  };
  const tsText = field(40);
  if (tsText === undefined) return fail('RFC 5424: bad TIMESTAMP');
  let ts = receivedAt;
  if (tsText !== null) {
    const t = parseRfc3339(tsText);
    if (t === null) return fail(`RFC 5424: TIMESTAMP ${JSON.stringify(tsText)} is not RFC 3339`);
    ts = t;
  }
  const hostname = field(MAX_HOSTNAME);
  if (hostname === undefined) return fail('RFC 5424: bad HOSTNAME');
  const appName = field(MAX_APP_NAME);
  if (appName === undefined) return fail('RFC 5424: bad APP-NAME');
  const procid = field(MAX_PROCID);
  if (procid === undefined) return fail('RFC 5424: bad PROCID');
  // The header may end at MSGID when there is no SD and no MSG (no trailing space).
  let msgid: string | null;
  let sp = s.indexOf(' ', pos);
  if (sp < 0) sp = s.length;
  {
    const v = s.slice(pos, sp);
    if (v.length === 0 || v.length > MAX_MSGID || !printable(v)) return fail('RFC 5424: bad MSGID');
    msgid = v === '-' ? null : v;
    pos = sp + 1;
  }
  let sd: Record<string, SdParams> | null = null;
  if (pos >= s.length) return fail('RFC 5424: STRUCTURED-DATA missing');
  if (s.charCodeAt(pos) === 45 /* - */) {
    pos++;
  } else {
    const parsed = parseSd(s, pos);
    if (typeof parsed === 'string') return fail(`RFC 5424: ${parsed}`);
    sd = parsed.sd;
    pos = parsed.end;
  }
  let message: string | null = null;
  if (pos < s.length) {
    if (s.charCodeAt(pos) !== 32) return fail('RFC 5424: a space expected after STRUCTURED-DATA');
    message = textOf(s.slice(pos + 1));
  }
  const attrs: Record<string, unknown> = { syslog: 'rfc5424', facility, severity: SEVERITIES[severity] };
  if (hostname !== null) attrs.hostname = hostname;
  if (procid !== null) attrs.procid = procid;
  if (msgid !== null) attrs.msgid = msgid;
  if (sd !== null) attrs.sd = sd;
  return { ok: true, record: record(ts, receivedAt, severity, appName, message, attrs) };
}

/** STRUCTURED-DATA from `pos`: one or more `[id param="value" ...]`; an error text when malformed. */
function parseSd(s: string, pos: number): { sd: Record<string, SdParams>; end: number } | string {
  const sd: Record<string, SdParams> = Object.create(null) as Record<string, SdParams>;
  while (pos < s.length && s.charCodeAt(pos) === 91 /* [ */) {
    pos++;
    const id = sdName(s, pos);
    if (id === null) return 'bad SD-ID';
    pos += id.length;
    const params: SdParams = (sd[id] ??= Object.create(null) as SdParams);
    for (;;) {
      const c = s.charCodeAt(pos);
      if (c === 93 /* ] */) {
        pos++;
        break;
      }
      if (c !== 32) return `SD element [${id}: space or ] expected`;
      pos++;
      const name = sdName(s, pos);
      if (name === null) return `SD element [${id}: bad PARAM-NAME`;
      pos += name.length;
      if (s.charCodeAt(pos) !== 61 || s.charCodeAt(pos + 1) !== 34) return `SD param ${name}: ="value" expected`;
      pos += 2;
      let value = '';
      let from = pos;
      for (;;) {
        if (pos >= s.length) return `SD param ${name}: unterminated value`;
        const v = s.charCodeAt(pos);
        if (v === 34) break;
        if (v === 92 /* \ */) {
          const next = s.charCodeAt(pos + 1);
          // Only \" \\ \] are escapes (RFC 5424 section 6.3.3); any other backslash is kept.
          if (next === 34 || next === 92 || next === 93) {
            value += s.slice(from, pos);
            from = pos + 1;
            pos += 2;
            continue;
          }
        }
        pos++;
      }
      value += s.slice(from, pos);
      pos++;
      const had = params[name];
      if (had === undefined) params[name] = value;
      else if (Array.isArray(had)) had.push(value);
      else params[name] = [had, value];
    }
  }
  return { sd, end: pos };
}

/** An SD-NAME at `pos`: 1–32 printable characters other than = space ] and ". */
function sdName(s: string, pos: number): string | null {
  let i = pos;
  while (i < s.length && i - pos <= MAX_SD_NAME) {
    const c = s.charCodeAt(i);
    if (c < 33 || c > 126 || c === 61 || c === 93 || c === 34) break;
    i++;
  }
  const n = i - pos;
  return n === 0 || n > MAX_SD_NAME ? null : s.slice(pos, i);
}

/** `Mmm dd hh:mm:ss ` (day space- or zero-padded): the BSD timestamp, or null. */
function bsdTime(s: string): { month: number; day: number; h: number; m: number; sec: number } | null {
  if (s.length < 16 || s.charCodeAt(3) !== 32 || s.charCodeAt(15) !== 32) return null;
  const month = MONTHS.indexOf(s.slice(0, 3));
  const d1 = s.charCodeAt(4);
  const day = (d1 === 32 ? 0 : d1 - 48) * 10 + (s.charCodeAt(5) - 48);
  const two = (at: number): number => {
    const a = s.charCodeAt(at) - 48;
    const b = s.charCodeAt(at + 1) - 48;
    return a >= 0 && a <= 9 && b >= 0 && b <= 9 ? a * 10 + b : -1;
  };
  const h = two(7);
  const m = two(10);
  const sec = two(13);
  if (month < 0 || (d1 !== 32 && (d1 < 48 || d1 > 57)) || s.charCodeAt(5) < 48 || s.charCodeAt(5) > 57) return null;
  if (s.charCodeAt(9) !== 58 || s.charCodeAt(12) !== 58) return null;
  if (day < 1 || day > 31 || h < 0 || h > 23 || m < 0 || m > 59 || sec < 0 || sec > 60) return null;
  return { month, day, h, m, sec };
}

/**
 * A BSD timestamp has no year and no zone: it is read in the collector's time zone (TZ; UTC
 * in the container image), in whichever of last, this and next year puts it nearest the
 * time of receipt (a December message received on 1 January is last year's). A date that
 * exists in none of them (30 Feb) is refused.
 */
function bsdMicros(t: NonNullable<ReturnType<typeof bsdTime>>, receivedAt: number): number | null {
  const now = receivedAt / 1000;
  const year = new Date(now).getFullYear();
  let best: number | null = null;
  for (const y of [year - 1, year, year + 1]) {
    const d = new Date(y, t.month, t.day, t.h, t.m, Math.min(t.sec, 59));
    if (d.getMonth() !== t.month || d.getDate() !== t.day) continue;
    const ms = d.getTime();
    if (best === null || Math.abs(ms - now) < Math.abs(best - now)) best = ms;
  }
  return best === null ? null : best * 1000;
}

const TAG = /^([^\s[\]:]{1,48})(?:\[([^\]\s]{1,128})\])?:(?: |$)/;

function parse3164(s: string, facility: string, severity: number, receivedAt: number): SyslogParsed {
  let ts = receivedAt;
  let hostname: string | null = null;
  let pos = 0;
  const bsd = bsdTime(s);
  if (bsd) {
    const t = bsdMicros(bsd, receivedAt);
    if (t === null) return fail(`RFC 3164: no such date ${JSON.stringify(s.slice(0, 15))}`);
    ts = t;
    pos = 16;
  } else {
    // rsyslog's forwarding formats put an RFC 3339 time where BSD syslog has its own.
    const sp = s.indexOf(' ');
    const t = sp > 0 && sp <= 40 ? parseRfc3339(s.slice(0, sp)) : null;
    if (t !== null) {
      ts = t;
      pos = sp + 1;
    }
  }
  // After a timestamp comes HOSTNAME, unless the next word is already the TAG (`app[1]:`), as
  // local senders write it.
  if (pos > 0) {
    const sp = s.indexOf(' ', pos);
    const word = s.slice(pos, sp < 0 ? s.length : sp);
    if (
      sp > pos &&
      word.length <= MAX_HOSTNAME &&
      printable(word) &&
      !TAG.test(s.slice(pos, pos + MAX_TAG + MAX_PROCID + 4))
    ) {
      hostname = word;
      pos = sp + 1;
    }
  }
  let service: string | null = null;
  let procid: string | null = null;
  const tag = TAG.exec(s.slice(pos, pos + MAX_TAG + MAX_PROCID + 4));
  if (tag) {
    service = tag[1]!;
    procid = tag[2] ?? null;
    pos += tag[0].length;
  }
  const attrs: Record<string, unknown> = { syslog: 'rfc3164', facility, severity: SEVERITIES[severity] };
  if (hostname !== null) attrs.hostname = hostname;
  if (procid !== null) attrs.procid = procid;
  return { ok: true, record: record(ts, receivedAt, severity, service, textOf(s.slice(pos)), attrs) };
}

function record(
  ts: number,
  receivedAt: number,
  severity: number,
  service: string | null,
  message: string | null,
  attrsValue: Record<string, unknown>,
): LogRecord {
  const id = uuidv7(Math.floor(receivedAt / 1000));
  const attrs = JSON.stringify(attrsValue);
  return {
    type: 'log',
    id,
    ts,
    received_at: receivedAt,
    level: normaliseLevel(severity)!,
    service,
    message,
    attrs,
    trace_id: null,
    span_id: null,
    size: RECORD_OVERHEAD_BYTES + id.length + strBytes(service) + strBytes(message) + strBytes(attrs),
  };
}
