// The rate limiter's arithmetic on a clock the test moves: token buckets, debt from records
// charged after the fact, per-key limits over the configured ones, and a client table that
// stays bounded under a spray of addresses.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { addressKey } from '../../src/http/rate-limit/client-address.js';
import { RateLimiter, type RateLimits } from '../../src/http/rate-limit/limiter.js';
import { TokenBucket } from '../../src/http/rate-limit/token-bucket.js';

const OFF: RateLimits = { requestsPerSecond: 0, recordsPerSecond: 0, bytesPerSecond: 0, burst: 2 };

function limiter(limits: Partial<RateLimits>, maxClients = 100): { l: RateLimiter; clock: { t: number } } {
  const clock = { t: 0 };
  const l = new RateLimiter({ limits: { ...OFF, ...limits }, maxClients, now: () => clock.t });
  return { l, clock };
}

describe('token bucket', () => {
  test('refills at its rate up to its capacity, and a charge may go into debt', () => {
    const b = new TokenBucket(10, 20, 0);
    assert.equal(b.level(0), 20);
    b.charge(25, 0);
    assert.equal(b.level(0), -5);
    assert.equal(b.waitMs(1, 0), 600, '6 tokens at 10/s');
    assert.equal(b.level(500), 0);
    assert.equal(b.level(10_000), 20, 'never above capacity');
    assert.equal(b.resetSeconds(10_000), 0);
    b.charge(1, 10_000);
    assert.equal(b.resetSeconds(10_000), 1);
    assert.equal(b.isFull(10_100), true);
  });
});

