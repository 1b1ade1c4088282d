// A linear walk over JSON bytes, outside strings, that says whether a value nests deeper or holds
// more keys and items than a limit, before JSON.parse builds it (a body of 5M nested "[" holds
// the loop for seconds in JSON.parse). Used by the Loki JSON and Elasticsearch _bulk decoders.

export interface JsonCost {
  depth: number;
  /** Keys, array items and nested values, counted together (separators and openings seen). */
  keys: number;
}

/** Where `text[from, to)` goes past a limit: 'depth', 'keys', or undefined when within both. */
export function overLimit(text: Buffer, from: number, to: number, max: JsonCost): 'depth' | 'keys' | undefined {
  let depth = 0;
  let keys = 0;
  let inString = false;
  for (let i = from; i < to; i++) {
    const c = text[i]!;
    if (inString) {
      if (c === 92) i++;
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
  return undefined;
}
