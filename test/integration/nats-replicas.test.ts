// nats.replicas 0 (the default) picks the stream's replicas from the server: 3 on a cluster of
// three (so the loss of one node loses nothing), 1 on a single server; a number given is taken.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { pino } from 'pino';
import { NatsSink } from '../../src/sinks/nats/nats-sink.js';
import { tempDir } from '../helpers/app.js';
import { cannotHere } from '../helpers/cannot-here.js';
import { natsServerInstalled, startNatsCluster, type NatsCluster } from '../helpers/nats-cluster.js';
import { waitFor } from '../helpers/wait-for.js';

const cleanups: Array<() => Promise<void> | void> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

async function replicasOf(servers: string, replicas: number): Promise<number> {
  const sink = new NatsSink({
    servers: servers.split(','),
    stream: 'SLUICE_REPLICAS',
    subject: 'sluicereplicas',
    replicas,
    duplicateWindowMs: 120_000,
    user: '',
    pass: '',
    token: '',
    timeoutMs: 5000,
    logger: pino({ level: 'silent' }),
  });
  await sink.start();
  const nc = await connect({ servers: servers.split(',') });
  try {
    const jsm = await jetstreamManager(nc);
    const info = await waitFor('the stream', () => jsm.streams.info('SLUICE_REPLICAS').catch(() => undefined), 20_000);
    const n = info.config.num_replicas;
    await jsm.streams.delete('SLUICE_REPLICAS');
    return n;
  } finally {
    await sink.close();
    await nc.close();
  }
}

describe('nats.replicas', () => {
  test('auto: 3 on a three-node cluster, 1 on one server; a given number is kept', async (t) => {
    if (!natsServerInstalled()) return cannotHere(t, 'nats-server is not installed (Debian package nats-server)');
    const dir = tempDir('sluice-replicas-');
    cleanups.push(dir.remove);
    const cluster: NatsCluster = await startNatsCluster(3, dir.path + '/c');
    cleanups.push(() => cluster.stop());
    assert.equal(await replicasOf(cluster.servers, 0), 3);
    assert.equal(await replicasOf(cluster.servers, 1), 1);
    const single = await startNatsCluster(1, dir.path + '/s');
    cleanups.push(() => single.stop());
    assert.equal(await replicasOf(single.servers, 0), 1);
  });
});
