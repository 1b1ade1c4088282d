// Properties of the target rules (fast-check, beside the fuzz suite): no input makes the
// parsers throw; every spelling of an IPv4 address reads as that address; a CIDR rule matches
// exactly the addresses sharing its prefix; no spelling of a link-local address gets past the
// default policy.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { matchesIp, parseHost, parseIp, parseRule } from '../../src/health/target-match.js';
import { TargetPolicy } from '../../src/health/target-policy.js';

const RUNS = { numRuns: 500 };
const u32 = fc.integer({ min: 0, max: 0xffffffff });

function octets(n: number): number[] {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255];
}

const part = (x: number, style: number): string =>
  style === 0 ? String(x) : style === 1 ? `0x${x.toString(16)}` : x === 0 ? '0' : `0${x.toString(8)}`;

/** One of the spellings getaddrinfo (inet_aton) and the URL parser accept for `n`. */
function spelling(n: number, parts: number, styles: number[], upper: boolean, dot: boolean, mapped: boolean): string {
  const o = octets(n);
  let s: string;
  if (mapped) s = `[::ffff:${o.join('.')}]`;
  else {
    const nums = parts === 1 ? [n] : parts === 2 ? [o[0]!, n & 0xffffff] : parts === 3 ? [o[0]!, o[1]!, n & 0xffff] : o;
    s = nums.map((x, i) => part(x, styles[i] ?? 0)).join('.');
    if (dot) s += '.';
  }
  return upper ? s.toUpperCase() : s;
}

const anySpelling = (n: fc.Arbitrary<number>) =>
  fc.tuple(
    n,
    fc.integer({ min: 1, max: 4 }),
    fc.array(fc.integer({ min: 0, max: 2 }), { minLength: 4, maxLength: 4 }),
    fc.boolean(),
    fc.boolean(),
    fc.boolean(),
  );

test('the parsers never throw, whatever the text', () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 80 }), (s) => {
      parseRule(s);
      parseHost(s);
      parseIp(s);
    }),
    RUNS,
  );
});

test('every spelling of an IPv4 address reads as that address', () => {
  fc.assert(
    fc.property(anySpelling(u32), ([n, parts, styles, upper, dot, mapped]) => {
      const h = parseHost(spelling(n, parts, styles, upper, dot, mapped));
      assert.equal(h.kind, 'ip');
      assert.deepEqual(h.kind === 'ip' && h.ip, { v: 4, n: BigInt(n) });
    }),
    RUNS,
  );
});

test('a CIDR rule matches exactly the addresses that share its prefix', () => {
  fc.assert(
    fc.property(u32, u32, fc.integer({ min: 0, max: 32 }), (base, addr, bits) => {
      const r = parseRule(`${octets(base).join('.')}/${bits}`);
      assert.ok(typeof r !== 'string');
      const same = bits === 0 || base >>> (32 - bits) === addr >>> (32 - bits);
      assert.equal(matchesIp(r, parseIp(octets(addr).join('.'))!, 80), same);
    }),
    RUNS,
  );
});

test('no spelling of a link-local address gets past the default policy', () => {
  const policy = new TargetPolicy({ allowTargets: [], denyTargets: [] });
  const linkLocal = fc.integer({ min: 0, max: 0xffff }).map((low) => (0xa9fe0000 + low) >>> 0);
  fc.assert(
    fc.property(anySpelling(linkLocal), fc.integer({ min: 1, max: 65535 }), ([n, p, s, u, d, m], port) => {
      const host = spelling(n, p, s, u, d, m);
      assert.ok(policy.checkHost(host, port), `${host} was allowed`);
    }),
    RUNS,
  );
});
