// Walks a JSON or NDJSON body's bytes without decoding or building any value: finds where each record starts and
// ends and counts what it would cost (records, nesting depth, keys and items), so a request past
// a limit is refused before JSON.parse builds it, and a large one can be parsed a slice at a time.
// (JSON.parse of 10 MB of `{}` builds 3.4M objects; of 5M nested `[`, it holds the loop ~20 s.)
// The walk itself is resumable, so a large body is scanned a slice at a time too.

/** Limits checked while scanning; the caller names their config keys. */
export interface ScanLimits {
  maxRecords: number;
  maxDepth: number;
  /** Keys, array items and nested objects/arrays of one record, counted together at every depth. */
  maxKeys: number;
}

/** Why a scan stopped early: `record` is 0-based (array index, or NDJSON line - 1). */
export type ScanProblem = { kind: 'records'; count: number } | { kind: 'depth' | 'keys'; record: number };

/**
 * A body's records as [start, end) byte spans. `array`: a top-level JSON array (spans
 * are its elements); otherwise one JSON value, or NDJSON lines (`lines` holds their numbers).
 * `malformed`: the outer structure cannot be valid JSON, so the caller parses the whole text
 * to report JSON.parse's own message.
 */
export interface Scan {
  array: boolean;
  starts: number[];
  ends: number[];
  lines?: number[];
  malformed: boolean;
  /**
   * Indices (into `starts`, ascending) of the records holding a number token JSON.parse may not
   * keep exactly (see `numberMayBeInexact`); only those need their parsed numbers checked.
   */
  inexact: number[];
  /**
   * Per record (index into `starts`): where the value of its top-level `attrs` key starts, when
   * the last such key (the one JSON.parse keeps) is written plainly and its value is an object.
   */
  attrsAt: number[];
  /**
   * Per record with an `attrsAt`: just past the bracket closing that object, when no raw line
   * break stands between its tokens (the text can then be stored as it is); else -1 or absent.
   */
  attrsEnd: number[];
}

const NEWLINE = 10,
  CR = 13,
  BACKSLASH = 92,
  MINUS = 45,
  PLUS = 43,
  DOT = 46,
  ZERO = 48,
  NINE = 57;
/** Bytes of a string searched for its closing quote a byte at a time, before Buffer.indexOf. */
const SHORT_STRING = 32;
/** A number token longer than this is flagged without a closer look (and walked on as usual). */
const LONG_NUMBER = 64;
export const QUOTE = 34,
  COLON = 58,
  COMMA = 44;
export const LBRACE = 123,
  RBRACE = 125,
  LBRACKET = 91,
  RBRACKET = 93;

export function isSpace(c: number): boolean {
  return c === 32 || c === 9 || c === 10 || c === 13;
}

/**
 * Index just past the quote that closes a string whose text continues at `from` (just after
 * its opening quote, or where an earlier call stopped), or -1 when it does not close before `end`.
 */
export function stringEnd(text: Buffer, from: number, end: number): number {
  let j = from;
  // Most strings (keys, levels, ids) are short: a loop finds their quote cheaper than a call
  // into Buffer.indexOf, whose argument checks cost more than the search (issue 17's profile).
  const near = Math.min(end, from + SHORT_STRING);
  for (; j < near; j++) {
    const c = text[j]!;
    // A quote right at `from` may be escaped by a backslash before it (a string cut by a step's end).
    if (c === QUOTE) {
      if (j > from || text[j - 1] !== BACKSLASH) return j + 1;
      break;
    }
    if (c === BACKSLASH) break;
  }
  if (j === end) return -1;
  for (;;) {
    const q = text.indexOf(QUOTE, j);
    if (q === -1 || q >= end) return -1;
    let k = q - 1;
    while (text[k]! === BACKSLASH) k--;
    if ((q - 1 - k) % 2 === 0) return q + 1; // an odd run of backslashes escapes the quote
    j = q + 1;
  }
}

const isDigit = (c: number): boolean => c >= ZERO && c <= NINE;
const isExponent = (c: number): boolean => c === 101 || c === 69;

