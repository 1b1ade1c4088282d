// Splits a decoded body into JSON values with their positions: one object or an array
// (application/json), or one object per line (NDJSON), then normalises each into a record.
// Any problem rejects the whole request (nothing from it is stored); up to 10 are reported.
// The body is scanned first (scan-json.ts), so a request past the record, depth or key limits
// is refused before any value is built; a large body is then parsed a slice at a time, and
// parseBodyAsync lets the event loop run between slices. A single record larger than a slice
// (one huge object, NDJSON line or string) is itself parsed, normalised and serialised in
// pieces (value-reader.ts, stringifyPieces), so no step does more than about a slice of work.
import { isAscii, isUtf8 } from 'node:buffer';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { SluiceError, type FieldProblem } from '../errors.js';
import type { SluiceRecord } from '../record.js';
import {
  INEXACT_NUMBER_PROBLEM,
  inexactNumberAt,
  serialiseJson,
  stringifyPieces,
  type Normaliser,
  type Position,
  type Serialise,
} from './normalise.js';
import { BodyScanner, type Scan, type ScanLimits, type ScanProblem } from './scan-json.js';
import { MAX_TOKEN_CHARS, ValueReader } from './value-reader.js';

export { MAX_TOKEN_CHARS };

export const JSON_TYPES = ['application/json'];
export const NDJSON_TYPES = [
  'application/x-ndjson',
  'application/ndjson',
  'application/jsonlines',
  'application/x-jsonlines',
];

const MAX_PROBLEMS = 10;
/**
 * Bytes parsed between two turns of the event loop. Decoding, JSON.parse and normalising 128 KiB
 * of small records takes a few ms; bodies up to twice that are parsed in one go.
 */
export const SLICE_CHARS = 128 * 1024;
export const SYNC_MAX_BYTES = 2 * SLICE_CHARS;
/** Bytes of one record parsed (or characters serialised) at a time when the record is larger than a slice. */
export const PIECE_CHARS = 16 * 1024;

/** The request limits (ingest.maxRecordsPerRequest, ingest.maxDepth, ingest.maxKeysPerRecord). */
export type ParseLimits = ScanLimits;

/** For callers with trusted input (benchmarks, the load generator's own checks). */
export const UNLIMITED: ParseLimits = {
  maxRecords: Number.MAX_SAFE_INTEGER,
  maxDepth: 1000,
  maxKeys: Number.MAX_SAFE_INTEGER,
};

export interface Parsed<T extends SluiceRecord> {
  records: T[];
  bytes: number;
}

export function isNdjson(contentType: string | undefined): boolean {
  if (!contentType) return false;
  // The usual headers, as clients write them, without splitting and lower-casing (per request).
  if (contentType === 'application/json') return false;
  if (contentType === 'application/x-ndjson') return true;
  const media = contentType.split(';', 1)[0]!.trim().toLowerCase();
  return NDJSON_TYPES.includes(media);
}

/** 415 for a charset other than UTF-8 (the only one JSON allows between systems, RFC 8259). */
export function checkCharset(contentType: string | undefined): void {
  const m = contentType ? /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(contentType) : null;
  if (!m) return;
  const charset = m[1]!.toLowerCase();
  if (charset !== 'utf-8' && charset !== 'utf8') {
    throw new SluiceError('SLUICE_ERR_UNSUPPORTED_MEDIA_TYPE', { what: `charset "${m[1]}"`, accepted: 'UTF-8' });
  }
}

/** Parses a body in one go (for small bodies: see SYNC_MAX_BYTES). Throws a SluiceError for bad input. */
export function parseBody<T extends SluiceRecord>(
  body: Buffer,
  ndjson: boolean,
  receivedAt: number,
  normalise: Normaliser<T>,
  limits: ParseLimits = UNLIMITED,
): Parsed<T> {
  const p = new BodyParse(body, ndjson, receivedAt, normalise, limits);
  while (!p.step(Number.MAX_SAFE_INTEGER));
  return p.result();
}

