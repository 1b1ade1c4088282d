// The OTLP → record mapping (src/ingest/otlp/map.ts) on both encodings: the severity table,
// time fallbacks, ids, where attributes, resource, scope and non-string bodies go, per-record
// rejection, and the request-level errors. Plus: the generated descriptor matches the .protos.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { descriptorFromProtos, DESCRIPTOR_FILE } from '../../scripts/otlp-descriptor.js';
import type { SluiceError } from '../../src/errors.js';
import { OTLP_LOGS_DESCRIPTOR } from '../../src/ingest/otlp/descriptor.js';
import { encodeExportRequest } from '../../src/ingest/otlp/codec.js';
import { severityLevel } from '../../src/ingest/otlp/map.js';
import { readExport, readExportAsync } from '../../src/ingest/otlp/read-export.js';
import { SYNC_MAX_BYTES, UNLIMITED } from '../../src/ingest/parse-body.js';
import type { LogRecord } from '../../src/record.js';

const RECEIVED = 1_764_672_000_999_000;

function request(logRecords: object[], resource?: object, scope?: object): Record<string, unknown> {
  return {
    resourceLogs: [{ ...(resource ? { resource } : {}), scopeLogs: [{ ...(scope ? { scope } : {}), logRecords }] }],
  };
}

/** The same request through protobuf and through OTLP/JSON (the caller writes it in JSON's forms). */
function both(req: Record<string, unknown>, limits = UNLIMITED) {
  return {
    json: readExport(Buffer.from(JSON.stringify(req)), 'json', RECEIVED, limits),
    protobuf: readExport(encodeExportRequest(req), 'protobuf', RECEIVED, limits),
  };
}

const attrsOf = (r: LogRecord): unknown => (r.attrs === null ? null : JSON.parse(r.attrs));

