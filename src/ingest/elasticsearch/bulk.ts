// Parses an Elasticsearch _bulk body (NDJSON: an action line, then for index/create/update a
// document line) into per-item outcomes: a record to store, or that item's error in ES's shape.
// A bad document fails only its item (400 mapper_parsing_exception); update and delete are
// answered per item as not supported. A body whose action lines cannot be read fails whole
// (400, as Elasticsearch does), as does one past the request limits. Parsed in steps of
// bounded work (steps.ts): lines are found as they are read, each item yields the bytes it
// took, and a document line larger than a step is parsed and serialised a piece at a time.
import { isUtf8 } from 'node:buffer';
import { SluiceError } from '../../errors.js';
import type { LogRecord } from '../../record.js';
import { JsonLimitError, parseJsonSteps } from '../json-steps.js';
import { overLimit } from '../nesting.js';
import { INEXACT_NUMBER_PROBLEM, inexactNumberAt, stringifyPieces } from '../normalise.js';
import { PIECE_CHARS, type ParseLimits } from '../parse-body.js';
import { STEP_WORK, runAtOnce, runInSteps, type Steps } from '../../steps.js';
import { MAYBE_INEXACT } from '../value-reader.js';
import { ecsToRecord } from './ecs.js';
import type { EsCause } from './es-errors.js';

export type BulkOp = 'index' | 'create' | 'update' | 'delete';
/** An action line is a small object; longer is not one. */
const MAX_ACTION_BYTES = 16 * 1024;
const OPS = new Set<string>(['index', 'create', 'update', 'delete']);

export interface BulkItem {
  op: BulkOp;
  index: string;
  /** The stored record's id (the action's _id when given); undefined for a failed item without one. */
  id: string | undefined;
  /** Set when this item failed on its own. */
  error?: { status: number; cause: EsCause };
  record?: LogRecord;
}

export interface ParsedBulk {
  items: BulkItem[];
  records: LogRecord[];
  bytes: number;
}

