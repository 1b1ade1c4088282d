// OTLP into Sluice with the OpenTelemetry JS SDK's own exporters (OTLP/HTTP JSON, OTLP/HTTP
// protobuf, OTLP/gRPC; each with a batch processor and a resource naming the service, a log
// emitted inside a real span) → rows and fields asserted in PostgreSQL. Plus what OTLP clients
// must be told in OTLP's terms: malformed payloads (nothing stored), partial success, and
// backpressure (429 / RESOURCE_EXHAUSTED with retry info).
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import { Client, Metadata, credentials, status as grpcStatus, type ServiceError } from '@grpc/grpc-js';
import { context, trace } from '@opentelemetry/api';
import { SeverityNumber } from '@opentelemetry/api-logs';
import { OTLPLogExporter as GrpcExporter } from '@opentelemetry/exporter-logs-otlp-grpc';
import { OTLPLogExporter as HttpJsonExporter } from '@opentelemetry/exporter-logs-otlp-http';
import { OTLPLogExporter as HttpProtoExporter } from '@opentelemetry/exporter-logs-otlp-proto';
import { CompressionAlgorithm } from '@opentelemetry/otlp-exporter-base';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchLogRecordProcessor, LoggerProvider, type LogRecordExporter } from '@opentelemetry/sdk-logs';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import pg from 'pg';
import type { App } from '../../src/app.js';
import type { Batch } from '../../src/batch.js';
import { decodeStatus, encodeExportRequest, RETRY_INFO_TYPE_URL } from '../../src/ingest/otlp/codec.js';
import { EXPORT_PATH } from '../../src/ingest/otlp/grpc-server.js';
import { SYNC_MAX_BYTES } from '../../src/ingest/parse-body.js';
import { freePort } from '../../src/postgres/embedded.js';
import type { Sink } from '../../src/sinks/sink.js';
import { startApp, tempDir, testConfig } from '../helpers/app.js';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.js';
import { waitFor } from '../helpers/wait-for.js';

const cleanups: Array<() => Promise<void> | void> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

let db: TestDatabase;
let app: App;
let sql: pg.Pool;

before(async () => {
  db = await createTestDatabase();
  cleanups.push(() => db.drop());
  const dir = tempDir();
  cleanups.push(dir.remove);
  app = await startApp(
    testConfig(
      {
        'sink.kind': 'postgres',
        'postgres.url': db.url,
        'batch.maxWaitMs': 20,
        'otlp.grpcPort': await freePort(),
        'otlp.grpcHost': '127.0.0.1',
      },
      dir.path,
    ),
  );
  cleanups.push(() => app.stop());
  sql = new pg.Pool({ connectionString: db.url, max: 2 });
  cleanups.push(() => sql.end());
});

interface Row {
  ts: Date;
  level: string;
  service: string | null;
  message: string | null;
  attrs: Record<string, unknown> | null;
  trace_id: string | null;
  span_id: string | null;
}

async function rows(service: string): Promise<Row[]> {
  const r = await sql.query<Row>(
    'SELECT ts, level, service, message, attrs, trace_id, span_id FROM logs WHERE service = $1 ORDER BY message',
    [service],
  );
  return r.rows;
}

async function countLike(pattern: string): Promise<number> {
  const r = await sql.query<{ n: string }>(
    "SELECT count(*) AS n FROM logs WHERE message LIKE $1 OR attrs::text LIKE '%' || $1 || '%'",
    [pattern],
  );
  return Number(r.rows[0]!.n);
}

/** Ships three logs through the SDK: one inside a span, one with a map body, one with an explicit time. */
async function shipWithSdk(exporter: LogRecordExporter, service: string): Promise<{ traceId: string; spanId: string }> {
  const provider = new LoggerProvider({
    resource: resourceFromAttributes({ 'service.name': service, 'host.name': 'box-1' }),
    processors: [new BatchLogRecordProcessor(exporter, { scheduledDelayMillis: 10 })],
  });
  const logger = provider.getLogger('checkout-lib', '2.1.0');
  const tracer = new BasicTracerProvider().getTracer('checkout-lib');
  const span = tracer.startSpan('charge card');
  logger.emit({
    severityNumber: SeverityNumber.WARN,
    severityText: 'WARN',
    body: 'a payment was slow',
    attributes: { 'order.id': 42, retry: true, tags: ['eu', 'card'] },
    context: trace.setSpan(context.active(), span),
  });
  span.end();
  logger.emit({ severityNumber: SeverityNumber.ERROR2, body: { code: 'E42', detail: { attempts: 3 } } });
  logger.emit({ severityText: 'debug', body: 'b explicit time', timestamp: new Date('2026-03-04T05:06:07.123Z') });
  await provider.forceFlush();
  await provider.shutdown();
  const sc = span.spanContext();
  return { traceId: sc.traceId, spanId: sc.spanId };
}

