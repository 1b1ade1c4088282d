// The errors catalogue: each SLUICE_ERR_* code answers with its status and its message, filled
// in from the details a throw site gives (and the catalogue's defaults for what it leaves out).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ERRORS, SluiceError, type ErrorCode, type ErrorDetails } from '../../src/errors.js';

const CASES: Record<ErrorCode, { details: ErrorDetails; status: number; message: string }> = {
  SLUICE_ERR_INVALID_JSON: {
    details: 'Unexpected token } in JSON',
    status: 400,
    message: 'invalid JSON: Unexpected token } in JSON',
  },
  SLUICE_ERR_INVALID_RECORD: {
    details: { where: 'line 3', detail: 'field level must be a string' },
    status: 400,
    message: 'line 3: field level must be a string; nothing from this request was stored',
  },
  SLUICE_ERR_INVALID_OTLP: {
    details: { encoding: 'protobuf', detail: 'index out of range: 12 + 10 > 12' },
    status: 400,
    message: 'invalid OTLP protobuf payload: index out of range: 12 + 10 > 12; nothing from this request was stored',
  },
  SLUICE_ERR_EMPTY_BODY: {
    details: 'request body is empty',
    status: 400,
    message: 'no records: request body is empty',
  },
  SLUICE_ERR_INVALID_GZIP: {
    details: { encoding: 'gzip', detail: 'incorrect header check' },
    status: 400,
    message: 'body is not valid gzip: incorrect header check',
  },
  SLUICE_ERR_LOKI_PUSH: {
    details: 'error at least one label pair is required per stream',
    status: 400,
    message: 'error at least one label pair is required per stream',
  },
  SLUICE_ERR_BULK_REQUEST: {
    details: 'The bulk request must be terminated by a newline [\\n]',
    status: 400,
    message: 'The bulk request must be terminated by a newline [\\n]',
  },
  SLUICE_ERR_UNSUPPORTED_ENCODING: {
    details: { encoding: 'br', accepted: 'use gzip, deflate or none' },
    status: 415,
    message: 'unsupported Content-Encoding "br": use gzip, deflate or none',
  },
  SLUICE_ERR_UNSUPPORTED_MEDIA_TYPE: {
    details: {},
    status: 415,
    message: 'unsupported Content-Type: send application/json or application/x-ndjson',
  },
  SLUICE_ERR_BODY_TOO_LARGE: {
    details: 'body exceeds 1024 bytes',
    status: 413,
    message: 'request body too large: body exceeds 1024 bytes',
  },
  SLUICE_ERR_TOO_MANY_RECORDS: {
    details: 'request holds more than 10 records',
    status: 413,
    message: 'too many records: request holds more than 10 records',
  },
  SLUICE_ERR_BODY_TIMEOUT: {
    details: 'request body not received within 100 ms',
    status: 408,
    message: 'timed out: request body not received within 100 ms',
  },
  SLUICE_ERR_UNAUTHORIZED: {
    details: {},
    status: 401,
    message: 'missing bearer token (Authorization: Bearer <token>)',
  },
  SLUICE_ERR_FORBIDDEN: { details: {}, status: 403, message: 'token not accepted' },
  SLUICE_ERR_CLIENT_CERT_REQUIRED: {
    details: {},
    status: 401,
    message: 'client certificate required: ingest needs a certificate signed by the CA in server.tlsClientCa',
  },
  SLUICE_ERR_CLIENT_CERT_REJECTED: {
    details: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
    status: 403,
    message: 'client certificate not accepted: UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  },
  SLUICE_ERR_WRONG_SCOPE: {
    details: { scope: 'read', group: 'admin', accepted: 'admin' },
    status: 403,
    message: 'a key of scope read cannot use admin routes (accepted: admin)',
  },
  SLUICE_ERR_INVALID_KEY: {
    details: { field: 'scope', problem: 'must be one of ingest, read, admin' },
    status: 400,
    message: 'invalid key request: scope must be one of ingest, read, admin',
  },
  SLUICE_ERR_LOOPBACK_ONLY: {
    details: { group: 'admin', how: 'set auth.adminTokens' },
    status: 403,
    message: 'the admin routes answer loopback clients only while no token or key is set: set auth.adminTokens',
  },
  SLUICE_ERR_NOT_FOUND: { details: { what: 'check with id "web"' }, status: 404, message: 'no check with id "web"' },
  SLUICE_ERR_INVALID_CHECK: {
    details: { field: 'interval', problem: 'must be at least 1s' },
    status: 400,
    message: 'invalid check: interval must be at least 1s',
  },
  SLUICE_ERR_INVALID_MAINTENANCE: {
    details: { field: 'end', problem: 'must be after start' },
    status: 400,
    message: 'invalid maintenance window: end must be after start',
  },
  SLUICE_ERR_TARGET_DENIED: {
    details: { target: '169.254.169.254', rule: 'built-in rule 169.254.169.254 (cloud metadata)' },
    status: 400,
    message: '169.254.169.254 is denied by built-in rule 169.254.169.254 (cloud metadata); nothing was sent to it',
  },
  SLUICE_ERR_INVALID_QUERY: {
    details: { field: 'limit', problem: 'must be an integer' },
    status: 400,
    message: 'query parameter limit must be an integer',
  },
  SLUICE_ERR_CONFLICT: {
    details: 'a check with id "web" already exists',
    status: 409,
    message: 'conflict: a check with id "web" already exists',
  },
  SLUICE_ERR_BUFFER_FULL: { details: {}, status: 429, message: 'buffer full: the sink is behind; retry later' },
  SLUICE_ERR_TOO_MANY_SUBSCRIBERS: {
    details: '2 streams are open already',
    status: 429,
    message: 'too many tail streams: 2 streams are open already',
  },
  SLUICE_ERR_BODY_BUDGET: {
    details: 'the limit is 1024 bytes',
    status: 429,
    message: 'too many body bytes in flight: the limit is 1024 bytes',
  },
  SLUICE_ERR_RATE_LIMITED: {
    details: { client: 'client 127.0.0.2', limit: '20 requests/s (burst 2 s, rateLimit.requestsPerSecond)', retry: 1 },
    status: 429,
    message:
      'rate limit exceeded: client 127.0.0.2 sent more than 20 requests/s (burst 2 s, rateLimit.requestsPerSecond); retry in 1 s',
  },
  SLUICE_ERR_SHUTTING_DOWN: { details: {}, status: 503, message: 'shutting down: not accepting new records' },
  SLUICE_ERR_SINK_FAILED: {
    details: 'connection refused (dead-lettered)',
    status: 503,
    message: 'the sink did not take the records: connection refused (dead-lettered)',
  },
  SLUICE_ERR_KEYS_NOT_LOADED: {
    details: 'database not connected',
    status: 503,
    message: 'cannot check the key yet: database not connected',
  },
  SLUICE_ERR_NEEDS_POSTGRES: {
    details: 'run with sink.kind postgres',
    status: 501,
    message: 'needs PostgreSQL: run with sink.kind postgres',
  },
  SLUICE_ERR_CONFIG: {
    details: '--url must be an http(s):// URL, got "x"',
    status: 500,
    message: '--url must be an http(s):// URL, got "x"',
  },
  SLUICE_ERR_INTERNAL: { details: {}, status: 500, message: 'internal error: see the collector log' },
};

describe('errors catalogue', () => {
  test('every code in the catalogue has a case here, and no case names a code it lacks', () => {
    assert.deepEqual(Object.keys(CASES).sort(), Object.keys(ERRORS).sort());
  });

  for (const [code, c] of Object.entries(CASES) as [ErrorCode, (typeof CASES)[ErrorCode]][]) {
    test(`${code}: status ${c.status} and its message filled from the details`, () => {
      const err = new SluiceError(code, c.details);
      assert.equal(err.code, code);
      assert.equal(err.statusCode, c.status);
      assert.equal(err.message, c.message);
      assert.doesNotMatch(err.message, /\{\w+\}/, 'no placeholder is left unfilled');
      assert.deepEqual(err.toJSON(), { error: code, message: c.message });
    });
  }

  test('a sink failure met before the sink was reached names what is not ready instead', () => {
    const err = new SluiceError('SLUICE_ERR_SINK_FAILED', {
      subject: 'not accepting records yet',
      detail: 'database not connected (ECONNREFUSED)',
    });
    assert.equal(err.statusCode, 503);
    assert.equal(err.message, 'not accepting records yet: database not connected (ECONNREFUSED)');
  });

  test('a detail given at the throw site wins over the default', () => {
    const err = new SluiceError(
      'SLUICE_ERR_BUFFER_FULL',
      { cause: 'no disk space for the write-ahead log' },
      { retryAfter: 2 },
    );
    assert.equal(err.message, 'buffer full: no disk space for the write-ahead log; retry later');
    assert.equal(err.retryAfter, 2);
  });
});