describe('OTLP mapping', () => {
  test('severity number ranges map onto levels; 0 or out of range falls back to the text, then info', () => {
    const table: Array<[number, string]> = [
      [1, 'trace'],
      [4, 'trace'],
      [5, 'debug'],
      [8, 'debug'],
      [9, 'info'],
      [12, 'info'],
      [13, 'warn'],
      [16, 'warn'],
      [17, 'error'],
      [20, 'error'],
      [21, 'fatal'],
      [24, 'fatal'],
    ];
    for (const [n, level] of table) assert.equal(severityLevel(n, 'ignored'), level, `severity ${n}`);
    assert.equal(severityLevel(0, 'WARNING'), 'warn');
    assert.equal(severityLevel(0, 'Error2'), 'error');
    assert.equal(severityLevel(99, 'fatal'), 'fatal');
    assert.equal(severityLevel(0, 'verbose'), 'info');
    assert.equal(severityLevel(undefined, undefined), 'info');
    assert.equal(severityLevel('SEVERITY_NUMBER_WARN3', ''), 'warn');
  });

  test('both encodings give the same record: service, message, ids, attributes, resource, scope', () => {
    const req = request(
      [
        {
          timeUnixNano: '1764672000123456789',
          severityNumber: 17,
          severityText: 'ERROR',
          body: { stringValue: 'boom' },
          traceId: '0102030405060708090A0B0C0D0E0F10',
          spanId: '0102030405060708',
          eventName: 'payment.failed',
          attributes: [
            { key: 'n', value: { intValue: '42' } },
            { key: 'big', value: { intValue: '9007199254740993' } },
            { key: 'pi', value: { doubleValue: 3.5 } },
            { key: 'raw', value: { bytesValue: 'AQID' } },
            { key: 'list', value: { arrayValue: { values: [{ boolValue: true }, {}] } } },
            { key: 'resource', value: { stringValue: 'clashes' } },
          ],
        },
      ],
      { attributes: [{ key: 'service.name', value: { stringValue: 'api' } }] },
      { name: 'lib', version: '1.0', attributes: [{ key: 'k', value: { stringValue: 'v' } }] },
    );
    const { json, protobuf } = both(req);
    for (const out of [json, protobuf]) {
      assert.equal(out.rejected, 0);
      const [r] = out.records;
      assert.equal(r!.ts, 1_764_672_000_123_456);
      assert.equal(r!.level, 'error');
      assert.equal(r!.service, 'api');
      assert.equal(r!.message, 'boom');
      assert.equal(r!.trace_id, '0102030405060708090a0b0c0d0e0f10');
      assert.equal(r!.span_id, '0102030405060708');
      assert.deepEqual(attrsOf(r!), {
        n: 42,
        big: '9007199254740993',
        pi: 3.5,
        raw: 'AQID',
        list: [true, null],
        attributes: { resource: 'clashes' },
        resource: { 'service.name': 'api' },
        scope: { name: 'lib', version: '1.0', attributes: { k: 'v' } },
        event_name: 'payment.failed',
      });
    }
    assert.equal(json.records[0]!.size, protobuf.records[0]!.size);
  });

  test('time: timeUnixNano, else observedTimeUnixNano, else the receipt time', () => {
    const { json, protobuf } = both(
      request([
        { timeUnixNano: '1000000000000000000', observedTimeUnixNano: '2000000000000000000' },
        { observedTimeUnixNano: '2000000000000001999' },
        {},
      ]),
    );
    for (const out of [json, protobuf])
      assert.deepEqual(
        out.records.map((r) => r.ts),
        [1_000_000_000_000_000, 2_000_000_000_000_001, RECEIVED],
      );
  });

  test('a non-string body: scalars become the message, maps and lists go to attrs.body', () => {
    const { protobuf } = both(
      request([
        { body: { intValue: '7' } },
        { body: { boolValue: false } },
        { body: { kvlistValue: { values: [{ key: 'a', value: { doubleValue: 1.5 } }] } } },
      ]),
    );
    assert.deepEqual(
      protobuf.records.map((r) => [r.message, attrsOf(r)]),
      [
        ['7', null],
        ['false', null],
        [null, { body: { a: 1.5 } }],
      ],
    );
  });

  test('records that cannot be kept are rejected alone and named; the rest are kept', () => {
    const { json, protobuf } = both(
      request([
        { body: { stringValue: 'ok' } },
        { traceId: 'abcd' },
        { spanId: '0102' },
        { body: { stringValue: 'ok too' }, traceId: '00000000000000000000000000000000' },
      ]),
    );
    for (const out of [json, protobuf]) {
      assert.deepEqual(
        out.records.map((r) => [r.message, r.trace_id]),
        [
          ['ok', null],
          ['ok too', null],
        ],
      );
      assert.equal(out.rejected, 2);
    }
    assert.match(json.rejectedMessage, /logRecords\[1\]: traceId must be 32 hex digits; .*logRecords\[2\]: spanId/);
    assert.match(protobuf.rejectedMessage, /logRecords\[1\]: traceId must be 16 bytes, got 2/);
  });

  test('ingest limits: too deep or too many keys rejects the record; too many records refuses the request (413)', () => {
    let nested: object = { stringValue: 'x' };
    for (let i = 0; i < 10; i++) nested = { arrayValue: { values: [nested] } };
    const limits = { maxRecords: 3, maxDepth: 5, maxKeys: 6 };
    const { json, protobuf } = both(
      request([
        { body: nested },
        { attributes: [1, 2, 3, 4, 5, 6, 7].map((i) => ({ key: `k${i}`, value: { intValue: i } })) },
        { body: { stringValue: 'fits' } },
      ]),
      limits,
    );
    for (const out of [json, protobuf]) {
      assert.equal(out.records.length, 1);
      assert.equal(out.rejected, 2);
      assert.match(out.rejectedMessage, /ingest\.maxDepth.*ingest\.maxKeysPerRecord/);
    }
    assert.throws(
      () => both(request([{}, {}, {}, {}]), limits),
      (e: SluiceError) => e.code === 'SLUICE_ERR_TOO_MANY_RECORDS' && e.statusCode === 413,
    );
  });

  test('a bad resource rejects its records, not the others', () => {
    const long = 'x'.repeat(300);
    const out = readExport(
      Buffer.from(
        JSON.stringify({
          resourceLogs: [
            {
              resource: { attributes: [{ key: 'service.name', value: { stringValue: long } }] },
              scopeLogs: [{ logRecords: [{}, {}] }],
            },
            { scopeLogs: [{ logRecords: [{ body: { stringValue: 'kept' } }] }] },
          ],
        }),
      ),
      'json',
      RECEIVED,
      UNLIMITED,
    );
    assert.equal(out.rejected, 2);
    assert.deepEqual(
      out.records.map((r) => r.message),
      ['kept'],
    );
    assert.match(out.rejectedMessage, /service\.name is longer than 256/);
  });

  test('a request that is not an export is refused whole with INVALID_OTLP', () => {
    for (const [body, detail] of [
      ['[]', /the request must be an object/],
      ['{"resourceLogs":{}}', /resourceLogs must be an array/],
      ['{"resourceLogs":[{"scopeLogs":[{"logRecords":7}]}]}', /logRecords must be an array/],
      ['{"resourceLogs":[', /JSON/],
    ] as const) {
      assert.throws(
        () => readExport(Buffer.from(body), 'json', RECEIVED, UNLIMITED),
        (e: SluiceError) => e.code === 'SLUICE_ERR_INVALID_OTLP' && e.statusCode === 400 && detail.test(e.message),
        body,
      );
    }
    assert.throws(
      () => readExport(Buffer.from([0x0a, 0x05, 0x01]), 'protobuf', RECEIVED, UNLIMITED),
      (e: SluiceError) => e.code === 'SLUICE_ERR_INVALID_OTLP' && /invalid OTLP protobuf payload/.test(e.message),
    );
  });

  test('a large export is read in slices: the event loop turns meanwhile, and the records are the same', async () => {
    const records = Array.from({ length: 5000 }, (_, i) => ({
      timeUnixNano: `${1_764_672_000_000 + i}000000`,
      severityNumber: 9 + (i % 12),
      body: { stringValue: `record ${i} `.padEnd(80, '.') },
      traceId: (i + 1).toString(16).padStart(32, '0'),
      attributes: [{ key: 'i', value: { intValue: i } }],
    }));
    const req = request(records, { attributes: [{ key: 'service.name', value: { stringValue: 'big' } }] });
    for (const [encoding, body] of [
      ['protobuf', encodeExportRequest(req)],
      ['json', Buffer.from(JSON.stringify(req))],
    ] as const) {
      assert.ok(body.length > 2 * SYNC_MAX_BYTES, `${encoding} body of ${body.length} bytes`);
      let turns = 0;
      const ticker = setInterval(() => turns++, 0);
      const sliced = await readExportAsync(body, encoding, RECEIVED, UNLIMITED);
      clearInterval(ticker);
      assert.ok(turns > 0, `${encoding}: the loop ran while the export was read`);
      const whole = readExport(body, encoding, RECEIVED, UNLIMITED);
      const strip = (rs: LogRecord[]) => rs.map(({ id: _id, ...r }) => r);
      assert.equal(sliced.records.length, 5000);
      assert.deepEqual(strip(sliced.records), strip(whole.records));
    }
  });

  test('the generated descriptor is current with the vendored .proto files', () => {
    assert.deepEqual(
      OTLP_LOGS_DESCRIPTOR,
      JSON.parse(JSON.stringify(descriptorFromProtos())),
      'run: node --import tsx scripts/otlp-descriptor.ts',
    );
    assert.match(readFileSync(DESCRIPTOR_FILE, 'utf8'), /^\/\/ Generated by scripts\/otlp-descriptor\.ts/);
  });
});