/** Where the number-like token at `i` (a digit or '-') ends: at most LONG_NUMBER bytes on. */
function numberEnd(text: Buffer, i: number): number {
  const limit = Math.min(text.length, i + LONG_NUMBER);
  let j = i + 1;
  for (; j < limit; j++) {
    const c = text[j]!;
    if (!(isDigit(c) || c === DOT || isExponent(c) || c === MINUS || c === PLUS)) break;
  }
  return j;
}

/**
 * Whether the number token text[a, b) may be one JSON.parse does not keep exactly: an integer
 * of 2^53 or more or a value past the double range needs 16+ digits in a row, a 2+ digit
 * exponent, or 7+ digits in a row with a positive exponent. Anything that is not a plain JSON
 * number (JSON.parse will refuse it) or is LONG_NUMBER long counts as maybe: this only
 * decides which records get their parsed numbers checked.
 */
export function numberMayBeInexact(text: Buffer, a: number, b: number): boolean {
  if (b - a >= LONG_NUMBER) return true;
  let i = text[a] === MINUS ? a + 1 : a;
  const intStart = i;
  while (i < b && isDigit(text[i]!)) i++;
  const intDigits = i - intStart;
  let fracDigits = 0;
  if (i < b && text[i] === DOT) {
    const fracStart = ++i;
    while (i < b && isDigit(text[i]!)) i++;
    fracDigits = i - fracStart;
  }
  if (intDigits >= 16 || fracDigits >= 16) return true;
  if (i === b) return false;
  if (!isExponent(text[i]!)) return true;
  i++;
  const sign = text[i];
  if (sign === PLUS || sign === MINUS) i++;
  const expStart = i;
  while (i < b && isDigit(text[i]!)) i++;
  const expDigits = i - expStart;
  if (i !== b || expDigits === 0) return true;
  return expDigits >= 2 || ((intDigits >= 7 || fracDigits >= 7) && sign !== MINUS);
}

const ATTRS = Buffer.from('attrs');

function isAttrs(text: Buffer, at: number): boolean {
  return (
    text[at] === ATTRS[0] &&
    text[at + 1] === ATTRS[1] &&
    text[at + 2] === ATTRS[2] &&
    text[at + 3] === ATTRS[3] &&
    text[at + 4] === ATTRS[4]
  );
}

function blank(text: Buffer, from: number, to: number): boolean {
  for (let k = from; k < to; k++) if (!isSpace(text[k]!)) return false;
  return true;
}

/**
 * Scans a body in steps. `step(chars)` walks about `chars` more characters and returns true
 * once the scan is over: then `problem` or `scan` holds the outcome.
 */
export class BodyScanner {
  problem: ScanProblem | undefined;
  scan: Scan | undefined;
  private readonly starts: number[] = [];
  private readonly ends: number[] = [];
  private readonly lines: number[] = [];
  private readonly inexact: number[] = [];
  private readonly attrsAt: number[] = [];
  private readonly attrsEnd: number[] = [];
  /** Inside the value of the record's `attrs` key (an object): its record's index, else -1. */
  private attrsOf = -1;
  private readonly array: boolean;
  /** Next character to look at. */
  private i = 0;
  // The walk of the current record (array element, NDJSON line or the one value).
  private depth = 0;
  private keys = 0;
  /** Whether each open level is an array (its commas count items); bounded by maxDepth. */
  private readonly arrays: boolean[] = [];
  /** Start of the current array element; NDJSON: number of the current line. */
  private start = 0;
  private line = 0;
  /** The walk stopped inside a string (at a step's end); it goes on from `i`. */
  private inString = false;
  /** NDJSON: end of the line being walked, -1 between lines; `blank` while no character but spaces was seen on it. */
  private lineEnd = -1;
  private blank = true;

  constructor(
    private readonly text: Buffer,
    private readonly ndjson: boolean,
    private readonly limits: ScanLimits,
  ) {
    let i = 0;
    while (!ndjson && i < text.length && isSpace(text[i]!)) i++;
    this.array = !ndjson && text[i]! === LBRACKET;
    if (this.array) {
      // The outer array is level 1: an element's own containers open at 2 and deeper.
      this.depth = 1;
      this.i = this.start = i + 1;
    }
  }

