// The target rules and policy: addresses in every form the resolver takes, CIDR and host
// pattern matching, ports, allow lifting deny of its own kind, and the collector's own port.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  formatIp,
  matchesIp,
  matchesName,
  parseHost,
  parseIp,
  parseRule,
  type Rule,
} from '../../src/health/target-match.js';
import { TargetPolicy } from '../../src/health/target-policy.js';

function rule(text: string): Rule {
  const r = parseRule(text);
  if (typeof r === 'string') throw new Error(`${text}: ${r}`);
  return r;
}

function hostIp(host: string): string {
  const h = parseHost(host);
  assert.equal(h.kind, 'ip', `${host} reads as an address`);
  return h.kind === 'ip' ? formatIp(h.ip) : '';
}

describe('reading hosts', () => {
  test('every IPv4 form of the metadata address reads as 169.254.169.254', () => {
    for (const form of [
      '169.254.169.254',
      '2852039166', // decimal
      '0xa9fea9fe', // hex
      '0XA9FEA9FE',
      '0251.0376.0251.0376', // octal
      '0xa9.0xfe.0xa9.0xfe',
      '169.254.43518', // a.b.c16
      '169.16689662', // a.b24
      '169.254.169.254.', // trailing dot
      '[::ffff:169.254.169.254]',
      '::ffff:a9fe:a9fe',
      '::FFFF:169.254.169.254',
    ])
      assert.equal(hostIp(form), '169.254.169.254', form);
  });

  test('IPv6 forms read as one address; zones are dropped', () => {
    assert.equal(hostIp('fd00:ec2::254'), 'fd00:ec2::254');
    assert.equal(hostIp('FD00:EC2:0:0:0:0:0:254'), 'fd00:ec2::254');
    assert.equal(hostIp('[::1]'), '::1');
    assert.equal(hostIp('fe80::1%eth0'), 'fe80::1');
  });

  test('names are lower-cased without their trailing dot; numbers out of range are names', () => {
    assert.deepEqual(parseHost('Metadata.Google.Internal.'), { kind: 'name', name: 'metadata.google.internal' });
    assert.equal(parseHost('256.1.1.1').kind, 'name');
    assert.equal(parseHost('08.1.1.1').kind, 'name', '08 is not octal');
    assert.equal(parseHost('4294967296').kind, 'name', 'past 32 bits');
    assert.equal(parseHost('1.2.3.4.5').kind, 'name');
  });

  test('strict parse: what a resolver returns', () => {
    assert.equal(parseIp('2852039166'), null);
    assert.equal(parseIp('01.2.3.4'), null);
    assert.equal(parseIp('1:2:3:4:5:6:7:8:9'), null);
    assert.equal(parseIp('1::2::3'), null);
    assert.deepEqual(parseIp('10.0.0.1'), { v: 4, n: 0x0a000001n });
  });
});

describe('rules', () => {
  test('CIDR blocks match their addresses, IPv4-mapped ones included', () => {
    const r = rule('169.254.0.0/16');
    assert.ok(matchesIp(r, parseIp('169.254.1.2')!, 80));
    assert.ok(matchesIp(r, parseIp('::ffff:169.254.1.2')!, 80));
    assert.ok(!matchesIp(r, parseIp('169.255.0.1')!, 80));
    assert.ok(!matchesIp(r, parseIp('fe80::1')!, 80), 'an IPv4 rule never matches IPv6');
    const v6 = rule('fe80::/10');
    assert.ok(matchesIp(v6, parseIp('febf::1')!, 1));
    assert.ok(!matchesIp(v6, parseIp('fec0::1')!, 1));
    assert.ok(matchesIp(rule('::ffff:10.0.0.0/104'), parseIp('10.9.9.9')!, 1), 'an IPv4 block written in IPv6');
    assert.ok(matchesIp(rule('0.0.0.0/0'), parseIp('8.8.8.8')!, 1));
  });

  test('a port narrows a rule to that port', () => {
    const r = rule('127.0.0.1:5432');
    assert.ok(matchesIp(r, parseIp('127.0.0.1')!, 5432));
    assert.ok(!matchesIp(r, parseIp('127.0.0.1')!, 5433));
    assert.equal(rule('[::1]:22').port, 22);
    assert.equal(rule('::1').port, null, 'colons of IPv6 are not a port');
    assert.ok(matchesName(rule('*.internal:8080'), 'a.internal', 8080));
    assert.ok(!matchesName(rule('*.internal:8080'), 'a.internal', 80));
  });

  test('host patterns: exact names, *.suffix below it, * for all; any case, trailing dot', () => {
    assert.ok(matchesName(rule('Metadata.Google.Internal.'), 'metadata.google.internal', 80));
    const star = rule('*.internal');
    assert.ok(matchesName(star, 'db.internal', 80));
    assert.ok(matchesName(star, 'a.b.internal', 80));
    assert.ok(!matchesName(star, 'internal', 80));
    assert.ok(!matchesName(star, 'xinternal', 80));
    assert.ok(matchesName(rule('*'), 'anything.example', 1));
  });

  test('bad rules are refused with the reason', () => {
    for (const [text, why] of [
      ['10.0.0.0/33', /prefix length out of range/],
      ['10.0.0.0/x', /prefix length that is not a number/],
      ['300.1.1.1/8', /not an address or CIDR/],
      ['db.example:http', /port that is not a number/],
      ['127.0.0.1:70000', /port outside/],
      ['a b', /not a CIDR block, an address or a host pattern/],
      ['2852039166', /form rules do not take/],
      ['', /empty/],
    ] as const)
      assert.match(String(parseRule(text)), why, text);
  });
});

