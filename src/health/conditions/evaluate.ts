// Runs compiled conditions against what one probe run observed. The body is decoded and its
// JSON parsed at most once per run, and only when a condition reads [BODY]; the body is the
// probe's already capped read (1 MiB), and body-json.ts refuses one nested too deep to parse
// quickly.
import { bodyJson } from './body-json.js';
import type { CompiledCondition, Expect, Subject } from './compile.js';
import { globMatches } from './pattern.js';

/** What a probe run observed; absent facts fail the conditions that read them. */
export interface ProbeFacts {
  connected: boolean;
  status?: number;
  responseTimeMs?: number | null;
  body?: Uint8Array;
  /** Epoch ms the peer certificate stops being valid. */
  certValidTo?: number;
  dnsRcode?: string;
  ip?: string | null;
}

export interface ConditionOutcome {
  condition: string;
  ok: boolean;
  /** What was seen: a number, text (cut to MAX_SHOWN characters), true/false, or null when absent. */
  value: unknown;
}

/** Longest text shown as a condition's value in a result. */
export const MAX_SHOWN = 200;
const MISSING = Symbol('missing');
const NOT_JSON = Symbol('not json');

/** One run's facts, with the body decoded and parsed on first use. */
class Seen {
  private text: string | undefined;
  private json: unknown = MISSING;
  /** Why the body has no JSON (shown as the value of a condition on a path in it). */
  jsonProblem: string | undefined;

  constructor(
    readonly facts: ProbeFacts,
    readonly now: number,
  ) {}

  bodyText(): string | typeof MISSING {
    if (this.facts.body === undefined) return MISSING;
    this.text ??= Buffer.from(this.facts.body.buffer, this.facts.body.byteOffset, this.facts.body.length).toString(
      'utf8',
    );
    return this.text;
  }

  bodyJson(): unknown {
    if (this.json !== MISSING) return this.json;
    const text = this.bodyText();
    if (text === MISSING) return (this.json = NOT_JSON);
    const parsed = bodyJson(this.facts.body!, text);
    if ('problem' in parsed) {
      this.jsonProblem = parsed.problem;
      this.json = NOT_JSON;
    } else this.json = parsed.value;
    return this.json;
  }
}

export function evaluateConditions(
  list: readonly CompiledCondition[],
  facts: ProbeFacts,
  now = Date.now(),
): ConditionOutcome[] {
  const seen = new Seen(facts, now);
  return list.map((c) => evaluateOne(c, seen));
}

function evaluateOne(c: CompiledCondition, seen: Seen): ConditionOutcome {
  const v = subjectValue(c.subject, seen);
  const ok = v !== MISSING && holds(v, c.op, c.expect);
  const why = v === MISSING && c.subject.path.length > 0 ? seen.jsonProblem : undefined;
  return { condition: c.text, ok, value: why ?? shown(v) };
}

function subjectValue(s: Subject, seen: Seen): unknown {
  const f = seen.facts;
  switch (s.fact) {
    case 'STATUS':
      return f.status ?? MISSING;
    case 'RESPONSE_TIME':
      return f.responseTimeMs ?? MISSING;
    case 'CERTIFICATE_EXPIRATION':
      return f.certValidTo === undefined ? MISSING : Math.round(f.certValidTo - seen.now);
    case 'DNS_RCODE':
      return f.dnsRcode ?? MISSING;
    case 'CONNECTED':
      return f.connected;
    case 'IP':
      return f.ip ?? MISSING;
    case 'BODY': {
      const v = s.path.length === 0 ? seen.bodyText() : walk(seen.bodyJson(), s.path);
      if (s.type === 'has') return v !== MISSING;
      if (s.type === 'len') return lengthOf(v);
      return v;
    }
  }
}

function walk(root: unknown, path: Subject['path']): unknown {
  if (root === NOT_JSON) return MISSING;
  let v = root;
  for (const step of path) {
    if (typeof step === 'number') {
      if (!Array.isArray(v) || step >= v.length) return MISSING;
      v = v[step] as unknown;
    } else {
      if (typeof v !== 'object' || v === null || Array.isArray(v) || !Object.hasOwn(v, step)) return MISSING;
      v = (v as Record<string, unknown>)[step];
    }
  }
  return v;
}

function lengthOf(v: unknown): number | typeof MISSING {
  if (v === MISSING || v === null) return MISSING;
  if (typeof v === 'string' || Array.isArray(v)) return v.length;
  if (typeof v === 'object') return Object.keys(v).length;
  return String(v).length;
}

function holds(v: unknown, op: CompiledCondition['op'], e: Expect): boolean {
  if (e.kind === 'any') {
    const some = e.items.some((item) => equal(v, item));
    return op === '==' ? some : !some;
  }
  if (op === '==') return equal(v, e);
  if (op === '!=') return !equal(v, e);
  const a = asNumber(v);
  const b = e.kind === 'number' ? e.n : e.kind === 'json' ? Number(e.text) : NaN;
  if (Number.isNaN(a) || Number.isNaN(b)) return false;
  switch (op) {
    case '<':
      return a < b;
    case '<=':
      return a <= b;
    case '>':
      return a > b;
    case '>=':
      return a >= b;
  }
}

function equal(v: unknown, e: Expect): boolean {
  switch (e.kind) {
    case 'number':
      return asNumber(v) === e.n;
    case 'bool':
      return v === e.b;
    case 'text':
      return v === e.s;
    case 'pat':
      return typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean'
        ? globMatches(e.glob, String(v))
        : false;
    case 'any':
      return e.items.some((item) => equal(v, item));
    case 'json':
      if (typeof v === 'string') return v === e.text;
      if (e.quoted) return false;
      if (typeof v === 'number') return e.text.trim() !== '' && v === Number(e.text);
      if (typeof v === 'boolean') return String(v) === e.text;
      if (v === null) return e.text === 'null';
      return false;
  }
}

function asNumber(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && v.trim() !== '') return Number(v);
  return NaN;
}

function shown(v: unknown): unknown {
  if (v === MISSING) return null;
  if (typeof v === 'string') return v.length > MAX_SHOWN ? `${v.slice(0, MAX_SHOWN)}…` : v;
  if (Array.isArray(v)) return `(array of ${v.length})`;
  if (typeof v === 'object' && v !== null) return '(object)';
  return v;
}
