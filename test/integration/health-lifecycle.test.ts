// A check's probe run belongs to its definition: replacing (PUT) or deleting a check cuts the
// run under way, so a hung probe neither delays the new definition nor keeps its connection.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import type { App } from '../../src/app.js';
import { spreadFraction } from '../../src/health/scheduler.js';
import { postJson, startApp, tempDir, testConfig } from '../helpers/app.js';
import { waitFor } from '../helpers/wait-for.js';

type Json = Record<string, unknown>;

/** An id whose first run comes within the first 1% of its interval (first runs are spread by id). */
function earlyId(prefix: string): string {
  for (let i = 0; ; i++) if (spreadFraction(`${prefix}-${i}`) < 0.01) return `${prefix}-${i}`;
}

describe('replacing or deleting a check with a probe in flight', () => {
  const dir = tempDir('sluice-health-life-');
  let app: App;
  let hung: Server;
  let url: string;
  const open = new Set<Socket>();
  before(async () => {
    // Accepts connections and never answers.
    hung = createServer(() => undefined);
    hung.on('connection', (s) => {
      open.add(s);
      s.once('close', () => open.delete(s));
    });
    await new Promise<void>((r) => hung.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(hung.address() as AddressInfo).port}/`;
    app = await startApp(
      testConfig(
        { 'ingest.ack': 'memory', 'health.dataDir': join(dir.path, 'health'), 'batch.maxWaitMs': 20 },
        dir.path,
      ),
    );
  });
  after(async () => {
    await app.stop();
    hung.closeAllConnections();
    await new Promise<void>((r) => hung.close(() => r()));
    dir.remove();
  });

  const view = async (id: string): Promise<Json> =>
    (await (await fetch(`${app.url}/admin/checks/${id}`)).json()) as Json;

  test('after a PUT the new definition runs at once, not after the old run times out', async () => {
    const id = earlyId('hung');
    const created = await postJson(`${app.url}/admin/checks`, {
      id,
      name: 'hung',
      kind: 'http',
      url,
      interval: '60s',
      timeout: '60s',
    });
    assert.equal(created.status, 201);
    await waitFor('the 60 s probe under way', () => app.health.schedulerStats().running === 1 && open.size === 1);
    const put = await fetch(`${app.url}/admin/checks/${id}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        name: 'hung',
        kind: 'http',
        url,
        interval: '300ms',
        timeout: '200ms',
        failureThreshold: 1,
      }),
    });
    assert.equal(put.status, 200);
    // The new definition times out after 200 ms; with the old run still holding the check it
    // would produce nothing for a minute.
    const v = await waitFor('a result of the new definition', async () => {
      const b = await view(id);
      return b.lastResult ? b : undefined;
    });
    assert.equal((v.lastResult as Json).error_class, 'timeout');
    assert.match((v.lastResult as Json).message as string, /200 ms/);
    assert.equal(v.state, 'down');
    assert.equal((await fetch(`${app.url}/admin/checks/${id}`, { method: 'DELETE' })).status, 204);
    await waitFor('its connections closed', () => open.size === 0);
  });

  test('a DELETE closes the connection of the probe under way', async () => {
    const id = earlyId('hung2');
    await postJson(`${app.url}/admin/checks`, {
      id,
      name: 'hung2',
      kind: 'http',
      url,
      interval: '60s',
      timeout: '60s',
    });
    await waitFor('its probe connected', () => open.size === 1 && app.health.schedulerStats().running === 1);
    assert.equal((await fetch(`${app.url}/admin/checks/${id}`, { method: 'DELETE' })).status, 204);
    await waitFor('the probe connection closed', () => open.size === 0);
    await waitFor('no run in flight', () => app.health.schedulerStats().running === 0);
  });
});

describe('a push check across a restart, with the file store', () => {
  const dir = tempDir('sluice-health-push-');
  after(() => dir.remove());
  const config = () =>
    testConfig({ 'ingest.ack': 'memory', 'health.dataDir': join(dir.path, 'health'), 'batch.maxWaitMs': 20 }, dir.path);

  test('its deadline runs on from the last ping, not afresh from the start', async () => {
    let app = await startApp(config());
    let id: string;
    let pingAt: number;
    try {
      const res = await postJson(`${app.url}/admin/checks`, {
        name: 'cron-file',
        kind: 'push',
        service: 'cron-file',
        interval: '2s',
        grace: '1s',
        failureThreshold: 1,
      });
      id = ((await res.json()) as Json).id as string;
      assert.equal((await postJson(`${app.url}/health`, { service: 'cron-file', status: 'up' })).status, 202);
      pingAt = Date.now();
      await waitFor(
        'up',
        async () => ((await (await fetch(`${app.url}/admin/checks/${id}`)).json()) as Json).state === 'up',
      );
    } finally {
      await app.stop();
    }
    await sleep(Math.max(0, pingAt + 2000 - Date.now()));
    app = await startApp(config());
    try {
      const restartedAt = Date.now();
      await waitFor(
        'down after the missed ping',
        async () => ((await (await fetch(`${app.url}/admin/checks/${id}`)).json()) as Json).state === 'down',
        10_000,
      );
      const downAt = Date.now();
      // Afresh from the start it would be 3 s after the restart.
      assert.ok(
        downAt - restartedAt < 2500,
        `down ${downAt - restartedAt} ms after the restart (${downAt - pingAt} ms after the ping; deadline 3000 ms)`,
      );
    } finally {
      await app.stop();
    }
  });
});
