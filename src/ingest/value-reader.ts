// Reads one JSON value too large for a slice a piece at a time (ValueReader), so parsing a huge
// record, NDJSON line or string never holds the event loop for more than about a piece of work.
// Used by parse-body.ts for POST /logs and by json-steps.ts for the protocol routes.
import { largeValues, put } from './normalise.js';
import { COLON, COMMA, LBRACE, LBRACKET, QUOTE, RBRACE, RBRACKET, isSpace, stringEnd } from './scan-json.js';

/**
 * Text that may hold a number JSON.parse changes (then each value is checked): every number
 * of 2^53 or more (or past the double range) matches, written as 16+ digits, with a 2+ digit
 * exponent, or as 7+ digits with a 1-digit exponent. It must match every such number on its
 * own text, so a record is judged the same whatever else shares its slice. Used on the pieces
 * of a record too large for a slice; the scan flags the records of everything else
 * (numberMayBeInexact, the same rule on number tokens only: a regex over every record's text
 * was measured at ~2 µs a record). _bulk documents are tested with it whole (bulk.ts).
 */
export const MAYBE_INEXACT = /\d{16}|[eE][+-]?\d{2}|\d{7}[\d.]*[eE]\+?\d/;

/** Longest number (or other bare token) in a record larger than a slice: JSON.parse of 10 MB of digits holds the loop ~100 ms. */
export const MAX_TOKEN_CHARS = 4096;

const MINUS = 45;
/** Smallest piece: a string piece must hold an escape (6 bytes) and a UTF-8 sequence (4). */
export const MIN_PIECE = 16;

/** Where a bare token (number, true, false, null) ends. */
function isDelimiter(c: number): boolean {
  return (
    isSpace(c) ||
    c === COMMA ||
    c === COLON ||
    c === RBRACE ||
    c === RBRACKET ||
    c === QUOTE ||
    c === LBRACE ||
    c === LBRACKET
  );
}

const CR = 13;
const LF = 10;

/**
 * Index just past the bracket closing the container that opens at `i`, or -1 when it does not
 * close before `limit` (or, with `compact`, when a raw line break stands between its tokens).
 */
export function containerEnd(text: Buffer, i: number, limit: number, compact = false): number {
  let depth = 0;
  for (let j = i; j < limit; j++) {
    const c = text[j]!;
    if (c === QUOTE) {
      const e = stringEnd(text, j + 1, limit);
      if (e === -1) return -1;
      j = e - 1;
    } else if (c === LBRACE || c === LBRACKET) depth++;
    else if ((c === RBRACE || c === RBRACKET) && --depth === 0) return j + 1;
    else if (compact && (c === LF || c === CR)) return -1;
  }
  return -1;
}

/**
 * Where to cut a string's text near `k` (its text runs from `from`, which is not inside an
 * escape): not inside a UTF-8 sequence nor inside an escape (`\"`, `\uXXXX`). Halves of an
 * escaped surrogate pair may be cut apart: the two halves parse to one pair once joined.
 */
function stringCut(text: Buffer, from: number, k: number): number {
  while (k > from && (text[k]! & 0xc0) === 0x80) k--;
  for (let b = k - 1; b >= Math.max(from, k - 5); b--) {
    if (text[b] !== 92) continue;
    let r = b;
    while (r >= from && text[r] === 92) r--;
    // An odd run of backslashes ending at b: b opens an escape (else it closes a `\\`).
    if ((b - r) % 2 === 1 && b + (text[b + 1] === 0x75 ? 6 : 2) > k) k = b;
    break;
  }
  return k;
}

/**
 * Parses one JSON value from text[start, end) a piece at a time: a container that closes
 * within `piece` bytes, and every string and bare token, go to JSON.parse whole; a larger
 * container is built a member at a time (and marked in `largeValues`); a longer string is
 * parsed `piece` bytes at a time and joined. The result equals JSON.parse's (duplicate keys:
 * the last wins, in the first one's place). Generators yield the bytes each piece took.
 * Throws SyntaxError for text that is not JSON, RangeError for a bare token over MAX_TOKEN_CHARS.
 */
export class ValueReader {
  /** Set when a piece parsed may hold a number JSON.parse does not keep exactly. */
  maybeInexact = false;
  private i: number;
  private readonly piece: number;

  constructor(
    private readonly text: Buffer,
    start: number,
    private readonly end: number,
    piece: number,
  ) {
    this.i = start;
    // At least an escape (6 bytes) plus a UTF-8 sequence (4): every string piece makes progress.
    this.piece = Math.max(MIN_PIECE, piece);
  }

