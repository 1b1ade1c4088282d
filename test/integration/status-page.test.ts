// The public status page, its JSON and badges honour statusPage.* (only the chosen checks, or
// nothing when disabled); the UI's bucketed history and static assets answer as documented.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { App } from '../../src/app.js';
import { postJson, startApp, tempDir, testConfig } from '../helpers/app.js';
import { waitFor } from '../helpers/wait-for.js';

const cleanups: Array<() => Promise<void> | void> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

async function appWith(over: Record<string, string | number | boolean>): Promise<App> {
  const dir = tempDir();
  const app = await startApp(testConfig({ 'health.dataDir': `${dir.path}/health`, ...over }, dir.path));
  cleanups.push(dir.remove, () => app.stop());
  return app;
}

let target: Server;
let targetUrl: string;
before(async () => {
  target = createServer((_req, res) => res.end('ok'));
  await new Promise<void>((r) => target.listen(0, '127.0.0.1', r));
  targetUrl = `http://127.0.0.1:${(target.address() as AddressInfo).port}/`;
  cleanups.push(() => new Promise<void>((r) => target.close(() => r())));
});

async function addCheck(app: App, name: string): Promise<string> {
  const res = await postJson(`${app.url}/admin/checks`, {
    name,
    kind: 'http',
    url: `${targetUrl}${encodeURIComponent(name)}`,
    interval: '200ms',
    timeout: '150ms',
  });
  assert.equal(res.status, 201);
  return ((await res.json()) as { id: string }).id;
}

describe('public status page', () => {
  test('shows only the checks statusPage.checks names, without their definitions', async () => {
    const app = await appWith({ 'statusPage.checks': 'storefront', 'statusPage.title': 'Acme status' });
    await addCheck(app, 'storefront');
    await addCheck(app, 'internal-db');
    const status = await waitFor('storefront up', async () => {
      const s = (await (await fetch(`${app.url}/status.json`)).json()) as {
        title: string;
        overall: string;
        checks: Array<Record<string, unknown>>;
      };
      return s.checks[0]?.state === 'up' ? s : undefined;
    });
    assert.equal(status.title, 'Acme status');
    assert.deepEqual(
      status.checks.map((c) => c.name),
      ['storefront'],
    );
    assert.equal(status.overall, 'up');
    assert.equal((status.checks[0]!.days as unknown[]).length, 90);
    assert.ok(!JSON.stringify(status).includes(targetUrl), 'no check URL leaves through the public JSON');

    const html = await fetch(`${app.url}/status`);
    assert.equal(html.status, 200);
    assert.match(html.headers.get('content-type') ?? '', /^text\/html/);
    const page = await html.text();
    assert.match(page, /Acme status/);
    assert.match(page, /storefront/);
    assert.doesNotMatch(page, /internal-db/);

    const shown = await fetch(`${app.url}/badge/storefront/status.svg`);
    assert.equal(shown.status, 200);
    assert.match(shown.headers.get('content-type') ?? '', /^image\/svg\+xml/);
    assert.match(await shown.text(), /storefront: up/);
    const hidden = await fetch(`${app.url}/badge/internal-db/status.svg`);
    assert.equal(hidden.status, 404, 'a check left off the status page has no badge');
    assert.match(await hidden.text(), /not found/);
    const bad = await fetch(`${app.url}/badge/storefront/uptime.svg?window=1y`);
    assert.equal(bad.status, 400);
    assert.equal(((await bad.json()) as { field: string }).field, 'window');
  });

  test('answers 404 everywhere when statusPage.enabled is false', async () => {
    const app = await appWith({ 'statusPage.enabled': false });
    await addCheck(app, 'storefront');
    for (const path of ['/status', '/status.json', '/badge/storefront/status.svg', '/badge/storefront/uptime.svg']) {
      assert.equal((await fetch(`${app.url}${path}`)).status, 404, path);
    }
  });
});

describe('UI routes', () => {
  test('bucketed history: 24 hours or 90 days of counts, 400 for another bucket, 404 for an unknown check', async () => {
    const app = await appWith({});
    const id = await addCheck(app, 'bars');
    const hours = await waitFor('results in the current hour', async () => {
      const h = (await (await fetch(`${app.url}/api/checks/${id}/history?bucket=hour`)).json()) as {
        items: Array<{ up: number; total: number }>;
      };
      return h.items.at(-1)!.total >= 2 ? h : undefined;
    });
    assert.equal(hours.items.length, 24);
    assert.equal(hours.items.at(-1)!.up, hours.items.at(-1)!.total, 'every result against a healthy target is up');
    const days = (await (await fetch(`${app.url}/api/checks/${id}/history?bucket=day`)).json()) as { items: unknown[] };
    assert.equal(days.items.length, 90);
    const bad = await fetch(`${app.url}/api/checks/${id}/history?bucket=week`);
    assert.equal(bad.status, 400);
    assert.equal(((await bad.json()) as { field: string }).field, 'bucket');
    assert.equal((await fetch(`${app.url}/api/checks/nope/history`)).status, 404);
  });

  test('serves index.html no-cache and hashed assets immutable, gzipped when asked', async () => {
    // The suite runs from source: build the bundle the server reads at start.
    execFileSync(process.execPath, ['scripts/build-web.mjs'], { stdio: 'ignore' });
    const app = await appWith({});
    const index = await fetch(`${app.url}/`);
    assert.equal(index.status, 200);
    assert.equal(index.headers.get('cache-control'), 'no-cache');
    const html = await index.text();
    const js = /src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    assert.ok(js, 'index.html names a hashed script');
    const asset = await fetch(`${app.url}${js}`, { headers: { 'accept-encoding': 'gzip' } });
    assert.equal(asset.status, 200);
    assert.match(asset.headers.get('cache-control') ?? '', /immutable/);
    assert.match(asset.headers.get('content-type') ?? '', /javascript/);
    const etag = asset.headers.get('etag');
    assert.ok(etag);
    assert.equal((await fetch(`${app.url}${js}`, { headers: { 'if-none-match': etag } })).status, 304);
    assert.equal((await fetch(`${app.url}/assets/missing-AAAA.js`)).status, 404);
  });
});
