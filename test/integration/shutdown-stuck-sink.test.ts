// A sink that ignores the shutdown abort (a stdout pipe nobody reads, a hung network mount)
// must not hold the process for ever: stop() gives up on its writers a few seconds past the
// deadline, and says so.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pino } from 'pino';
import type { Sink } from '../../src/sinks/sink.js';
import { postJson, startApp, tempDir, testConfig } from '../helpers/app.js';
import { waitFor } from '../helpers/wait-for.js';

test(
  'stop() returns a few seconds past the deadline even when a write never returns',
  { timeout: 30_000 },
  async () => {
    let writes = 0;
    const stuck: Sink = {
      name: 'stuck',
      writeBatch: () => {
        writes++;
        return new Promise<void>(() => undefined); // ignores the signal, never settles
      },
      close: async () => undefined,
    };
    const lines: string[] = [];
    const logger = pino({ level: 'error' }, { write: (l: string) => void lines.push(l) });
    const dir = tempDir();
    try {
      const app = await startApp(
        testConfig({ 'ingest.ack': 'memory', 'shutdown.timeoutMs': 300, 'batch.maxWaitMs': 20 }, dir.path),
        { sink: stuck, logger },
      );
      assert.equal((await postJson(`${app.url}/logs`, { message: 'x' })).status, 202);
      await waitFor('the stuck write to start', () => writes > 0);
      assert.equal(writes, 1);
      const started = Date.now();
      await app.stop();
      const took = Date.now() - started;
      assert.ok(took >= 300, `stopped after ${took} ms: not before the deadline`);
      assert.ok(took < 15_000, `stopped after ${took} ms`);
      assert.ok(
        lines.some((l) => /writers still busy past the shutdown deadline/.test(l)),
        'the give-up is logged',
      );
    } finally {
      dir.remove();
    }
  },
);
