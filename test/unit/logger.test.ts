// The service's logs: JSON lines with a level label and ISO time, the configured level,
// pretty output only for terminals, req_id on lines about a request, and silence per record.
// The last two run a real app (in-process, on a free port) with its log captured.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import type { App } from '../../src/app.js';
import { createLogger, wantsPretty } from '../../src/observability/logger.js';
import { postJson, startApp, tempDir, testConfig } from '../helpers/app.js';
import { waitFor } from '../helpers/wait-for.js';

type Line = Record<string, unknown>;

function capture(): { lines: Line[]; stream: { write: (s: string) => void } } {
  const lines: Line[] = [];
  return { lines, stream: { write: (s: string) => void lines.push(JSON.parse(s) as Line) } };
}

const dir = tempDir();
after(() => dir.remove());

async function appLoggingTo(level: 'info' | 'debug', stream: { write: (s: string) => void }): Promise<App> {
  const config = testConfig({ 'sink.kind': 'blackhole', 'log.level': level, 'batch.maxWaitMs': 5 }, dir.path);
  return startApp(config, { logger: createLogger(config.log, stream) });
}

describe('logger', () => {
  test('writes one JSON object per line with a level label, an ISO time and the service', () => {
    const { lines, stream } = capture();
    createLogger({ level: 'info', pretty: 'false' }, stream).info({ batch: 'b1' }, 'hello');
    assert.equal(lines.length, 1);
    const [line] = lines as [Line];
    assert.equal(line.level, 'info');
    assert.equal(line.msg, 'hello');
    assert.equal(line.service, 'sluice');
    assert.equal(line.batch, 'b1');
    assert.match(String(line.time), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });

  test('drops lines below the configured level', () => {
    const { lines, stream } = capture();
    const log = createLogger({ level: 'warn', pretty: 'false' }, stream);
    log.info('no');
    log.debug('no');
    log.warn('yes');
    log.error('yes');
    assert.deepEqual(
      lines.map((l) => l.level),
      ['warn', 'error'],
    );
  });

  test('pretty-prints when asked, or on auto only while stdout is a terminal', () => {
    assert.equal(wantsPretty({ level: 'info', pretty: 'auto' }, true, false), true);
    assert.equal(wantsPretty({ level: 'info', pretty: 'auto' }, false, false), false);
    assert.equal(
      wantsPretty({ level: 'info', pretty: 'auto' }, true, true),
      false,
      'an explicit destination stays JSON',
    );
    assert.equal(wantsPretty({ level: 'info', pretty: 'true' }, false, false), true);
    assert.equal(wantsPretty({ level: 'info', pretty: 'false' }, true, false), false);
  });

  test("lines about a request carry its req_id (the client's X-Request-Id when valid)", async () => {
    const { lines, stream } = capture();
    const app = await appLoggingTo('debug', stream);
    try {
      const res = await fetch(`${app.url}/logs`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-request-id': 'client-id-42' },
        body: '{oops',
      });
      assert.equal(res.status, 400);
      assert.equal(res.headers.get('x-request-id'), 'client-id-42');
      const generated = await postJson(`${app.url}/logs`, { message: 'x', level: 'loud' });
      assert.equal(generated.status, 400);
      const genId = generated.headers.get('x-request-id');
      assert.ok(genId);
      const about = lines.filter((l) => l.msg === 'request rejected');
      assert.equal(about.length, 2);
      assert.deepEqual(
        about.map((l) => l.req_id),
        ['client-id-42', genId],
      );
      assert.ok(about.every((l) => l.service === 'sluice' && l.level === 'debug'));
    } finally {
      await app.stop();
    }
  });

  test('logs nothing per request or per record at info while ingesting', async () => {
    const { lines, stream } = capture();
    const app = await appLoggingTo('info', stream);
    try {
      const before = lines.length;
      for (let i = 0; i < 20; i++) {
        const res = await postJson(
          `${app.url}/logs`,
          Array.from({ length: 50 }, (_, j) => ({ message: `r${i}-${j}`, level: 'error' })),
        );
        assert.equal(res.status, 202);
      }
      await waitFor('1000 records committed', () => app.pool.stats().committedRecords === 1000);
      assert.deepEqual(lines.slice(before), [], '1000 records in 20 requests, 0 log lines');
    } finally {
      await app.stop();
    }
  });
});
