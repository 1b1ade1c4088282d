// The NATS and Redis sinks' pure parts: how a batch is cut into JetStream messages (subjects,
// stable message ids, chunks under the max payload), and their config keys (env lists, masking).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { loadConfig, maskSecrets } from '../../src/config/load.js';
import { isPermanent } from '../../src/errors.js';
import type { SluiceRecord } from '../../src/record.js';
import { natsMessages } from '../../src/sinks/nats/nats-sink.js';

function log(id: string, message: string): SluiceRecord {
  return {
    type: 'log',
    id,
    ts: 1_700_000_000_000_000,
    received_at: 1_700_000_000_000_000,
    size: 300,
    level: 'info',
    service: null,
    message,
    attrs: null,
    trace_id: null,
    span_id: null,
  };
}

function health(id: string): SluiceRecord {
  return {
    type: 'health',
    id,
    ts: 1_700_000_000_000_000,
    received_at: 1_700_000_000_000_000,
    size: 300,
    service: 'db',
    status: 'up',
    latency_ms: 3,
    message: null,
    attrs: null,
  } as SluiceRecord;
}

describe('natsMessages', () => {
  test('one NDJSON message per record type, on <subject>.<type>, ids from the batch id', () => {
    const batch = { id: 'B', count: 3, records: [log('a', 'x'), health('h'), log('b', 'y')], bytes: 900 };
    const m = natsMessages(batch, 'sluice', 1024 * 1024);
    assert.deepEqual(
      m.map((x) => [x.subject, x.msgId]),
      [
        ['sluice.logs', 'B:logs:0'],
        ['sluice.health', 'B:health:1'],
      ],
    );
    const lines = m[0]!.payload.split('\n');
    assert.equal(lines.at(-1), '', 'every line ends with a newline');
    assert.deepEqual(
      lines.slice(0, -1).map((l) => (JSON.parse(l) as { id: string }).id),
      ['a', 'b'],
    );
  });

  test('chunks stay under the limit, keep the record order, and are the same on a retry', () => {
    const records = Array.from({ length: 50 }, (_, i) => log(`r${i}`, 'm'.repeat(100)));
    const batch = { id: 'C', count: records.length, records, bytes: 0 };
    const m = natsMessages(batch, 's', 1000);
    assert.ok(m.length > 5);
    for (const x of m) assert.ok(Buffer.byteLength(x.payload) <= 1000);
    const ids = m.flatMap((x) =>
      x.payload
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => (JSON.parse(l) as { id: string }).id),
    );
    assert.deepEqual(
      ids,
      records.map((r) => r.id),
    );
    assert.deepEqual(natsMessages(batch, 's', 1000), m);
    assert.equal(new Set(m.map((x) => x.msgId)).size, m.length);
  });

  test('a record larger than the max payload is a permanent error', () => {
    assert.throws(
      () => natsMessages({ id: 'D', count: 1, records: [log('big', 'x'.repeat(5000))], bytes: 0 }, 's', 1000),
      (err) => isPermanent(err) && /max payload/.test((err as Error).message),
    );
  });
});

describe('nats and redis config', () => {
  test('SLUICE_NATS_SERVERS is a comma-separated list; defaults are a single local server', () => {
    const { config } = loadConfig({ env: { SLUICE_NATS_SERVERS: 'a:4222, b:4222' }, flags: {} });
    assert.deepEqual(config.nats.servers, ['a:4222', 'b:4222']);
    assert.equal(config.nats.stream, 'SLUICE');
    assert.equal(config.nats.replicas, 0);
    assert.equal(config.redis.streamPrefix, 'sluice');
  });

  test('credentials are masked in config print; hosts stay visible', () => {
    const { config } = loadConfig({
      env: {
        SLUICE_SINK_KIND: 'redis',
        SLUICE_NATS_PASS: 'natspass-S3CRET',
        SLUICE_NATS_TOKEN: 'natstoken-S3CRET',
        SLUICE_REDIS_URL: 'redis://:redispass-S3CRET@cache.internal:6379/0',
      },
      flags: {},
    });
    const text = JSON.stringify(maskSecrets(config));
    assert.doesNotMatch(text, /S3CRET/);
    assert.match(text, /cache\.internal:6379/);
  });

  test('a subject with a wildcard or a non-redis URL is refused, naming the key', () => {
    assert.throws(() => loadConfig({ env: { SLUICE_NATS_SUBJECT: 'a.*' }, flags: {} }), /nats\.subject/);
    assert.throws(() => loadConfig({ env: { SLUICE_REDIS_URL: 'http://x' }, flags: {} }), /redis\.url/);
  });
});