async function assertShipped(service: string, ids: { traceId: string; spanId: string }): Promise<void> {
  await waitFor(`3 rows of ${service}`, async () => (await rows(service)).length === 3, 10_000);
  const [payment, explicit, mapBody] = await rows(service);
  assert.equal(payment!.message, 'a payment was slow');
  assert.equal(payment!.level, 'warn');
  assert.equal(payment!.trace_id, ids.traceId);
  assert.equal(payment!.span_id, ids.spanId);
  assert.deepEqual(payment!.attrs, {
    'order.id': 42,
    retry: true,
    tags: ['eu', 'card'],
    resource: { 'service.name': service, 'host.name': 'box-1' },
    scope: { name: 'checkout-lib', version: '2.1.0' },
  });
  assert.ok(Math.abs(payment!.ts.getTime() - Date.now()) < 60_000, 'the log time is the emit time');

  assert.equal(explicit!.message, 'b explicit time');
  assert.equal(explicit!.level, 'debug');
  assert.equal(explicit!.ts.toISOString(), '2026-03-04T05:06:07.123Z');
  assert.equal(explicit!.trace_id, null);

  assert.equal(mapBody!.message, null);
  assert.equal(mapBody!.level, 'error');
  assert.deepEqual(mapBody!.attrs?.body, { code: 'E42', detail: { attempts: 3 } });
}

function post(path: string, contentType: string, body: Buffer | string, headers: Record<string, string> = {}) {
  return fetch(`${app.url}${path}`, { method: 'POST', headers: { 'content-type': contentType, ...headers }, body });
}

describe('OTLP with the OpenTelemetry SDK exporters', () => {
  test('OTLP/HTTP JSON (exporter-logs-otlp-http): rows, levels, trace context, resource and scope', async () => {
    const ids = await shipWithSdk(new HttpJsonExporter({ url: `${app.url}/v1/logs` }), 'checkout-json');
    await assertShipped('checkout-json', ids);
  });

  test('OTLP/HTTP protobuf, gzipped (exporter-logs-otlp-proto)', async () => {
    const exporter = new HttpProtoExporter({ url: `${app.url}/v1/logs`, compression: CompressionAlgorithm.GZIP });
    const ids = await shipWithSdk(exporter, 'checkout-proto');
    await assertShipped('checkout-proto', ids);
  });

  test('OTLP/gRPC, gzipped (exporter-logs-otlp-grpc) on otlp.grpcPort', async () => {
    const exporter = new GrpcExporter({
      url: `http://127.0.0.1:${app.otlpGrpc!.port}`,
      compression: CompressionAlgorithm.GZIP,
    });
    const ids = await shipWithSdk(exporter, 'checkout-grpc');
    await assertShipped('checkout-grpc', ids);
  });

  test('the protocol label counts each exporter apart', async () => {
    const text = await (await fetch(`${app.url}/metrics`)).text();
    const value = (labels: string): number =>
      Number(new RegExp(`^sluice_ingest_records_total\\{${labels}\\} (\\d+)$`, 'm').exec(text)?.[1]);
    assert.ok(value('type="log",protocol="otlp_http"') >= 6, text);
    assert.ok(value('type="log",protocol="otlp_grpc"') >= 3, text);
    assert.match(text, /sluice_ingest_requests_total\{route="\/v1\/logs",code="200",protocol="otlp_http"\} \d+/);
    assert.match(
      text,
      /sluice_ingest_requests_total\{route="\/opentelemetry\.proto\.collector\.logs\.v1\.LogsService\/Export",code="200",protocol="otlp_grpc"\} \d+/,
    );
  });
});

