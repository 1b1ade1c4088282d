// The write-ahead buffer on a real full disk (a small tmpfs; mounting needs root): ENOSPC is a
// 429 with the WAL kept consistent, space coming back is noticed, and shutdown does not hang.
import assert from 'node:assert/strict';
import { rmSync, statfsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { pino } from 'pino';
import { SluiceError } from '../../src/errors.js';
import type { WalBuffer } from '../../src/pipeline/wal/wal-buffer.js';
import { onTmpfs } from '../helpers/tmpfs.js';
import { waitFor } from '../helpers/wait-for.js';
import { cutBatch, many, openWal, segments } from '../helpers/wal.js';

describe('WalBuffer on a full disk', () => {
  /** Pushes 5-record requests until one is refused; returns how many were accepted and the refusal. */
  async function fillDisk(wal: WalBuffer): Promise<{ accepted: number; full: SluiceError }> {
    let accepted = 0;
    let full: unknown;
    for (let i = 0; i < 20_000 && !full; i++) {
      await wal.push(many(5, i * 5), 500, { timeoutMs: 0 }).then(
        () => accepted++,
        (err: unknown) => (full = err),
      );
    }
    assert.ok(full instanceof SluiceError, 'the disk filled up');
    return { accepted, full };
  }

  /** Pushes a 5-record request until one is admitted (space came back), for up to `ms`. */
  function admittedWithin(wal: WalBuffer, ms: number, first: number, why: string): Promise<true> {
    return waitFor(
      why,
      () =>
        wal.push(many(5, first), 500, { timeoutMs: 0 }).then(
          () => true as const,
          () => undefined,
        ),
      ms,
    );
  }

  test(
    'a full disk (ENOSPC) answers BUFFER_FULL (429), keeps the WAL consistent, and admits again once space frees',
    { timeout: 20_000 },
    (t) =>
      onTmpfs(t, '256k', async (dir) => {
        const a = await openWal(dir, { segmentBytes: 64 * 1024, maxBytes: 64 * 1024 * 1024 });
        const b = { wal: undefined as WalBuffer | undefined };
        try {
          const { accepted, full } = await fillDisk(a.wal);
          assert.equal(full.code, 'SLUICE_ERR_BUFFER_FULL');
          assert.equal(full.statusCode, 429);
          assert.match(full.message, /no disk space/);
          assert.ok(accepted > 50, `${accepted} pushes fit before the disk was full`);
          assert.equal(a.wal.walStats().outOfSpace, true);
          // Until space frees, records are refused at once, with the reason.
          await assert.rejects(a.wal.push(many(1, 800_000), 100, { timeoutMs: 0 }), /no disk space/);
          // The disk's reserve lets the batch be cut and settled; its segments are deleted, and the
          // space they free takes records again.
          const batch = cutBatch(a.wal, accepted * 5);
          await a.wal.sealed(batch);
          a.wal.settled(batch);
          await admittedWithin(a.wal, 3000, 900_000, 'records taken again once settled segments freed space');
          assert.equal(a.wal.walStats().outOfSpace, false);
          // Crash and replay: every byte on disk is a whole frame (the refused writes were truncated
          // away), and the one record frame admitted after the settle comes back.
          b.wal = (await openWal(dir)).wal;
          const replayedIds = b.wal.take(1000, Infinity).records.map((r) => r.id);
          assert.deepEqual(
            replayedIds,
            many(5, 900_000).map((r) => r.id),
          );
        } finally {
          await b.wal?.shutdown().catch(() => undefined);
          await a.wal.shutdown().catch(() => undefined);
        }
      }),
  );

  test(
    'a full disk with everything in one segment recovers: the settled segment rolls away, or space freed by another process is seen',
    { timeout: 20_000 },
    (t) =>
      onTmpfs(t, '2m', async (dir) => {
        // Segments larger than the disk: nothing ever rolls on its own.
        for (const other of [false, true]) {
          const filler = join(dir, 'other-process');
          if (other) writeFileSync(filler, Buffer.alloc(600 * 1024));
          const a = await openWal(dir, { segmentBytes: 8 * 1024 * 1024, maxBytes: 64 * 1024 * 1024 });
          try {
            const { accepted } = await fillDisk(a.wal);
            assert.equal(segments(dir).length, 1);
            const batch = cutBatch(a.wal, accepted * 5);
            await a.wal.sealed(batch);
            a.wal.settled(batch);
            if (other) rmSync(filler);
            await admittedWithin(
              a.wal,
              5000,
              900_000,
              `records taken again (${other ? 'space freed by another process' : 'settled segment rolled away'})`,
            );
            assert.equal(a.wal.walStats().outOfSpace, false);
            a.wal.settled(cutBatch(a.wal, 5));
          } finally {
            await a.wal.shutdown();
          }
        }
      }),
  );

  test(
    'a request waiting for room when the disk filled is admitted once space returns, with no other traffic to wake it',
    { timeout: 30_000 },
    (t) =>
      onTmpfs(t, '2m', async (dir) => {
        const a = await openWal(dir, { segmentBytes: 64 * 1024, maxBytes: 64 * 1024 * 1024, maxRecords: 10 });
        const filler = join(dir, 'other-process');
        try {
          await a.wal.push(many(5, 0), 500, { timeoutMs: 0 });
          // Another process takes every free byte.
          const { bavail, bsize } = statfsSync(dir);
          try {
            writeFileSync(filler, Buffer.alloc(Number(bavail) * Number(bsize)));
          } catch (err) {
            if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
          }
          // A request too large for what is left of the disk takes the last memory room; the one
          // after it waits for memory (the WAL does not know yet that the disk is full).
          const big = many(5, 50).map((r) => ({ ...r, message: 'x'.repeat(4000) }));
          const refused = assert.rejects(a.wal.push(big, 500, { timeoutMs: 0 }), /no disk space/);
          const started = Date.now();
          const waiting = a.wal.push(many(5, 100), 500, { timeoutMs: 20_000 });
          assert.equal(a.wal.stats().waiting, 1);
          // Its write hits ENOSPC: refused, its memory room freed, but now the disk is what is full.
          await refused;
          assert.equal(a.wal.walStats().outOfSpace, true);
          assert.equal(a.wal.stats().waiting, 1);
          rmSync(filler);
          await waiting;
          assert.ok(
            Date.now() - started < 10_000,
            `admitted ${Date.now() - started} ms later: woken by the space coming back, not by its timeout`,
          );
          assert.equal(a.wal.walStats().outOfSpace, false);
        } finally {
          await a.wal.shutdown();
        }
      }),
  );

  test(
    'shutdown does not hang when the disk stays full: frames that cannot be written are dropped at the deadline, and the next start recovers',
    { timeout: 20_000 },
    (t) =>
      onTmpfs(t, '2m', async (dir) => {
        const logged: string[] = [];
        const logger = pino({ level: 'error' }, { write: (line: string) => void logged.push(line) });
        const a = await openWal(dir, { segmentBytes: 8 * 1024 * 1024, maxBytes: 64 * 1024 * 1024, logger });
        const { accepted } = await fillDisk(a.wal);
        // Another process takes the space the reserve gave back: now not even a cut frame fits.
        const filler = join(dir, 'other-process');
        try {
          writeFileSync(filler, Buffer.alloc(4 * 1024 * 1024));
        } catch {
          // ENOSPC part-way: the file holds what fitted, which is the point
        }
        // One-record batches until their cut frames stop reaching the disk (the last page of the
        // segment may still have room for a few).
        const pending = new Set<number>();
        for (let i = 0; i < accepted * 5; i++) {
          pending.add(i);
          void a.wal.sealed(cutBatch(a.wal, 1)).then(() => pending.delete(i));
        }
        // The WAL says so when a write is refused for space; the frames in it stay queued for a retry.
        await waitFor('a cut frame write refused for space', () => logged.some((m) => m.includes('wal: write failed')));
        assert.ok(pending.size > 0, 'some cut frames could not be written');
        const started = Date.now();
        await a.wal.shutdown(300);
        assert.ok(Date.now() - started < 3000, `shutdown took ${Date.now() - started} ms`);
        rmSync(filler);
        const b = await openWal(dir);
        const replayed =
          b.wal.recovered().reduce((n, x) => n + x.records.length, 0) + b.wal.take(1_000_000, Infinity).records.length;
        assert.equal(
          replayed,
          accepted * 5,
          'every admitted record is replayed: in its batch when its cut was written, uncut otherwise',
        );
        await b.wal.shutdown();
      }),
  );
});