/** Parses a body a slice at a time, yielding to the event loop between slices. */
export async function parseBodyAsync<T extends SluiceRecord>(
  body: Buffer,
  ndjson: boolean,
  receivedAt: number,
  normalise: Normaliser<T>,
  limits: ParseLimits,
): Promise<Parsed<T>> {
  const p = new BodyParse(body, ndjson, receivedAt, normalise, limits, PIECE_CHARS);
  while (!p.step(SLICE_CHARS)) await yieldToLoop();
  return p.result();
}

/** What parsing in steps did: the result, how many steps, and the most work (bytes) one step did. */
export interface Stepped<T extends SluiceRecord> {
  parsed: Parsed<T>;
  steps: number;
  maxStepWork: number;
}

/**
 * parseBodyAsync's steps run back to back, with slice and piece sizes of the caller's choice:
 * for tests that count the work of the largest step (a bound on how long one holds the loop).
 */
export function parseBodyInSteps<T extends SluiceRecord>(
  body: Buffer,
  ndjson: boolean,
  receivedAt: number,
  normalise: Normaliser<T>,
  limits: ParseLimits,
  chars = SLICE_CHARS,
  piece = PIECE_CHARS,
): Stepped<T> {
  const p = new BodyParse(body, ndjson, receivedAt, normalise, limits, piece);
  let steps = 1;
  while (!p.step(chars)) steps++;
  return { parsed: p.result(), steps, maxStepWork: p.maxStepWork };
}

function refuse(problem: ScanProblem, ndjson: boolean, limits: ParseLimits): SluiceError {
  if (problem.kind === 'records') {
    return new SluiceError(
      'SLUICE_ERR_TOO_MANY_RECORDS',
      `request holds more than ${limits.maxRecords} records (ingest.maxRecordsPerRequest): send fewer per request; nothing from this request was stored`,
    );
  }
  const pos: Position = ndjson ? { line: problem.record + 1 } : { index: problem.record };
  const message =
    problem.kind === 'depth'
      ? `nests deeper than ${limits.maxDepth} levels (ingest.maxDepth)`
      : `holds more than ${limits.maxKeys} keys, array items and nested objects (ingest.maxKeysPerRecord)`;
  return invalid([{ ...pos, field: '(record)', message }]);
}

function invalid(problems: FieldProblem[]): SluiceError {
  const first = problems[0]!;
  const where = first.line !== undefined ? `line ${first.line}` : `index ${first.index}`;
  return new SluiceError(
    'SLUICE_ERR_INVALID_RECORD',
    { where, detail: `field ${first.field} ${first.message}` },
    { problems },
  );
}

function invalidJson(err: unknown, where = ''): SluiceError {
  const detail = `${(err as Error).message}${where}`;
  return new SluiceError('SLUICE_ERR_INVALID_JSON', detail, {
    problems: [{ index: 0, field: '(body)', message: `invalid JSON: ${detail}` }],
  });
}

/** One body being parsed: scanned at construction, then parsed by `step`s. */
class BodyParse<T extends SluiceRecord> {
  /** The body without its byte order mark; spans index it in bytes. */
  private readonly text: Buffer;
  private readonly scanner: BodyScanner;
  private scan: Scan | undefined;
  private readonly records: T[] = [];
  private readonly problems: FieldProblem[] = [];
  private bytes = 0;
  /** The next span to parse. */
  private next = 0;
  /** A record larger than a slice, being worked on a piece at a time. */
  private job: Generator<number, void, void> | undefined;
  /** The most work (bytes scanned, parsed or serialised) one step has done. */
  maxStepWork = 0;

