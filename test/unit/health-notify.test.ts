// Notification providers without the network: each provider's payload for a down, a reminder
// and a recovery; routing by a check's notify list and by channel patterns; the channel schema's
// refusals; secrets masked; and reminders on fake time (doubling, stopped by recovery or delete).
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import { pino } from 'pino';
import { loadConfig } from '../../src/config/load.js';
import type { AlertEvent } from '../../src/health/alert-schema.js';
import { Alerter, webhookChannels } from '../../src/health/alerts.js';
import { healthConfig } from '../../src/health/config.js';
import type { Notice, Outgoing } from '../../src/health/notify/message.js';
import { render } from '../../src/health/notify/render.js';
import { channelMatcher, globRegex } from '../../src/health/notify/route.js';
import { channelSchema, channelsSchema, maskChannel, type Channel } from '../../src/health/notify/schema.js';
import { MASK, maskUrl } from '../../src/observability/secrets.js';
import { waitFor } from '../helpers/wait-for.js';

function event(to: AlertEvent['to'], from: AlertEvent['from'] = to === 'up' ? 'down' : 'up'): AlertEvent {
  return {
    check: { id: 'api-1', name: 'api', kind: 'http', target: 'https://api.example.test/health' },
    from,
    to,
    at: '2026-12-02T10:00:00.000Z',
    result: { error_class: 'status', message: 'status 503, expected 200-299', latency_ms: 12, status_code: 503 },
  };
}
const notice = (to: AlertEvent['to'], reminder = 0): Notice => ({ event: event(to), reminder });
const ch = (c: Record<string, unknown>): Channel => channelSchema.parse({ name: 'c', ...c });

function http(o: Outgoing): {
  url: string;
  headers: Record<string, string>;
  json: Record<string, unknown>;
  body: string;
} {
  assert.equal(o.kind, 'http');
  if (o.kind !== 'http') throw new Error('unreachable');
  let json: Record<string, unknown> = {};
  if (o.headers['content-type']?.startsWith('application/json')) json = JSON.parse(o.body) as Record<string, unknown>;
  return { url: o.url, headers: o.headers, json, body: o.body };
}

test('discord: one embed, red on down, green on resolve, fields per fact, no mentions', () => {
  const c = ch({ kind: 'discord', url: 'https://discord.com/api/webhooks/1/tok', username: 'Sluice' });
  const down = http(render(c, notice('down'))).json;
  const e = (down.embeds as Array<Record<string, unknown>>)[0]!;
  assert.equal(down.username, 'Sluice');
  assert.equal(e.title, 'DOWN: api (was up)');
  assert.equal(e.color, 0xe01e5a);
  assert.equal(e.timestamp, '2026-12-02T10:00:00.000Z');
  assert.deepEqual(
    (e.fields as Array<{ name: string }>).map((f) => f.name),
    ['Check', 'State', 'Since', 'Target', 'Reason', 'Status', 'Latency'],
  );
  assert.deepEqual(down.allowed_mentions, { parse: [] });
  const up = (http(render(c, notice('up'))).json.embeds as Array<Record<string, unknown>>)[0]!;
  assert.equal(up.title, 'RESOLVED: api is UP (was down)');
  assert.equal(up.color, 0x2eb67d);
});

test('teams: a message with an Adaptive Card attachment (title block and FactSet)', () => {
  const j = http(render(ch({ kind: 'teams', url: 'https://x.webhook.office.com/w' }), notice('degraded'))).json;
  assert.equal(j.type, 'message');
  const a = (j.attachments as Array<Record<string, unknown>>)[0]!;
  assert.equal(a.contentType, 'application/vnd.microsoft.card.adaptive');
  const card = a.content as { type: string; version: string; body: Array<Record<string, unknown>> };
  assert.equal(card.type, 'AdaptiveCard');
  assert.equal(card.body[0]!.text, 'DEGRADED: api (was up)');
  assert.equal(card.body[0]!.color, 'Warning');
  assert.deepEqual((card.body[1]!.facts as Array<{ title: string; value: string }>)[0], {
    title: 'Check',
    value: 'api',
  });
});

