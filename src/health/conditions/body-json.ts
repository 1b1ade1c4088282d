// A response body's JSON for [BODY] paths, read only when JSON.parse can take it quickly.
// JSON.parse is fast per byte of string but not per value or per level: of the probe's 1 MiB
// cap, 350,000 empty objects held the loop ~80 ms and 500,000 nested "[" ~200 ms. So the bytes
// are walked first (~1 ms a MiB, nothing built), counting nesting and values outside strings,
// and a body past either limit is not parsed: conditions on its paths fail and say why.

/** Deepest nesting parsed; real API answers stay far below it. */
export const MAX_JSON_DEPTH = 64;
/** Most values (objects, arrays, items) parsed: ~10 ms of JSON.parse at worst. */
export const MAX_JSON_VALUES = 50_000;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const OPEN_SQUARE = 0x5b;
const OPEN_CURLY = 0x7b;
const CLOSE_SQUARE = 0x5d;
const CLOSE_CURLY = 0x7d;

/** Why `bytes` would be slow to parse, or null (strings skipped; not a validation of JSON). */
export function parseCostProblem(
  bytes: Uint8Array,
  maxDepth = MAX_JSON_DEPTH,
  maxValues = MAX_JSON_VALUES,
): string | null {
  let depth = 0;
  let values = 0;
  let inString = false;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    if (inString) {
      if (b === BACKSLASH) i++;
      else if (b === QUOTE) inString = false;
    } else if (b === QUOTE) inString = true;
    else if (b === OPEN_SQUARE || b === OPEN_CURLY) {
      if (++depth > maxDepth) return `body nests deeper than ${maxDepth} levels: not read as JSON`;
      if (++values > maxValues) return `body holds over ${maxValues} values: not read as JSON`;
    } else if (b === COMMA) {
      if (++values > maxValues) return `body holds over ${maxValues} values: not read as JSON`;
    } else if (b === CLOSE_SQUARE || b === CLOSE_CURLY) depth--;
  }
  return null;
}

/** The parsed body, or why there is none (not JSON, or too costly to parse here). */
export function bodyJson(bytes: Uint8Array, text: string): { value: unknown } | { problem: string } {
  const problem = parseCostProblem(bytes);
  if (problem !== null) return { problem };
  try {
    return { value: JSON.parse(text) as unknown };
  } catch {
    return { problem: 'body is not JSON' };
  }
}
