// The target rules of health.allowTargets / health.denyTargets: parsing a rule (CIDR, address,
// host pattern, each with an optional port), reading a check's host the way the resolver
// would (decimal, octal and hex IPv4 forms, IPv4-mapped IPv6, trailing dots, any case), and
// matching one against the other. Pure: no I/O, so the policy and the tests share it.

export interface Ip {
  /** IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) are IPv4 here: they reach the IPv4 host. */
  v: 4 | 6;
  n: bigint;
}

export type RuleTarget = { kind: 'cidr'; v: 4 | 6; base: bigint; bits: number } | { kind: 'name'; pattern: string };

export interface Rule {
  /** The rule as written (for messages). */
  text: string;
  target: RuleTarget;
  /** null: every port. */
  port: number | null;
}

export type Host = { kind: 'ip'; ip: Ip } | { kind: 'name'; name: string };

const V4_BITS = 32;
const V6_BITS = 128;
const MAPPED_PREFIX = 0xffffn << 32n;
const NAME_LABEL = /^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$/;

/** A strict IPv4 dotted quad or IPv6 address (brackets and a zone allowed), or null. */
export function parseIp(text: string): Ip | null {
  let s = text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text;
  const zone = s.indexOf('%');
  if (zone >= 0) s = s.slice(0, zone);
  if (s.includes(':')) return parseV6(s);
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (!m) return null;
  let n = 0n;
  for (let i = 1; i <= 4; i++) {
    const b = Number(m[i]);
    if (b > 255 || (m[i]!.length > 1 && m[i]!.startsWith('0'))) return null;
    n = (n << 8n) | BigInt(b);
  }
  return { v: 4, n };
}

function parseV6(s: string): Ip | null {
  const halves = s.split('::');
  if (halves.length > 2) return null;
  const groups = (part: string): bigint[] | null => {
    if (part === '') return [];
    const out: bigint[] = [];
    const items = part.split(':');
    for (const [i, g] of items.entries()) {
      if (i === items.length - 1 && g.includes('.')) {
        const v4 = parseIp(g);
        if (!v4 || v4.v !== 4) return null;
        out.push(v4.n >> 16n, v4.n & 0xffffn);
      } else if (/^[0-9a-f]{1,4}$/i.test(g)) out.push(BigInt(`0x${g}`));
      else return null;
    }
    return out;
  };
  const head = groups(halves[0]!);
  const tail = halves.length === 2 ? groups(halves[1]!) : [];
  if (!head || !tail) return null;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return null;
  let n = 0n;
  for (const g of [...head, ...new Array<bigint>(halves.length === 2 ? missing : 0).fill(0n), ...tail])
    n = (n << 16n) | g;
  if (n >> 32n === MAPPED_PREFIX >> 32n) return { v: 4, n: n & 0xffffffffn };
  return { v: 6, n };
}

/**
 * A host as the resolver reads it: inet_aton's IPv4 forms (1 to 4 parts, each decimal, octal
 * with a leading 0, or hex with 0x: `2852039166`, `0251.0376.0251.0376`, `0xa9fea9fe`), any
 * IPv6 form, or else a name, lower-cased without its trailing dot.
 */
export function parseHost(host: string): Host {
  const direct = parseIp(host);
  if (direct) return { kind: 'ip', ip: direct };
  const s = host.endsWith('.') ? host.slice(0, -1) : host;
  const loose = parseLooseV4(s);
  if (loose !== null) return { kind: 'ip', ip: { v: 4, n: loose } };
  return { kind: 'name', name: s.toLowerCase() };
}

function parseLooseV4(s: string): bigint | null {
  const parts = s.split('.');
  if (parts.length < 1 || parts.length > 4) return null;
  const nums: bigint[] = [];
  for (const p of parts) {
    let n: bigint;
    if (/^0x[0-9a-f]+$/i.test(p)) n = BigInt(p);
    else if (/^0[0-7]*$/.test(p)) n = p.length > 1 ? BigInt(`0o${p.slice(1)}`) : 0n;
    else if (/^[1-9]\d*$/.test(p)) n = BigInt(p);
    else return null;
    nums.push(n);
  }
  const last = nums.pop()!;
  for (const n of nums) if (n > 255n) return null;
  const lastBits = BigInt(8 * (4 - nums.length));
  if (last >= 1n << lastBits) return null;
  let n = 0n;
  for (const x of nums) n = (n << 8n) | x;
  return (n << lastBits) | last;
}

