// Security headers and no CORS on the UI and the read and admin APIs, against a real collector:
// each kind of answer carries its Content-Security-Policy, nosniff, no framing and no Referer;
// no answer but the public /status.json carries Access-Control-Allow-Origin, whatever Origin
// a client sends, and a CORS preflight is not answered with permission.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { App } from '../../src/app.js';
import { postJson, startApp, tempDir, testConfig } from '../helpers/app.js';

describe('security headers and CORS', () => {
  let app: App;
  const dir = tempDir('sluice-headers-');
  before(async () => {
    app = await startApp(testConfig({ 'ingest.ack': 'memory' }, dir.path));
    const res = await postJson(`${app.url}/admin/checks`, {
      name: 'web',
      kind: 'http',
      url: 'http://127.0.0.1:1/',
      interval: '1h',
      timeout: '1s',
    });
    assert.equal(res.status, 201);
  });
  after(async () => {
    await app.stop();
    dir.remove();
  });

  const origin = { origin: 'https://evil.example' };

  test('every UI, read and admin answer carries the headers; the UI page its own CSP', async () => {
    const cases: Array<[string, RegExp]> = [
      ['/', /script-src 'self'; style-src 'self'/],
      ['/status', /style-src 'unsafe-inline'/],
      ['/api/status', /default-src 'none'.*sandbox/],
      ['/api/checks/web/history', /default-src 'none'/],
      ['/admin/jobs', /default-src 'none'/],
      ['/admin/checks', /default-src 'none'/],
      ['/admin/keys', /default-src 'none'/],
      ['/badge/web/status.svg', /default-src 'none'/],
      ['/metrics', /default-src 'none'/],
    ];
    for (const [path, csp] of cases) {
      const res = await fetch(`${app.url}${path}`, { headers: origin });
      await res.arrayBuffer();
      const got = `${path} → ${res.status} ${JSON.stringify(Object.fromEntries(res.headers))}`;
      assert.match(res.headers.get('content-security-policy') ?? '', csp, got);
      assert.match(res.headers.get('content-security-policy') ?? '', /frame-ancestors 'none'/, got);
      assert.equal(res.headers.get('x-content-type-options'), 'nosniff', got);
      assert.equal(res.headers.get('x-frame-options'), 'DENY', got);
      assert.equal(res.headers.get('referrer-policy'), 'no-referrer', got);
      assert.equal(res.headers.get('access-control-allow-origin'), null, got);
    }
  });

  test('refusals carry them too', async () => {
    const res = await fetch(`${app.url}/api/status?x=1`, { headers: { ...origin, authorization: 'Bearer x' } });
    await res.arrayBuffer();
    assert.equal(res.headers.get('x-frame-options'), 'DENY', String(res.status));
    assert.equal(res.headers.get('access-control-allow-origin'), null);
  });

  test('the live tail stream carries them', async () => {
    const ac = new AbortController();
    const res = await fetch(`${app.url}/api/logs/tail`, { headers: origin, signal: ac.signal });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-security-policy') ?? '', /default-src 'none'/);
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(res.headers.get('access-control-allow-origin'), null);
    ac.abort();
    await res.body?.cancel().catch(() => undefined);
  });

  test('a CORS preflight gets no permission', async () => {
    for (const path of ['/api/logs', '/admin/checks', '/admin/keys']) {
      const res = await fetch(`${app.url}${path}`, {
        method: 'OPTIONS',
        headers: {
          ...origin,
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'authorization',
        },
      });
      await res.arrayBuffer();
      assert.ok(res.status >= 400, `${path}: ${res.status}`);
      assert.equal(res.headers.get('access-control-allow-origin'), null, path);
      assert.equal(res.headers.get('access-control-allow-methods'), null, path);
    }
  });

  test('only the public /status.json is open to other origins, as documented', async () => {
    const res = await fetch(`${app.url}/status.json`, { headers: origin });
    await res.arrayBuffer();
    assert.equal(res.headers.get('access-control-allow-origin'), '*');
  });
});
