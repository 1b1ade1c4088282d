// Issue #13's loop bound for the protocol routes, counted rather than timed: a body at the size
// cap (10 MiB) of tiny records is decoded and mapped in many steps, and no step does more than
// two steps' worth of work (STEP_WORK bytes), for Loki push (protobuf and JSON), OTLP/HTTP
// (protobuf and JSON), Elasticsearch _bulk (many items, and one 10 MiB document) and syslog
// TCP. Time per step is measured in bench/loop-stall.ts; here only work is counted.
import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import type { SluiceError } from '../../src/errors.js';
import { parseBulkSteps } from '../../src/ingest/elasticsearch/bulk.js';
import { bulkResponseSteps } from '../../src/ingest/elasticsearch/elasticsearch-routes.js';
import { lokiPushSteps } from '../../src/ingest/loki/loki-routes.js';
import { decodePushJson } from '../../src/ingest/loki/push-json.js';
import { unsnappy, unsnappySteps } from '../../src/ingest/loki/push-proto.js';
import { encodeExportRequest } from '../../src/ingest/otlp/codec.js';
import { readExportSteps } from '../../src/ingest/otlp/read-export.js';
import type { ParseLimits } from '../../src/ingest/parse-body.js';
import { STEP_WORK, countSteps, runAtOnce, type Steps } from '../../src/steps.js';
import { MESSAGES_PER_STEP, SyslogTcpListener } from '../../src/ingest/syslog/tcp.js';
import { syslogConfig } from '../../src/ingest/syslog/config.js';
import type { IngestContext } from '../../src/ingest/enqueue.js';
import { Metrics } from '../../src/observability/metrics.js';
import { MemoryBuffer } from '../../src/pipeline/memory-buffer.js';
import { pushJson, pushProto, type PushStream } from '../helpers/loki-push.js';
import { waitFor } from '../helpers/wait-for.js';

const MiB = 1024 * 1024;
const CAP = 10 * MiB;
/** The record cap raised, so 10 MiB can be hundreds of thousands of tiny records. */
const LIMITS: ParseLimits = { maxRecords: 2_000_000, maxDepth: 64, maxKeys: 10_000 };
const BOUND = 2 * STEP_WORK;
const NOW = 1_700_000_000_000_000;

/** Runs the steps counted, checks the bounds, and returns what they made. */
function stepped<T>(name: string, work: Steps<T>): T {
  const { value, steps, maxStepWork } = countSteps(work);
  assert.ok(steps > 10, `${name}: ${steps} steps`);
  assert.ok(maxStepWork <= BOUND, `${name}: the largest step did ${maxStepWork} bytes of work (bound ${BOUND})`);
  return value;
}

/** Streams of tiny entries filling about `bytes` once encoded (~`per` bytes an entry). */
function lokiStreams(bytes: number, per: number): PushStream[] {
  const streams: PushStream[] = [];
  const n = Math.floor(bytes / per);
  for (let s = 0; s < 100; s++)
    streams.push({
      labels: [
        ['service_name', `svc${s}`],
        ['level', 'info'],
      ],
      entries: Array.from({ length: Math.floor(n / 100) }, (_, i) => ({
        ns: `17000000000${String(i).padStart(8, '0')}`,
        line: 'x',
      })),
    });
  return streams;
}

test('Loki JSON: 10 MiB of tiny entries is decoded and mapped in steps', () => {
  const body = pushJson(lokiStreams(CAP, 30));
  assert.ok(body.length > 9 * MiB && body.length <= CAP, `${body.length} bytes`);
  const mapped = stepped('loki json', lokiPushSteps(body, true, LIMITS.maxRecords, CAP, NOW));
  assert.ok(mapped.records.length > 250_000, `${mapped.records.length} records`);
});