  constructor(
    body: Buffer,
    private readonly ndjson: boolean,
    private readonly receivedAt: number,
    private readonly normalise: Normaliser<T>,
    private readonly limits: ParseLimits,
    private readonly piece = PIECE_CHARS,
  ) {
    if (body.length === 0) throw new SluiceError('SLUICE_ERR_EMPTY_BODY', 'request body is empty');
    // Decoding would quietly turn bad bytes into U+FFFD: storing something other than what was sent.
    if (!isUtf8(body)) throw new SluiceError('SLUICE_ERR_INVALID_JSON', 'request body is not valid UTF-8');
    // A byte order mark is not part of the JSON. The body is decoded a slice at a time as it
    // is parsed: decoding 10 MB at once holds the loop as long as parsing it would.
    this.text = body[0] === 0xef && body[1] === 0xbb && body[2] === 0xbf ? body.subarray(3) : body;
    this.scanner = new BodyScanner(this.text, ndjson, limits);
    // A small ASCII body is decoded once, its byte spans then being its character spans: one
    // decode per record line was a tenth of parsing (issue 17's profile).
    if (this.text.length <= SYNC_MAX_BYTES && isAscii(this.text)) this.ascii = this.text.toString('latin1');
  }

  /** The whole body as a string when it is small and ASCII, else undefined (decoded per span). */
  private readonly ascii: string | undefined;

  /** Characters of the body's bytes [start, end). */
  private decode(start: number, end: number): string {
    return this.ascii !== undefined ? this.ascii.slice(start, end) : this.text.toString('utf8', start, end);
  }

  /** Scans about `chars` more characters; true once the scan is over (and was passed). */
  private scanStep(chars: number): boolean {
    if (this.scan) return true;
    if (!this.scanner.step(chars)) return false;
    if (this.scanner.problem) throw refuse(this.scanner.problem, this.ndjson, this.limits);
    const scan = (this.scan = this.scanner.scan!);
    if (!this.ndjson && scan.array && scan.starts.length === 0 && !scan.malformed)
      throw new SluiceError('SLUICE_ERR_EMPTY_BODY', 'JSON array holds no records');
    return true;
  }

  /** Set for a slice whose text holds a number JSON.parse may not keep exactly (rare: checked then). */
  private inexact = false;
  /** Next entry of scan.inexact not yet passed (records are parsed in order). */
  private flagAt = 0;

  /** Whether any of records first…last (indices into the scan) was flagged by the scan. */
  private flagged(first: number, last: number): boolean {
    const flags = this.scan!.inexact;
    while (this.flagAt < flags.length && flags[this.flagAt]! < first) this.flagAt++;
    return this.flagAt < flags.length && flags[this.flagAt]! <= last;
  }

  /** attrs JSON.parse built from the text in `rawText` (see `keepAttrsText`). */
  private rawFor: unknown = undefined;
  private rawText = '';
  /** The client's attrs text when it is `rawFor` (attrs no other field was merged into), else JSON. */
  private readonly rawSerialise: Serialise = (v) => (v === this.rawFor ? this.rawText : serialiseJson(v));
  /** Where the next `\u` escape in the body is at or after the last look (-1 before the first). */
  private escapeAt = -1;

  /**
   * Parse less: the text of record `index`'s attrs object as the client sent it, to store as it
   * is instead of stringifying what JSON.parse built from it. Only when the scan saw its key
   * written plainly (no `\u` escape anywhere in the record could spell another "attrs") and
   * the object holds no raw line break (the live tail's SSE lines carry the text as it is).
   */
  private keepAttrsText(value: unknown, index: number): boolean {
    const scan = this.scan!;
    const at = scan.attrsAt[index];
    if (at === undefined || at < 0) return false;
    const attrs = (value as { attrs?: unknown }).attrs;
    if (typeof attrs !== 'object' || attrs === null || Array.isArray(attrs)) return false;
    const start = scan.starts[index]!;
    const end = scan.ends[index]!;
    if (this.escapeAt !== Infinity && this.escapeAt < start) {
      const e = this.text.indexOf(UNICODE_ESCAPE, start);
      this.escapeAt = e === -1 ? Infinity : e;
    }
    if (this.escapeAt < end) return false;
    const close = scan.attrsEnd[index];
    if (close === undefined || close < 0) return false;
    this.rawFor = attrs;
    // Decoded on its own, not sliced from the body string: the COPY encoder reads a flat
    // string faster, and a record kept in memory does not hold its whole body alive.
    this.rawText = this.text.toString('utf8', at, close);
    return true;
  }

