// The record form batches cross JetStream in (ingest role → writer role): a record comes back
// exactly as it left, through the NATS sink's message layout.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { SluiceRecord } from '../../src/record.js';
import { natsMessages } from '../../src/sinks/nats/nats-sink.js';
import { decodeTransportPayload, encodeTransportLine } from '../../src/pipeline/transport-codec.js';

const records: SluiceRecord[] = [
  {
    type: 'log',
    id: 'a',
    ts: 1_700_000_000_000_001,
    received_at: 1_700_000_000_000_002,
    size: 300,
    level: 'info',
    service: 'svc',
    message: 'line one\nline two',
    attrs: '{"k":[1,2]}',
    trace_id: null,
    span_id: null,
    tenant: 'acme',
  },
  {
    type: 'health',
    id: 'b',
    ts: 1,
    received_at: 2,
    size: 250,
    service: 'db',
    status: 'down',
    latency_ms: 12.5,
    message: null,
    attrs: null,
  },
];

test('records cross the transport unchanged (ids, times, size, tenant, newlines inside values)', () => {
  const messages = natsMessages(
    { id: 'batch-1', count: records.length, records, bytes: 550 },
    'sluice',
    1 << 20,
    encodeTransportLine,
  );
  assert.deepEqual(
    messages.map((m) => [m.subject, m.msgId]),
    [
      ['sluice.logs', 'batch-1:logs:0'],
      ['sluice.health', 'batch-1:health:1'],
    ],
  );
  assert.deepEqual(
    messages.flatMap((m) => decodeTransportPayload(m.payload)),
    records,
  );
});

test('a payload that is not a batch of rows is refused, not half-read', () => {
  assert.throws(() => decodeTransportPayload('{"message":"plain json"}\n'));
  assert.throws(() => decodeTransportPayload('[9,"x"]\n'));
  assert.deepEqual(decodeTransportPayload(''), []);
});
