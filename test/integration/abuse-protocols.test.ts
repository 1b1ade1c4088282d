// Issue #13's loop bound on the protocol routes, through a child collector: 5–10 MiB of tiny
// records as a Loki push (protobuf and JSON), an OTLP/HTTP export (protobuf and JSON) and an
// Elasticsearch _bulk body, each accepted with the collector's loop free meanwhile. The bound is
// timed and generous for a shared machine (loopBoundMs, 1 s): it catches the gross case (_bulk
// before its answer was made in steps: 1.8 s here, 7–11 s in the bench under load) but not a
// stall of a few hundred ms. That the work is bounded is counted, per step, in
// test/unit/protocol-steps.test.ts; bench/loop-stall.ts measures the stall itself.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { uncompress } from 'snappyjs';
import { encodeExportRequest } from '../../src/ingest/otlp/codec.js';
import { tempDir } from '../helpers/app.js';
import {
  loopBoundMs,
  maxLoopDelayMs,
  slowestHealthz,
  startChildCollector,
  type ChildCollector,
} from '../helpers/child-collector.js';
import { pushJson, pushProto, type PushStream } from '../helpers/loki-push.js';

const LOOP_BOUND_MS = loopBoundMs();
const MiB = 1024 * 1024;
const LINE = 'the quick brown fox jumps over the lazy dog';

let c: ChildCollector;
const dir = tempDir('sluice-abuse-protocols-');

before(async () => {
  c = await startChildCollector({
    'sink.kind': 'blackhole',
    'ingest.ack': 'memory',
    'deadLetter.dir': dir.path,
    'health.dataDir': `${dir.path}/health`,
    // Raised so that 10 MiB can be hundreds of thousands of tiny records.
    'ingest.maxRecordsPerRequest': 1_000_000,
    'buffer.maxRecords': 1_000_000,
    'buffer.maxBytes': 512 * MiB,
  });
  await slowestHealthz(c.url, sleep(1000)); // warm up
});

after(async () => {
  await c?.stop();
  dir.remove();
});

function lokiStreams(n: number): PushStream[] {
  return Array.from({ length: 10 }, (_, s) => ({
    labels: [['service_name', `abuse${s}`]] as Array<[string, string]>,
    entries: Array.from({ length: n / 10 }, (_, i) => ({ ns: `17000000000${String(i).padStart(8, '0')}`, line: LINE })),
  }));
}

function otlpExport(n: number): object {
  return {
    resourceLogs: Array.from({ length: 10 }, (_, r) => ({
      resource: { attributes: [{ key: 'service.name', value: { stringValue: `abuse${r}` } }] },
      scopeLogs: [
        {
          logRecords: Array.from({ length: n / 10 }, (_, i) => ({
            timeUnixNano: `17000000000${String(i).padStart(8, '0')}`,
            body: { stringValue: LINE },
          })),
        },
      ],
    })),
  };
}

const bulkPair = `{"index":{}}\n${JSON.stringify({ message: LINE })}\n`;
const requests: Array<[string, string, Record<string, string>, () => Buffer, number]> = [
  [
    'Loki protobuf',
    '/loki/api/v1/push',
    { 'content-type': 'application/x-protobuf' },
    () => pushProto(lokiStreams(150_000)),
    204,
  ],
  ['Loki JSON', '/loki/api/v1/push', { 'content-type': 'application/json' }, () => pushJson(lokiStreams(130_000)), 204],
  [
    'OTLP protobuf',
    '/v1/logs',
    { 'content-type': 'application/x-protobuf' },
    () => encodeExportRequest(otlpExport(150_000)),
    200,
  ],
  [
    'OTLP JSON',
    '/v1/logs',
    { 'content-type': 'application/json' },
    () => Buffer.from(JSON.stringify(otlpExport(90_000))),
    200,
  ],
  [
    '_bulk',
    '/abuse/_bulk',
    { 'content-type': 'application/x-ndjson' },
    () => Buffer.from(bulkPair.repeat(140_000)),
    200,
  ],
];

for (const [name, path, headers, make, status] of requests) {
  test(`${name}: ~10 MiB of tiny records is accepted with the loop free meanwhile`, async () => {
    const body = make();
    // Loki's protobuf goes Snappy-compressed: its size is what it decompresses to.
    const size = name === 'Loki protobuf' ? uncompress(body).length : body.length;
    assert.ok(size > 5 * MiB && size <= 10 * MiB, `${size} bytes`);
    await maxLoopDelayMs(c.url);
    const res = await fetch(`${c.url}${path}`, { method: 'POST', headers, body });
    assert.equal(res.status, status, await res.clone().text());
    await res.arrayBuffer();
    const loopMs = await maxLoopDelayMs(c.url);
    assert.ok(loopMs < LOOP_BOUND_MS, `${name}: the loop was held ${loopMs.toFixed(0)} ms`);
  });
}