test('telegram: POST <apiUrl>/bot<token>/sendMessage with chat_id and plain text', () => {
  const c = ch({ kind: 'telegram', botToken: '123:ABC', chatId: 42, apiUrl: 'http://127.0.0.1:9/' });
  const r = http(render(c, notice('down', 2)));
  assert.equal(r.url, 'http://127.0.0.1:9/bot123:ABC/sendMessage');
  assert.equal(r.json.chat_id, '42');
  assert.equal(r.json.parse_mode, undefined);
  assert.match(r.json.text as string, /^STILL DOWN: api \(reminder 2\)\nCheck: api\n/);
  assert.equal(
    http(render(ch({ kind: 'telegram', botToken: '1:x', chatId: '@ops' }), notice('up'))).url.startsWith(
      'https://api.telegram.org/bot1:x/',
    ),
    true,
  );
});

test('pagerduty: trigger with payload on down, warning on degraded, resolve with the same dedup_key', () => {
  const c = ch({ kind: 'pagerduty', routingKey: 'rk', eventsUrl: 'http://127.0.0.1:9/v2/enqueue' });
  const t = http(render(c, notice('down'))).json;
  assert.equal(t.event_action, 'trigger');
  assert.equal(t.routing_key, 'rk');
  const p = t.payload as Record<string, unknown>;
  assert.equal(p.severity, 'critical');
  assert.equal(p.source, 'https://api.example.test/health');
  assert.equal(p.summary, 'DOWN: api (was up)');
  assert.equal((http(render(c, notice('degraded'))).json.payload as Record<string, unknown>).severity, 'warning');
  const r = http(render(c, notice('up'))).json;
  assert.deepEqual(r, { routing_key: 'rk', dedup_key: t.dedup_key, event_action: 'resolve' });
  assert.equal(
    http(render(ch({ kind: 'pagerduty', routingKey: 'rk' }), notice('up'))).url,
    'https://events.pagerduty.com/v2/enqueue',
  );
});

test('opsgenie: create at /v2/alerts with alias and GenieKey, close by alias', () => {
  const c = ch({ kind: 'opsgenie', apiKey: 'k1', apiUrl: 'https://api.eu.opsgenie.com' });
  const create = http(render(c, notice('down')));
  assert.equal(create.url, 'https://api.eu.opsgenie.com/v2/alerts');
  assert.equal(create.headers.authorization, 'GenieKey k1');
  assert.equal(create.json.alias, 'sluice-check-api-1');
  assert.equal(create.json.priority, 'P3');
  assert.ok((create.json.message as string).length <= 130);
  const close = http(render(c, notice('up')));
  assert.equal(close.url, 'https://api.eu.opsgenie.com/v2/alerts/sluice-check-api-1/close?identifierType=alias');
  assert.equal(close.headers.authorization, 'GenieKey k1');
});

test('ntfy: text body, Title/Priority/Tags headers, bearer token; Latin-1-safe title', () => {
  const c = ch({ kind: 'ntfy', url: 'https://ntfy.sh/ops', token: 'tk_1', priority: 5 });
  const d = http(render(c, notice('down')));
  assert.equal(d.url, 'https://ntfy.sh/ops');
  assert.equal(d.headers.title, 'DOWN: api (was up)');
  assert.equal(d.headers.priority, '5');
  assert.equal(d.headers.tags, 'rotating_light,sluice');
  assert.equal(d.headers.authorization, 'Bearer tk_1');
  assert.match(d.body, /^Check: api\nState: up → down\n/);
  const u = http(render(c, notice('up')));
  assert.equal(u.headers.priority, '3');
  assert.equal(u.headers.tags, 'white_check_mark,sluice');
  const odd = render(c, { event: { ...event('down'), check: { ...event('down').check, name: 'api ✓' } }, reminder: 0 });
  assert.equal(http(odd).headers.title, 'DOWN: api ? (was up)');
});

