// The writer role's consumer against the local JetStream server (127.0.0.1:4222): a batch is
// written and acked; a batch already delivered nats.maxDeliveries - 1 times (writers died on
// it) goes to the dead-letter file instead of being written again; a message that is no batch
// is dropped, not redelivered for ever. Stream and consumer are this run's own.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { AckPolicy, jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { connect, nanos, type NatsConnection } from '@nats-io/transport-node';
import { natsMessages } from '../../src/sinks/nats/nats-sink.js';
import { encodeTransportLine } from '../../src/pipeline/transport-codec.js';
import { cannotHere } from '../helpers/cannot-here.js';
import { log } from '../helpers/file-sink.js';
import { metric, metrics } from '../helpers/metric.js';
import { startApp, tempDir, testConfig } from '../helpers/app.js';
import { reachable } from '../helpers/reachable.js';
import { waitFor } from '../helpers/wait-for.js';

const NATS_PORT = 4222;
const run = `js${process.pid}${Date.now().toString(36)}`;
const stream = `SLUICE_TEST_${run}`.toUpperCase();
const subject = `sluicetest.${run}`;
const dir = tempDir('sluice-js-source-');
let nc: NatsConnection | undefined;
let jsm: JetStreamManager;
let available = false;

before(async () => {
  available = await reachable(NATS_PORT);
  if (!available) return;
  nc = await connect({ servers: `127.0.0.1:${NATS_PORT}` });
  jsm = await jetstreamManager(nc);
});

after(async () => {
  await jsm?.streams.delete(stream).catch(() => undefined);
  await nc?.close();
  dir.remove();
});

const lines = (path: string): Array<Record<string, unknown>> =>
  readFileSync(path, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);

test('writer role: batches written and acked, a poison batch dead-lettered, a foreign message dropped', async (t) => {
  if (!available || !nc) return cannotHere(t, `no NATS server on 127.0.0.1:${NATS_PORT}`);
  await jsm.streams.add({ name: stream, subjects: [`${subject}.>`], duplicate_window: nanos(60_000) });
  await jsm.consumers.add(stream, {
    durable_name: 'sluice-writers',
    ack_policy: AckPolicy.Explicit,
    ack_wait: nanos(1000),
    max_deliver: 2,
    filter_subject: `${subject}.>`,
  });
  const js = jetstream(nc);
  const publish = async (id: string, n: number): Promise<void> => {
    const records = Array.from({ length: n }, (_, k) => ({ ...log(k), id: `${id}-${k}` }));
    for (const m of natsMessages(
      { id, count: records.length, records, bytes: 0 },
      subject,
      1 << 20,
      encodeTransportLine,
    ))
      await js.publish(m.subject, m.payload, { msgID: m.msgId });
  };
  // The poison batch: fetched once by a "writer" that dies without acking it.
  await publish('poison', 3);
  const consumer = await js.consumers.get(stream, 'sluice-writers');
  const first = await consumer.next({ expires: 2000 });
  assert.ok(first, 'the poison batch was delivered once');
  // After its ack wait (1 s) JetStream delivers it again: its 2nd delivery is its last.
  await publish('good', 5);
  await js.publish(`${subject}.logs`, '{"not":"rows"}\n', { msgID: 'foreign' });

  const app = await startApp(
    testConfig(
      {
        'server.role': 'writer',
        'nats.servers': `127.0.0.1:${NATS_PORT}`,
        'nats.stream': stream,
        'nats.subject': subject,
        'nats.maxDeliveries': 2,
        'nats.ackWaitMs': 1000,
        'batch.maxWaitMs': 10,
      },
      dir.path,
    ),
  );
  try {
    const stored = (): Array<Record<string, unknown>> => {
      const files = readdirSync(join(dir.path, 'logs'), { withFileTypes: true }).filter((f) => f.isFile());
      return files.flatMap((f) => lines(join(dir.path, 'logs', f.name)));
    };
    await waitFor('the good batch written', () => stored().length >= 5, 15_000);
    const deadFile = join(dir.path, 'dead-letter', 'file.ndjson');
    await waitFor(
      'the poison batch dead-lettered',
      () => {
        try {
          return lines(deadFile).length >= 3;
        } catch {
          return false;
        }
      },
      15_000,
    );
    await waitFor(
      'every message acked or dropped',
      async () => (await jsm.consumers.info(stream, 'sluice-writers')).num_ack_pending === 0,
      15_000,
    );
    assert.deepEqual(
      stored()
        .map((r) => r.id)
        .sort(),
      ['good-0', 'good-1', 'good-2', 'good-3', 'good-4'],
      'the good batch is stored as published (ids kept); the poison one is not',
    );
    const dead = lines(deadFile);
    assert.deepEqual(dead.map((r) => r.id).sort(), ['poison-0', 'poison-1', 'poison-2']);
    assert.match(JSON.stringify(dead[0]), /delivered 2 times/);
    const info = await jsm.consumers.info(stream, 'sluice-writers');
    assert.equal(info.num_pending, 0, 'nothing left to deliver');
    const jobs = (await (await fetch(`${app.url}/admin/jobs`)).json()) as { jetstream: { ackedBatches: number } };
    assert.equal(jobs.jetstream.ackedBatches, 2, 'the good and the poison batch acked (as /admin/jobs shows)');
    // The same counts in /metrics, and the consumer's backlog as the server reports it.
    assert.equal(await metric(app, 'sluice_jetstream_batches_fetched_total'), 2, 'the foreign message is no batch');
    assert.equal(await metric(app, 'sluice_jetstream_batches_acked_total'), 2);
    assert.equal(await metric(app, 'sluice_jetstream_batches_held'), 0);
    assert.equal(await metric(app, 'sluice_jetstream_consumer_messages{state="pending"}'), 0);
    assert.equal(await metric(app, 'sluice_jetstream_consumer_messages{state="ack_pending"}'), 0);
    // A writer that stopped fetching: what is published meanwhile shows as the backlog. Its last
    // pull request may still be open on the server, which can then deliver a message to it
    // (ack_pending rather than pending): so both are read from one scrape, and counted together.
    await app.source!.stop();
    await publish('later-a', 1);
    await publish('later-b', 2);
    const [pending, ackPending] = await metrics(app, [
      'sluice_jetstream_consumer_messages{state="pending"}',
      'sluice_jetstream_consumer_messages{state="ack_pending"}',
    ]);
    assert.equal(pending! + ackPending!, 2, `backlog ${pending} pending + ${ackPending} ack pending`);
    assert.equal(await metric(app, 'sluice_jetstream_batches_fetched_total'), 2, 'a stopped writer takes none');
  } finally {
    await app.stop();
  }
});