export function formatIp(ip: Ip): string {
  if (ip.v === 4) return [24n, 16n, 8n, 0n].map((s) => String((ip.n >> s) & 0xffn)).join('.');
  const groups: string[] = [];
  for (let s = 112n; s >= 0n; s -= 16n) groups.push(((ip.n >> s) & 0xffffn).toString(16));
  return groups.join(':').replace(/(^|:)0(:0)+(:|$)/, '::');
}

/** A rule from its text, or the problem with it. */
export function parseRule(text: string): Rule | string {
  const raw = text.trim();
  if (raw === '') return 'is empty';
  let body = raw;
  let port: number | null = null;
  const bracket = /^\[([^\]]+)\](?::(\d+))?$/.exec(raw);
  if (bracket) {
    body = bracket[1]!;
    if (bracket[2] !== undefined) port = Number(bracket[2]);
  } else if ((raw.match(/:/g) ?? []).length === 1) {
    const i = raw.lastIndexOf(':');
    if (!/^\d+$/.test(raw.slice(i + 1))) return 'has a port that is not a number';
    port = Number(raw.slice(i + 1));
    body = raw.slice(0, i);
  }
  if (port !== null && (port < 1 || port > 65535)) return 'has a port outside 1–65535';
  const target = parseRuleTarget(body);
  if (typeof target === 'string') return target;
  return { text: raw, target, port };
}

function parseRuleTarget(body: string): RuleTarget | string {
  const slash = body.indexOf('/');
  if (slash >= 0 || parseIp(body)) {
    const ip = parseIp(slash >= 0 ? body.slice(0, slash) : body);
    if (!ip) return 'is not an address or CIDR block (like 10.0.0.0/8 or fd00::/8)';
    const wasV6 = body.includes(':');
    let bits = ip.v === 4 ? V4_BITS : V6_BITS;
    if (slash >= 0) {
      const len = body.slice(slash + 1);
      if (!/^\d{1,3}$/.test(len)) return 'has a prefix length that is not a number';
      bits = Number(len);
      // ::ffff:a.b.c.d/120 is an IPv4 block written in IPv6.
      if (wasV6 && ip.v === 4) bits -= 96;
      if (bits < 0 || bits > (ip.v === 4 ? V4_BITS : V6_BITS)) return 'has a prefix length out of range';
    }
    const total = ip.v === 4 ? V4_BITS : V6_BITS;
    const mask = ((1n << BigInt(bits)) - 1n) << BigInt(total - bits);
    return { kind: 'cidr', v: ip.v, base: ip.n & mask, bits };
  }
  const pattern = (body.endsWith('.') ? body.slice(0, -1) : body).toLowerCase();
  if (pattern === '*') return { kind: 'name', pattern };
  const labels = (pattern.startsWith('*.') ? pattern.slice(2) : pattern).split('.');
  if (!labels.every((l) => NAME_LABEL.test(l)))
    return 'is not a CIDR block, an address or a host pattern (like db.example.com or *.internal)';
  if (parseHost(pattern).kind === 'ip') return 'is an address in a form rules do not take: write it dotted (a.b.c.d)';
  return { kind: 'name', pattern };
}

export function matchesIp(rule: Rule, ip: Ip, port: number): boolean {
  const t = rule.target;
  if (t.kind !== 'cidr' || t.v !== ip.v || (rule.port !== null && rule.port !== port)) return false;
  const total = ip.v === 4 ? V4_BITS : V6_BITS;
  return ip.n >> BigInt(total - t.bits) === t.base >> BigInt(total - t.bits);
}

/** `*.internal` matches every name below `internal` (not `internal` itself); `*` every name. */
export function matchesName(rule: Rule, name: string, port: number): boolean {
  const t = rule.target;
  if (t.kind !== 'name' || (rule.port !== null && rule.port !== port)) return false;
  if (t.pattern === '*') return true;
  if (t.pattern.startsWith('*.')) return name.endsWith(t.pattern.slice(1));
  return name === t.pattern;
}