describe('policy', () => {
  const none = { allowTargets: [], denyTargets: [] };

  test('the built-in list denies metadata, link-local and unspecified; loopback and private stay allowed', () => {
    const p = new TargetPolicy(none);
    assert.match(p.checkHost('169.254.169.254', 80)!.rule, /169\.254\.169\.254 \(cloud metadata\)/);
    assert.match(p.checkHost('2852039166', 80)!.target, /2852039166 \(169\.254\.169\.254\)/);
    assert.match(p.checkHost('[::ffff:169.254.169.254]', 80)!.rule, /cloud metadata/);
    assert.match(p.checkHost('fd00:ec2::254', 80)!.rule, /cloud metadata/);
    assert.match(p.checkHost('100.100.100.200', 80)!.rule, /cloud metadata/);
    assert.match(p.checkHost('METADATA.google.internal.', 80)!.rule, /metadata\.google\.internal/);
    assert.match(p.checkHost('169.254.1.1', 80)!.rule, /link-local/);
    assert.match(p.checkHost('fe80::1', 80)!.rule, /link-local/);
    assert.match(p.checkHost('0.0.0.0', 80)!.rule, /unspecified/);
    assert.match(p.checkHost('::', 80)!.rule, /unspecified/);
    for (const ok of ['127.0.0.1', 'localhost', '::1', '10.1.2.3', '192.168.0.1', 'db.example.com'])
      assert.equal(p.checkHost(ok, 5432), null, ok);
  });

  test('denyTargets adds to the built-in list', () => {
    const p = new TargetPolicy({ allowTargets: [], denyTargets: ['127.0.0.0/8', '*.internal', '10.0.0.5:22'] });
    assert.match(p.checkHost('127.0.0.2', 80)!.rule, /health\.denyTargets rule 127\.0\.0\.0\/8/);
    assert.match(p.checkHost('0x7f000001', 80)!.rule, /127\.0\.0\.0\/8/);
    assert.match(p.checkHost('vault.Internal', 80)!.rule, /\*\.internal/);
    assert.ok(p.checkHost('10.0.0.5', 22));
    assert.equal(p.checkHost('10.0.0.5', 80), null);
    assert.ok(p.checkHost('169.254.169.254', 80), 'the built-in list still applies');
  });

  test('allow wins over deny of its own kind, never across kinds', () => {
    const p = new TargetPolicy({
      allowTargets: ['10.1.2.3', '169.254.10.0/24:80', 'ok.internal'],
      denyTargets: ['10.0.0.0/8', '*.internal'],
    });
    assert.equal(p.checkHost('10.1.2.3', 443), null, 'an address allowed out of a denied block');
    assert.ok(p.checkHost('10.1.2.4', 443));
    assert.equal(p.checkHost('169.254.10.7', 80), null, 'a built-in rule lifted on one port');
    assert.ok(p.checkHost('169.254.10.7', 81));
    assert.equal(p.checkHost('ok.internal', 80), null);
    // An allowed name is still checked on the address it resolves to.
    assert.ok(p.checkAddress('10.9.9.9', 80));
    assert.ok(p.checkHost('other.internal', 80));
  });

  test("the collector's own port on any local address is denied, whatever allowTargets says", () => {
    const p = new TargetPolicy({ allowTargets: ['0.0.0.0/0', '::/0', '*'], denyTargets: [] }, [8080]);
    for (const h of [
      '127.0.0.1',
      '127.9.9.9',
      '::1',
      '0.0.0.0',
      '::',
      'localhost',
      'x.localhost',
      '[::ffff:127.0.0.1]',
    ])
      assert.match(p.checkHost(h, 8080)?.rule ?? 'allowed', /own listener \(port 8080/, h);
    assert.equal(p.checkHost('127.0.0.1', 8081), null);
    p.addListenerPort(9090);
    assert.ok(p.checkAddress('127.0.0.1', 9090), 'a port learnt after listen');
  });
});
