// The NATS JetStream sink against the real server on 127.0.0.1:4222: records posted to /logs
// arrive as documented (one NDJSON message per batch and type, Nats-Msg-Id from the batch id),
// a retried publish is dropped by the duplicate window, a publish cut short by the deadline is
// recognised as committed once its ack comes, an unreachable server holds the records
// (retried, /readyz not ready) until it is back, and at the shutdown deadline they go to the
// dead-letter file. Each test run has its own stream and subject, deleted at the end.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { pino } from 'pino';
import { freePort } from '../../src/postgres/embedded.js';
import { NatsSink } from '../../src/sinks/nats/nats-sink.js';
import type { SluiceRecord } from '../../src/record.js';
import { postJson, startApp, tempDir, testConfig } from '../helpers/app.js';
import { cannotHere } from '../helpers/cannot-here.js';
import { GateProxy } from '../helpers/gate-proxy.js';
import { reachable } from '../helpers/reachable.js';
import { waitFor } from '../helpers/wait-for.js';

const NATS_PORT = 4222;
const run = `t${process.pid}${Date.now().toString(36)}`;
const dir = tempDir('sluice-nats-');
let nc: NatsConnection | undefined;
let jsm: JetStreamManager;
const streams: string[] = [];
let available = false;

before(async () => {
  available = await reachable(NATS_PORT);
  if (!available) return;
  nc = await connect({ servers: `127.0.0.1:${NATS_PORT}` });
  jsm = await jetstreamManager(nc);
});

after(async () => {
  for (const s of streams) await jsm.streams.delete(s).catch(() => undefined);
  await nc?.close();
  dir.remove();
});

/** A stream and subject prefix of this run, deleted at the end. */
function names(label: string): { stream: string; subject: string } {
  const stream = `SLUICE_TEST_${run}_${label}`.toUpperCase();
  streams.push(stream);
  return { stream, subject: `sluicetest.${run}.${label}` };
}

interface Stored {
  subject: string;
  msgId: string;
  lines: Array<Record<string, unknown>>;
}

async function readStream(stream: string): Promise<Stored[]> {
  // Not created yet: the sink creates it once it reaches the server.
  const info = await jsm.streams.info(stream).catch(() => undefined);
  if (!info) return [];
  const out: Stored[] = [];
  for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq++) {
    const m = await jsm.streams.getMessage(stream, { seq });
    if (!m) continue;
    out.push({
      subject: m.subject,
      msgId: m.header.get('Nats-Msg-Id'),
      lines: m
        .string()
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as Record<string, unknown>),
    });
  }
  return out;
}

function natsFlags(
  n: { stream: string; subject: string },
  servers: string,
  sub: string,
): Record<string, string | number> {
  return {
    'sink.kind': 'nats',
    'nats.servers': servers,
    'nats.stream': n.stream,
    'nats.subject': n.subject,
    'nats.timeoutMs': 1000,
    'deadLetter.dir': join(dir.path, sub, 'dead-letter'),
    'wal.dir': join(dir.path, sub, 'wal'),
    'health.dataDir': join(dir.path, sub, 'health'),
  };
}

function logRecord(id: string, message: string): SluiceRecord {
  return {
    type: 'log',
    id,
    ts: Date.now() * 1000,
    received_at: Date.now() * 1000,
    size: 300,
    level: 'info',
    service: 'svc',
    message,
    attrs: null,
    trace_id: null,
    span_id: null,
  };
}

