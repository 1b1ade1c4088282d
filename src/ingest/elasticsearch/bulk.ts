// Parses an Elasticsearch _bulk body (NDJSON: an action line, then for index/create/update a
// document line) into per-item outcomes: a record to store, or that item's error in ES's shape.
// A bad document fails only its item (400 mapper_parsing_exception); update and delete are
// answered per item as not supported. A body whose action lines cannot be read fails whole
// (400, as Elasticsearch does), as does one past the request limits.
import { isUtf8 } from 'node:buffer';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { SluiceError } from '../../errors.js';
import type { LogRecord } from '../../record.js';
import { overLimit } from '../nesting.js';
import { INEXACT_NUMBER_PROBLEM, inexactNumberAt } from '../normalise.js';
import { SLICE_CHARS, type ParseLimits } from '../parse-body.js';
import { ecsToRecord } from './ecs.js';
import type { EsCause } from './es-errors.js';

export type BulkOp = 'index' | 'create' | 'update' | 'delete';
/** Text that may hold a number JSON.parse changes (as in parse-body.ts); then the document is checked. */
const MAYBE_INEXACT = /\d{16}|[eE][+-]?\d{3}/;
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

/** Line spans of the body: [start, end, 1-based line number, blank]. */
function lines(body: Buffer): Array<[number, number, number, boolean]> {
  const out: Array<[number, number, number, boolean]> = [];
  let start = 0;
  let n = 1;
  while (start <= body.length) {
    let end = body.indexOf(10, start);
    if (end === -1) end = body.length;
    let e = end;
    if (e > start && body[e - 1] === 13) e--;
    let blank = true;
    for (let k = start; k < e && blank; k++) {
      const c = body[k]!;
      blank = c === 32 || c === 9;
    }
    out.push([start, e, n, blank]);
    start = end + 1;
    n++;
  }
  return out;
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

/** One _bulk body being parsed: a line check at construction, then actions by `step`s. */
class BulkParse {
  private readonly ls: Array<[number, number, number, boolean]>;
  private readonly items: BulkItem[] = [];
  private readonly records: LogRecord[] = [];
  private bytes = 0;
  /** The next line to read. */
  private i = 0;
  private last: { op: BulkOp; meta: Record<string, unknown>; start: number; len: number } | undefined;
  private readonly docLimits: { depth: number; keys: number };

  constructor(
    private readonly body: Buffer,
    private readonly defaultIndex: string | undefined,
    private readonly receivedAt: number,
    private readonly limits: ParseLimits,
  ) {
    if (!isUtf8(body)) throw bulkError('request body is not valid UTF-8', 'parse_exception');
    this.ls = lines(body);
    if (this.ls.every((l) => l[3]))
      throw bulkError('Validation Failed: 1: no requests added;', 'action_request_validation_exception');
    this.docLimits = { depth: limits.maxDepth, keys: limits.maxKeys };
  }

  /** Reads actions from about `chars` bytes of the body (one at least); true when done. */
  step(chars: number): boolean {
    const stop = this.i < this.ls.length ? this.ls[this.i]![0] + chars : 0;
    while (this.i < this.ls.length) {
      this.next();
      if (this.i < this.ls.length && this.ls[this.i]![0] >= stop) return false;
    }
    return true;
  }

  result(): ParsedBulk {
    return { items: this.items, records: this.records, bytes: this.bytes };
  }

  /** The action at line `i` and its document, if it has one. */
  private next(): void {
    const { body, ls, items, records, limits, defaultIndex, receivedAt, docLimits } = this;
    const [s, e, lineNo, blank] = ls[this.i++]!;
    // Blank lines between actions are skipped; a blank document line is that item's error.
    if (blank) return;
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
      return;
    }
    const source = ls[this.i++];
    if (source === undefined || (source[3] && this.i === ls.length))
      throw bulkError(
        `The bulk request must be terminated by a newline [\\n]: no source for the action on line [${lineNo}]`,
      );
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
    const over = overLimit(body, ds, de, docLimits);
    if (over) {
      item.error = docError(
        over === 'depth'
          ? `failed to parse: the document nests deeper than ${limits.maxDepth} levels (ingest.maxDepth)`
          : `failed to parse: the document holds more than ${limits.maxKeys} keys and items (ingest.maxKeysPerRecord)`,
      );
      return;
    }
    const docText = body.toString('utf8', ds, de);
    let doc: unknown;
    try {
      doc = JSON.parse(docText);
    } catch (err) {
      item.error = docError(`failed to parse: ${(err as Error).message}`);
      return;
    }
    if (!isObject(doc)) {
      item.error = docError('failed to parse: the document must be a JSON object');
      return;
    }
    const inexact = MAYBE_INEXACT.test(docText) ? inexactNumberAt(doc, '') : null;
    if (inexact !== null) {
      item.error = docError(`failed to parse field [${inexact}]: ${INEXACT_NUMBER_PROBLEM}`);
      return;
    }
    const r = ecsToRecord(doc, index, id, receivedAt);
    if (!r.ok) {
      item.error = docError(`failed to parse field [${r.problem.field}]: ${r.problem.field} ${r.problem.message}`);
      return;
    }
    item.id = r.record.id;
    item.record = r.record;
    records.push(r.record);
    this.bytes += r.record.size;
  }
}

/** Parses a body in one go (bodies up to SYNC_MAX_BYTES). */
export function parseBulk(
  body: Buffer,
  defaultIndex: string | undefined,
  receivedAt: number,
  limits: ParseLimits,
): ParsedBulk {
  const p = new BulkParse(body, defaultIndex, receivedAt, limits);
  while (!p.step(Number.MAX_SAFE_INTEGER));
  return p.result();
}

/** Parses a large body a slice at a time, letting the event loop run between slices. */
export async function parseBulkAsync(
  body: Buffer,
  defaultIndex: string | undefined,
  receivedAt: number,
  limits: ParseLimits,
): Promise<ParsedBulk> {
  const p = new BulkParse(body, defaultIndex, receivedAt, limits);
  while (!p.step(SLICE_CHARS)) await yieldToLoop();
  return p.result();
}