test('writer role before the stream exists: not ready (saying why), then creates its consumer and consumes', async (t) => {
  if (!available || !nc) return cannotHere(t, `no NATS server on 127.0.0.1:${NATS_PORT}`);
  const late = `${stream}_LATE`;
  const lateSubject = `${subject}late`;
  const out = tempDir('sluice-js-late-');
  const app = await startApp(
    testConfig(
      {
        'server.role': 'writer',
        'nats.servers': `127.0.0.1:${NATS_PORT}`,
        'nats.stream': late,
        'nats.subject': lateSubject,
      },
      out.path,
    ),
  );
  try {
    const reasons = await waitFor('/readyz to name the missing stream', async () => {
      const r = await fetch(`${app.url}/readyz`);
      const b = (await r.json()) as { reasons?: string[] };
      return r.status === 503 && b.reasons?.some((x) => x.includes(late)) ? b.reasons : undefined;
    });
    assert.ok(
      reasons.some((x) => /stream not found/i.test(x)),
      reasons.join('; '),
    );
    await jsm.streams.add({ name: late, subjects: [`${lateSubject}.>`] });
    const records = [{ ...log(0), id: 'late-0' }];
    for (const m of natsMessages(
      { id: 'late', count: records.length, records, bytes: 0 },
      lateSubject,
      1 << 20,
      encodeTransportLine,
    ))
      await jetstream(nc).publish(m.subject, m.payload, { msgID: m.msgId });
    await waitFor('the batch acked', () => app.source?.stats().ackedBatches === 1, 15_000);
    const info = await jsm.consumers.info(late, 'sluice-writers');
    assert.equal(info.config.max_deliver, 5, 'the consumer was created with nats.maxDeliveries');
    assert.equal((await fetch(`${app.url}/readyz`)).status, 200);
  } finally {
    await app.stop();
    await jsm.streams.delete(late).catch(() => undefined);
    out.remove();
  }
});
