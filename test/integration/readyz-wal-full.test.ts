// /readyz while ingest refuses for a full WAL disk: a real full filesystem (a small tmpfs, which
// needs root), a sink that never finishes a write, records posted until the WAL answers 429.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { Batch } from '../../src/batch.js';
import type { Sink } from '../../src/sinks/sink.js';
import { startApp, tempDir, testConfig } from '../helpers/app.js';
import { cannotHere } from '../helpers/cannot-here.js';

/** Holds every write until the shutdown deadline aborts it. */
class HeldSink implements Sink {
  readonly name = 'held';
  writeBatch(_batch: Batch, signal: AbortSignal): Promise<void> {
    return new Promise((_, reject) =>
      signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true }),
    );
  }
  async close(): Promise<void> {}
}

const dir = tempDir('sluice-readyz-wal-');
after(() => dir.remove());

test('/readyz is 503 naming the full WAL disk while ingest answers 429 for it', { timeout: 60_000 }, async (t) => {
  const walDir = join(dir.path, 'wal');
  mkdirSync(walDir, { recursive: true });
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=512k', 'tmpfs', walDir], { stdio: 'pipe' });
  } catch (err) {
    cannotHere(t, `cannot mount a tmpfs here: ${String((err as { stderr?: Buffer }).stderr ?? err).trim()}`);
    return;
  }
  try {
    const config = testConfig(
      {
        'ingest.ack': 'durable',
        'wal.segmentBytes': 65_536,
        'buffer.maxRecords': 1_000_000,
        'buffer.maxBytes': 512 * 1024 * 1024,
        'shutdown.timeoutMs': 1000,
        'ingest.enqueueTimeoutMs': 0,
      },
      dir.path,
    );
    const app = await startApp(config, { sink: new HeldSink() });
    try {
      assert.equal((await fetch(`${app.url}/readyz`)).status, 200);
      let refused: Response | undefined;
      for (let i = 0; i < 2000 && !refused; i++) {
        const body = Array.from({ length: 20 }, (_, j) =>
          JSON.stringify({ id: `full-${i}-${j}`, msg: 'x'.repeat(200) }),
        ).join('\n');
        const res = await fetch(`${app.url}/logs`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-ndjson' },
          body,
        });
        if (res.status === 429) refused = res;
        else assert.equal(res.status, 202, await res.text());
      }
      assert.ok(refused, 'the WAL disk filled up and ingest answered 429');
      const ready = await fetch(`${app.url}/readyz`);
      const body = (await ready.json()) as { reasons?: string[] };
      assert.equal(ready.status, 503);
      assert.ok(
        body.reasons?.some((r) => /wal disk full/.test(r)),
        JSON.stringify(body),
      );
    } finally {
      await app.stop();
    }
  } finally {
    execFileSync('umount', ['-l', walDir]);
  }
});
