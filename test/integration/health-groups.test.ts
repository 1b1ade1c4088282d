// Groups and tags end to end with the file store: bad labels are 400s naming the field, labels
// survive a restart and filter /admin/checks, /api/status and the public status page (one
// section per group), and alerts reach only the channels whose group/tag selectors match —
// checked at local ntfy receivers, one topic per channel.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { App } from '../../src/app.js';
import type { Config } from '../../src/config/schema.js';
import { postJson, startApp, tempDir, testConfig } from '../helpers/app.js';
import { startTarget, type Target } from '../helpers/health-targets.js';
import { startReceivers, type Receivers } from '../helpers/notify-receivers.js';
import { waitFor } from '../helpers/wait-for.js';

type Json = Record<string, unknown>;

describe('check groups and tags', () => {
  const dir = tempDir('sluice-groups-');
  let target: Target;
  let rx: Receivers;
  let app: App;
  let config: Config;
  let failing = false;

  before(async () => {
    target = await startTarget();
    rx = await startReceivers();
    target.set('/flip', () => (failing ? { status: 500, body: 'err' } : { status: 200, body: 'ok' }));
    const topic = (name: string, sel: Json) => ({ name, kind: 'ntfy', url: `${rx.url}/topic-${name}`, ...sel });
    config = testConfig(
      {
        'ingest.ack': 'memory',
        'health.dataDir': join(dir.path, 'health'),
        'health.webhookBaseDelayMs': 20,
        'health.notifications': JSON.stringify([
          topic('payments', { groups: ['payments'] }),
          topic('web', { groups: ['web'] }),
          topic('paging', { tags: ['critical'] }),
          // Both selectors must hold: no web check is critical, so this one hears nothing.
          topic('webcrit', { groups: ['web'], tags: ['critical'] }),
        ]),
      },
      dir.path,
    );
    app = await startApp(config);
  });
  after(async () => {
    await app.stop();
    await target.close();
    await rx.close();
    dir.remove();
  });

  const check = (name: string, extra: Json = {}) => ({
    name,
    kind: 'http',
    url: `${target.url}/flip`,
    interval: '100ms',
    timeout: '90ms',
    failureThreshold: 2,
    ...extra,
  });
  const get = async (path: string) => {
    const res = await fetch(`${app.url}${path}`);
    return { status: res.status, body: (await res.json()) as Json & Json[] };
  };

  test('a bad group or tag is a 400 naming the field, single and in a batch', async () => {
    const one = await postJson(`${app.url}/admin/checks`, check('bad', { group: 'no<html>' }));
    assert.equal(one.status, 400);
    assert.equal(((await one.json()) as Json).field, 'group');
    const batch = await postJson(`${app.url}/admin/checks`, [check('ok'), check('bad', { tags: ['x', 'x y'] })]);
    assert.equal(batch.status, 400);
    const b = (await batch.json()) as Json;
    assert.deepEqual([b.index, b.field], [1, 'tags.1']);
    assert.equal((await get('/admin/checks')).body.length, 0, 'nothing of the batch was written');
    const q = await get('/admin/checks?group=%3Cx%3E');
    assert.equal(q.status, 400);
    assert.equal(q.body.field, 'group');
    assert.equal((await get('/api/status?tag=a%20b')).body.field, 'tag');
  });

  test('labels survive a restart and filter the admin API, /api/status and the status page', async () => {
    const res = await postJson(`${app.url}/admin/checks`, [
      check('pay-api', { group: 'payments', tags: ['prod', 'critical'] }),
      check('web-home', { group: 'web', tags: ['prod'] }),
      check('loose'),
    ]);
    assert.equal(res.status, 200);
    await app.stop();
    app = await startApp(config);

    const names = async (path: string) =>
      ((await get(path)).body as unknown as Array<{ name: string }>).map((c) => c.name).sort();
    assert.deepEqual(await names('/admin/checks'), ['loose', 'pay-api', 'web-home']);
    assert.deepEqual(await names('/admin/checks?group=payments'), ['pay-api']);
    assert.deepEqual(await names('/admin/checks?tag=prod'), ['pay-api', 'web-home']);
    assert.deepEqual(await names('/admin/checks?tag=prod&tag=critical'), ['pay-api']);
    assert.deepEqual(await names('/admin/checks?group=web&tag=critical'), []);
    const pay = (await get('/admin/checks/pay-api')).body;
    assert.deepEqual([pay.group, pay.tags], ['payments', ['prod', 'critical']]);
    // Re-sending the same definitions changes nothing: labels take part in "unchanged".
    const again = await postJson(`${app.url}/admin/checks`, [
      check('pay-api', { group: 'payments', tags: ['prod', 'critical'] }),
    ]);
    assert.equal(((await again.json()) as Json).unchanged, 1);

    const st = (await get('/api/status?group=payments')).body as unknown as { checks: Json[] };
    assert.deepEqual(
      st.checks.map((c) => [c.name, c.group, c.tags]),
      [['pay-api', 'payments', ['prod', 'critical']]],
    );

    const pub = await waitFor('all up on the status page', async () => {
      const s = (await get('/status.json')).body as unknown as { overall: string; checks: Json[] };
      return s.checks.length === 3 && s.checks.every((c) => c.state === 'up') ? s : undefined;
    });
    assert.deepEqual(
      pub.checks.map((c) => [c.name, c.group]),
      [
        ['loose', null],
        ['pay-api', 'payments'],
        ['web-home', 'web'],
      ],
    );
    assert.ok(
      pub.checks.every((c) => !('tags' in c)),
      'tags stay off the public page',
    );
    const web = (await get('/status.json?group=web')).body as unknown as { checks: Json[] };
    assert.deepEqual(
      web.checks.map((c) => c.name),
      ['web-home'],
    );
    const html = await (await fetch(`${app.url}/status`)).text();
    assert.ok(html.indexOf('<h2 class="group">payments</h2>') < html.indexOf('aria-label="pay-api"'));
    assert.ok(html.indexOf('<h2 class="group">web</h2>') < html.indexOf('aria-label="web-home"'));
    assert.ok(html.indexOf('aria-label="loose"') < html.indexOf('<h2 class="group">'), 'ungrouped first');
    assert.doesNotMatch(await (await fetch(`${app.url}/status?group=web`)).text(), /pay-api/);
  });

  test('alerts reach only the channels whose group and tag selectors match the check', async () => {
    failing = true;
    const topic = (t: string) => rx.seen.filter((s) => s.path === `/topic-${t}`);
    await waitFor(
      () => `down alerts: ${JSON.stringify(rx.seen.map((s) => [s.path, s.headers.title]))}`,
      () =>
        topic('payments').some((s) => s.headers.title === 'DOWN: pay-api (was up)') &&
        topic('web').some((s) => s.headers.title === 'DOWN: web-home (was up)') &&
        topic('paging').some((s) => s.headers.title === 'DOWN: pay-api (was up)'),
    );
    // Every check has turned down (so each was routed) before the negatives are asserted.
    for (const id of ['pay-api', 'web-home', 'loose'])
      await waitFor(`${id} down`, async () =>
        (await get(`/admin/checks/${id}`)).body.state === 'down' ? true : undefined,
      );
    const mentions = (t: string) => [...new Set(topic(t).map((s) => /Check: (\S+)/.exec(s.body)?.[1]))];
    assert.deepEqual(mentions('payments'), ['pay-api']);
    assert.deepEqual(mentions('web'), ['web-home']);
    assert.deepEqual(mentions('paging'), ['pay-api']);
    assert.deepEqual(topic('webcrit'), []);
    assert.ok(
      rx.seen.every((s) => !s.body.includes('loose')),
      'a check without labels matched no selector',
    );
    assert.deepEqual(rx.problems, []);
  });
});
