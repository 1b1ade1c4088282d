// Health checks on one writer at a time (role writer, PostgreSQL advisory lock): the first
// writer takes the lease and runs the checks, a second waits; when the holder is SIGKILLed its
// session ends, PostgreSQL frees the lock, and the second takes over.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { tempDir } from '../helpers/app.js';
import { startChildCollector, type ChildCollector } from '../helpers/child-collector.js';
import { freePort } from '../helpers/free-port.js';
import { createTestDatabase, stopOwnServer } from '../helpers/postgres.js';
import { waitFor } from '../helpers/wait-for.js';

const HELD = 'health lease held: health checks loaded and running here';
const dir = tempDir('sluice-lease-');
after(async () => {
  await stopOwnServer();
  dir.remove();
});

test('health lease: one writer runs the checks; when it dies another takes over', { timeout: 90_000 }, async () => {
  const db = await createTestDatabase();
  // No NATS here: the writers' consumers keep retrying, which the lease does not depend on.
  const nowhere = `127.0.0.1:${await freePort('tcp')}`;
  const collectors: ChildCollector[] = [];
  const writer = async (n: number): Promise<ChildCollector> => {
    const c = await startChildCollector({
      role: 'writer',
      sink: 'postgres',
      'postgres.url': db.url,
      'nats.servers': nowhere,
      'nats.timeoutMs': 500,
      'deadLetter.dir': join(dir.path, `dl-${n}`),
    });
    collectors.push(c);
    return c;
  };
  try {
    const a = await writer(1);
    await waitFor('writer 1 to take the lease', () => a.output().includes(HELD), 30_000);
    const b = await writer(2);
    const beforeKill = await waitFor(
      'writer 2 to find the lease held',
      () => (b.output().includes('health lease held by another process') ? b.output() : undefined),
      30_000,
    );
    assert.ok(!beforeKill.includes(HELD), 'writer 2 does not run checks while writer 1 holds the lease');
    a.child.kill('SIGKILL');
    await a.exited;
    await waitFor('writer 2 to take over the lease', () => b.output().includes(HELD), 30_000);
    // Stopped gracefully, it gives the lease back: a third writer takes it.
    const c = await writer(3);
    assert.ok(!c.output().includes(HELD));
    await b.stop();
    await waitFor('writer 3 to take the lease once writer 2 stopped', () => c.output().includes(HELD), 30_000);
  } finally {
    for (const c of collectors) if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill('SIGTERM');
    await Promise.all(collectors.map((c) => c.exited));
    await db.drop();
  }
});
