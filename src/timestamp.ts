// Record time: epoch microseconds, the RFC 3339 parser and formatter every stage shares, and
// the range a timestamp may take (year 0001 to 9999, what text COPY can carry).

/** Current time in epoch microseconds. `performance.timeOrigin` keeps sub-ms precision. */
export function nowMicros(): number {
  return Math.round((performance.timeOrigin + performance.now()) * 1000);
}

/** Epoch microseconds → RFC 3339 UTC with microseconds (`2026-01-02T03:04:05.123456Z`). */
export function formatMicros(us: number): string {
  const ms = Math.floor(us / 1000);
  const frac = us - ms * 1000; // 0..999 µs within the millisecond
  const iso = new Date(ms).toISOString(); // YYYY-MM-DDTHH:MM:SS.mmmZ
  return iso.slice(0, 23) + String(frac).padStart(3, '0') + 'Z';
}

// Hand-written rather than a regular expression: it runs once per ingested record, and the
// regex + Date round trip measured ~5x slower.
const C0 = 48; // '0'

function digits(s: string, at: number, n: number): number {
  let v = 0;
  for (let i = at; i < at + n; i++) {
    const c = s.charCodeAt(i) - C0;
    if (c < 0 || c > 9) return -1;
    v = v * 10 + c;
  }
  return v;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

// The records of one request nearly always share a day: the start of the last day asked for is
// kept, since Date.UTC was a third of this parser's time (issue 17's profile).
let lastDay = -1;
let lastDayMs = 0;

/** Epoch ms of a day's start (UTC), for a year 0–9999 and a valid month and day. */
function dayStartMs(year: number, month: number, day: number): number {
  const key = (year * 100 + month) * 100 + day;
  if (key === lastDay) return lastDayMs;
  let ms = Date.UTC(year, month - 1, day);
  // Date.UTC reads years 0–99 as 1900–1999.
  if (year < 100) ms = new Date(ms).setUTCFullYear(year);
  lastDay = key;
  lastDayMs = ms;
  return ms;
}

/** Parses an RFC 3339 timestamp to epoch microseconds, or returns null when it is not one. */
export function parseRfc3339(s: string): number | null {
  if (s.length < 20 || s.length > 40) return null;
  const year = digits(s, 0, 4),
    month = digits(s, 5, 2),
    day = digits(s, 8, 2);
  const hour = digits(s, 11, 2),
    minute = digits(s, 14, 2),
    second = digits(s, 17, 2);
  const t = s.charCodeAt(10);
  if (
    s.charCodeAt(4) !== 45 ||
    s.charCodeAt(7) !== 45 ||
    (t !== 84 && t !== 116 && t !== 32) ||
    s.charCodeAt(13) !== 58 ||
    s.charCodeAt(16) !== 58
  )
    return null;
  if (
    year < 0 ||
    month < 1 ||
    month > 12 ||
    day < 1 ||
    hour < 0 ||
    hour > 23 ||
    minute < 0 ||
    minute > 59 ||
    second < 0 ||
    second > 60
  )
    return null;
  if (day > daysInMonth(year, month)) return null;
  let i = 19;
  let micros = 0;
  if (s.charCodeAt(i) === 46) {
    // Fraction: 1–9 digits; kept to the microsecond (truncated).
    const from = ++i;
    while (i < s.length && i - from < 10) {
      const c = s.charCodeAt(i) - C0;
      if (c < 0 || c > 9) break;
      if (i - from < 6) micros = micros * 10 + c;
      i++;
    }
    const n = i - from;
    if (n === 0 || n > 9) return null;
    for (let k = n; k < 6; k++) micros *= 10;
  }
  let offsetMs = 0;
  const z = s.charCodeAt(i);
  if (z === 90 || z === 122) {
    i++;
  } else if (z === 43 || z === 45) {
    const oh = digits(s, i + 1, 2);
    const colon = s.charCodeAt(i + 3) === 58 ? 1 : 0;
    const om = digits(s, i + 3 + colon, 2);
    if (oh < 0 || om < 0 || oh > 23 || om > 59) return null;
    offsetMs = (oh * 60 + om) * 60_000 * (z === 43 ? 1 : -1);
    i += 5 + colon;
  } else return null;
  if (i !== s.length) return null;
  let ms = dayStartMs(year, month, day) + ((hour * 60 + minute) * 60 + Math.min(second, 59)) * 1000;
  ms -= offsetMs;
  // An offset can carry a year-0000 or year-9999 time out of what RFC 3339 can write back.
  if (ms < MIN_MICROS / 1000 || ms >= END_MICROS / 1000) return null;
  // Past 2^53 µs (year 2255) a double holds microseconds only to a few µs, and the last
  // microseconds of 9999 round up to 10000-01-01, which nothing can store: keep the largest
  // time below it instead (docs/security.md, "Numbers and times").
  return Math.min(ms * 1000 + micros, LAST_MICROS);
}

/**
 * The times a record may carry: years 0001–9999, in microseconds; END is 10000-01-01, excluded.
 * RFC 3339 can write the year 0000 too, but PostgreSQL's text input has no year 0 (it would
 * fail a text COPY batch, and every other record in it, as permanent).
 */
export const MIN_MICROS = -62_135_596_800_000_000;
export const END_MICROS = 253_402_300_800_000_000;
/** The largest double below END_MICROS (doubles are 32 apart there): 9999-12-31T23:59:59.999968Z. */
export const LAST_MICROS = END_MICROS - 32;

/**
 * Interprets an epoch number by magnitude: seconds, milliseconds, microseconds or nanoseconds.
 * Returns microseconds, or null when not finite/positive or past the year 9999.
 */
export function epochToMicros(n: number): number | null {
  if (!Number.isFinite(n) || n < 0) return null;
  let us: number;
  if (n < 1e11)
    us = Math.round(n * 1e6); // seconds (until year 5138)
  else if (n < 1e14)
    us = Math.round(n * 1e3); // milliseconds
  else if (n < 1e17)
    us = Math.round(n); // microseconds
  else us = Math.round(n / 1e3); // nanoseconds
  return us < END_MICROS ? us : null;
}

/** Accepts RFC 3339 strings, epoch numbers, or digit strings; returns microseconds or null. */
export function toMicros(v: unknown): number | null {
  if (typeof v === 'number') return epochToMicros(v);
  if (typeof v === 'string') {
    if (v.charCodeAt(4) === 45) return parseRfc3339(v);
    if (/^\d{1,20}(\.\d+)?$/.test(v)) return epochToMicros(Number(v));
    return null;
  }
  return null;
}
