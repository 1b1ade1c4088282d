// Probe name lookups (getaddrinfo cannot be cancelled): lookups of one name share a call, at
// most two run at once, and an abort settles a probe's lookup at once. And runProbe settles
// as soon as its caller aborts, even when the probe underneath would hang for a minute.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import type { CheckDefinition } from '../../src/health/check-schema.js';
import { lookupAll, lookupAllAbortable, lookupStats, probeLookup } from '../../src/health/lookup.js';
import { HttpPools } from '../../src/health/probe-http.js';
import { runProbe } from '../../src/health/probe.js';
import { TargetPolicy } from '../../src/health/target-policy.js';

const once = (hostname: string) =>
  new Promise<string[]>((resolve, reject) =>
    lookupAll(hostname, 0, (err, a) => (err ? reject(err) : resolve(a.map((x) => x.address)))),
  );

test('lookups run two at a time; the rest wait in line and all get their answer', async () => {
  const names = Array.from({ length: 8 }, (_, i) => (i % 2 ? 'localhost' : `n${i}.invalid`));
  const distinct = new Set(names).size;
  const all = names.map((n) =>
    once(n).then(
      (a) => ['ok', a] as const,
      (e: NodeJS.ErrnoException) => ['err', e.code] as const,
    ),
  );
  const s = lookupStats();
  assert.equal(s.running, 2);
  assert.equal(s.running + s.waiting, distinct, 'one lookup per distinct name');
  const results = await Promise.all(all);
  for (const [i, r] of results.entries()) {
    if (names[i] === 'localhost') assert.equal(r[0], 'ok');
    else assert.deepEqual(r, ['err', 'ENOTFOUND'], `${names[i]}: ${String(r[1])}`);
  }
  assert.deepEqual(lookupStats(), { running: 0, waiting: 0 });
});

test('an aborted lookup rejects at once, and one nobody waits for any more never starts', async () => {
  const busy = [once('busy-1.invalid').catch(() => undefined), once('busy-2.invalid').catch(() => undefined)];
  const ac = new AbortController();
  const p = lookupAllAbortable('never.invalid', ac.signal);
  assert.equal(lookupStats().waiting, 1);
  ac.abort(new Error('probe timed out'));
  await assert.rejects(p, /probe timed out/);
  await Promise.all(busy);
  assert.deepEqual(lookupStats(), { running: 0, waiting: 0 });
});

test("a connect's lookup (tcp, tls probes) whose probe was aborted is dropped too, its callback never called", async () => {
  const busy = [once('busy-3.invalid').catch(() => undefined), once('busy-4.invalid').catch(() => undefined)];
  const ac = new AbortController();
  let called = false;
  probeLookup(ac.signal)('never-2.invalid', {}, () => (called = true));
  assert.equal(lookupStats().waiting, 1);
  ac.abort(new Error('probe timed out'));
  await Promise.all(busy);
  assert.deepEqual(lookupStats(), { running: 0, waiting: 0 }, 'never started');
  assert.equal(called, false);
});

test('probeLookup answers as net.connect expects: one address, or all of them, of the family asked for', async () => {
  const lookup = probeLookup();
  const one = await new Promise<[string, number]>((res, rej) =>
    lookup('localhost', { family: 4 }, (err, address, family) => (err ? rej(err) : res([address as string, family!]))),
  );
  assert.deepEqual(one, ['127.0.0.1', 4]);
  const all = await new Promise<Array<{ address: string; family: number }>>((res, rej) =>
    lookup('localhost', { all: true }, ((err: Error | null, addresses: Array<{ address: string; family: number }>) =>
      err ? rej(err) : res(addresses)) as never),
  );
  assert.ok(all.some((a) => a.address === '127.0.0.1'));
  const missing = await new Promise<NodeJS.ErrnoException | null>((res) =>
    lookup('no-such-host.invalid', {}, (err) => res(err)),
  );
  assert.equal(missing?.code, 'ENOTFOUND');
});

test('runProbe settles as soon as its caller aborts, not at the probe timeout', async () => {
  // Never answers; the caller aborts once the probe's request has arrived, mid-probe.
  const ac = new AbortController();
  const server = createServer(() => ac.abort(new Error('check deleted')));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const pools = new HttpPools(4);
  try {
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    const check = {
      kind: 'http',
      name: 'x',
      url,
      method: 'GET',
      timeout: 60_000,
      interval: 60_000,
      expectStatus: ['200-299'],
    } as unknown as CheckDefinition;
    const started = performance.now();
    const r = await runProbe(
      check,
      { http: pools, targets: new TargetPolicy({ allowTargets: [], denyTargets: [] }) },
      ac.signal,
    );
    assert.equal(r.errorClass, 'aborted');
    assert.ok(performance.now() - started < 30_000, 'long before the 60 s timeout');
  } finally {
    await pools.close();
    server.closeAllConnections();
    server.close();
  }
});