  step(chars: number): boolean {
    if (this.problem || this.scan) return true;
    const stop = Math.min(this.text.length, this.i + chars);
    if (this.ndjson) this.lineSteps(stop);
    else if (this.array) this.arraySteps(stop);
    else if (this.walk(stop, 0) !== 'more' && !this.problem)
      this.scan = {
        array: false,
        starts: [0],
        ends: [this.text.length],
        malformed: false,
        inexact: this.inexact,
        attrsAt: this.attrsAt,
        attrsEnd: this.attrsEnd,
      };
    return this.problem !== undefined || this.scan !== undefined;
  }

  /** Walks one value from `this.i` up to `to` (or to the bracket closing level `outer`). */
  private walk(to: number, outer: number): 'done' | 'closed' | 'more' | 'problem' {
    const { text, limits, arrays } = this;
    let record = this.ndjson ? this.line - 1 : this.starts.length;
    let depth = this.depth;
    let keys = this.keys;
    let i = this.i;
    let outcome: 'done' | 'closed' | 'more' | 'problem' = 'more';
    if (this.inString) {
      // A string cut by the step's end may be a key named attrs: its record gets no span.
      if (depth === outer + 1) this.attrsAt[this.ndjson ? this.starts.length - 1 : this.starts.length] = -1;
      const j = stringEnd(text, i, to);
      if (j === -1) i = to;
      else {
        this.inString = false;
        i = j;
      }
    }
    for (; i < to; i++) {
      const c = text[i]!;
      if (c === QUOTE) {
        // A string is skipped whole, or up to `to` and taken up again by the next step.
        const j = stringEnd(text, i + 1, to);
        if (j === -1) {
          this.inString = true;
          i = to;
          break;
        }
        // A key of the record itself named attrs (5 letters between the quotes).
        if (j - i === 7 && depth === outer + 1 && arrays[depth] !== true && isAttrs(text, i + 1)) this.keyAttrs(j);
        i = j - 1;
      } else if (c === LBRACE || c === LBRACKET) {
        depth++;
        arrays[depth] = c === LBRACKET;
        if (depth - outer > limits.maxDepth) {
          this.problem = { kind: 'depth', record };
          return 'problem';
        }
        if (++keys > limits.maxKeys) break;
      } else if (c === RBRACE || c === RBRACKET) {
        if (--depth < outer) {
          outcome = 'closed';
          break;
        }
        if (depth === outer + 1 && this.attrsOf !== -1) {
          // The attrs object closed: the parser takes its text from here without a walk of its own.
          this.attrsEnd[this.attrsOf] = i + 1;
          this.attrsOf = -1;
        }
      } else if (c === COMMA) {
        if (outer === 1 && depth === 1) {
          // An array element ends: record it and start counting the next one afresh.
          this.starts.push(this.start);
          this.ends.push(i);
          if (this.starts.length > limits.maxRecords) {
            this.problem = { kind: 'records', count: this.starts.length };
            return 'problem';
          }
          this.start = i + 1;
          record = this.starts.length;
          keys = 0;
          this.attrsOf = -1;
          continue;
        }
        if (arrays[depth] === true && ++keys > limits.maxKeys) break;
      } else if (c === COLON) {
        if (++keys > limits.maxKeys) break;
      } else if ((c === NEWLINE || c === CR) && this.attrsOf !== -1) {
        this.attrsEnd[this.attrsOf] = -1;
        this.attrsOf = -1;
      } else if (isDigit(c) || c === MINUS) {
        // Numbers are the only tokens JSON.parse may change: the record is flagged for a check.
        const j = numberEnd(text, i);
        if (numberMayBeInexact(text, i, j)) this.flag();
        i = j - 1;
      }
    }
    if (keys > limits.maxKeys) {
      this.problem = { kind: 'keys', record };
      return 'problem';
    }
    this.i = i;
    this.depth = depth;
    this.keys = keys;
    if (outcome === 'more' && i >= text.length) outcome = 'done';
    return outcome;
  }

  /** After a top-level string "attrs" that ends at `j`: if it is a key, notes where an object value starts. */
  private keyAttrs(j: number): void {
    const { text } = this;
    while (j < text.length && isSpace(text[j]!)) j++;
    if (text[j] !== COLON) return; // a value, not a key
    j++;
    while (j < text.length && isSpace(text[j]!)) j++;
    const record = this.ndjson ? this.starts.length - 1 : this.starts.length;
    // A later key replaces an earlier one, as in JSON.parse; -1: its value is no object.
    this.attrsAt[record] = text[j] === LBRACE ? j : -1;
    this.attrsEnd[record] = -1;
    this.attrsOf = text[j] === LBRACE ? record : -1;
  }

