// Every notification provider end to end: a real check in a running collector, flipped down and
// up by its local target, alerts each provider's local receiver in that provider's protocol
// (HTTP receivers asserting the documented paths and payloads, a real SMTP server for e-mail),
// re-notifies while down, resolves on recovery, and routes by the check's notify list or the
// channel's check patterns.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { App } from '../../src/app.js';
import { maskSecrets } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import { postJson, startApp, tempDir, testConfig } from '../helpers/app.js';
import { startTarget, type Target } from '../helpers/health-targets.js';
import {
  BOT_TOKEN,
  GENIE_KEY,
  startReceivers,
  startSmtp,
  type Receivers,
  type SmtpReceiver,
} from '../helpers/notify-receivers.js';
import { waitFor } from '../helpers/wait-for.js';

type Json = Record<string, unknown>;

describe('notification providers against local receivers', () => {
  const dir = tempDir('sluice-notify-');
  let target: Target;
  let rx: Receivers;
  let smtp: SmtpReceiver;
  let app: App;
  let config: Config;
  const auth = { authorization: 'Bearer admin-token-123' };
  let failing = false;

  before(async () => {
    target = await startTarget();
    rx = await startReceivers();
    smtp = await startSmtp('alerts@example.test', 'smtp-S3CRET');
    target.set('/flip', () => (failing ? { status: 500, body: 'err' } : { status: 200, body: 'ok' }));
    const only = ['flip*'];
    const channels = [
      {
        name: 'hook',
        kind: 'webhook',
        url: `${rx.url}/hook`,
        headers: { authorization: 'Bearer hook-S3CRET' },
        checks: only,
      },
      { name: 'slack', kind: 'slack', url: `${rx.url}/slack`, checks: only },
      { name: 'discord', kind: 'discord', url: `${rx.url}/api/webhooks/42/discord-S3CRET`, checks: only },
      { name: 'teams', kind: 'teams', url: `${rx.url}/teams`, checks: only },
      { name: 'telegram', kind: 'telegram', botToken: BOT_TOKEN, chatId: -100200, apiUrl: rx.url, checks: only },
      {
        name: 'pd',
        kind: 'pagerduty',
        routingKey: 'R0UTING-S3CRET',
        eventsUrl: `${rx.url}/v2/enqueue`,
        checks: only,
        renotifyAfter: '1s',
      },
      { name: 'genie', kind: 'opsgenie', apiKey: GENIE_KEY, apiUrl: rx.url, priority: 'P2', checks: only },
      { name: 'ntfy', kind: 'ntfy', url: `${rx.url}/topic-ops`, token: 'tk_S3CRET', checks: only, renotifyAfter: '1s' },
      {
        name: 'mail',
        kind: 'email',
        host: '127.0.0.1',
        port: smtp.port,
        secure: false,
        auth: { user: 'alerts@example.test', pass: 'smtp-S3CRET' },
        from: 'Sluice <sluice@example.test>',
        to: ['oncall@example.test', 'ops@example.test'],
        checks: only,
      },
    ];
    config = testConfig(
      {
        'ingest.ack': 'memory',
        'health.dataDir': join(dir.path, 'health'),
        'auth.adminTokens': 'admin-token-123',
        'health.notifications': JSON.stringify(channels),
        'health.webhookBaseDelayMs': 20,
      },
      dir.path,
    );
    app = await startApp(config);
  });
  after(async () => {
    await app.stop();
    await target.close();
    await rx.close();
    await smtp.close();
    dir.remove();
  });

  const of = (provider: string) => rx.seen.filter((s) => s.provider === provider);
  const state = async (id: string) =>
    ((await (await fetch(`${app.url}/admin/checks/${id}`, { headers: auth })).json()) as Json).state;

  async function addCheck(id: string, extra: Json = {}): Promise<void> {
    const body = {
      id,
      name: id,
      kind: 'http',
      url: `${target.url}/flip`,
      interval: '100ms',
      timeout: '90ms',
      failureThreshold: 2,
      ...extra,
    };
    const res = await postJson(`${app.url}/admin/checks`, body, auth);
    assert.equal(res.status, 201, await res.text());
  }

  test('down, reminders while down, and resolve reach every provider in its own protocol', async () => {
    await addCheck('flip-api');
    // Routing: named by its own list, this check goes to telegram only; the other matches no pattern.
    await addCheck('quiet', { notify: ['telegram'] });
    await addCheck('other');
    await waitFor('up', async () => (await state('flip-api')) === 'up' && (await state('other')) === 'up');
    failing = true;
    await waitFor('down', async () => (await state('flip-api')) === 'down' && (await state('other')) === 'down');
    const providers = ['webhook', 'slack', 'discord', 'teams', 'telegram', 'pagerduty', 'opsgenie', 'ntfy'];
    await waitFor(
      () =>
        `down alerts: ${JSON.stringify(rx.seen.map((s) => s.provider))} mails ${smtp.mails.length} problems ${rx.problems.join('; ')}`,
      () => providers.every((p) => of(p).length >= 1) && smtp.mails.length >= 1,
    );
    // Two reminders (1 s, then 2 s later) on the channels that ask for them, none elsewhere.
    await waitFor(
      () => `reminders: ntfy ${of('ntfy').length}, pagerduty ${of('pagerduty').length}`,
      () => of('ntfy').length >= 3 && of('pagerduty').length >= 3,
      10_000,
    );
    failing = false;
    await waitFor('up again', async () => (await state('flip-api')) === 'up');
    await waitFor(
      () => `resolves: ${JSON.stringify(rx.seen.map((s) => s.provider))}`,
      () =>
        of('pagerduty').some((s) => s.json!.event_action === 'resolve') &&
        of('opsgenie').some((s) => s.path.includes('/close')) &&
        of('discord').length >= 2 &&
        of('teams').length >= 2 &&
        of('slack').length >= 2 &&
        of('webhook').length >= 2 &&
        of('ntfy').some((s) => s.headers.tags === 'white_check_mark,sluice') &&
        smtp.mails.length >= 2,
    );
    assert.deepEqual(rx.problems, []);

    // Routing: 'quiet' reached telegram only, 'other' reached nobody.
    const mentions = (s: { body: string }, name: string) => s.body.includes(name);
    assert.ok(of('telegram').some((s) => mentions(s, 'quiet')));
    assert.ok(rx.seen.filter((s) => s.provider !== 'telegram').every((s) => !mentions(s, 'quiet')));
    assert.ok(rx.seen.every((s) => !mentions(s, 'other')));
    assert.ok(smtp.mails.every((m) => !m.raw.includes('other') && !m.raw.includes('quiet')));

    // PagerDuty: trigger(s) then resolve, one dedup_key for the check.
    const pd = of('pagerduty').map((s) => s.json!);
    assert.equal(pd[0]!.event_action, 'trigger');
    assert.equal(pd[0]!.routing_key, 'R0UTING-S3CRET');
    assert.equal((pd[0]!.payload as Json).severity, 'critical');
    assert.match((pd[1]!.payload as Json).summary as string, /STILL DOWN: flip-api \(reminder 1\)/);
    assert.equal(pd.at(-1)!.event_action, 'resolve');
    assert.equal(new Set(pd.map((e) => e.dedup_key)).size, 1);

    // Opsgenie: create with the alias, close by that alias.
    const genie = of('opsgenie');
    const alias = genie[0]!.json!.alias as string;
    assert.equal(genie[0]!.path, '/v2/alerts');
    assert.equal(genie[0]!.json!.priority, 'P2');
    assert.equal(genie.at(-1)!.path, `/v2/alerts/${encodeURIComponent(alias)}/close?identifierType=alias`);

    // Telegram, ntfy, Discord, Teams, webhook.
    const tg = of('telegram').filter((s) => mentions(s, 'flip-api'));
    assert.equal(tg[0]!.json!.chat_id, '-100200');
    assert.match(tg[0]!.json!.text as string, /^DOWN: flip-api \(was up\)\nCheck: flip-api\n/);
    assert.match(tg.at(-1)!.json!.text as string, /^RESOLVED: flip-api is UP \(was down\)/);
    const ntfy = of('ntfy');
    assert.equal(ntfy[0]!.headers.title, 'DOWN: flip-api (was up)');
    assert.equal(ntfy[0]!.headers.priority, '4');
    assert.equal(ntfy[0]!.headers.authorization, 'Bearer tk_S3CRET');
    assert.match(ntfy[0]!.body, /Status: 500/);
    const embed = (of('discord')[1]!.json!.embeds as Json[])[0]!;
    assert.match(embed.title as string, /^RESOLVED: flip-api is UP/);
    const card = ((of('teams')[0]!.json!.attachments as Json[])[0]!.content as Json).body as Json[];
    assert.equal(card[0]!.text, 'DOWN: flip-api (was up)');
    assert.equal(card[1]!.type, 'FactSet');
    const hook = of('webhook');
    assert.equal(hook[0]!.headers.authorization, 'Bearer hook-S3CRET');
    assert.deepEqual(
      hook.map((h) => `${h.json!.from as string}>${h.json!.to as string}`),
      ['up>down', 'down>up'],
    );

    // E-mail: authenticated, to both addresses, subject and body per event.
    const [down, up] = [smtp.mails[0]!, smtp.mails.at(-1)!];
    assert.equal(down.user, 'alerts@example.test');
    assert.equal(down.from, 'sluice@example.test');
    assert.deepEqual(down.to, ['oncall@example.test', 'ops@example.test']);
    assert.match(down.raw, /^Subject: DOWN: flip-api \(was up\)\r?$/m);
    assert.match(down.raw, /^Check: flip-api\r?$/m);
    assert.match(up.raw, /^Subject: RESOLVED: flip-api is UP \(was down\)\r?$/m);
  });

  test('config print masks tokens, keys, passwords and webhook paths but keeps names and routing', () => {
    const printed = JSON.stringify(maskSecrets(config));
    for (const secret of [
      'hook-S3CRET',
      'discord-S3CRET',
      'R0UTING-S3CRET',
      'tk_S3CRET',
      'smtp-S3CRET',
      GENIE_KEY,
      BOT_TOKEN,
    ])
      assert.ok(!printed.includes(secret), `${secret} printed`);
    const masked = (maskSecrets(config).health as { notifications: Json[] }).notifications;
    assert.deepEqual(
      masked.map((c) => `${c.name as string}:${c.kind as string}`),
      [
        'hook:webhook',
        'slack:slack',
        'discord:discord',
        'teams:teams',
        'telegram:telegram',
        'pd:pagerduty',
        'genie:opsgenie',
        'ntfy:ntfy',
        'mail:email',
      ],
    );
    assert.deepEqual(masked[0]!.checks, ['flip*']);
    assert.equal((masked[8]!.auth as Json).user, 'alerts@example.test');
  });
});