test('Loki protobuf: 10 MiB of tiny entries is undone, decoded and mapped in steps', () => {
  const body = pushProto(lokiStreams(CAP, 17));
  const raw = unsnappy(body, CAP);
  assert.ok(raw.length > 9 * MiB && raw.length <= CAP, `${raw.length} bytes`);
  // Snappy alone: the block is undone in steps too, to the same bytes.
  assert.ok(stepped('snappy', unsnappySteps(body, CAP)).equals(raw));
  const mapped = stepped('loki protobuf', lokiPushSteps(body, false, LIMITS.maxRecords, CAP, NOW));
  assert.ok(mapped.records.length > 250_000, `${mapped.records.length} records`);
});

test('Loki: more entries than ingest.maxRecordsPerRequest are refused while decoding', () => {
  const body = pushProto(lokiStreams(MiB, 29));
  assert.throws(
    () => runAtOnce(lokiPushSteps(body, false, 1000, CAP, NOW)),
    (err: Error) => /more than 1000 entries/.test(err.message),
  );
});

test('Loki JSON: past ingest.maxRecordsPerRequest is refused while walking, before values are built', () => {
  const body = pushJson(lokiStreams(MiB, 29));
  const n = decodePushJson(body, Infinity).reduce((sum, st) => sum + st.entries.length, 0);
  // Exactly at the cap is taken; one past is refused in the first step of the walk.
  assert.equal(runAtOnce(lokiPushSteps(body, true, n, CAP, NOW)).records.length, n);
  const counted = countSteps(refusal(lokiPushSteps(body, true, 1000, CAP, NOW)));
  assert.match(counted.value?.message ?? '', /more than 1000 entries/);
  assert.ok(counted.steps <= 2, `${counted.steps} steps`);
  // Labels and structured metadata are not entries.
  const meta = Buffer.from(
    JSON.stringify({
      streams: [
        {
          stream: { a: '1', b: '2', c: '3' },
          values: [
            ['1', 'x', { k: 'v' }],
            ['2', 'y', { k: 'v', l: 'w' }],
          ],
        },
        { stream: { a: '1' }, values: [['3', 'z']] },
      ],
    }),
  );
  assert.equal(runAtOnce(lokiPushSteps(meta, true, 3, CAP, NOW)).records.length, 3);
  assert.throws(() => runAtOnce(lokiPushSteps(meta, true, 2, CAP, NOW)), /more than 2 entries/);
});

/** Runs `steps` to their end, returning the error they threw (undefined when none). */
function* refusal(steps: Steps<unknown>): Steps<Error | undefined> {
  try {
    yield* steps;
  } catch (err) {
    return err as Error;
  }
  return undefined;
}

/** An export of tiny log records filling about `bytes` in OTLP/JSON. */
function otlpExport(records: number): object {
  const logRecords = Array.from({ length: records }, (_, i) => ({
    timeUnixNano: `17000000000${String(i).padStart(8, '0')}`,
    body: { stringValue: 'x' },
  }));
  const resourceLogs = [];
  for (let r = 0; r < 10; r++)
    resourceLogs.push({
      resource: { attributes: [{ key: 'service.name', value: { stringValue: `svc${r}` } }] },
      scopeLogs: [{ scope: { name: 's' }, logRecords: logRecords.slice((r * records) / 10, ((r + 1) * records) / 10) }],
    });
  return { resourceLogs };
}

test('OTLP/JSON: 10 MiB of tiny records is parsed and mapped in steps', () => {
  const body = Buffer.from(JSON.stringify(otlpExport(150_000)));
  assert.ok(body.length > 8 * MiB && body.length <= CAP, `${body.length} bytes`);
  const mapped = stepped('otlp json', readExportSteps(body, 'json', NOW, LIMITS));
  assert.equal(mapped.records.length, 150_000);
  assert.equal(mapped.rejected, 0);
});

test('OTLP protobuf: 10 MiB of tiny records is decoded and mapped in steps', () => {
  const body = encodeExportRequest(otlpExport(600_000));
  assert.ok(body.length > 8 * MiB && body.length <= CAP, `${body.length} bytes`);
  const mapped = stepped('otlp protobuf', readExportSteps(body, 'protobuf', NOW, LIMITS));
  assert.equal(mapped.records.length, 600_000);
});

