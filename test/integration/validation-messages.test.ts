// Rejections say what was given, what is allowed, and for limits the key that sets it.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { App } from '../../src/app.js';
import { startApp, tempDir, testConfig } from '../helpers/app.js';

const dir = tempDir();
let app: App;
before(async () => {
  app = await startApp(testConfig({ 'ingest.maxBodyBytes': 2048 }, dir.path));
});
after(async () => {
  await app.stop();
  dir.remove();
});

async function post(path: string, body: string): Promise<{ status: number; message: string }> {
  const res = await fetch(app.url + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  return { status: res.status, message: ((await res.json()) as { message: string }).message };
}

test('a health ping with a status outside the list names the value and the list', async () => {
  const r = await post('/health', '{"service":"api","status":"ok"}');
  assert.equal(r.status, 400);
  assert.match(r.message, /status/);
  assert.match(r.message, /"ok"/);
  assert.match(r.message, /up, down, degraded/);
  assert.doesNotMatch(r.message, /required/);
});

test('a missing status is still "required"', async () => {
  const r = await post('/health', '{"service":"api"}');
  assert.equal(r.status, 400);
  assert.match(r.message, /status is required: one of up, down, degraded/);
});

test('a check of an unknown kind names the value and the kinds', async () => {
  const r = await post('/admin/checks', '{"name":"x","kind":"htp","url":"http://127.0.0.1/"}');
  assert.equal(r.status, 400);
  assert.match(r.message, /kind/);
  assert.match(r.message, /"htp"/);
  assert.match(r.message, /http, tcp/);
  assert.doesNotMatch(r.message, /required/);
});

for (const path of ['/logs', '/health', '/admin/checks']) {
  test(`a body over the limit on ${path} is a 413 naming the limit and its config key`, async () => {
    const r = await post(path, JSON.stringify({ message: 'x'.repeat(4000) }));
    assert.equal(r.status, 413);
    assert.match(r.message, /2048 bytes/);
    assert.match(r.message, /ingest\.maxBodyBytes/);
  });
}
