// The scale-out roles (docs/scale-out.md) as separate processes: an ingest collector publishes
// batches to JetStream, two writer collectors consume them into PostgreSQL. Mid-load one NATS
// node and one writer are SIGKILLed and the writer is started again: every record that got a
// 202 must be in PostgreSQL exactly once (by id). Once on a 3-node JetStream cluster (stream
// replicas 3, so a dead node loses nothing), once on a single server (which is killed and
// restarted on the same store instead: ingest pushes back meanwhile).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { after, describe, test, type TestContext } from 'node:test';
import { tempDir } from '../helpers/app.js';
import { ackedLoad } from '../helpers/acked-load.js';
import { cannotHere } from '../helpers/cannot-here.js';
import { startChildCollector, type ChildCollector } from '../helpers/child-collector.js';
import { createStream, natsServerInstalled, startNatsCluster, type NatsCluster } from '../helpers/nats-cluster.js';
import { createTestDatabase, stopOwnServer, type TestDatabase } from '../helpers/postgres.js';
import { waitFor } from '../helpers/wait-for.js';

const CLIENTS = 4;
const RECORDS_PER_REQUEST = 20;

const dir = tempDir('sluice-scale-out-');
after(async () => {
  await stopOwnServer();
  dir.remove();
});

async function run(t: TestContext, size: 1 | 3): Promise<void> {
  if (!natsServerInstalled()) return cannotHere(t, 'no nats-server binary (Debian package nats-server)');
  const base = join(dir.path, `n${size}`);
  const cluster: NatsCluster = await startNatsCluster(size, join(base, 'nats'));
  const db: TestDatabase = await createTestDatabase();
  const collectors: ChildCollector[] = [];
  const tag = randomBytes(3).toString('hex');
  const stream = `SCALE_${size}_${tag}`;
  const subject = `scale${size}${tag}`;
  try {
    await createStream(cluster.servers, stream, subject, size);
    const nats = {
      'nats.servers': cluster.servers,
      'nats.stream': stream,
      'nats.subject': subject,
      'nats.replicas': size,
      'nats.timeoutMs': 2000,
      'batch.maxRecords': 100,
      'batch.maxWaitMs': 10,
      'retry.baseDelayMs': 50,
      'retry.maxDelayMs': 500,
    };
    const startWriter = async (n: number): Promise<ChildCollector> => {
      const c = await startChildCollector({
        ...nats,
        role: 'writer',
        sink: 'postgres',
        'postgres.url': db.url,
        'postgres.dedupe': false,
        'writers.count': 2,
        'nats.ackWaitMs': 2000,
        'deadLetter.dir': join(base, `dead-letter-w${n}`),
      });
      collectors.push(c);
      return c;
    };
    const ingest = await startChildCollector({
      ...nats,
      role: 'ingest',
      'deadLetter.dir': join(base, 'dead-letter-ingest'),
    });
    collectors.push(ingest);
    const w1 = await startWriter(1);
    await startWriter(2);

    const acked = new Set<string>();
    const refused = new Map<number, number>();
    const clients = ackedLoad(ingest.url, {
      clients: CLIENTS,
      recordsPerRequest: RECORDS_PER_REQUEST,
      tag: `${size}-${tag}`,
      service: 'scale-out',
      acked,
      refused,
    });
    await waitFor('the load to get going', () => acked.size >= 1000, 30_000);
    // The node the stream's leader is on, or any: with replicas 3 the other two keep a quorum.
    const victim = cluster.nodes[size === 1 ? 0 : 1]!;
    await victim.kill();
    w1.child.kill('SIGKILL');
    await w1.exited;
    const atKill = acked.size;
    if (size === 1) {
      // The only server is gone: ingest refuses (no backlog of its own), then takes records again.
      await waitFor('ingest to push back', () => refused.size > 0, 30_000);
      await victim.restart();
    }
    await startWriter(3);
    await waitFor('more records acknowledged after the kills', () => acked.size >= atKill + 1000, 30_000);
    await clients.stop();

    await waitFor(
      'every acknowledged record stored',
      async () => (await db.count('logs', "service = 'scale-out'")) >= acked.size,
      30_000,
    ).catch(() => undefined); // the assertions below say what is missing

    const dupes = await db.pool.query<{ id: string; n: string }>(
      `SELECT id, count(*) AS n FROM logs GROUP BY id HAVING count(*) > 1 LIMIT 20`,
    );
    const ids = new Set((await db.pool.query<{ id: string }>(`SELECT id FROM logs`)).rows.map((r) => r.id));
    const missing = [...acked].filter((id) => !ids.has(id));
    const output = collectors.map((c) => c.output()).join('\n');
    const alreadyCommitted = output.split('batch was already committed').length - 1;
    t.diagnostic(
      `${size} NATS node(s): ${acked.size} acknowledged (${atKill} before the kills), ${ids.size} stored; ` +
        `refused ${JSON.stringify(Object.fromEntries(refused))}; ${alreadyCommitted} redelivered batches found committed`,
    );
    assert.deepEqual(dupes.rows, [], 'no record stored twice');
    assert.deepEqual(missing.slice(0, 20), [], `${missing.length} acknowledged records missing`);
    if (size === 1)
      assert.ok(
        [...refused.keys()].every((s) => s === 429 || s === 503),
        'refusals are 429 or 503',
      );
  } finally {
    for (const c of collectors) if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill('SIGTERM');
    await Promise.all(collectors.map((c) => c.exited));
    await cluster.stop();
    await db.drop();
  }
}

describe('scale-out: ingest and writer roles through JetStream', { timeout: 120_000 }, () => {
  test('3-node JetStream cluster: kill a NATS node and a writer mid-load; every 202 stored exactly once', (t) =>
    run(t, 3));
  test('single NATS server: kill and restart it, kill a writer; every 202 stored exactly once', (t) => run(t, 1));
});
