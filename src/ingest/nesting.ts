// A linear walk over JSON bytes, outside strings, that says whether a value nests deeper or holds
// more keys and items than a limit, before JSON.parse builds it (a body of 5M nested "[" holds
// the loop for seconds in JSON.parse). Used by the Loki JSON, OTLP/JSON and Elasticsearch _bulk
// decoders, at once for a small value and in steps (overLimitSteps) for a large one. It can also
// count the records of a protocol's fixed shape (`items`), so a body holding more than
// ingest.maxRecordsPerRequest is refused before its values are built (a 10 MiB push of tiny
// entries builds ~10x its size in objects).
import { STEP_WORK, type Steps } from '../steps.js';

export interface JsonCost {
  depth: number;
  /** Keys, array items and nested values, counted together (separators and openings seen). */
  keys: number;
  /**
   * Containers opened directly inside an array at nesting `depth` (the root value opens depth 1),
   * at most `max`: a Loki push's entries (`streams[].values[]`, arrays at depth 5 in arrays at 4),
   * an OTLP/JSON export's log records (objects at depth 7 in `logRecords` arrays at 6).
   */
  items?: { depth: number; max: number };
}

type Over = 'depth' | 'keys' | 'items' | undefined;

/** Where a walk is between two calls: a step may end inside a string or just after a backslash. */
interface WalkState {
  depth: number;
  keys: number;
  inString: boolean;
  escaped: boolean;
  items: number;
  /** The container open at `max.items.depth` is an array. */
  inArray: boolean;
}

function walk(text: Buffer, from: number, to: number, max: JsonCost, s: WalkState): Over {
  let { depth, keys, inString, escaped, items, inArray } = s;
  const itemsDepth = max.items?.depth ?? -1;
  const maxItems = max.items?.max ?? Infinity;
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
      if (depth === itemsDepth) inArray = c === 91;
      else if (depth === itemsDepth + 1 && inArray && ++items > maxItems) return 'items';
    } else if (c === 125 || c === 93) depth--;
    else if (c === 44 || c === 58) {
      if (++keys > max.keys) return 'keys';
    }
  }
  Object.assign(s, { depth, keys, inString, escaped, items, inArray });
  return undefined;
}

function start(): WalkState {
  return { depth: 0, keys: 0, inString: false, escaped: false, items: 0, inArray: false };
}

/** Where `text[from, to)` goes past a limit: 'depth', 'keys', 'items', or undefined when within them. */
export function overLimit(text: Buffer, from: number, to: number, max: JsonCost): Over {
  return walk(text, from, to, max, start());
}

/** overLimit a step (STEP_WORK bytes) at a time. */
export function* overLimitSteps(text: Buffer, from: number, to: number, max: JsonCost): Steps<Over> {
  const s = start();
  for (let a = from; a < to; a += STEP_WORK) {
    const b = Math.min(to, a + STEP_WORK);
    const over = walk(text, a, b, max, s);
    if (over) return over;
    yield b - a;
  }
  return undefined;
}
