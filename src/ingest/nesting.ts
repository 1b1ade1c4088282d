// A linear walk over JSON bytes, outside strings, that says whether a value nests deeper or holds
// more keys and items than a limit, before JSON.parse builds it (a body of 5M nested "[" holds
// the loop for seconds in JSON.parse). Used by the Loki JSON and Elasticsearch _bulk decoders,
// at once for a small value and in steps (overLimitSteps) for a large one.
import { STEP_WORK, type Steps } from './steps.js';

export interface JsonCost {
  depth: number;
  /** Keys, array items and nested values, counted together (separators and openings seen). */
  keys: number;
}

type Over = 'depth' | 'keys' | undefined;

/** Where a walk is between two calls: a step may end inside a string or just after a backslash. */
interface WalkState {
  depth: number;
  keys: number;
  inString: boolean;
  escaped: boolean;
}

function walk(text: Buffer, from: number, to: number, max: JsonCost, s: WalkState): Over {
  let { depth, keys, inString, escaped } = s;
  for (let i = from; i < to; i++) {
    const c = text[i]!;
    if (escaped) escaped = false;
    else if (inString) {
      if (c === 92) escaped = true;
      else if (c === 34) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 123 || c === 91) {
      if (++depth > max.depth) return 'depth';
      if (++keys > max.keys) return 'keys';
    } else if (c === 125 || c === 93) depth--;
    else if (c === 44 || c === 58) {
      if (++keys > max.keys) return 'keys';
    }
  }
  Object.assign(s, { depth, keys, inString, escaped });
  return undefined;
}

/** Where `text[from, to)` goes past a limit: 'depth', 'keys', or undefined when within both. */
export function overLimit(text: Buffer, from: number, to: number, max: JsonCost): Over {
  return walk(text, from, to, max, { depth: 0, keys: 0, inString: false, escaped: false });
}

/** overLimit a step (STEP_WORK bytes) at a time. */
export function* overLimitSteps(text: Buffer, from: number, to: number, max: JsonCost): Steps<Over> {
  const s: WalkState = { depth: 0, keys: 0, inString: false, escaped: false };
  for (let a = from; a < to; a += STEP_WORK) {
    const b = Math.min(to, a + STEP_WORK);
    const over = walk(text, a, b, max, s);
    if (over) return over;
    yield b - a;
  }
  return undefined;
}
