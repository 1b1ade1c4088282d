// Splits a decoded body into JSON values with their positions: one object or an array
// (application/json), or one object per line (NDJSON), then normalises each into a record.
// Any problem rejects the whole request (nothing from it is stored); up to 10 are reported.
// The body is scanned first (scan-json.ts), so a request past the record, depth or key limits
// is refused before any value is built; a large body is then parsed a slice at a time, and
// parseBodyAsync lets the event loop run between slices.
import { isUtf8 } from 'node:buffer';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { SluiceError, type FieldProblem } from '../errors.js';
import type { SluiceRecord } from '../record.js';
import { INEXACT_NUMBER_PROBLEM, inexactNumberAt, type Normaliser, type Position } from './normalise.js';
import { BodyScanner, type Scan, type ScanLimits, type ScanProblem } from './scan-json.js';

export const JSON_TYPES = ['application/json'];
export const NDJSON_TYPES = [
  'application/x-ndjson',
  'application/ndjson',
  'application/jsonlines',
  'application/x-jsonlines',
];

const MAX_PROBLEMS = 10;
/** Text that may hold a number JSON.parse changes (16+ digits, or a 3-digit exponent); then each value is checked. */
const MAYBE_INEXACT = /\d{16}|[eE][+-]?\d{3}/;

/**
 * Bytes parsed between two turns of the event loop. Decoding, JSON.parse and normalising 128 KiB
 * of small records takes a few ms; bodies up to twice that are parsed in one go.
 */
export const SLICE_CHARS = 128 * 1024;
export const SYNC_MAX_BYTES = 2 * SLICE_CHARS;

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
  const p = new BodyParse(body, ndjson, receivedAt, normalise, limits);
  while (!p.step(SLICE_CHARS)) await yieldToLoop();
  return p.result();
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

  constructor(
    body: Buffer,
    private readonly ndjson: boolean,
    private readonly receivedAt: number,
    private readonly normalise: Normaliser<T>,
    private readonly limits: ParseLimits,
  ) {
    if (body.length === 0) throw new SluiceError('SLUICE_ERR_EMPTY_BODY', 'request body is empty');
    // Decoding would quietly turn bad bytes into U+FFFD: storing something other than what was sent.
    if (!isUtf8(body)) throw new SluiceError('SLUICE_ERR_INVALID_JSON', 'request body is not valid UTF-8');
    // A byte order mark is not part of the JSON. The body is decoded a slice at a time as it
    // is parsed: decoding 10 MB at once holds the loop as long as parsing it would.
    this.text = body[0] === 0xef && body[1] === 0xbb && body[2] === 0xbf ? body.subarray(3) : body;
    this.scanner = new BodyScanner(this.text, ndjson, limits);
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

  private add(value: unknown, pos: Position): void {
    if (this.inexact) {
      const at = inexactNumberAt(value, '');
      if (at !== null) {
        if (this.problems.length < MAX_PROBLEMS)
          this.problems.push({ ...pos, field: at, message: INEXACT_NUMBER_PROBLEM });
        return;
      }
    }
    const r = this.normalise(value, pos, this.receivedAt);
    if (r.ok) {
      this.records.push(r.record);
      this.bytes += r.record.size;
    } else if (this.problems.length < MAX_PROBLEMS) this.problems.push(r.problem);
  }

  /** Parses records from about `chars` bytes of the body (at least one record); true when done. */
  step(chars: number): boolean {
    // Scanning first, in steps of its own: a step scans or parses, never both.
    if (!this.scan) {
      this.scanStep(chars);
      return false;
    }
    const { starts, ends } = this.scan;
    if (this.ndjson) {
      const lines = this.scan.lines!;
      let used = 0;
      while (this.next < starts.length && used < chars && this.problems.length < MAX_PROBLEMS) {
        const i = this.next++;
        used += ends[i]! - starts[i]!;
        let value: unknown;
        try {
          const line = this.text.toString('utf8', starts[i], ends[i]);
          this.inexact = MAYBE_INEXACT.test(line);
          value = JSON.parse(line);
        } catch (err) {
          this.problems.push({ line: lines[i]!, field: '(line)', message: `invalid JSON: ${(err as Error).message}` });
          continue;
        }
        this.add(value, { line: lines[i]! });
      }
      return this.next >= starts.length || this.problems.length >= MAX_PROBLEMS;
    }
    // In one go: a single value, a structure JSON.parse must judge, or a body that fits the step.
    if (!this.scan.array || this.scan.malformed || (this.next === 0 && this.text.length <= chars)) {
      let value: unknown;
      try {
        const whole = this.text.toString('utf8');
        this.inexact = MAYBE_INEXACT.test(whole);
        value = JSON.parse(whole);
      } catch (err) {
        throw invalidJson(err);
      }
      if (Array.isArray(value)) {
        for (let i = 0; i < value.length && this.problems.length < MAX_PROBLEMS; i++) this.add(value[i], { index: i });
      } else this.add(value, { index: 0 });
      this.next = starts.length;
      return true;
    }
    // A slice of whole elements, parsed as an array of its own.
    const first = this.next;
    let last = first;
    while (last + 1 < starts.length && ends[last + 1]! - starts[first]! <= chars) last++;
    let values: unknown[];
    try {
      const slice = this.text.toString('utf8', starts[first], ends[last]);
      this.inexact = MAYBE_INEXACT.test(slice);
      values = JSON.parse(`[${slice}]`) as unknown[];
    } catch (err) {
      throw invalidJson(err, ` (in records ${first}-${last})`);
    }
    for (let k = 0; k < values.length && this.problems.length < MAX_PROBLEMS; k++)
      this.add(values[k], { index: first + k });
    this.next = last + 1;
    return this.next >= starts.length || this.problems.length >= MAX_PROBLEMS;
  }

  result(): Parsed<T> {
    if (this.problems.length > 0) throw invalid(this.problems);
    if (this.ndjson && this.records.length === 0)
      throw new SluiceError('SLUICE_ERR_EMPTY_BODY', 'NDJSON body holds no records');
    return { records: this.records, bytes: this.bytes };
  }
}
