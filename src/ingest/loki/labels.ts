// Parses the label set of a protobuf Loki stream, sent as text in Prometheus' selector form:
// {app="api", env="prod"}. Values are Go-quoted strings; names are Prometheus label names.

const NAME_START = /[a-zA-Z_]/;
const NAME_CHAR = /[a-zA-Z0-9_]/;
// Go's string escapes (strconv.Unquote), which Loki's clients use when they print a label set.
const ESCAPES: Record<string, string> = {
  '"': '"',
  '\\': '\\',
  "'": "'",
  n: '\n',
  t: '\t',
  r: '\r',
  a: '\x07',
  b: '\b',
  f: '\f',
  v: '\v',
};

/** The pairs in order, or a message saying what is wrong (Loki answers it with a 400). */
export function parseLabels(text: string): Array<[string, string]> | string {
  let i = 0;
  const pairs: Array<[string, string]> = [];
  const skip = (): void => {
    while (i < text.length && (text[i] === ' ' || text[i] === '\t' || text[i] === '\n')) i++;
  };
  const bad = (what: string): string => `${what} at position ${i}`;
  skip();
  if (text[i] !== '{') return bad('expected "{"');
  i++;
  skip();
  if (text[i] === '}') {
    i++;
    skip();
    return i === text.length ? pairs : bad('unexpected text after "}"');
  }
  for (;;) {
    skip();
    const start = i;
    if (!NAME_START.test(text[i] ?? '')) return bad('expected a label name');
    while (i < text.length && NAME_CHAR.test(text[i]!)) i++;
    const name = text.slice(start, i);
    skip();
    if (text[i] !== '=') return bad(`expected "=" after label name "${name}"`);
    i++;
    skip();
    if (text[i] !== '"') return bad(`expected a quoted value for label "${name}"`);
    i++;
    let value = '';
    for (;;) {
      if (i >= text.length) return bad(`unterminated value of label "${name}"`);
      const c = text[i++]!;
      if (c === '"') break;
      if (c !== '\\') {
        value += c;
        continue;
      }
      const e = text[i++];
      if (e === undefined) return bad(`unterminated value of label "${name}"`);
      if (e === 'u' || e === 'x') {
        const len = e === 'u' ? 4 : 2;
        const hex = text.slice(i, i + len);
        if (!new RegExp(`^[0-9a-fA-F]{${len}}$`).test(hex)) return bad(`invalid escape in label "${name}"`);
        value += String.fromCharCode(parseInt(hex, 16));
        i += len;
        continue;
      }
      const r = ESCAPES[e];
      if (r === undefined) return bad(`invalid escape "\\${e}" in label "${name}"`);
      value += r;
    }
    pairs.push([name, value]);
    skip();
    if (text[i] === ',') {
      i++;
      skip();
      // A trailing comma before "}" is allowed, as in PromQL.
      if (text[i] !== '}') continue;
    }
    if (text[i] !== '}') return bad('expected "," or "}"');
    i++;
    skip();
    return i === text.length ? pairs : bad('unexpected text after "}"');
  }
}
