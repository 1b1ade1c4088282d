import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Metrics } from '../../src/observability/metrics.js';

const value = async (
  m: Metrics,
  name: 'ingestRequests' | 'ingestRecords',
  labels: Record<string, string>,
): Promise<number> =>
  (await m[name].get()).values.find((v) =>
    Object.entries(labels).every(([k, x]) => (v.labels as Record<string, unknown>)[k] === x),
  )?.value ?? -1;

test('per-request counts reach the counters when they are read, once each', async () => {
  const m = new Metrics({ defaultMetrics: false });
  for (let i = 0; i < 3; i++) m.countRequest('/logs', 202);
  m.countRequest('/logs', 400);
  m.countRequest('/v1/logs', 200, 'otlp_http');
  const cell = m.recordsCounter('log', 'sluice');
  assert.equal(m.recordsCounter('log', 'sluice'), cell, 'one cell per series');
  cell.inc(100);
  cell.inc();
  assert.equal(await value(m, 'ingestRequests', { route: '/logs', code: '202', protocol: 'sluice' }), 3);
  assert.equal(await value(m, 'ingestRequests', { route: '/logs', code: '400' }), 1);
  assert.equal(await value(m, 'ingestRequests', { route: '/v1/logs', protocol: 'otlp_http' }), 1);
  assert.equal(await value(m, 'ingestRecords', { type: 'log', protocol: 'sluice' }), 101);
  // Read again: nothing added twice; counted after a read: added to what was there.
  assert.equal(await value(m, 'ingestRecords', { type: 'log', protocol: 'sluice' }), 101);
  cell.inc(9);
  m.countRequest('/logs', 202);
  const text = await m.render();
  assert.match(text, /sluice_ingest_records_total\{type="log",protocol="sluice"\} 110/);
  assert.match(text, /sluice_ingest_requests_total\{route="\/logs",code="202",protocol="sluice"\} 4/);
});