describe('nats sink', () => {
  test('records posted to /logs arrive in the stream, one NDJSON message per batch and type', async (t) => {
    if (!available) return cannotHere(t, `no NATS server on 127.0.0.1:${NATS_PORT}`);
    const n = names('arrive');
    const app = await startApp(
      testConfig({ ...natsFlags(n, `127.0.0.1:${NATS_PORT}`, 'arrive'), 'ingest.ack': 'sink' }),
    );
    try {
      const ids = Array.from({ length: 20 }, (_, i) => `${run}-a-${i}`);
      const res = await postJson(
        `${app.url}/logs`,
        ids.map((id, i) => ({ id, message: `hello ${i}`, service: 'api', level: 'warn', attrs: { n: i } })),
      );
      assert.equal(res.status, 202);
      const stored = await readStream(n.stream);
      assert.ok(stored.length >= 1);
      for (const m of stored) {
        assert.equal(m.subject, `${n.subject}.logs`);
        assert.match(m.msgId, /^.+:logs:\d+$/);
      }
      const lines = stored.flatMap((m) => m.lines);
      assert.deepEqual(
        lines.map((l) => l.id),
        ids,
      );
      assert.equal(lines[3]!.message, 'hello 3');
      assert.equal(lines[3]!.service, 'api');
      assert.equal(lines[3]!.level, 'warn');
      assert.deepEqual(lines[3]!.attrs, { n: 3 });
      assert.equal(lines[3]!.type, 'log');
      assert.match(String(lines[3]!.ts), /^\d{4}-\d\d-\d\dT/);
      const ready = await fetch(`${app.url}/readyz`);
      assert.equal(ready.status, 200);
    } finally {
      await app.stop();
    }
  });

  test('a retried publish of the same batch is deduplicated by JetStream', async (t) => {
    if (!available) return cannotHere(t, `no NATS server on 127.0.0.1:${NATS_PORT}`);
    const n = names('dedupe');
    const sink = new NatsSink({
      servers: [`127.0.0.1:${NATS_PORT}`],
      stream: n.stream,
      subject: n.subject,
      replicas: 1,
      duplicateWindowMs: 120_000,
      user: '',
      pass: '',
      token: '',
      timeoutMs: 2000,
      logger: pino({ level: 'silent' }),
    });
    await sink.start();
    try {
      const records = [logRecord(`${run}-d-1`, 'one'), logRecord(`${run}-d-2`, 'two')];
      const batch = { id: `${run}-batch-1`, count: records.length, records, bytes: 600 };
      const signal = new AbortController().signal;
      await sink.writeBatch(batch, signal);
      await sink.writeBatch(batch, signal);
      assert.equal((await jsm.streams.info(n.stream)).state.messages, 1);
      await sink.writeBatch({ ...batch, id: `${run}-batch-2` }, signal);
      // The shutdown deadline cuts a write before its ack is back: wasCommitted waits for the ack.
      const cut = new AbortController();
      const writing = sink.writeBatch({ ...batch, id: `${run}-batch-3` }, cut.signal);
      cut.abort(new Error('shutdown deadline'));
      await assert.rejects(writing, /shutdown deadline/);
      assert.equal(await sink.wasCommitted(`${run}-batch-3`), true);
      assert.equal(await sink.wasCommitted(`${run}-never`), false);
      const stored = await readStream(n.stream);
      assert.deepEqual(
        stored.map((m) => m.msgId),
        [`${run}-batch-1:logs:0`, `${run}-batch-2:logs:0`, `${run}-batch-3:logs:0`],
      );
      assert.deepEqual(
        stored[0]!.lines.map((l) => l.id),
        [`${run}-d-1`, `${run}-d-2`],
      );
    } finally {
      await sink.close();
    }
  });

  test('a stream that exists with other subjects is refused at start, naming why', async (t) => {
    if (!available) return cannotHere(t, `no NATS server on 127.0.0.1:${NATS_PORT}`);
    const n = names('clash');
    await jsm.streams.add({ name: n.stream, subjects: [`sluicetest.${run}.elsewhere.>`] });
    const sink = new NatsSink({
      servers: [`127.0.0.1:${NATS_PORT}`],
      stream: n.stream,
      subject: n.subject,
      replicas: 1,
      duplicateWindowMs: 120_000,
      user: '',
      pass: '',
      token: '',
      timeoutMs: 2000,
      logger: pino({ level: 'silent' }),
    });
    await assert.rejects(sink.start(), /exists with subjects .*elsewhere.*do not take/);
    await sink.close();
  });

  test('an unreachable server: not ready, records held and retried, then all arrive once', async (t) => {
    if (!available) return cannotHere(t, `no NATS server on 127.0.0.1:${NATS_PORT}`);
    const n = names('outage');
    const gate = new GateProxy(await freePort(), { host: '127.0.0.1', port: NATS_PORT });
    const app = await startApp(
      testConfig({
        ...natsFlags(n, `127.0.0.1:${gate.port}`, 'outage'),
        'ingest.ack': 'memory',
        'retry.baseDelayMs': 20,
        'retry.maxDelayMs': 200,
        'breaker.halfOpenAfterMs': 200,
      }),
    );
    try {
      const ids = Array.from({ length: 10 }, (_, i) => `${run}-o-${i}`);
      assert.equal(
        (
          await postJson(
            `${app.url}/logs`,
            ids.slice(0, 5).map((id) => ({ id, message: 'm' })),
          )
        ).status,
        202,
      );
      const notReady = await waitFor('/readyz to say the sink is unreachable', async () => {
        const r = await fetch(`${app.url}/readyz`);
        const body = (await r.json()) as { reasons?: string[] };
        return r.status === 503 && body.reasons?.some((x) => /sink nats/.test(x)) ? body.reasons : undefined;
      });
      assert.ok(notReady.length > 0);
      await waitFor('a failed write', () => app.pool.stats().failures > 0);
      // Back up: the first five arrive; then cut the connection under a live collector.
      await gate.open();
      await waitFor(
        '5 records in the stream',
        async () => (await readStream(n.stream)).flatMap((m) => m.lines).length === 5,
        15_000,
      );
      await gate.close();
      assert.equal(
        (
          await postJson(
            `${app.url}/logs`,
            ids.slice(5).map((id) => ({ id, message: 'm' })),
          )
        ).status,
        202,
      );
      await waitFor('a failed write after the cut', () => app.pool.stats().failures > 1, 15_000);
      await gate.open();
      await waitFor(
        'all 10 records in the stream',
        async () => (await readStream(n.stream)).flatMap((m) => m.lines).length >= 10,
        20_000,
      );
      await waitFor('/readyz ready again', async () => (await fetch(`${app.url}/readyz`)).status === 200, 10_000);
      const lines = (await readStream(n.stream)).flatMap((m) => m.lines.map((l) => l.id));
      assert.deepEqual([...lines].sort(), [...ids].sort(), 'each record exactly once');
    } finally {
      await app.stop();
      await gate.close();
    }
  });

  test('still unreachable at the shutdown deadline: the records go to the dead-letter file', async (t) => {
    if (!available) return cannotHere(t, `no NATS server on 127.0.0.1:${NATS_PORT}`);
    const n = names('dead');
    const port = await freePort(); // nothing listens there
    const app = await startApp(
      testConfig({
        ...natsFlags(n, `127.0.0.1:${port}`, 'dead'),
        'ingest.ack': 'memory',
        'retry.baseDelayMs': 20,
        'retry.maxDelayMs': 100,
        'shutdown.timeoutMs': 500,
      }),
    );
    const ids = [`${run}-x-1`, `${run}-x-2`, `${run}-x-3`];
    assert.equal(
      (
        await postJson(
          `${app.url}/logs`,
          ids.map((id) => ({ id, message: 'lost?' })),
        )
      ).status,
      202,
    );
    await waitFor('a failed write', () => app.pool.stats().failures > 0);
    await app.stop();
    const text = await readFile(join(dir.path, 'dead', 'dead-letter', 'nats.ndjson'), 'utf8');
    const dead = text
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as { id: string; dead_letter: { sink: string } });
    assert.ok(dead.every((d) => d.dead_letter.sink === 'nats'));
    const deadIds = dead.map((d) => d.id);
    assert.deepEqual([...deadIds].sort(), [...ids].sort());
  });
});
