// The ingest role without JetStream: it keeps no backlog of its own, so a request is refused at
// once (503 with Retry-After, naming why), /readyz says not ready, and no WAL is opened.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { freePort } from '../helpers/free-port.js';
import { postJson, startApp, tempDir, testConfig } from '../helpers/app.js';
import { waitFor } from '../helpers/wait-for.js';

const dir = tempDir('sluice-ingest-role-');
after(() => dir.remove());

test('ingest role with JetStream unreachable: 503 + Retry-After at once, /readyz not ready, no WAL', async () => {
  const app = await startApp(
    testConfig(
      {
        'server.role': 'ingest',
        'nats.servers': `127.0.0.1:${await freePort('tcp')}`,
        'nats.timeoutMs': 500,
        'ingest.retryAfterSeconds': 3,
      },
      dir.path,
    ),
  );
  try {
    const res = await postJson(`${app.url}/logs`, { message: 'hello' });
    const body = (await res.json()) as { error: string; message: string };
    assert.equal(res.status, 503);
    assert.equal(res.headers.get('retry-after'), '3');
    assert.equal(body.error, 'SLUICE_ERR_SINK_FAILED');
    assert.match(body.message, /cannot connect/);
    const ready = await waitFor('/readyz to say why', async () => {
      const r = await fetch(`${app.url}/readyz`);
      const b = (await r.json()) as { reasons?: string[] };
      return r.status === 503 && b.reasons?.some((x) => /nats/.test(x)) ? b.reasons : undefined;
    });
    assert.ok(ready.length > 0);
    assert.equal(existsSync(join(dir.path, 'wal')), false, 'an ingest node keeps no WAL');
    assert.equal(app.database, undefined, 'nor a database');
  } finally {
    await app.stop();
  }
});