/** An OTLP/JSON request with one record per message (`traceId` set where given). */
function jsonRequest(records: Array<{ body: string; traceId?: string }>): string {
  return JSON.stringify({
    resourceLogs: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'hand-made' } }] },
        scopeLogs: [
          {
            logRecords: records.map((r) => ({
              timeUnixNano: '1764672000123456789',
              severityNumber: 9,
              body: { stringValue: r.body },
              ...(r.traceId !== undefined ? { traceId: r.traceId } : {}),
            })),
          },
        ],
      },
    ],
  });
}

describe('OTLP/HTTP answers in OTLP terms', () => {
  test('partial success: the good records are stored, the bad ones counted and named', async () => {
    const res = await post(
      '/v1/logs',
      'application/json',
      jsonRequest([{ body: 'partial-good-1' }, { body: 'partial-bad', traceId: 'xyz' }, { body: 'partial-good-2' }]),
    );
    assert.equal(res.status, 200);
    const answer = (await res.json()) as { partialSuccess: { rejectedLogRecords: string; errorMessage: string } };
    assert.equal(answer.partialSuccess.rejectedLogRecords, '1');
    assert.match(answer.partialSuccess.errorMessage, /logRecords\[1\]: traceId must be 32 hex digits/);
    await waitFor('2 partial rows', async () => (await countLike('partial-good-%')) === 2);
    assert.equal(await countLike('partial-bad'), 0);
    const metrics = await (await fetch(`${app.url}/metrics`)).text();
    assert.match(metrics, /^sluice_ingest_rejected_records_total\{type="log",protocol="otlp_http"\} 1$/m);
  });

  test('full success answers an empty ExportLogsServiceResponse in the request encoding', async () => {
    const proto = await post(
      '/v1/logs',
      'application/x-protobuf',
      encodeExportRequest({ resourceLogs: [{ scopeLogs: [{ logRecords: [{ body: { stringValue: 'proto-ok' } }] }] }] }),
    );
    assert.equal(proto.status, 200);
    assert.equal(proto.headers.get('content-type'), 'application/x-protobuf');
    assert.equal((await proto.arrayBuffer()).byteLength, 0);
    const json = await post('/v1/logs', 'application/json', jsonRequest([{ body: 'json-ok' }]));
    assert.deepEqual(await json.json(), {});
  });

  test('a large export (read in slices) is stored whole, over HTTP and gRPC', async () => {
    const big = (tag: string) =>
      encodeExportRequest({
        resourceLogs: [
          {
            scopeLogs: [
              {
                logRecords: Array.from({ length: 3000 }, (_, i) => ({
                  body: { stringValue: `${tag} ${i} `.padEnd(120, '.') },
                })),
              },
            ],
          },
        ],
      });
    const body = big('large-http');
    assert.ok(body.length > SYNC_MAX_BYTES, `a body of ${body.length} bytes`);
    const res = await post('/v1/logs', 'application/x-protobuf', body);
    assert.equal(res.status, 200);
    const client = new Client(`127.0.0.1:${app.otlpGrpc!.port}`, credentials.createInsecure());
    const err = await new Promise<ServiceError | null>((resolve) =>
      client.makeUnaryRequest(
        EXPORT_PATH,
        (b: Buffer) => b,
        (b: Buffer) => b,
        big('large-grpc'),
        new Metadata(),
        (e) => resolve(e),
      ),
    );
    client.close();
    assert.equal(err, null);
    await waitFor('both large exports stored', async () => (await countLike('large-%')) === 6000, 20_000);
  });

  test('malformed payloads get 400/415 with a google.rpc.Status body, and nothing is stored', async () => {
    const badProto = await post(
      '/v1/logs',
      'application/x-protobuf',
      Buffer.from([0x0a, 0xff, 0xff, 0xff, 0x0f, 0x01]),
    );
    assert.equal(badProto.status, 400);
    const status = decodeStatus(Buffer.from(await badProto.arrayBuffer()));
    assert.equal(status.code, 3); // INVALID_ARGUMENT
    assert.match(status.message, /^invalid OTLP protobuf payload: /);

    const badJson = await post('/v1/logs', 'application/json', '{"resourceLogs": [ malformed-marker');
    assert.equal(badJson.status, 400);
    const jsonStatus = (await badJson.json()) as { code: number; message: string };
    assert.equal(jsonStatus.code, 3);
    assert.match(jsonStatus.message, /^invalid OTLP json payload: /);

    const wrongShape = await post('/v1/logs', 'application/json', '{"resourceLogs": {"malformed-marker": 1}}');
    assert.equal(wrongShape.status, 400);
    assert.match(((await wrongShape.json()) as { message: string }).message, /resourceLogs must be an array/);

    const text = await post('/v1/logs', 'text/plain', 'malformed-marker');
    assert.equal(text.status, 415);
    assert.match(
      decodeStatus(Buffer.from(await text.arrayBuffer())).message,
      /application\/x-protobuf or application\/json/,
    );

    const garbage = await post('/v1/logs', 'application/x-protobuf', Buffer.from('malformed-marker, not gzip'), {
      'content-encoding': 'gzip',
    });
    assert.equal(garbage.status, 400);
    assert.match(decodeStatus(Buffer.from(await garbage.arrayBuffer())).message, /not valid gzip/);

    // A valid gzipped request right after, so a stored malformed one would have been flushed too.
    const ok = await post('/v1/logs', 'application/json', gzipSync(jsonRequest([{ body: 'after-malformed' }])), {
      'content-encoding': 'gzip',
    });
    assert.equal(ok.status, 200);
    await waitFor('the good request stored', async () => (await countLike('after-malformed')) === 1);
    assert.equal(await countLike('%malformed-marker%'), 0);
  });
});