test('email: subject is the title, text has the facts; webhook and slack keep their shapes, reminders marked', () => {
  const m = render(ch({ kind: 'email', host: 'smtp', from: 'a@b.c', to: 'd@e.f' }), notice('down'));
  assert.equal(m.kind, 'mail');
  if (m.kind === 'mail') {
    assert.equal(m.subject, 'DOWN: api (was up)');
    assert.match(m.text, /Reason: status 503, expected 200-299/);
  }
  const w = http(render(ch({ kind: 'webhook', url: 'http://h/x', headers: { 'x-k': 'v' } }), notice('down', 1)));
  assert.equal(w.json.event, 'check.state_changed');
  assert.equal(w.json.reminder, 1);
  assert.equal(w.headers['x-k'], 'v');
  assert.equal(http(render(ch({ kind: 'webhook', url: 'http://h/x' }), notice('down'))).json.reminder, undefined);
  assert.match(
    http(render(ch({ kind: 'slack', url: 'http://h/s' }), notice('down', 3))).json.text as string,
    /still DOWN .*reminder 3/,
  );
});

test('routing: a check naming channels gets those only; otherwise channel patterns (none = all)', () => {
  const all = channelMatcher({ name: 'all', checks: undefined });
  const api = channelMatcher({ name: 'api', checks: ['api-*', 'db?'] });
  assert.equal(all({ id: 'x', name: 'x' }), true);
  assert.equal(api({ id: 'x', name: 'api-gw' }), true);
  assert.equal(api({ id: 'db1', name: 'primary' }), true, 'matched by id');
  assert.equal(api({ id: 'x', name: 'db12' }), false);
  assert.equal(all({ id: 'x', name: 'x', notify: ['api'] }), false);
  assert.equal(api({ id: 'x', name: 'other', notify: ['api'] }), true);
  assert.equal(globRegex('a.b*').test('aXb'), false, 'dots are literal');
});

test('glob patterns: any literal text matches itself only; "*" around it matches any text containing it', () => {
  fc.assert(
    fc.property(
      fc.string({ maxLength: 30 }).filter((s) => !/[*?]/.test(s)),
      fc.string({ maxLength: 10 }),
      (lit, other) => {
        assert.equal(globRegex(lit).test(lit), true);
        if (other !== '') assert.equal(globRegex(lit).test(lit + other), false);
        assert.equal(globRegex(`*${lit}*`).test(`${other}${lit}${other}`), true);
      },
    ),
  );
});

test('schema: unknown kind, bad fields and duplicate names are refused with their path', () => {
  const bad = (v: unknown) => channelsSchema.safeParse(v);
  const r1 = bad([{ name: 'x', kind: 'sms', url: 'http://h' }]);
  assert.equal(r1.success, false);
  const r2 = bad([{ name: 'x', kind: 'telegram', botToken: 'nope', chatId: 1 }]);
  assert.deepEqual(r2.error?.issues[0]?.path, [0, 'botToken']);
  const r3 = bad([{ name: 'x', kind: 'ntfy', url: 'http://h/t', renotifyAfter: '10ms' }]);
  assert.deepEqual(r3.error?.issues[0]?.path, [0, 'renotifyAfter']);
  const r4 = bad([
    { name: 'x', kind: 'slack', url: 'http://h/1' },
    { name: 'x', kind: 'slack', url: 'http://h/2' },
  ]);
  assert.deepEqual(r4.error?.issues[0]?.path, [1, 'name']);
  assert.equal(ch({ kind: 'ntfy', url: 'http://h/t', renotifyAfter: '30m' }).renotifyAfter, 1_800_000);
  // health.webhooks keeps working beside health.notifications, as channels of every check.
  const h = healthConfig.parse({ webhooks: ['http://h/a', { url: 'http://h/b', template: 'slack' }] });
  assert.deepEqual(
    webhookChannels(h.webhooks).map((c) => `${c.name}:${c.kind}`),
    ['webhook-1:webhook', 'webhook-2:slack'],
  );
  assert.deepEqual(h.notifications, []);
});