  *whole(): Generator<number, unknown, void> {
    const v = yield* this.value();
    yield* this.spaces();
    if (this.i < this.end) throw this.unexpected();
    return v;
  }

  private unexpected(): SyntaxError {
    if (this.i >= this.end) return new SyntaxError('Unexpected end of JSON input');
    const c = this.text.toString('utf8', this.i, Math.min(this.end, this.i + 1));
    return new SyntaxError(`Unexpected token '${c}' at byte ${this.i}`);
  }

  private parse(a: number, b: number, checkNumbers: boolean): unknown {
    const s = this.text.toString('utf8', a, b);
    if (checkNumbers && !this.maybeInexact) this.maybeInexact = MAYBE_INEXACT.test(s);
    try {
      return JSON.parse(s);
    } catch (err) {
      throw new SyntaxError(`${(err as Error).message} (in the text at byte ${a})`);
    }
  }

  /** A string's text[a, b) (no quotes), parsed. */
  private stringPiece(a: number, b: number): string {
    try {
      return JSON.parse(`"${this.text.toString('utf8', a, b)}"`) as string;
    } catch (err) {
      throw new SyntaxError(`${(err as Error).message} (in the string at byte ${a})`);
    }
  }

  private *spaces(): Generator<number, void, void> {
    const { text, end } = this;
    let i = this.i;
    let from = i;
    while (i < end && isSpace(text[i]!)) {
      if (++i - from >= this.piece) {
        this.i = i;
        yield i - from;
        from = i;
      }
    }
    this.i = i;
  }

  private *value(): Generator<number, unknown, void> {
    yield* this.spaces();
    const { text, end } = this;
    const i = this.i;
    if (i >= end) throw this.unexpected();
    const c = text[i]!;
    if (c === QUOTE) return yield* this.string();
    if (c !== LBRACE && c !== LBRACKET) {
      const limit = Math.min(end, i + MAX_TOKEN_CHARS + 1);
      let j = i;
      while (j < limit && !isDelimiter(text[j]!)) j++;
      if (j === i) throw this.unexpected();
      if (j - i > MAX_TOKEN_CHARS) {
        const what = text[i] === MINUS || (text[i]! >= 48 && text[i]! <= 57) ? 'a number' : 'a bare word';
        throw new RangeError(`holds ${what} longer than ${MAX_TOKEN_CHARS} characters: send it as a string`);
      }
      const v = this.parse(i, j, true);
      this.i = j;
      yield j - i;
      return v;
    }
    const limit = Math.min(end, i + this.piece);
    const j = containerEnd(text, i, limit);
    if (j !== -1) {
      const v = this.parse(i, j, true);
      this.i = j;
      yield 2 * (j - i);
      return v;
    }
    yield limit - i;
    this.i = i + 1;
    const array = c === LBRACKET;
    const close = array ? RBRACKET : RBRACE;
    const out: unknown[] | Record<string, unknown> = array ? [] : {};
    largeValues.add(out);
    yield* this.spaces();
    if (text[this.i] === close) {
      this.i++;
      return out;
    }
    for (;;) {
      if (array) (out as unknown[]).push(yield* this.value());
      else {
        yield* this.spaces();
        if (text[this.i] !== QUOTE) throw this.unexpected();
        const key = yield* this.string();
        yield* this.spaces();
        if (text[this.i] !== COLON) throw this.unexpected();
        this.i++;
        put(out as Record<string, unknown>, key, yield* this.value());
      }
      yield* this.spaces();
      const d = text[this.i];
      this.i++;
      if (d === COMMA) continue;
      if (d === close) return out;
      this.i--;
      throw this.unexpected();
    }
  }

  private *string(): Generator<number, string, void> {
    const { text, end } = this;
    const open = this.i;
    let from = open + 1;
    let s = '';
    for (;;) {
      const limit = Math.min(end, from + this.piece);
      const j = stringEnd(text, from, limit);
      const cut = j !== -1 ? j - 1 : limit >= end ? -1 : stringCut(text, from, limit);
      if (cut === -1) throw new SyntaxError(`Unterminated string in JSON at byte ${open}`);
      s += this.stringPiece(from, cut);
      yield cut - from;
      if (j !== -1) {
        this.i = j;
        return s;
      }
      from = cut;
    }
  }
}