  /** Marks the record being walked as holding a number to check. */
  private flag(): void {
    // NDJSON pushes a line's span before walking it; an array element's is pushed at its end.
    const record = this.ndjson ? this.starts.length - 1 : this.starts.length;
    if (this.inexact[this.inexact.length - 1] !== record) this.inexact.push(record);
  }

  private arraySteps(stop: number): void {
    const outcome = this.walk(stop, 1);
    if (outcome === 'more' || outcome === 'problem') return;
    // The array closed at this.i (or the text ended without closing it).
    const { text, starts, ends } = this;
    const closedAt = outcome === 'closed' ? this.i : -1;
    let malformed = closedAt === -1 || text[closedAt]! !== RBRACKET || !blank(text, closedAt + 1, text.length);
    const end = closedAt === -1 ? text.length : closedAt;
    // `[]` holds no element; a blank element anywhere else (`[1,]`, `[,1]`) is not JSON.
    if (!(starts.length === 0 && blank(text, this.start, end))) {
      starts.push(this.start);
      ends.push(end);
      if (starts.length > this.limits.maxRecords) {
        this.problem = { kind: 'records', count: starts.length };
        return;
      }
      for (let r = 0; r < starts.length && !malformed; r++) if (blank(text, starts[r]!, ends[r]!)) malformed = true;
    }
    this.scan = {
      array: true,
      starts,
      ends,
      malformed,
      inexact: this.inexact,
      attrsAt: this.attrsAt,
      attrsEnd: this.attrsEnd,
    };
  }

  private lineSteps(stop: number): void {
    const { text } = this;
    for (;;) {
      if (this.lineEnd === -1) {
        if (this.i > text.length) break;
        if (this.i >= stop && this.i < text.length) return;
        const end = text.indexOf(NEWLINE, this.i);
        this.lineEnd = end === -1 ? text.length : end;
        this.line++;
        this.start = this.i;
        this.blank = true;
      }
      const end = this.lineEnd;
      if (this.blank) {
        // Leading spaces are skipped in steps too: a line may be megabytes of them.
        let s = this.i;
        const to = Math.min(end, Math.max(stop, s + 1));
        while (s < to && isSpace(text[s]!)) s++;
        this.i = s;
        if (s === to && s < end) return;
        if (s < end) {
          this.blank = false;
          this.starts.push(this.start);
          this.ends.push(end);
          this.lines.push(this.line);
          if (this.starts.length > this.limits.maxRecords) {
            this.problem = { kind: 'records', count: this.starts.length };
            return;
          }
          this.depth = 0;
          this.keys = 0;
          this.inString = false;
          this.attrsOf = -1;
        }
      }
      if (!this.blank) {
        const outcome = this.walk(Math.min(end, Math.max(stop, this.i + 1)), 0);
        if (outcome === 'problem') return;
        // A stray closing bracket ends the walk of its line (JSON.parse will refuse the line).
        if (outcome !== 'closed' && this.i < end) return;
      }
      this.lineEnd = -1;
      this.i = end + 1;
    }
    this.scan = {
      array: false,
      starts: this.starts,
      ends: this.ends,
      lines: this.lines,
      malformed: false,
      inexact: this.inexact,
      attrsAt: this.attrsAt,
      attrsEnd: this.attrsEnd,
    };
  }
}

function scanAll(text: Buffer, ndjson: boolean, limits: ScanLimits): Scan | ScanProblem {
  const s = new BodyScanner(text, ndjson, limits);
  while (!s.step(Number.MAX_SAFE_INTEGER));
  return s.problem ?? s.scan!;
}

/** Splits a JSON body into records (the elements of a top-level array, or the one value) in one go. */
export function scanJson(text: Buffer, limits: ScanLimits): Scan | ScanProblem {
  return scanAll(text, false, limits);
}

/** Splits an NDJSON body into its non-blank lines (spans exclude the newline) in one go. */
export function scanNdjson(text: Buffer, limits: ScanLimits): Scan | ScanProblem {
  return scanAll(text, true, limits);
}

export function isProblem(s: Scan | ScanProblem): s is ScanProblem {
  return 'kind' in s;
}
