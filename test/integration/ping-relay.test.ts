// Push checks in a scale-out deployment: they run on the writer holding the health lease, and
// pings sent to an ingest node reach it over NATS — POST /health records and the ping URLs,
// whose answers (200, 404, 409) come from the holder; with no holder a ping URL is a 503.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { postJson, tempDir } from '../helpers/app.js';
import { startChildCollector, type ChildCollector } from '../helpers/child-collector.js';
import { cannotHere } from '../helpers/cannot-here.js';
import { createTestDatabase, stopOwnServer } from '../helpers/postgres.js';
import { reachable } from '../helpers/reachable.js';
import { waitFor } from '../helpers/wait-for.js';

const HELD = 'health lease held: health checks loaded and running here';
const RELAYED = 'ping relay: taking pings relayed from ingest nodes';
const NATS = '127.0.0.1:4222';
const dir = tempDir('sluice-ping-relay-');
after(async () => {
  await stopOwnServer();
  dir.remove();
});

interface CheckView {
  state: string;
  lastResult: { status: string; message: string | null } | null;
  push?: { lastPingAt: string | null; lastDurationMs: number | null };
}

test('pings sent to an ingest node reach the push checks on the lease holder', { timeout: 120_000 }, async (t) => {
  if (!(await reachable(4222))) return cannotHere(t, `no NATS server on ${NATS}`);
  const db = await createTestDatabase();
  const run = `r${process.pid}${Date.now().toString(36)}`;
  const nats = { 'nats.servers': NATS, 'nats.stream': `SLUICE_PR_${run}`.toUpperCase(), 'nats.subject': `pr${run}` };
  const collectors: ChildCollector[] = [];
  const start = async (flags: Record<string, string | number>): Promise<ChildCollector> => {
    const c = await startChildCollector({ ...nats, 'nats.timeoutMs': 2000, ...flags });
    collectors.push(c);
    return c;
  };
  try {
    const ingest = await start({ role: 'ingest', 'batch.maxWaitMs': 20 });
    // No writer yet: nobody runs the push checks, so a ping URL cannot be answered.
    const early = await fetch(`${ingest.url}/health/nightly/start`);
    assert.equal(early.status, 503, await early.text());

    const writer = await start({
      role: 'writer',
      sink: 'postgres',
      'postgres.url': db.url,
      'deadLetter.dir': join(dir.path, 'dl'),
    });
    await waitFor('the writer to take the health lease', () => writer.output().includes(HELD), 30_000);
    await waitFor('the holder to take relayed pings', () => writer.output().includes(RELAYED), 10_000);
    const created = await postJson(`${writer.url}/admin/checks`, {
      name: 'nightly',
      kind: 'push',
      interval: '1h',
      grace: '1h',
      failureThreshold: 1,
    });
    assert.equal(created.status, 201, await created.text());
    await postJson(`${writer.url}/admin/checks`, {
      name: 'site',
      kind: 'http',
      url: 'http://127.0.0.1:9/',
      interval: '1h',
    });

    // Ping URLs through the ingest node, answered by the holder.
    const started = await fetch(`${ingest.url}/health/nightly/start`);
    assert.equal(started.status, 200, await started.text());
    assert.equal((await fetch(`${ingest.url}/health/nightly`, { method: 'POST', body: 'done' })).status, 200);
    assert.equal((await fetch(`${ingest.url}/health/nobody`)).status, 404);
    assert.equal((await fetch(`${ingest.url}/health/site`)).status, 409);
    const pinged = await waitFor('the success ping on the holder', async () => {
      const v = (await (await fetch(`${writer.url}/admin/checks/nightly`)).json()) as CheckView;
      return v.state === 'up' && v.push?.lastDurationMs != null ? v : undefined;
    });
    assert.equal(pinged.lastResult?.message, 'done');

    // A POST /health record saying down, sent to the ingest node, turns the check down there.
    const down = await postJson(`${ingest.url}/health`, { service: 'nightly', status: 'down', message: 'disk full' });
    assert.equal(down.status, 202, await down.text());
    const seen = await waitFor('the down ping on the holder', async () => {
      const v = (await (await fetch(`${writer.url}/admin/checks/nightly`)).json()) as CheckView;
      return v.state === 'down' ? v : undefined;
    });
    assert.equal(seen.lastResult?.message, 'disk full');
  } finally {
    for (const c of collectors) if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill('SIGTERM');
    await Promise.all(collectors.map((c) => c.exited));
    await db.drop();
  }
});
