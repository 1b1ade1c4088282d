// Traces end to end: a real app exports over OTLP/HTTP to an in-process receiver (a plain
// HTTP server standing in for an OpenTelemetry Collector), and the spans, their parents and
// the batch → request links are checked as they arrive on the wire.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import type { App } from '../../src/app.js';
import { loadConfig } from '../../src/config/load.js';
import { parseTraceparent } from '../../src/observability/tracing.js';
import type { Batch } from '../../src/batch.js';
import type { Sink } from '../../src/sinks/sink.js';
import { postJson, startApp, tempDir, testConfig } from '../helpers/app.js';

interface OtlpValue {
  stringValue?: string;
  intValue?: number | string;
  boolValue?: boolean;
  doubleValue?: number;
}
interface OtlpAttr {
  key: string;
  value: OtlpValue;
}
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes: OtlpAttr[];
  links: Array<{ traceId: string; spanId: string }>;
  status: { code?: number };
  events: Array<{ name: string }>;
  service: string;
}
interface OtlpRequest {
  resourceSpans: Array<{
    resource: { attributes: OtlpAttr[] };
    scopeSpans: Array<{ spans: Array<Omit<OtlpSpan, 'service'>> }>;
  }>;
}

// OTLP span kinds and status codes (the wire values, not the API's enums).
const KIND = { INTERNAL: 1, SERVER: 2, CLIENT: 3 };
const STATUS_ERROR = 2;

function value(v: OtlpValue | undefined): string | number | boolean | undefined {
  if (!v) return undefined;
  if (v.intValue !== undefined) return Number(v.intValue);
  return v.stringValue ?? v.boolValue ?? v.doubleValue;
}

function attr(span: { attributes: OtlpAttr[] }, key: string): string | number | boolean | undefined {
  return value(span.attributes.find((a) => a.key === key)?.value);
}

