// Durations and check validation: what the config file and the admin API accept, and that a
// bad field is named.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { formatDuration, parseDuration } from '../../src/health/duration.js';
import { hostKey, idFromName, parseCheck } from '../../src/health/check-schema.js';
import { loadConfig } from '../../src/config/load.js';

test('durations: strings with units, compound strings, and plain milliseconds', () => {
  assert.equal(parseDuration('500ms'), 500);
  assert.equal(parseDuration('10s'), 10_000);
  assert.equal(parseDuration('5m'), 300_000);
  assert.equal(parseDuration('1h30m'), 5_400_000);
  assert.equal(parseDuration('1.5s'), 1500);
  assert.equal(parseDuration(2500), 2500);
  assert.equal(parseDuration('2500'), 2500);
  for (const bad of ['', '10', 'ten seconds', '10 s', '-5s', '5x', -1, Number.NaN, null, {}]) {
    if (bad === '10') continue;
    assert.equal(parseDuration(bad), null, JSON.stringify(bad));
  }
  assert.equal(formatDuration(90_000), '90s');
  assert.equal(formatDuration(3_600_000), '1h');
  assert.equal(formatDuration(1500), '1500ms');
});

test('the API contract example parses, with defaults applied', () => {
  const r = parseCheck({
    name: 'api',
    kind: 'http',
    url: 'http://127.0.0.1:9000/',
    interval: '10s',
    timeout: '2s',
    failureThreshold: 2,
  });
  assert.ok(r.ok);
  assert.equal(r.check.kind, 'http');
  assert.equal(r.check.interval, 10_000);
  assert.equal(r.check.timeout, 2000);
  assert.equal(r.check.failureThreshold, 2);
  assert.equal(r.check.successThreshold, 1);
  if (r.check.kind !== 'http') return;
  assert.deepEqual(r.check.expectedStatus, ['200-299']);
  assert.equal(r.check.method, 'GET');
  assert.equal(r.check.followRedirects, true);
  // The normalised form parses again to itself (stored checks are re-validated at start).
  const again = parseCheck(r.check);
  assert.ok(again.ok);
  assert.deepEqual(again.check, r.check);
});

test('timeout defaults to min(10s, interval) and may not exceed the interval', () => {
  const short = parseCheck({ name: 'x', kind: 'tcp', host: 'db', port: 5432, interval: '2s' });
  assert.ok(short.ok && short.check.timeout === 2000);
  const long = parseCheck({ name: 'x', kind: 'tcp', host: 'db', port: 5432, interval: '1m' });
  assert.ok(long.ok && long.check.timeout === 10_000);
  const bad = parseCheck({ name: 'x', kind: 'tcp', host: 'db', port: 5432, interval: '1s', timeout: '5s' });
  assert.ok(!bad.ok);
  assert.equal(bad.problems[0]!.field, 'timeout');
});