test('OTLP protobuf: more records than ingest.maxRecordsPerRequest are refused while decoding', () => {
  const body = encodeExportRequest(otlpExport(20_000));
  const counted = countSteps(
    (function* () {
      try {
        yield* readExportSteps(body, 'protobuf', NOW, { ...LIMITS, maxRecords: 1000 });
      } catch (err) {
        return err as SluiceError;
      }
      return undefined;
    })(),
  );
  assert.equal(counted.value?.code, 'SLUICE_ERR_TOO_MANY_RECORDS');
  // Stopped at the 1001st record: about a twentieth of the body decoded, not all of it.
  assert.ok(counted.steps <= 2, `${counted.steps} steps`);
});

test('OTLP/JSON: past ingest.maxRecordsPerRequest is a 413 while walking, before values are built', () => {
  const body = Buffer.from(JSON.stringify(otlpExport(20_000)));
  const counted = countSteps(refusal(readExportSteps(body, 'json', NOW, { ...LIMITS, maxRecords: 1000 })));
  assert.equal((counted.value as SluiceError | undefined)?.code, 'SLUICE_ERR_TOO_MANY_RECORDS');
  assert.ok(counted.steps <= 2, `${counted.steps} steps`);
  // Exactly at the cap is taken: attributes (resource, scope, record) and kvlist bodies are not records.
  const attrs = [{ key: 'k', value: { kvlistValue: { values: [{ key: 'i', value: { intValue: '1' } }] } } }];
  const wide = {
    resourceLogs: [
      {
        resource: { attributes: attrs },
        scopeLogs: [
          {
            scope: { name: 's', attributes: attrs },
            logRecords: [
              { body: { kvlistValue: { values: attrs } }, attributes: attrs },
              { body: { arrayValue: { values: [{ stringValue: 'a' }, { stringValue: 'b' }] } } },
            ],
          },
        ],
      },
      { scopeLogs: [{ logRecords: [{ body: { stringValue: 'c' } }] }] },
    ],
  };
  const text = Buffer.from(JSON.stringify(wide));
  assert.equal(runAtOnce(readExportSteps(text, 'json', NOW, { ...LIMITS, maxRecords: 3 })).records.length, 3);
  assert.throws(
    () => runAtOnce(readExportSteps(text, 'json', NOW, { ...LIMITS, maxRecords: 2 })),
    (err: SluiceError) => err.code === 'SLUICE_ERR_TOO_MANY_RECORDS',
  );
});

test('OTLP/JSON nested past what ingest.maxDepth allows is a 400 before it is built', () => {
  const body = Buffer.from(`{"resourceLogs":${'['.repeat(300_000)}`);
  assert.throws(
    () => runAtOnce(readExportSteps(body, 'json', NOW, LIMITS)),
    (err: Error) => /nests deeper than/.test(err.message),
  );
});

test('_bulk: 10 MiB of tiny items is parsed in steps', () => {
  const pair = '{"index":{}}\n{"message":"m"}\n';
  const body = Buffer.from(pair.repeat(Math.floor(CAP / pair.length)));
  const parsed = stepped('_bulk', parseBulkSteps(body, 'logs', NOW, LIMITS));
  assert.equal(parsed.records.length, Math.floor(CAP / pair.length));
  // Its answer (~150 bytes an item) is made in steps too, and reads as JSON.stringify's would.
  const answer = JSON.parse(Buffer.concat(stepped('_bulk answer', bulkResponseSteps(parsed, 7))).toString()) as {
    took: number;
    errors: boolean;
    items: Array<{ index: { status: number; _seq_no: number } }>;
  };
  assert.equal(answer.took, 7);
  assert.equal(answer.errors, false);
  assert.equal(answer.items.length, parsed.items.length);
  assert.equal(answer.items.at(-1)!.index._seq_no, parsed.items.length - 1);
});

