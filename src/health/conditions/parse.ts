// The condition grammar (Gatus's, made strict): one condition's text → its syntax tree, or a
// problem naming the character where it went wrong. A hand-written scanner, not a regex or
// eval: the language is tiny, every step consumes input, and the work is bounded by the
// length cap, so no text can stall it.
//
//   condition := operand OP operand            OP: == != < <= > >=
//   operand   := fact | len(fact) | has(fact) | any(value, ...) | pat(glob) | value
//   fact      := [NAME] path                   path (after [BODY] only): .key or [index], repeated
//   value     := "quoted string" | word        a word runs to a space, ( ) [ ] , " or an operator

export const FACTS = [
  'STATUS',
  'RESPONSE_TIME',
  'BODY',
  'CERTIFICATE_EXPIRATION',
  'DNS_RCODE',
  'CONNECTED',
  'IP',
] as const;
export type FactName = (typeof FACTS)[number];

export const OPERATORS = ['==', '!=', '<=', '>=', '<', '>'] as const;
export type Operator = (typeof OPERATORS)[number];

/** Longest text of one condition; bounds the scan and the tree. */
export const MAX_CONDITION_LENGTH = 500;
/** Most steps in a [BODY] path and values in one any(). */
export const MAX_PATH_STEPS = 32;
export const MAX_ANY_VALUES = 50;

export type PathStep = string | number;

export interface FactRef {
  fact: FactName;
  path: PathStep[];
}

export type Operand =
  | ({ type: 'fact'; pos: number } & FactRef)
  | ({ type: 'len' | 'has'; pos: number } & FactRef)
  | { type: 'value'; text: string; quoted: boolean; pos: number }
  | { type: 'any'; values: { text: string; quoted: boolean; pos: number }[]; pos: number }
  | { type: 'pat'; glob: string; pos: number };

export interface ConditionTree {
  left: Operand;
  op: Operator;
  opPos: number;
  right: Operand;
}

/** A problem with a condition; `position` counts characters from 1. */
export class ConditionError extends Error {
  constructor(
    readonly position: number,
    readonly reason: string,
  ) {
    super(`at character ${position}: ${reason}`);
    this.name = 'ConditionError';
  }
}

const WORD_STOP = new Set([' ', '\t', '\n', '\r', '(', ')', '[', ']', ',', '"', '=', '!', '<', '>']);
const KEY_STOP = new Set([...WORD_STOP, '.']);

/** Parses one condition; throws only ConditionError. */
export function parseCondition(text: string): ConditionTree {
  if (text.length > MAX_CONDITION_LENGTH)
    throw new ConditionError(MAX_CONDITION_LENGTH + 1, `a condition is at most ${MAX_CONDITION_LENGTH} characters`);
  const p = new Scanner(text);
  p.skipSpace();
  if (p.done()) throw new ConditionError(1, 'empty condition: write e.g. "[STATUS] == 200"');
  const left = p.operand();
  p.skipSpace();
  const opPos = p.i;
  const op = p.operator();
  p.skipSpace();
  if (p.done()) throw new ConditionError(p.i + 1, `a value is missing after ${op}`);
  const right = p.operand();
  p.skipSpace();
  if (!p.done())
    throw new ConditionError(
      p.i + 1,
      `unexpected ${JSON.stringify(text.slice(p.i, p.i + 10))} after the condition (quote a value with spaces: "like this")`,
    );
  return { left, op, opPos: opPos + 1, right };
}

class Scanner {
  i = 0;
  constructor(private readonly s: string) {}

  done(): boolean {
    return this.i >= this.s.length;
  }

  skipSpace(): void {
    while (!this.done() && /\s/.test(this.s[this.i]!)) this.i++;
  }

  private fail(reason: string, at = this.i): never {
    throw new ConditionError(at + 1, reason);
  }

  private expect(ch: string, what: string): void {
    if (this.s[this.i] !== ch) this.fail(`expected "${ch}" ${what}${this.done() ? ', found the end' : ''}`);
    this.i++;
  }

  operator(): Operator {
    for (const op of OPERATORS) {
      if (this.s.startsWith(op, this.i)) {
        this.i += op.length;
        return op;
      }
    }
    if (this.s[this.i] === '=') this.fail('use "==" to compare, not "="');
    this.fail(`expected an operator (${OPERATORS.join(' ')})${this.done() ? ', found the end' : ''}`);
  }