describe('rate limiter', () => {
  test('admits a burst of rate × burst requests, then refuses with the time until one token is back', () => {
    const { l, clock } = limiter({ requestsPerSecond: 5, burst: 2 });
    const c = { id: 'addr:a' };
    for (let i = 0; i < 10; i++) assert.equal(l.admit(c, 0)?.refused, undefined, `request ${i}`);
    const refused = l.admit(c, 0)!;
    assert.deepEqual(refused.refused, { limit: 'requests', retryAfterSeconds: 1 });
    assert.deepEqual(refused.shown, { limit: 'requests', size: 10, remaining: 0, resetSeconds: 2 });
    clock.t = 199;
    assert.ok(l.admit(c, 0)?.refused, 'less than one token after 199 ms at 5/s');
    clock.t = 200;
    const ok = l.admit(c, 0)!;
    assert.equal(ok.refused, undefined);
    assert.deepEqual(ok.shown, { limit: 'requests', size: 10, remaining: 0, resetSeconds: 2 });
  });

  test('a refused request charges nothing: a client retrying at once cannot dig itself deeper', () => {
    const { l, clock } = limiter({ requestsPerSecond: 1, burst: 1 });
    const c = { id: 'addr:a' };
    assert.equal(l.admit(c, 0)?.refused, undefined);
    for (let i = 0; i < 50; i++) assert.ok(l.admit(c, 0)?.refused);
    clock.t = 1000;
    assert.equal(l.admit(c, 0)?.refused, undefined);
  });

  test('records are charged after the fact: the debt makes the next requests wait it out', () => {
    const { l, clock } = limiter({ recordsPerSecond: 100, burst: 1 });
    const c = { id: 'key:k1' };
    const first = l.admit(c, 0)!;
    assert.equal(first.refused, undefined);
    l.charge(first.client, 350);
    const next = l.admit(c, 0)!;
    assert.deepEqual(next.refused, { limit: 'records', retryAfterSeconds: 3 }, '250 in debt, +1 needed, at 100/s');
    clock.t = 2509;
    assert.ok(l.admit(c, 0)?.refused);
    clock.t = 2510;
    assert.equal(l.admit(c, 0)?.refused, undefined);
  });

  test('declared bytes must fit the bucket (a body larger than the bucket goes through once, into debt)', () => {
    const { l, clock } = limiter({ bytesPerSecond: 1000, burst: 1 });
    const c = { id: 'addr:a' };
    assert.equal(l.admit(c, 600)?.refused, undefined);
    assert.deepEqual(l.admit(c, 600)?.refused, { limit: 'bytes', retryAfterSeconds: 1 }, '400 left, 600 needed');
    clock.t = 200;
    assert.equal(l.admit(c, 600)?.refused, undefined);
    clock.t = 10_000;
    assert.equal(l.admit(c, 5000)?.refused, undefined, 'bigger than the bucket: let through when it is full');
    assert.deepEqual(l.admit(c, 1)?.refused, { limit: 'bytes', retryAfterSeconds: 5 });
  });

  test('a chunked body (size unknown up front) is charged with its records', () => {
    const { l } = limiter({ bytesPerSecond: 1000, burst: 1 });
    const c = { id: 'addr:a' };
    const a = l.admit(c, undefined)!;
    l.charge(a.client, 0, 3000);
    assert.deepEqual(l.admit(c, undefined)?.refused, { limit: 'bytes', retryAfterSeconds: 3 });
  });

  test('clients have their own buckets: one exhausting its limit leaves the others whole', () => {
    const { l } = limiter({ requestsPerSecond: 1, burst: 3 });
    for (let i = 0; i < 3; i++) l.admit({ id: 'addr:noisy' }, 0);
    assert.ok(l.admit({ id: 'addr:noisy' }, 0)?.refused);
    for (let i = 0; i < 3; i++) assert.equal(l.admit({ id: 'addr:quiet' }, 0)?.refused, undefined);
  });

  test("a key's own limits win field by field; none at all means no buckets and no headers", () => {
    const { l } = limiter({ requestsPerSecond: 1, recordsPerSecond: 50, burst: 1 });
    assert.deepEqual(l.limitsOf({ id: 'key:k', limits: { requestsPerSecond: 100 } }), {
      requestsPerSecond: 100,
      recordsPerSecond: 50,
      bytesPerSecond: 0,
      burst: 1,
    });
    for (let i = 0; i < 100; i++)
      assert.equal(l.admit({ id: 'key:k', limits: { requestsPerSecond: 100 } }, 0)?.refused, undefined);
    const unlimited = { id: 'key:free', limits: { requestsPerSecond: 0, recordsPerSecond: 0 } };
    assert.equal(l.admit(unlimited, 0), undefined);
    assert.equal(limiter({}).l.admit({ id: 'addr:a' }, 0), undefined, 'all limits off');
  });

  test('a key whose limits change gets buckets of the new size', () => {
    const { l } = limiter({ requestsPerSecond: 1, burst: 1 });
    l.admit({ id: 'key:k' }, 0);
    assert.ok(l.admit({ id: 'key:k' }, 0)?.refused);
    assert.equal(l.admit({ id: 'key:k', limits: { requestsPerSecond: 10 } }, 0)?.shown.size, 10);
  });

  test('a spray of addresses never holds more than maxClients entries; one not seen lately goes first', () => {
    const { l } = limiter({ requestsPerSecond: 1, burst: 1 }, 100);
    l.admit({ id: 'addr:old' }, 0);
    l.admit({ id: 'addr:kept' }, 0);
    for (let i = 0; i < 10_000; i++) {
      if (i % 50 === 0) l.admit({ id: 'addr:kept' }, 0);
      l.admit({ id: `addr:10.${i >> 16}.${(i >> 8) & 255}.${i & 255}` }, 0);
      assert.ok(l.size <= 100);
    }
    assert.equal(l.size, 100);
    assert.ok(l.admit({ id: 'addr:kept' }, 0)?.refused, 'a client seen recently keeps its (empty) bucket');
    assert.equal(l.admit({ id: 'addr:old' }, 0)?.refused, undefined, 'the oldest was forgotten');
  });

  test('the sweep forgets clients whose buckets have refilled, and only those', () => {
    const { l, clock } = limiter({ requestsPerSecond: 10, burst: 1 });
    for (let i = 0; i < 50; i++) l.admit({ id: `addr:${i}` }, 0);
    clock.t = 50;
    l.admit({ id: 'addr:late' }, 0);
    clock.t = 100;
    assert.equal(l.sweep(), 50, 'a token back in 100 ms at 10/s');
    assert.equal(l.size, 1);
    clock.t = 150;
    assert.equal(l.sweep(), 1);
    assert.equal(l.size, 0);
  });
});

describe('client address', () => {
  test('IPv4 as is; IPv4-mapped IPv6 as IPv4; IPv6 by its /64', () => {
    assert.equal(addressKey('127.0.0.2'), '127.0.0.2');
    assert.equal(addressKey('::ffff:10.1.2.3'), '10.1.2.3');
    assert.equal(addressKey('::1'), '0:0:0:0::/64');
    assert.equal(addressKey('2001:db8:1:2:3:4:5:6'), '2001:db8:1:2::/64');
    assert.equal(addressKey('2001:db8:1:2::6'), '2001:db8:1:2::/64');
    assert.equal(addressKey('2001:0db8::1'), '2001:db8:0:0::/64');
    assert.equal(addressKey('fe80::1%eth0'), 'fe80:0:0:0::/64');
    assert.equal(addressKey('2001:db8:1:2:ffff::'), addressKey('2001:db8:1:2::1'));
  });
});
