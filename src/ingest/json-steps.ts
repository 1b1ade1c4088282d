// One JSON value parsed in steps of bounded work, for the protocol routes whose bodies are one
// JSON document (Loki push, OTLP/JSON, a large _bulk document): the nesting and key limits are
// checked first, a step at a time, then parse-body's ValueReader builds the value a piece
// (PIECE_CHARS) at a time, as JSON.parse would build it. JSON.parse of a whole 10 MB body holds
// the loop for as long as it takes; this never does more than a piece between two yields.
import { overLimitSteps, type JsonCost } from './nesting.js';
import { PIECE_CHARS } from './parse-body.js';
import { ValueReader } from './value-reader.js';
import type { Steps } from '../steps.js';

/** Thrown when the value goes past a limit; its message says which (callers prefix their own context). */
export class JsonLimitError extends RangeError {
  constructor(
    readonly over: 'depth' | 'keys' | 'items',
    max: JsonCost,
  ) {
    super(
      over === 'depth'
        ? `nests deeper than ${max.depth} levels`
        : over === 'keys'
          ? `holds more than ${max.keys} keys and items`
          : `holds more than ${max.items?.max} records`,
    );
  }
}

/**
 * The value in text[start, end). Throws SyntaxError for text that is not JSON (its message says
 * at which byte), JsonLimitError past `max`, RangeError for a bare token over MAX_TOKEN_CHARS.
 */
export function* parseJsonSteps(text: Buffer, start: number, end: number, max: JsonCost): Steps<unknown> {
  const over = yield* overLimitSteps(text, start, end, max);
  if (over) throw new JsonLimitError(over, max);
  return yield* new ValueReader(text, start, end, PIECE_CHARS).whole();
}