  private add(value: unknown, pos: Position, serialise?: Serialise, index?: number): T | undefined {
    if (serialise === undefined && index !== undefined && this.keepAttrsText(value, index))
      serialise = this.rawSerialise;
    if (this.inexact) {
      const at = inexactNumberAt(value, '');
      if (at !== null) {
        if (this.problems.length < MAX_PROBLEMS)
          this.problems.push({ ...pos, field: at, message: INEXACT_NUMBER_PROBLEM });
        return undefined;
      }
    }
    const r = this.normalise(value, pos, this.receivedAt, serialise);
    if (r.ok) {
      this.records.push(r.record);
      this.bytes += r.record.size;
      return r.record;
    } else if (this.problems.length < MAX_PROBLEMS) this.problems.push(r.problem);
    return undefined;
  }

  private work(n: number): void {
    if (n > this.maxStepWork) this.maxStepWork = n;
  }

  /**
   * One record too large for a slice, from text[start, end): parsed, normalised and its attrs
   * serialised a piece at a time; yields the work done (bytes) after each piece.
   */
  private *large(start: number, end: number, pos: Position): Generator<number, void, void> {
    const reader = new ValueReader(this.text, start, end, this.piece);
    let value: unknown;
    try {
      value = yield* reader.whole();
    } catch (err) {
      if (err instanceof RangeError) {
        this.problems.push({ ...pos, field: '(record)', message: err.message });
        return;
      }
      if (!this.ndjson) throw invalidJson(err, ` (in the record at index ${pos.index ?? 0})`);
      this.problems.push({ ...pos, field: '(line)', message: `invalid JSON: ${(err as Error).message}` });
      return;
    }
    this.inexact = reader.maybeInexact;
    const NONE = {};
    let attrs: unknown = NONE;
    // The record is normalised with its attrs left out ('') and serialised below, in pieces.
    const record = this.add(value, pos, (v) => {
      attrs = v;
      return '';
    });
    if (!record || attrs === NONE) return;
    let text = '';
    let done = 0;
    for (const piece of stringifyPieces(attrs, this.piece)) {
      text += piece;
      done += piece.length;
      if (done >= this.piece) {
        yield done;
        done = 0;
      }
    }
    (record as { attrs: string | null }).attrs = text;
    record.size += text.length;
    this.bytes += text.length;
    yield done;
  }

  /** Runs the large record's job for about `chars` of work; true when it is over. */
  private runJob(chars: number): boolean {
    let used = 0;
    while (used < chars) {
      const r = this.job!.next();
      if (r.done) {
        this.job = undefined;
        break;
      }
      used += r.value;
    }
    this.work(used);
    return this.job === undefined;
  }

  private finished(): boolean {
    return this.job === undefined && (this.next >= this.scan!.starts.length || this.problems.length >= MAX_PROBLEMS);
  }