/** A minimal OTLP/HTTP JSON trace receiver. */
async function startReceiver(): Promise<{
  url: string;
  spans: OtlpSpan[];
  requests: number;
  close: () => Promise<void>;
}> {
  const state = { spans: [] as OtlpSpan[], requests: 0 };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let body = Buffer.concat(chunks);
      if (req.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
      if (req.url !== '/v1/traces' || !String(req.headers['content-type']).startsWith('application/json')) {
        res.writeHead(404).end();
        return;
      }
      state.requests++;
      const data = JSON.parse(body.toString('utf8')) as OtlpRequest;
      for (const rs of data.resourceSpans) {
        const service = String(attr(rs.resource, 'service.name'));
        for (const ss of rs.scopeSpans)
          for (const s of ss.spans) state.spans.push({ ...s, links: s.links ?? [], service });
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    get spans() {
      return state.spans;
    },
    get requests() {
      return state.requests;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

async function committed(app: App, records: number): Promise<void> {
  for (let i = 0; i < 250; i++) {
    if (app.pool.stats().committedRecords >= records) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.fail(`only ${app.pool.stats().committedRecords} of ${records} records committed`);
}

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT_ID = '00f067aa0ba902b7';

const dir = tempDir();
after(() => dir.remove());

describe('tracing', () => {
  test('exports request, batch-flush and sink-write spans; the batch span links to the requests it carries', async () => {
    const rx = await startReceiver();
    // Three records in two requests make one batch, cut by size (deterministic, no timer).
    const app = await startApp(
      testConfig(
        { 'sink.kind': 'blackhole', 'tracing.endpoint': rx.url, 'batch.maxRecords': 3, 'batch.maxWaitMs': 10_000 },
        dir.path,
      ),
    );
    try {
      const withParent = await postJson(`${app.url}/logs`, [{ message: 'a' }, { message: 'b' }], {
        traceparent: `00-${TRACE_ID}-${PARENT_ID}-01`,
        'x-request-id': 'trace-req-1',
      });
      assert.equal(withParent.status, 202);
      const fresh = await postJson(`${app.url}/health`, { service: 'svc', status: 'up' });
      assert.equal(fresh.status, 202);
      assert.equal((await fetch(`${app.url}/metrics`)).status, 200);
      await committed(app, 3);
    } finally {
      await app.stop(); // flushes the span processor
      await rx.close();
    }

    const logs = rx.spans.filter((s) => s.name === 'POST /logs');
    const health = rx.spans.filter((s) => s.name === 'POST /health');
    assert.equal(logs.length, 1);
    assert.equal(health.length, 1);
    const [logsSpan, healthSpan] = [logs[0]!, health[0]!];
    // The incoming traceparent is honoured: same trace, the caller's span as parent.
    assert.equal(logsSpan.traceId, TRACE_ID);
    assert.equal(logsSpan.parentSpanId, PARENT_ID);
    assert.equal(logsSpan.kind, KIND.SERVER);
    assert.equal(attr(logsSpan, 'http.route'), '/logs');
    assert.equal(attr(logsSpan, 'http.response.status_code'), 202);
    assert.equal(attr(logsSpan, 'sluice.req_id'), 'trace-req-1');
    assert.equal(logsSpan.service, 'sluice');
    // Without a traceparent a request starts its own trace.
    assert.notEqual(healthSpan.traceId, TRACE_ID);
    assert.ok(!healthSpan.parentSpanId, 'a root span');

    const batches = rx.spans.filter((s) => s.name === 'sluice.batch.flush');
    assert.equal(batches.length, 1);
    const batch = batches[0]!;
    assert.equal(attr(batch, 'sluice.batch.records'), 3);
    assert.equal(attr(batch, 'sluice.batch.trigger'), 'size');
    assert.equal(attr(batch, 'sluice.batch.requests'), 2);
    assert.ok(!batch.parentSpanId, 'the batch is not a child of any one request');
    const links = batch.links.map((l) => `${l.traceId}/${l.spanId}`).sort();
    assert.deepEqual(
      links,
      [`${logsSpan.traceId}/${logsSpan.spanId}`, `${healthSpan.traceId}/${healthSpan.spanId}`].sort(),
    );

    const writes = rx.spans.filter((s) => s.name === 'sluice.sink.write');
    assert.equal(writes.length, 1);
    assert.equal(writes[0]!.traceId, batch.traceId);
    assert.equal(writes[0]!.parentSpanId, batch.spanId);
    assert.equal(writes[0]!.kind, KIND.CLIENT);
    assert.equal(attr(writes[0]!, 'sluice.sink'), 'blackhole');
    assert.equal(attr(writes[0]!, 'sluice.write.attempt'), 1);

    assert.ok(!rx.spans.some((s) => s.name.includes('/metrics')), 'scrapes are not traced');
  });

  test('a failed write is an error span and its retry a second attempt under the same batch span', async () => {
    const rx = await startReceiver();
    let calls = 0;
    const flaky: Sink = {
      name: 'flaky',
      writeBatch: async () => {
        if (++calls === 1) throw new Error('connection reset');
      },
      close: async () => {},
    };
    const app = await startApp(
      testConfig(
        { 'tracing.endpoint': rx.url, 'batch.maxRecords': 1, 'retry.baseDelayMs': 1, 'retry.maxDelayMs': 2 },
        dir.path,
      ),
      { sink: flaky },
    );
    try {
      assert.equal((await postJson(`${app.url}/logs`, { message: 'retry me' })).status, 202);
      await committed(app, 1);
    } finally {
      await app.stop();
      await rx.close();
    }
    const batch = rx.spans.find((s) => s.name === 'sluice.batch.flush')!;
    const writes = rx.spans
      .filter((s) => s.name === 'sluice.sink.write')
      .sort((a, b) => Number(attr(a, 'sluice.write.attempt')) - Number(attr(b, 'sluice.write.attempt')));
    assert.deepEqual(
      writes.map((w) => attr(w, 'sluice.write.attempt')),
      [1, 2],
    );
    assert.ok(writes.every((w) => w.parentSpanId === batch.spanId));
    assert.equal(writes[0]!.status.code, STATUS_ERROR);
    assert.ok(
      writes[0]!.events.some((e) => e.name === 'exception'),
      'the exception is recorded',
    );
    assert.notEqual(writes[1]!.status.code, STATUS_ERROR);
  });

  test("follows the caller's sampling decision: an unsampled request is neither exported nor linked", async () => {
    const rx = await startReceiver();
    const app = await startApp(
      testConfig({ 'sink.kind': 'blackhole', 'tracing.endpoint': rx.url, 'batch.maxRecords': 1 }, dir.path),
    );
    try {
      const res = await postJson(
        `${app.url}/logs`,
        { message: 'unsampled' },
        { traceparent: `00-${TRACE_ID}-${PARENT_ID}-00` },
      );
      assert.equal(res.status, 202);
      await committed(app, 1);
    } finally {
      await app.stop();
      await rx.close();
    }
    assert.ok(!rx.spans.some((s) => s.traceId === TRACE_ID), 'nothing from the unsampled trace');
    const batch = rx.spans.find((s) => s.name === 'sluice.batch.flush');
    assert.ok(batch, 'the batch itself is a new, sampled trace');
    assert.deepEqual(batch.links, []);
  });

  test('each app exports to its own endpoint when several run in one process', async () => {
    const [rxA, rxB] = await Promise.all([startReceiver(), startReceiver()]);
    const common = { 'sink.kind': 'blackhole', 'batch.maxRecords': 1 };
    const a = await startApp(
      testConfig({ ...common, 'tracing.endpoint': rxA.url, 'tracing.serviceName': 'sluice-a' }, dir.path),
    );
    const b = await startApp(
      testConfig({ ...common, 'tracing.endpoint': rxB.url, 'tracing.serviceName': 'sluice-b' }, dir.path),
    );
    try {
      assert.equal((await postJson(`${a.url}/logs`, { message: 'to a' })).status, 202);
      assert.equal((await postJson(`${b.url}/logs`, { message: 'to b' })).status, 202);
      await Promise.all([committed(a, 1), committed(b, 1)]);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
      await Promise.all([rxA.close(), rxB.close()]);
    }
    assert.ok(rxA.spans.length >= 3 && rxA.spans.every((s) => s.service === 'sluice-a'));
    assert.ok(rxB.spans.length >= 3 && rxB.spans.every((s) => s.service === 'sluice-b'));
  });

  test('is off without an endpoint: requests are not traced and batches carry no links', async () => {
    const batches: Batch[] = [];
    const capture: Sink = {
      name: 'capture',
      writeBatch: async (b: Batch) => void batches.push(b),
      close: async () => {},
    };
    const app = await startApp(testConfig({ 'batch.maxRecords': 2 }, dir.path), { sink: capture });
    try {
      assert.equal(app.tracing.enabled, false);
      const res = await postJson(`${app.url}/logs`, [{ message: 'x' }, { message: 'y' }], {
        traceparent: `00-${TRACE_ID}-${PARENT_ID}-01`,
      });
      assert.equal(res.status, 202);
      await committed(app, 2);
    } finally {
      await app.stop();
    }
    assert.equal(batches.length, 1);
    assert.deepEqual(batches[0]!.links, []);
  });

  test('OTEL_EXPORTER_OTLP_ENDPOINT and OTEL_SERVICE_NAME configure tracing; a bad endpoint is refused', () => {
    const { config } = loadConfig({
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://otel:4318', OTEL_SERVICE_NAME: 'edge' },
    });
    assert.equal(config.tracing.endpoint, 'http://otel:4318');
    assert.equal(config.tracing.serviceName, 'edge');
    assert.equal(loadConfig({ env: {} }).config.tracing.endpoint, '');
    assert.throws(() => loadConfig({ env: { OTEL_EXPORTER_OTLP_ENDPOINT: 'otel:4318' } }), /tracing\.endpoint/);
  });
});

describe('parseTraceparent', () => {
  test('reads a valid W3C traceparent with its sampled flag and tracestate', () => {
    const ctx = parseTraceparent(`00-${TRACE_ID}-${PARENT_ID}-01`, 'vendor=abc');
    assert.deepEqual(
      { ...ctx, traceState: undefined },
      { traceId: TRACE_ID, spanId: PARENT_ID, traceFlags: 1, isRemote: true, traceState: undefined },
    );
    assert.equal(ctx!.traceState!.get('vendor'), 'abc');
  });

  test('rejects malformed, all-zero, version ff and over-long version 00 headers', () => {
    for (const bad of [
      undefined,
      ['a', 'b'],
      'garbage',
      `00-${TRACE_ID.toUpperCase()}-${PARENT_ID}-01`,
      `00-${'0'.repeat(32)}-${PARENT_ID}-01`,
      `00-${TRACE_ID}-${'0'.repeat(16)}-01`,
      `ff-${TRACE_ID}-${PARENT_ID}-01`,
      `00-${TRACE_ID}-${PARENT_ID}-01-extra`,
    ]) {
      assert.equal(parseTraceparent(bad), undefined, String(bad));
    }
    // A later version may carry more fields; the first four are still read.
    assert.equal(parseTraceparent(`01-${TRACE_ID}-${PARENT_ID}-01-extra`)?.traceId, TRACE_ID);
  });
});
