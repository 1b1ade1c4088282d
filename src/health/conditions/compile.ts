// A parsed condition checked against what a check's kind can observe, and turned into the
// form evaluate.ts runs: each literal read once, as the type its placeholder has (a status as
// a number, "72h" as milliseconds, NOERROR as an rcode), so a mistake is a 400 at creation
// rather than a check that can never pass.
import { isIP } from 'node:net';
import { parseDuration } from '../duration.js';
import { compileGlob, type Glob } from './pattern.js';
import { ConditionError, parseCondition, type FactName, type Operand, type Operator, type PathStep } from './parse.js';

/** The probe kinds conditions apply to (a push check is not probed). */
export type ProbedKind = 'http' | 'tcp' | 'dns' | 'tls';

/** What each kind's probe reports. */
const FACTS_OF: Record<ProbedKind, readonly FactName[]> = {
  http: ['STATUS', 'RESPONSE_TIME', 'BODY', 'CONNECTED', 'CERTIFICATE_EXPIRATION'],
  tcp: ['RESPONSE_TIME', 'CONNECTED', 'IP'],
  dns: ['RESPONSE_TIME', 'DNS_RCODE', 'IP', 'CONNECTED'],
  tls: ['RESPONSE_TIME', 'CERTIFICATE_EXPIRATION', 'CONNECTED'],
};

export const RCODES = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED'] as const;

type ValueType = 'number' | 'duration' | 'bool' | 'rcode' | 'ip' | 'json';

const TYPE_OF: Record<FactName, ValueType> = {
  STATUS: 'number',
  RESPONSE_TIME: 'duration',
  BODY: 'json',
  CERTIFICATE_EXPIRATION: 'duration',
  DNS_RCODE: 'rcode',
  CONNECTED: 'bool',
  IP: 'ip',
};

export type Expect =
  | { kind: 'number'; n: number }
  | { kind: 'bool'; b: boolean }
  | { kind: 'text'; s: string }
  /** A [BODY] value: compared as what the JSON holds at run time (number, string, boolean, null). */
  | { kind: 'json'; text: string; quoted: boolean }
  | { kind: 'any'; items: Expect[] }
  | { kind: 'pat'; glob: Glob };

export interface Subject {
  type: 'fact' | 'len' | 'has';
  fact: FactName;
  path: PathStep[];
}

export interface CompiledCondition {
  text: string;
  subject: Subject;
  op: Operator;
  expect: Expect;
}

const FLIP: Record<Operator, Operator> = { '==': '==', '!=': '!=', '<': '>', '>': '<', '<=': '>=', '>=': '<=' };

/** Parses and checks one condition for a check of `kind`; throws only ConditionError. */
export function compileCondition(text: string, kind: ProbedKind): CompiledCondition {
  const tree = parseCondition(text);
  let { left, right, op } = tree;
  const isSubject = (o: Operand): boolean => o.type === 'fact' || o.type === 'len' || o.type === 'has';
  if (!isSubject(left) && isSubject(right)) {
    [left, right] = [right, left];
    op = FLIP[op];
  }
  if (!isSubject(left))
    throw new ConditionError(left.pos, 'a condition compares a placeholder such as [STATUS] with a value');
  if (isSubject(right))
    throw new ConditionError(right.pos, 'compare a placeholder with a value, not with another placeholder');
  const subject = left as Extract<Operand, { type: 'fact' | 'len' | 'has' }>;
  if (!FACTS_OF[kind].includes(subject.fact)) throw new ConditionError(subject.pos, unavailable(subject.fact, kind));
  const type: ValueType = subject.type === 'len' ? 'number' : subject.type === 'has' ? 'bool' : TYPE_OF[subject.fact];
  if ((subject.type === 'len' || subject.type === 'has') && subject.fact !== 'BODY')
    throw new ConditionError(subject.pos, `${subject.type}() takes [BODY] or a path in it, like [BODY].items`);
  const ordering = op !== '==' && op !== '!=';
  const value = right as Exclude<Operand, { type: 'fact' | 'len' | 'has' }>;
  if (ordering && (value.type === 'any' || value.type === 'pat'))
    throw new ConditionError(value.pos, `${value.type}() works with == and != only`);
  if (ordering && !['number', 'duration', 'json'].includes(type))
    throw new ConditionError(tree.opPos, `${op} compares numbers; ${describe(subject)} is ${typeWord(type)}`);
  let expect: Expect;
  if (value.type === 'pat') {
    if (type === 'bool')
      throw new ConditionError(value.pos, `pat() matches text; ${describe(subject)} is true or false`);
    expect = { kind: 'pat', glob: compileGlob(value.glob) };
  } else if (value.type === 'any') {
    expect = { kind: 'any', items: value.values.map((v) => literal(v, type, subject)) };
  } else {
    expect = literal(value, type, subject);
    if (ordering && type === 'json' && Number.isNaN(Number(value.text)))
      throw new ConditionError(value.pos, `${op} compares numbers; ${JSON.stringify(value.text)} is not a number`);
  }
  return {
    text,
    subject: { type: subject.type, fact: subject.fact, path: subject.path },
    op,
    expect,
  };
}

function literal(v: { text: string; quoted: boolean; pos: number }, type: ValueType, subject: Subject): Expect {
  const bad = (what: string): never => {
    throw new ConditionError(v.pos, `${describe(subject)} is ${what}; ${JSON.stringify(v.text)} is not`);
  };
  switch (type) {
    case 'number': {
      const n = v.text.trim() === '' ? NaN : Number(v.text);
      return Number.isFinite(n) ? { kind: 'number', n } : bad('a number');
    }
    case 'duration': {
      const ms = parseDuration(v.text);
      return ms === null ? bad('a duration: milliseconds, or like 300ms, 2s, 72h') : { kind: 'number', n: ms };
    }
    case 'bool': {
      const t = v.text.toLowerCase();
      return t === 'true' || t === 'false' ? { kind: 'bool', b: t === 'true' } : bad('true or false');
    }
    case 'rcode': {
      const t = v.text.toUpperCase();
      return (RCODES as readonly string[]).includes(t) ? { kind: 'text', s: t } : bad(`one of ${RCODES.join(', ')}`);
    }
    case 'ip':
      return isIP(v.text) !== 0 ? { kind: 'text', s: v.text } : bad('an IP address');
    case 'json':
      return { kind: 'json', text: v.text, quoted: v.quoted };
  }
}

function unavailable(fact: FactName, kind: ProbedKind): string {
  const where = (Object.keys(FACTS_OF) as ProbedKind[]).filter((k) => FACTS_OF[k].includes(fact));
  return `[${fact}] is not known to a ${kind} check (it is for ${where.join(', ')}); a ${kind} check has ${FACTS_OF[kind].map((f) => `[${f}]`).join(' ')}`;
}

function describe(s: Subject): string {
  const path = s.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${p}`)).join('');
  const ref = `[${s.fact}]${path}`;
  return s.type === 'fact' ? ref : `${s.type}(${ref})`;
}

function typeWord(t: ValueType): string {
  return t === 'bool' ? 'true or false' : t === 'rcode' ? 'a DNS response code' : t === 'ip' ? 'an address' : 'text';
}