  /** Parses records from about `chars` bytes of the body; true when done. */
  step(chars: number): boolean {
    // Scanning first, in steps of its own: a step scans or parses, never both.
    if (!this.scan) {
      this.scanStep(chars);
      this.work(chars);
      return false;
    }
    if (this.job) {
      this.runJob(chars);
      return this.finished();
    }
    const { starts, ends } = this.scan;
    if (this.ndjson) {
      const lines = this.scan.lines!;
      let used = 0;
      while (this.next < starts.length && used < chars && this.problems.length < MAX_PROBLEMS) {
        const i = this.next;
        const size = ends[i]! - starts[i]!;
        if (size > chars) {
          // A line larger than a slice gets steps of its own.
          if (used === 0) {
            this.next++;
            this.job = this.large(starts[i]!, ends[i]!, { line: lines[i]! });
          }
          break;
        }
        this.next++;
        used += size;
        let value: unknown;
        try {
          const line = this.decode(starts[i]!, ends[i]!);
          this.inexact = this.flagged(i, i);
          value = JSON.parse(line);
        } catch (err) {
          this.problems.push({ line: lines[i]!, field: '(line)', message: `invalid JSON: ${(err as Error).message}` });
          continue;
        }
        this.add(value, { line: lines[i]! }, undefined, i);
      }
      this.work(used);
      return this.finished();
    }
    // In one go: a single value, or a structure JSON.parse must judge, that fits the step.
    if (!this.scan.array || this.scan.malformed || (this.next === 0 && this.text.length <= chars)) {
      if (this.text.length > chars) {
        // Too large for one step: the reader parses it in pieces (and reports where a
        // malformed array goes wrong); what it builds is the record, or the array of them.
        this.next = starts.length;
        this.job = this.whole();
        return false;
      }
      let value: unknown;
      try {
        const whole = this.ascii ?? this.text.toString('utf8');
        this.inexact = this.scan.inexact.length > 0;
        value = JSON.parse(whole);
      } catch (err) {
        throw invalidJson(err);
      }
      this.work(this.text.length);
      if (Array.isArray(value)) {
        for (let i = 0; i < value.length && this.problems.length < MAX_PROBLEMS; i++)
          this.add(value[i], { index: i }, undefined, this.scan.array && !this.scan.malformed ? i : undefined);
      } else this.add(value, { index: 0 }, undefined, this.scan.array ? undefined : 0);
      this.next = starts.length;
      return true;
    }
    // A slice of whole elements, parsed as an array of its own; an element larger than a slice
    // gets steps of its own.
    const first = this.next;
    if (ends[first]! - starts[first]! > chars) {
      this.next++;
      this.job = this.large(starts[first]!, ends[first]!, { index: first });
      return false;
    }
    let last = first;
    while (last + 1 < starts.length && ends[last + 1]! - starts[first]! <= chars) last++;
    let values: unknown[];
    try {
      const slice = this.decode(starts[first]!, ends[last]!);
      this.inexact = this.flagged(first, last);
      values = JSON.parse(`[${slice}]`) as unknown[];
    } catch (err) {
      throw invalidJson(err, ` (in records ${first}-${last})`);
    }
    this.work(ends[last]! - starts[first]!);
    for (let k = 0; k < values.length && this.problems.length < MAX_PROBLEMS; k++)
      this.add(values[k], { index: first + k }, undefined, first + k);
    this.next = last + 1;
    return this.finished();
  }

  /** The whole body as one value too large for a step: a single record, or a malformed array. */
  private *whole(): Generator<number, void, void> {
    if (this.scan!.array) {
      // Malformed (the scan found its outer structure broken): the reader says where.
      const reader = new ValueReader(this.text, 0, this.text.length, this.piece);
      let value: unknown;
      try {
        value = yield* reader.whole();
      } catch (err) {
        throw invalidJson(err);
      }
      this.inexact = reader.maybeInexact;
      const values = value as unknown[];
      for (let i = 0; i < values.length && this.problems.length < MAX_PROBLEMS; i++) this.add(values[i], { index: i });
      return;
    }
    yield* this.large(0, this.text.length, { index: 0 });
  }

  result(): Parsed<T> {
    if (this.problems.length > 0) throw invalid(this.problems);
    if (this.ndjson && this.records.length === 0)
      throw new SluiceError('SLUICE_ERR_EMPTY_BODY', 'NDJSON body holds no records');
    return { records: this.records, bytes: this.bytes };
  }
}

const UNICODE_ESCAPE = Buffer.from('\\u');
