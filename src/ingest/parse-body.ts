// Splits a decoded body into JSON values with their positions: one object or an array
// (application/json), or one object per line (NDJSON), then normalises each into a record.
// Any problem rejects the whole request (nothing from it is stored); up to 10 are reported.
import { isUtf8 } from 'node:buffer';
import { SluiceError, type FieldProblem } from '../errors.js';
import type { SluiceRecord } from '../record.js';
import type { Normaliser, Position } from './normalise.js';

export const JSON_TYPES = ['application/json'];
export const NDJSON_TYPES = ['application/x-ndjson', 'application/ndjson', 'application/jsonlines', 'application/x-jsonlines'];

const MAX_PROBLEMS = 10;

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

export function parseBody<T extends SluiceRecord>(body: Buffer, ndjson: boolean, receivedAt: number, normalise: Normaliser<T>): Parsed<T> {
  if (body.length === 0) throw new SluiceError('SLUICE_ERR_EMPTY_BODY', 'request body is empty');
  // Decoding would quietly turn bad bytes into U+FFFD: storing something other than what was sent.
  if (!isUtf8(body)) throw new SluiceError('SLUICE_ERR_INVALID_JSON', 'request body is not valid UTF-8');
  let text = body.toString('utf8');
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1); // a byte order mark is not part of the JSON
  const records: T[] = [];
  const problems: FieldProblem[] = [];
  let bytes = 0;
  const add = (value: unknown, pos: Position): void => {
    const r = normalise(value, pos, receivedAt);
    if (r.ok) {
      records.push(r.record);
      bytes += r.record.size;
    } else if (problems.length < MAX_PROBLEMS) problems.push(r.problem);
  };

  if (ndjson) {
    let start = 0;
    let line = 0;
    while (start <= text.length && problems.length < MAX_PROBLEMS) {
      let end = text.indexOf('\n', start);
      if (end === -1) end = text.length;
      line++;
      const raw = text.slice(start, end).trim();
      start = end + 1;
      if (raw === '') continue;
      let value: unknown;
      try {
        value = JSON.parse(raw);
      } catch (err) {
        problems.push({ line, field: '(line)', message: `invalid JSON: ${(err as Error).message}` });
        continue;
      }
      add(value, { line });
    }
    if (problems.length === 0 && records.length === 0) throw new SluiceError('SLUICE_ERR_EMPTY_BODY', 'NDJSON body holds no records');
  } else {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      throw new SluiceError('SLUICE_ERR_INVALID_JSON', (err as Error).message, {
        problems: [{ index: 0, field: '(body)', message: `invalid JSON: ${(err as Error).message}` }],
      });
    }
    if (Array.isArray(value) && value.length === 0) throw new SluiceError('SLUICE_ERR_EMPTY_BODY', 'JSON array holds no records');
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length && problems.length < MAX_PROBLEMS; i++) add(value[i], { index: i });
    } else add(value, { index: 0 });
  }

  if (problems.length > 0) {
    const first = problems[0]!;
    const where = first.line !== undefined ? `line ${first.line}` : `index ${first.index}`;
    throw new SluiceError('SLUICE_ERR_INVALID_RECORD', { where, detail: `field ${first.field} ${first.message}` }, { problems });
  }
  return { records, bytes };
}
