// Groups and tags on checks: what the check schema and channel selectors accept (a bad one named
// by its field), the filter every API uses, and how channels route by them.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadConfig } from '../../src/config/load.js';
import { labelFilterOf, matchesLabels, MAX_TAGS } from '../../src/health/check-labels.js';
import { parseCheck } from '../../src/health/check-schema.js';
import { SluiceError } from '../../src/errors.js';
import { channelMatcher } from '../../src/health/notify/route.js';
import { channelsSchema } from '../../src/health/notify/schema.js';

const base = { name: 'api', kind: 'http', url: 'http://127.0.0.1:9000/' };

test('a check takes a group and tags; both stay absent when not given', () => {
  const r = parseCheck({ ...base, group: 'Payments API', tags: ['prod', 'team:pay', 'tier/1', 'k=v'] });
  assert.ok(r.ok);
  assert.equal(r.check.group, 'Payments API');
  assert.deepEqual(r.check.tags, ['prod', 'team:pay', 'tier/1', 'k=v']);
  const plain = parseCheck(base);
  assert.ok(plain.ok);
  assert.equal('group' in plain.check, false, 'no default: stored checks without labels stay unchanged');
  assert.equal('tags' in plain.check, false);
  for (const kind of ['tcp', 'push'] as const) {
    const other =
      kind === 'tcp'
        ? { name: 't', kind, host: 'db', port: 5432, group: 'db', tags: ['x'] }
        : { name: 'p', kind, group: 'jobs', tags: ['nightly'] };
    const o = parseCheck(other);
    assert.ok(o.ok, kind);
    assert.deepEqual([o.check.group, o.check.tags], [other.group, other.tags]);
  }
});

test('bad groups and tags are refused naming the field (and the tag by position)', () => {
  const problem = (extra: object) => {
    const r = parseCheck({ ...base, ...extra });
    assert.equal(r.ok, false, JSON.stringify(extra));
    return r.ok ? undefined : r.problems[0];
  };
  assert.equal(problem({ group: '' })?.field, 'group');
  assert.equal(problem({ group: ' lead' })?.field, 'group');
  assert.equal(problem({ group: 'x'.repeat(65) })?.field, 'group');
  assert.equal(problem({ group: 'a<b>' })?.field, 'group');
  assert.equal(problem({ group: 7 })?.field, 'group');
  assert.equal(problem({ tags: 'prod' })?.field, 'tags');
  assert.equal(problem({ tags: ['ok', 'has space'] })?.field, 'tags.1');
  assert.equal(problem({ tags: ['ok', ''] })?.field, 'tags.1');
  assert.equal(problem({ tags: ['a', 'b', 'a'] })?.field, 'tags.2');
  assert.match(problem({ tags: ['a', 'b', 'a'] })!.message, /listed twice/);
  const many = Array.from({ length: MAX_TAGS + 1 }, (_, i) => `t${i}`);
  const tooMany = problem({ tags: many });
  assert.equal(tooMany?.field, 'tags');
  assert.match(tooMany!.message, new RegExp(`at most ${MAX_TAGS}`));
  assert.ok(parseCheck({ ...base, tags: many.slice(0, MAX_TAGS) }).ok);
});

test('filters: group exact, every tag required, absent parts match all', () => {
  const pay = { group: 'payments', tags: ['prod', 'critical'] };
  const web = { group: 'web', tags: ['prod'] };
  const none = {};
  const pick = (f: object) =>
    Object.entries({ pay, web, none })
      .filter(([, c]) => matchesLabels(c, f))
      .map(([k]) => k);
  assert.deepEqual(pick({}), ['pay', 'web', 'none']);
  assert.deepEqual(pick({ group: 'payments' }), ['pay']);
  assert.deepEqual(pick({ group: 'Payments' }), [], 'case-sensitive');
  assert.deepEqual(pick({ tags: ['prod'] }), ['pay', 'web']);
  assert.deepEqual(pick({ tags: ['prod', 'critical'] }), ['pay']);
  assert.deepEqual(pick({ group: 'web', tags: ['critical'] }), []);
});