  operand(): Operand {
    const pos = this.i + 1;
    const c = this.s[this.i];
    if (c === '[') return { type: 'fact', pos, ...this.fact() };
    if (c === '"') return { type: 'value', text: this.quoted(), quoted: true, pos };
    const word = this.word();
    if (word === '') this.fail(`expected a [PLACEHOLDER], a function or a value, found ${JSON.stringify(c)}`);
    if (this.s[this.i] !== '(') return { type: 'value', text: word, quoted: false, pos };
    const fn = word.toLowerCase();
    this.i++;
    this.skipSpace();
    let out: Operand;
    if (fn === 'len' || fn === 'has') {
      if (this.s[this.i] !== '[') this.fail(`${fn}() takes a placeholder such as [BODY].items`);
      out = { type: fn, pos, ...this.fact() };
    } else if (fn === 'any') out = { type: 'any', values: this.anyValues(), pos };
    else if (fn === 'pat') out = { type: 'pat', glob: this.patArgument(), pos };
    else this.fail(`unknown function ${JSON.stringify(word)}: use len(), has(), any() or pat()`, pos - 1);
    this.skipSpace();
    this.expect(')', `to close ${fn}(`);
    return out;
  }

  private fact(): FactRef {
    const start = this.i;
    this.i++;
    const close = this.s.indexOf(']', this.i);
    if (close < 0) this.fail('"[" is not closed: placeholders look like [STATUS]', start);
    const name = this.s.slice(this.i, close).trim().toUpperCase();
    if (!(FACTS as readonly string[]).includes(name))
      this.fail(
        `unknown placeholder [${this.s.slice(this.i, Math.min(close, this.i + 40))}]: use one of ${FACTS.map((f) => `[${f}]`).join(' ')}`,
        start,
      );
    this.i = close + 1;
    const path = this.path();
    if (path.length > 0 && name !== 'BODY') this.fail(`only [BODY] takes a path like .key or [0]`, start);
    return { fact: name as FactName, path };
  }

  private path(): PathStep[] {
    const steps: PathStep[] = [];
    for (;;) {
      const c = this.s[this.i];
      if (c !== '.' && c !== '[') return steps;
      if (steps.length >= MAX_PATH_STEPS) this.fail(`a [BODY] path has at most ${MAX_PATH_STEPS} steps`);
      if (c === '.') {
        this.i++;
        const start = this.i;
        while (!this.done() && !KEY_STOP.has(this.s[this.i]!)) this.i++;
        if (this.i === start) this.fail('expected a key name after "."');
        steps.push(this.s.slice(start, this.i));
      } else {
        const start = this.i;
        this.i++;
        const m = /^\d{1,9}/.exec(this.s.slice(this.i, this.i + 10));
        if (!m) this.fail('expected an array index like [0]');
        this.i += m[0].length;
        if (this.s[this.i] !== ']') this.fail('"[" is not closed: array indexes look like [0]', start);
        this.i++;
        steps.push(Number(m[0]));
      }
    }
  }

  private anyValues(): { text: string; quoted: boolean; pos: number }[] {
    const values: { text: string; quoted: boolean; pos: number }[] = [];
    for (;;) {
      this.skipSpace();
      const pos = this.i + 1;
      if (values.length >= MAX_ANY_VALUES) this.fail(`any() takes at most ${MAX_ANY_VALUES} values`);
      if (this.s[this.i] === '"') values.push({ text: this.quoted(), quoted: true, pos });
      else {
        const text = this.word();
        if (text === '') this.fail('any() takes values separated by commas, like any(200, 204)');
        values.push({ text, quoted: false, pos });
      }
      this.skipSpace();
      if (this.s[this.i] !== ',') return values;
      this.i++;
    }
  }

  /** A quoted glob, or everything up to the closing parenthesis (so a glob may hold spaces). */
  private patArgument(): string {
    if (this.s[this.i] === '"') return this.quoted();
    const close = this.s.indexOf(')', this.i);
    if (close < 0) this.fail('pat( is not closed');
    const glob = this.s.slice(this.i, close).trim();
    if (glob === '') this.fail('pat() needs a pattern, like pat(abc*)');
    this.i = close;
    return glob;
  }

  private word(): string {
    const start = this.i;
    while (!this.done() && !WORD_STOP.has(this.s[this.i]!)) this.i++;
    return this.s.slice(start, this.i);
  }

  /** A JSON-style string: \" and \\ escape; other escapes are kept as written. */
  private quoted(): string {
    const start = this.i;
    this.i++;
    let out = '';
    while (!this.done()) {
      const c = this.s[this.i]!;
      if (c === '"') {
        this.i++;
        return out;
      }
      if (c === '\\' && (this.s[this.i + 1] === '"' || this.s[this.i + 1] === '\\')) {
        out += this.s[this.i + 1];
        this.i += 2;
      } else {
        out += c;
        this.i++;
      }
    }
    this.fail('the quoted value is not closed', start);
  }
}