test('_bulk: one 10 MiB document is parsed and serialised a piece at a time', () => {
  const v = JSON.stringify('v'.repeat(2400));
  const keys = Array.from({ length: 4000 }, (_, i) => `"k${i}":${v}`).join(',');
  const body = Buffer.from(`{"index":{}}\n{"message":"wide",${keys}}\n`);
  assert.ok(body.length > 8 * MiB, `${body.length} bytes`);
  const parsed = stepped('_bulk one document', parseBulkSteps(body, 'logs', NOW, LIMITS));
  assert.equal(parsed.records.length, 1);
  const record = parsed.records[0]!;
  // The same record as a document small enough to be parsed whole would give.
  const attrs = JSON.parse(record.attrs!) as Record<string, string>;
  assert.equal(Object.keys(attrs).length, 4001);
  assert.equal(attrs.k3999, 'v'.repeat(2400));
  assert.equal(attrs._index, 'logs');
  assert.equal(record.message, 'wide');
});

test('_bulk: one document past ingest.maxKeysPerRecord fails its item, checked in steps', () => {
  const keys = Array.from({ length: 20_000 }, (_, i) => `"k${i}":${JSON.stringify('v'.repeat(20))}`).join(',');
  const body = Buffer.from(`{"index":{}}\n{${keys}}\n{"index":{}}\n{"message":"ok"}\n`);
  const parsed = runAtOnce(parseBulkSteps(body, 'logs', NOW, LIMITS));
  assert.match(parsed.items[0]!.error!.cause.reason, /more than 10000 keys/);
  assert.equal(parsed.records.length, 1);
});

test('syslog TCP: 10 MiB of tiny messages in one write is parsed in steps of at most 256 messages', async () => {
  const steps: number[] = [];
  let admitted = 0;
  const metrics = new Metrics();
  const ctx = {
    config: { ingest: { enqueueTimeoutMs: 30_000 } },
    buffer: new MemoryBuffer({ maxRecords: 2_000_000, maxBytes: 2 ** 31, retryAfterSeconds: 1 }),
    metrics,
  } as unknown as IngestContext;
  const listener = new SyslogTcpListener(syslogConfig.parse({ host: '127.0.0.1', tcpPort: 0 }), {
    ctx,
    onLogs: (r) => (admitted += r.length),
    onStep: (messages) => steps.push(messages),
  });
  const port = await listener.listen();
  const line = '<13>1 2026-12-03T00:00:00Z h app - - - m\n';
  const n = Math.floor(CAP / line.length);
  const socket = net.connect(port, '127.0.0.1');
  socket.end(line.repeat(n));
  await waitFor(
    () => `${n} messages admitted (${admitted} so far)`,
    () => admitted === n,
    60_000,
  );
  await listener.close(Date.now() + 1000);
  assert.equal(
    steps.reduce((a, b) => a + b, 0),
    n,
  );
  assert.ok(steps.length > 1000, `${steps.length} steps`);
  assert.ok(Math.max(...steps) <= MESSAGES_PER_STEP, `a step of ${Math.max(...steps)} messages`);
});

test('Loki: labels or structured metadata past 64 KiB are a 400, not parsed in one go', () => {
  const long: PushStream[] = [{ labels: [['service_name', 'v'.repeat(MiB)]], entries: [{ ns: '1', line: 'x' }] }];
  const meta: PushStream[] = [
    {
      labels: [['service_name', 's']],
      entries: [{ ns: '1', line: 'x', metadata: Array.from({ length: 20_000 }, (_, i) => [`k${i}`, 'vvvv']) }],
    },
  ];
  for (const json of [false, true]) {
    const encode = json ? pushJson : pushProto;
    assert.throws(
      () => runAtOnce(lokiPushSteps(encode(long), json, LIMITS.maxRecords, CAP, NOW)),
      (err: Error) => /labels are longer than 65536/.test(err.message),
    );
    assert.throws(
      () => runAtOnce(lokiPushSteps(encode(meta), json, LIMITS.maxRecords, CAP, NOW)),
      (err: Error) => /structured metadata is longer than 65536/.test(err.message),
    );
  }
});