test('a query string becomes a filter; a bad value is a 400 naming the parameter', () => {
  assert.deepEqual(labelFilterOf({}), {});
  assert.deepEqual(labelFilterOf({ group: '', tag: '' }), {});
  assert.deepEqual(labelFilterOf({ group: 'web', tag: 'prod' }), { group: 'web', tags: ['prod'] });
  assert.deepEqual(labelFilterOf({ tag: ['prod', 'critical'] }), { tags: ['prod', 'critical'] });
  const refused = (q: Record<string, unknown>, field: string) =>
    assert.throws(
      () => labelFilterOf(q),
      (e: unknown) => e instanceof SluiceError && e.statusCode === 400 && e.message.includes(field),
      JSON.stringify(q),
    );
  refused({ group: ['a', 'b'] }, 'group');
  refused({ group: '<script>' }, 'group');
  refused({ tag: 'a b' }, 'tag');
  refused({ tag: Array.from({ length: MAX_TAGS + 1 }, (_, i) => `t${i}`) }, 'tag');
});

test('routing: groups and tags selectors; all given selectors must hold; a notify list still wins', () => {
  const payments = channelMatcher({ name: 'payments', checks: undefined, groups: ['payments'], tags: undefined });
  const paging = channelMatcher({ name: 'paging', checks: undefined, groups: undefined, tags: ['critical', 'sev1'] });
  const webCritical = channelMatcher({ name: 'wc', checks: ['web-*'], groups: ['web'], tags: ['critical'] });
  const pay = { id: 'p', name: 'pay-api', group: 'payments', tags: ['critical'] };
  const web = { id: 'w', name: 'web-home', group: 'web', tags: ['prod'] };
  const loose = { id: 'l', name: 'loose' };
  assert.deepEqual([payments(pay), payments(web), payments(loose)], [true, false, false]);
  assert.deepEqual([paging(pay), paging(web), paging(loose)], [true, false, false]);
  assert.equal(webCritical(web), false, 'group and name match but the tag does not');
  assert.equal(webCritical({ ...web, tags: ['critical'] }), true);
  assert.equal(webCritical({ ...web, name: 'www', tags: ['critical'] }), false, 'name pattern still applies');
  assert.equal(payments({ ...pay, notify: ['paging'] }), false, "the check's own list decides");
  assert.equal(paging({ ...web, notify: ['paging'] }), true);
});

test('channel selectors are validated like check labels, named by path', () => {
  const r = channelsSchema.safeParse([
    { name: 'a', kind: 'slack', url: 'http://h/s', groups: ['ok', 'bad group!'] },
    { name: 'b', kind: 'slack', url: 'http://h/s', tags: [] },
  ]);
  assert.equal(r.success, false);
  const paths = r.error!.issues.map((i) => i.path.join('.'));
  assert.ok(paths.includes('0.groups.1'), paths.join(' '));
  assert.ok(paths.includes('1.tags'), paths.join(' '));
  assert.ok(
    channelsSchema.safeParse([{ name: 'a', kind: 'slack', url: 'http://h/s', groups: ['web'], tags: ['x'] }]).success,
  );
});

test('the routing example of docs/health.md loads and routes as the page says', (t) => {
  const md = readFileSync(new URL('../../docs/health.md', import.meta.url), 'utf8');
  const yaml = /\*\*Routing\.\*\*[\s\S]*?```yaml\n([\s\S]*?)```/.exec(md)![1]!;
  const dir = mkdtempSync(join(tmpdir(), 'sluice-route-doc-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'sluice.yaml'), yaml);
  const { config } = loadConfig({ env: {}, file: join(dir, 'sluice.yaml') });
  const channels = config.health.notifications.map((c) => ({ name: c.name, matches: channelMatcher(c) }));
  const heard = (name: string) => {
    const c = (config.checks as Array<{ name: string; group?: string; tags?: string[] }>).find((x) => x.name === name)!;
    return channels.filter((ch) => ch.matches({ id: c.name, ...c })).map((ch) => ch.name);
  };
  assert.deepEqual(heard('pay-api'), ['payments-team', 'pager']);
  assert.deepEqual(heard('web-home'), ['web-team']);
});