test('masking keeps name, kind and routing, hides tokens, keys, passwords and webhook paths', () => {
  const m = (c: Record<string, unknown>) => maskChannel(ch(c), maskUrl, MASK);
  assert.equal(m({ kind: 'telegram', botToken: '1:x', chatId: 1 }).botToken, MASK);
  assert.equal(m({ kind: 'pagerduty', routingKey: 'rk' }).routingKey, MASK);
  assert.equal(m({ kind: 'opsgenie', apiKey: 'k' }).apiKey, MASK);
  assert.equal(
    m({ kind: 'slack', url: 'https://hooks.slack.com/services/T/B/C' }).url,
    `https://hooks.slack.com/${MASK}`,
  );
  assert.deepEqual(m({ kind: 'webhook', url: 'http://h/x', headers: { authorization: 'Bearer s' } }).headers, {
    authorization: MASK,
  });
  const e = m({
    kind: 'email',
    host: 'smtp',
    from: 'a@b.c',
    to: 'd@e.f',
    auth: { user: 'u', pass: 'p' },
    checks: ['a*'],
  });
  assert.deepEqual(e.auth, { user: 'u', pass: MASK });
  assert.deepEqual(e.checks, ['a*']);
  assert.equal(
    m({ kind: 'ntfy', url: 'https://ntfy.sh/ops?auth=abc' }).url,
    `https://ntfy.sh/ops?auth=${encodeURIComponent(MASK)}`,
  );
});

test('reminders while down double their spacing and stop on recovery or delete', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const seen: Array<{ to: string; reminder: unknown; check: string }> = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const j = JSON.parse(body) as { to: string; reminder?: number; check: { id: string } };
      seen.push({ to: j.to, reminder: j.reminder, check: j.check.id });
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  const a = new Alerter({
    channels: [ch({ kind: 'webhook', url, renotifyAfter: '1s' })],
    retries: 0,
    baseDelayMs: 10,
    timeoutMs: 5000,
    logger: pino({ level: 'silent' }),
  });
  const idle = () => a.stats().lanes === 0;
  a.notify(event('down'));
  await waitFor('the down alert', () => seen.length === 1 && idle());
  // A reminder starts its request synchronously when its timer fires: lanes tell exactly when.
  t.mock.timers.tick(999);
  assert.ok(idle());
  t.mock.timers.tick(1);
  assert.equal(a.stats().lanes, 1);
  await waitFor('reminder 1', () => seen.length === 2 && idle());
  t.mock.timers.tick(1999);
  assert.ok(idle(), 'the second reminder waits twice as long');
  t.mock.timers.tick(1);
  await waitFor('reminder 2', () => seen.length === 3 && idle());
  assert.deepEqual(
    seen.map((s) => s.reminder),
    [undefined, 1, 2],
  );
  a.notify(event('up'));
  await waitFor('the resolve', () => seen.length === 4 && idle());
  t.mock.timers.tick(10 * 86_400_000);
  assert.ok(idle(), 'no reminder after recovery');
  // A deleted check's reminders go with it.
  a.notify({ ...event('down'), check: { ...event('down').check, id: 'gone' } });
  await waitFor('down of gone', () => seen.length === 5 && idle());
  a.forget('gone');
  t.mock.timers.tick(10 * 86_400_000);
  assert.ok(idle(), 'no reminder after delete');
  assert.equal(seen.at(-1)!.to, 'down');
  await a.stop();
  server.close();
});

test('the notifications example of docs/health.md is a valid config file', (t) => {
  const md = readFileSync(new URL('../../docs/health.md', import.meta.url), 'utf8');
  const yaml = /## Notifications[\s\S]*?```yaml\n([\s\S]*?)```/.exec(md)![1]!;
  const dir = mkdtempSync(join(tmpdir(), 'sluice-notify-doc-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'sluice.yaml');
  writeFileSync(file, yaml);
  const { config } = loadConfig({ env: {}, file });
  assert.deepEqual(
    config.health.notifications.map((c) => c.kind),
    ['webhook', 'slack', 'discord', 'teams', 'telegram', 'pagerduty', 'opsgenie', 'ntfy', 'email'],
  );
  const checks = config.checks as Array<{ name: string; notify?: string[] }>;
  assert.deepEqual(checks.find((c) => c.name === 'nightly-backup')?.notify, ['mail', 'phone']);
});