/** A sink that holds every batch until released: the buffer fills and ingest pushes back. */
class GateSink implements Sink {
  readonly name = 'gate';
  /** Batches the sink has been handed (held or written). */
  seen = 0;
  private release!: () => void;
  private readonly gate = new Promise<void>((r) => (this.release = r));
  async writeBatch(_batch: Batch): Promise<void> {
    this.seen++;
    await this.gate;
  }
  open(): void {
    this.release();
  }
  async close(): Promise<void> {}
}

describe('OTLP backpressure', () => {
  test('a full buffer answers 429 + Retry-After + RetryInfo over HTTP and RESOURCE_EXHAUSTED + RetryInfo over gRPC', async () => {
    const sink = new GateSink();
    const dir = tempDir();
    const small = await startApp(
      testConfig(
        {
          'ingest.ack': 'memory',
          'buffer.maxRecords': 2,
          'batch.maxRecords': 1,
          'writers.count': 1,
          'writers.queue': 1,
          'ingest.enqueueTimeoutMs': 0,
          'ingest.retryAfterSeconds': 3,
          'otlp.grpcPort': await freePort(),
          'otlp.grpcHost': '127.0.0.1',
        },
        dir.path,
      ),
      { sink },
    );
    try {
      const one = encodeExportRequest({
        resourceLogs: [
          { scopeLogs: [{ logRecords: [{ body: { stringValue: 'fill' } }, { body: { stringValue: 'fill' } }] }] },
        ],
      });
      let res: Response | undefined;
      for (let i = 0; i < 10; i++) {
        res = await fetch(`${small.url}/v1/logs`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-protobuf' },
          body: one,
        });
        if (res.status !== 200) break;
        await res.arrayBuffer();
      }
      assert.equal(res!.status, 429);
      assert.equal(res!.headers.get('retry-after'), '3');
      const status = decodeStatus(Buffer.from(await res!.arrayBuffer()));
      assert.equal(status.code, 8); // RESOURCE_EXHAUSTED
      assert.equal(status.details[0]?.typeUrl, RETRY_INFO_TYPE_URL);
      assert.equal(status.retryDelaySeconds, 3);

      const client = new Client(`127.0.0.1:${small.otlpGrpc!.port}`, credentials.createInsecure());
      const err = await new Promise<ServiceError>((resolve, reject) =>
        client.makeUnaryRequest(
          EXPORT_PATH,
          (b: Buffer) => b,
          (b: Buffer) => b,
          one,
          new Metadata(),
          (e) => (e ? resolve(e) : reject(new Error('export accepted while the buffer is full'))),
        ),
      );
      client.close();
      assert.equal(err.code, grpcStatus.RESOURCE_EXHAUSTED);
      const details = err.metadata.get('grpc-status-details-bin')[0];
      assert.ok(Buffer.isBuffer(details), 'status details sent');
      const rpc = decodeStatus(details);
      assert.equal(rpc.code, grpcStatus.RESOURCE_EXHAUSTED);
      assert.equal(rpc.details[0]?.typeUrl, RETRY_INFO_TYPE_URL);
      assert.equal(rpc.retryDelaySeconds, 3);
    } finally {
      sink.open();
      await small.stop();
      dir.remove();
    }
  });

  test('stopping the app lets a gRPC export in flight finish (ack sink: answered once committed)', async () => {
    const sink = new GateSink();
    const dir = tempDir();
    const port = await freePort();
    const held = await startApp(
      testConfig(
        { 'ingest.ack': 'sink', 'batch.maxWaitMs': 5, 'otlp.grpcPort': port, 'otlp.grpcHost': '127.0.0.1' },
        dir.path,
      ),
      { sink },
    );
    const client = new Client(`127.0.0.1:${port}`, credentials.createInsecure());
    try {
      const request = encodeExportRequest({
        resourceLogs: [{ scopeLogs: [{ logRecords: [{ body: { stringValue: 'in flight' } }] }] }],
      });
      let answered = false;
      const exported = new Promise<Error | null>((resolve) =>
        client.makeUnaryRequest(
          EXPORT_PATH,
          (b: Buffer) => b,
          (b: Buffer) => b,
          request,
          new Metadata(),
          (e) => {
            answered = true;
            resolve(e);
          },
        ),
      );
      await waitFor('the sink holding the batch', () => sink.seen === 1);
      const stopping = held.stop();
      // The app is stopping; the export still waits for its commit.
      assert.equal(answered, false);
      sink.open();
      assert.equal(await exported, null, 'the export in flight was answered OK');
      await stopping;
    } finally {
      client.close();
      sink.open();
      await held.stop();
      dir.remove();
    }
  });

  test('ingest tokens: OTLP/HTTP 401 with a Status, gRPC UNAUTHENTICATED / PERMISSION_DENIED; the right token is taken', async () => {
    const dir = tempDir();
    const port = await freePort();
    const token = 'otlp-secret-token';
    const guarded = await startApp(
      testConfig(
        { 'auth.ingestTokens': token, 'otlp.grpcPort': port, 'otlp.grpcHost': '127.0.0.1', 'ingest.ack': 'memory' },
        dir.path,
      ),
    );
    const client = new Client(`127.0.0.1:${port}`, credentials.createInsecure());
    try {
      const request = encodeExportRequest({
        resourceLogs: [{ scopeLogs: [{ logRecords: [{ body: { stringValue: 'guarded' } }] }] }],
      });
      const http = (headers: Record<string, string>) =>
        fetch(`${guarded.url}/v1/logs`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-protobuf', ...headers },
          body: request,
        });
      const none = await http({});
      assert.equal(none.status, 401);
      assert.equal(decodeStatus(Buffer.from(await none.arrayBuffer())).code, 16); // UNAUTHENTICATED
      assert.equal((await http({ authorization: `Bearer ${token}` })).status, 200);

      const call = (authorization?: string) =>
        new Promise<ServiceError | null>((resolve) => {
          const md = new Metadata();
          if (authorization) md.set('authorization', authorization);
          client.makeUnaryRequest(
            EXPORT_PATH,
            (b: Buffer) => b,
            (b: Buffer) => b,
            request,
            md,
            (e) => resolve(e),
          );
        });
      assert.equal((await call())?.code, grpcStatus.UNAUTHENTICATED);
      assert.equal((await call('Bearer wrong-token-123'))?.code, grpcStatus.PERMISSION_DENIED);
      assert.equal(await call(`Bearer ${token}`), null);
    } finally {
      client.close();
      await guarded.stop();
      dir.remove();
    }
  });

  test('a malformed gRPC export is INVALID_ARGUMENT', async () => {
    const client = new Client(`127.0.0.1:${app.otlpGrpc!.port}`, credentials.createInsecure());
    const err = await new Promise<ServiceError>((resolve, reject) =>
      client.makeUnaryRequest(
        EXPORT_PATH,
        (b: Buffer) => b,
        (b: Buffer) => b,
        Buffer.from([0x0a, 0xff, 0xff, 0xff, 0x0f, 0x01]),
        new Metadata(),
        (e) => (e ? resolve(e) : reject(new Error('malformed export accepted'))),
      ),
    );
    client.close();
    assert.equal(err.code, grpcStatus.INVALID_ARGUMENT);
    assert.match(err.details, /invalid OTLP protobuf payload/);
  });
});