export function bulkError(reason: string, type = 'illegal_argument_exception'): SluiceError {
  return new SluiceError('SLUICE_ERR_BULK_REQUEST', reason, { problems: [{ field: type, message: reason }] });
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function docError(reason: string): { status: number; cause: EsCause } {
  return { status: 400, cause: { type: 'mapper_parsing_exception', reason } };
}

/** One line of the body: [start, end) without its line end, its 1-based number, whether it is blank, whether it is the last. */
type Line = [number, number, number, boolean, boolean];

/** The body's lines, found one at a time as they are read. */
class Lines {
  private start = 0;
  private n = 1;

  constructor(private readonly body: Buffer) {}

  next(): Line | undefined {
    const { body, start } = this;
    if (start > body.length) return undefined;
    let end = body.indexOf(10, start);
    const last = end === -1;
    if (last) end = body.length;
    let e = end;
    if (e > start && body[e - 1] === 13) e--;
    let blank = true;
    for (let k = start; k < e && blank; k++) {
      const c = body[k]!;
      blank = c === 32 || c === 9;
    }
    this.start = end + 1;
    return [start, e, this.n++, blank, last];
  }
}

/** An action line's operation and metadata; a line that is not one fails the whole request. */
function readAction(body: Buffer, s: number, e: number, lineNo: number): { op: BulkOp; meta: Record<string, unknown> } {
  if (e - s > MAX_ACTION_BYTES || overLimit(body, s, e, { depth: 3, keys: 64 }))
    throw bulkError(`Malformed action/metadata line [${lineNo}], expected a simple object of one action`);
  let action: unknown;
  try {
    action = JSON.parse(body.toString('utf8', s, e));
  } catch (err) {
    throw bulkError(
      `Malformed action/metadata line [${lineNo}], not valid JSON: ${(err as Error).message}`,
      'x_content_parse_exception',
    );
  }
  const keys = isObject(action) ? Object.keys(action) : [];
  const op = keys[0];
  if (keys.length !== 1 || op === undefined || !OPS.has(op))
    throw bulkError(
      `Malformed action/metadata line [${lineNo}], expected one of [create, delete, index, update] but found [${op ?? String(action)}]`,
    );
  const meta = (action as Record<string, unknown>)[op];
  if (!isObject(meta)) throw bulkError(`Malformed action/metadata line [${lineNo}], expected an object after [${op}]`);
  return { op: op as BulkOp, meta };
}

/** One _bulk body being parsed, an item at a time. */
class BulkParse {
  private readonly lines: Lines;
  readonly items: BulkItem[] = [];
  readonly records: LogRecord[] = [];
  bytes = 0;
  /** The next line, read ahead; undefined once the body is over. */
  private line: Line | undefined;
  private last: { op: BulkOp; meta: Record<string, unknown>; start: number; len: number } | undefined;
  private readonly docLimits: { depth: number; keys: number };

  constructor(
    private readonly body: Buffer,
    private readonly defaultIndex: string | undefined,
    private readonly receivedAt: number,
    private readonly limits: ParseLimits,
  ) {
    if (!isUtf8(body)) throw bulkError('request body is not valid UTF-8', 'parse_exception');
    this.lines = new Lines(body);
    this.line = this.lines.next();
    this.docLimits = { depth: limits.maxDepth, keys: limits.maxKeys };
  }

  get done(): boolean {
    return this.line === undefined;
  }

  private take(): Line | undefined {
    const l = this.line;
    this.line = this.lines.next();
    return l;
  }

  /** The action on the next line and its document, if it has one; yields the bytes they took. */
  *next(): Steps<void> {
    const { body, items, limits, defaultIndex } = this;
    const [s, e, lineNo, blank] = this.take()!;
    // Blank lines between actions are skipped; a blank document line is that item's error.
    if (blank) {
      yield e - s + 1;
      return;
    }
    // Shippers repeat one action line for a whole batch: the same bytes are read once.
    const last = this.last;
    if (last === undefined || e - s !== last.len || body.compare(body, last.start, last.start + last.len, s, e) !== 0)
      this.last = { ...readAction(body, s, e, lineNo), start: s, len: e - s };
    const { op, meta } = this.last!;
    if (items.length >= limits.maxRecords)
      throw new SluiceError(
        'SLUICE_ERR_TOO_MANY_RECORDS',
        `request holds more than ${limits.maxRecords} actions (ingest.maxRecordsPerRequest): send fewer per request; nothing from this request was stored`,
      );
    const rawIndex = meta._index ?? defaultIndex;
    const index = typeof rawIndex === 'string' ? rawIndex : '';
    const rawId = meta._id;
    const id = typeof rawId === 'string' ? rawId : typeof rawId === 'number' ? String(rawId) : undefined;
    const item: BulkItem = { op, index, id };
    items.push(item);
    if (op === 'delete') {
      item.error = {
        status: 400,
        cause: {
          type: 'illegal_argument_exception',
          reason: 'delete is not supported: Sluice stores logs append-only',
        },
      };
      yield e - s + 1;
      return;
    }
    const source = this.take();
    if (source === undefined || (source[3] && source[4]))
      throw bulkError(
        `The bulk request must be terminated by a newline [\\n]: no source for the action on line [${lineNo}]`,
      );
    yield* this.document(item, source);
    // A document larger than a step yielded its work as it went.
    yield source[1] - source[0] > STEP_WORK ? source[0] - s : source[1] - s + 1;
  }

  /** The document line of an index or create action: the item's record, or its error. */
  private *document(item: BulkItem, source: Line): Steps<void> {
    const { body, limits, receivedAt, docLimits } = this;
    const { op, index, id } = item;
    if (op === 'update') {
      item.error = {
        status: 400,
        cause: {
          type: 'illegal_argument_exception',
          reason: 'update is not supported: Sluice stores logs append-only',
        },
      };
      return;
    }
    if (index === '') {
      item.error = {
        status: 400,
        cause: { type: 'action_request_validation_exception', reason: 'Validation Failed: 1: index is missing;' },
      };
      return;
    }
    const [ds, de, , emptyDoc] = source;
    if (emptyDoc) {
      item.error = docError('failed to parse: the document line is empty');
      return;
    }
    // docLimits counts no items, so past a limit is past depth or keys.
    const overMessage = (over: 'depth' | 'keys' | 'items'): string =>
      over === 'depth'
        ? `failed to parse: the document nests deeper than ${limits.maxDepth} levels (ingest.maxDepth)`
        : `failed to parse: the document holds more than ${limits.maxKeys} keys and items (ingest.maxKeysPerRecord)`;
    // A document larger than a step is parsed, checked and serialised a piece at a time.
    const large = de - ds > STEP_WORK;
    let doc: unknown;
    // Whether the text may hold a number JSON.parse changes (then the value is checked).
    let maybeInexact = true;
    if (large) {
      try {
        doc = yield* parseJsonSteps(body, ds, de, docLimits);
      } catch (err) {
        if (err instanceof JsonLimitError) item.error = docError(overMessage(err.over));
        else item.error = docError(`failed to parse: ${(err as Error).message}`);
        return;
      }
    } else {
      const over = overLimit(body, ds, de, docLimits);
      if (over) {
        item.error = docError(overMessage(over));
        return;
      }
      const docText = body.toString('utf8', ds, de);
      try {
        doc = JSON.parse(docText);
      } catch (err) {
        item.error = docError(`failed to parse: ${(err as Error).message}`);
        return;
      }
      maybeInexact = MAYBE_INEXACT.test(docText);
    }
    if (!isObject(doc)) {
      item.error = docError('failed to parse: the document must be a JSON object');
      return;
    }
    const inexact = maybeInexact ? inexactNumberAt(doc, '') : null;
    if (inexact !== null) {
      item.error = docError(`failed to parse field [${inexact}]: ${INEXACT_NUMBER_PROBLEM}`);
      return;
    }
    const NONE = {};
    let attrs: unknown = NONE;
    const r = ecsToRecord(
      doc,
      index,
      id,
      receivedAt,
      large
        ? (v) => {
            attrs = v;
            return '';
          }
        : undefined,
    );
    if (!r.ok) {
      item.error = docError(`failed to parse field [${r.problem.field}]: ${r.problem.field} ${r.problem.message}`);
      return;
    }
    const record = r.record;
    if (attrs !== NONE) {
      let text = '';
      let done = 0;
      for (const piece of stringifyPieces(attrs, PIECE_CHARS)) {
        text += piece;
        done += piece.length;
        if (done >= PIECE_CHARS) {
          yield done;
          done = 0;
        }
      }
      record.attrs = text;
      record.size += text.length;
    }
    item.id = record.id;
    item.record = record;
    this.records.push(record);
    this.bytes += record.size;
  }

  result(): ParsedBulk {
    // Every line was blank (any other line is an item, or fails the request).
    if (this.items.length === 0)
      throw bulkError('Validation Failed: 1: no requests added;', 'action_request_validation_exception');
    return { items: this.items, records: this.records, bytes: this.bytes };
  }
}

/** A body's items a step at a time. */
export function* parseBulkSteps(
  body: Buffer,
  defaultIndex: string | undefined,
  receivedAt: number,
  limits: ParseLimits,
): Steps<ParsedBulk> {
  const p = new BulkParse(body, defaultIndex, receivedAt, limits);
  while (!p.done) yield* p.next();
  return p.result();
}

/** Parses a body in one go (bodies up to SYNC_MAX_BYTES). */
export function parseBulk(
  body: Buffer,
  defaultIndex: string | undefined,
  receivedAt: number,
  limits: ParseLimits,
): ParsedBulk {
  return runAtOnce(parseBulkSteps(body, defaultIndex, receivedAt, limits));
}

/** Parses a large body in steps, letting the event loop run between them. */
export function parseBulkAsync(
  body: Buffer,
  defaultIndex: string | undefined,
  receivedAt: number,
  limits: ParseLimits,
): Promise<ParsedBulk> {
  return runInSteps(parseBulkSteps(body, defaultIndex, receivedAt, limits));
}