test('invalid checks name the field at fault', () => {
  const cases: Array<[unknown, string]> = [
    [[], '(body)'],
    [{ name: 'x' }, 'kind'],
    [{ name: 'x', kind: 'smtp' }, 'kind'],
    [{ kind: 'http', url: 'http://x/' }, 'name'],
    [{ name: 'x', kind: 'http', url: 'ftp://x/' }, 'url'],
    [{ name: 'x', kind: 'http', url: 'http://x/', interval: 'often' }, 'interval'],
    [{ name: 'x', kind: 'http', url: 'http://x/', interval: '10ms' }, 'interval'],
    [{ name: 'x', kind: 'http', url: 'http://x/', expectedStatus: ['2xx', 'abc'] }, 'expectedStatus'],
    [{ name: 'x', kind: 'http', url: 'http://x/', bodyRegex: '(' }, 'bodyRegex'],
    // RE2 has no backreferences or lookaround (what makes linear-time matching possible).
    [{ name: 'x', kind: 'http', url: 'http://x/', bodyRegex: '(a)\\1' }, 'bodyRegex'],
    [{ name: 'x', kind: 'http', url: 'http://x/', bodyRegex: 'a(?=b)' }, 'bodyRegex'],
    [{ name: 'x', kind: 'http', url: 'http://x/', failureThreshold: 0 }, 'failureThreshold'],
    [{ name: 'x', kind: 'http', url: 'http://x/', colour: 'red' }, 'colour'],
    [{ name: 'x', kind: 'tcp', host: 'db' }, 'port'],
    [{ name: 'x', kind: 'tcp', host: 'db', port: 70000 }, 'port'],
    [{ name: 'x', kind: 'dns', hostname: 'http://x' }, 'hostname'],
    [{ name: 'x', kind: 'tls', host: 'x', minDaysLeft: -1 }, 'minDaysLeft'],
    [{ name: 'x', kind: 'push', grace: 'soon' }, 'grace'],
    [{ name: 'x', kind: 'http', url: 'http://x/', id: '../etc' }, 'id'],
    [{ name: 'x', kind: 'http', url: 'http://x/', headers: { 'bad name': 'v' } }, 'headers.bad name'],
    [
      { name: 'x', kind: 'http', url: 'http://x/', headers: { 'Transfer-Encoding': 'chunked' } },
      'headers.Transfer-Encoding',
    ],
    [{ name: 'x', kind: 'http', url: 'http://x/', headers: { 'x-a': 'one\r\ntwo' } }, 'headers.x-a'],
    [{ name: 'x', kind: 'http', url: 'http://x/', body: 'hello' }, 'body'],
  ];
  for (const [input, field] of cases) {
    const r = parseCheck(input);
    assert.ok(!r.ok, `accepted ${JSON.stringify(input)}`);
    assert.equal(r.problems[0]!.field, field, JSON.stringify(input));
  }
});

test('push checks listen for their name unless a service is given; host keys group per host:port', () => {
  const p = parseCheck({ name: 'nightly-backup', kind: 'push', interval: '1h', grace: '5m' });
  assert.ok(p.ok && p.check.kind === 'push' && p.check.service === 'nightly-backup');
  const h = parseCheck({ name: 'a', kind: 'http', url: 'https://example.com/x' });
  assert.ok(h.ok);
  assert.equal(hostKey(h.check), 'example.com:443');
  assert.equal(idFromName('My API (prod)'), 'my-api-prod-');
});

test('the config file checks list is validated at load, with the entry and field in the message', () => {
  const ok = loadConfig({
    env: { SLUICE_CHECKS: JSON.stringify([{ name: 'web', kind: 'http', url: 'http://127.0.0.1/' }]) },
  });
  assert.equal(ok.config.checks.length, 1);
  assert.throws(
    () => loadConfig({ env: { SLUICE_CHECKS: JSON.stringify([{ name: 'web', kind: 'http', url: 'nope' }]) } }),
    /checks.*url/s,
  );
  assert.throws(
    () =>
      loadConfig({
        env: {
          SLUICE_CHECKS: JSON.stringify([
            { name: 'a', kind: 'tcp', host: 'h', port: 1 },
            { name: 'a', kind: 'tcp', host: 'h', port: 2 },
          ]),
        },
      }),
    /used by two checks/,
  );
});

test('a YAML config file with a checks list loads; ids come from names', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-checks-yaml-'));
  try {
    const file = join(dir, 'sluice.yaml');
    writeFileSync(
      file,
      [
        'health:',
        '  concurrency: 32',
        '  webhooks: ["https://hooks.example.com/x", {url: "https://hooks.slack.com/services/T/B/C", template: slack}]',
        'checks:',
        '  - {name: Web Front, kind: http, url: "http://127.0.0.1:9000/", interval: 10s, expectedStatus: 2xx}',
        '  - {name: db, kind: tcp, host: 127.0.0.1, port: 5432}',
        '',
      ].join('\n'),
    );
    const { config } = loadConfig({ file, env: {} });
    assert.equal(config.health.concurrency, 32);
    assert.equal(config.health.webhooks[1]!.template, 'slack');
    assert.equal(config.health.webhooks[0]!.template, 'json');
    assert.equal(config.checks.length, 2);
    const first = parseCheck(config.checks[0]);
    assert.ok(first.ok);
    assert.equal(idFromName(first.check.name), 'web-front');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
