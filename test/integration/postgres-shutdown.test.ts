// The shutdown deadline cutting a PostgreSQL write mid-COMMIT (ack mode memory: no WAL to keep
// the batch in). The server finishes a COMMIT it received even when the connection is gone, so
// the pool asks the sink whether the batch committed before dead-lettering it: a committed batch
// must not also be in the dead-letter file (re-ingesting it would duplicate it), and one whose
// transaction failed must be.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { after, describe, test } from 'node:test';
import { postJson, startApp, tempDir, testConfig } from '../helpers/app.js';
import { createTestDatabase, stopOwnServer } from '../helpers/postgres.js';

describe('shutdown deadline during COMMIT (ack memory)', () => {
  after(() => stopOwnServer());

  for (const outcome of ['commits', 'fails'] as const) {
    test(
      `a batch whose COMMIT ${outcome === 'commits' ? 'completes after' : 'fails after'} the deadline is ${outcome === 'commits' ? 'counted committed, not dead-lettered' : 'dead-lettered'}`,
      { timeout: 60_000 },
      async () => {
        const db = await createTestDatabase();
        const dir = tempDir();
        try {
          const app = await startApp(
            testConfig(
              {
                'sink.kind': 'postgres',
                'postgres.url': db.url,
                'ingest.ack': 'memory',
                'batch.maxWaitMs': 50,
                'shutdown.timeoutMs': 700,
              },
              dir.path,
            ),
          );
          // A deferred trigger makes COMMIT itself take 1.5 s (then, for "fails", raise).
          const tail = outcome === 'fails' ? "RAISE EXCEPTION 'commit refused';" : 'RETURN NULL;';
          await db.pool
            .query(`CREATE FUNCTION slow() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(1.5); ${tail} END $$;
          CREATE CONSTRAINT TRIGGER slow_commit AFTER INSERT ON sluice_batches DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION slow();`);
          const r = await postJson(
            `${app.url}/logs`,
            Array.from({ length: 10 }, (_, i) => ({ message: `m${i}`, service: 'cut' })),
          );
          assert.equal(r.status, 202);
          // Wait until the batch's COMMIT is under way on the server.
          for (let i = 0; i < 200; i++) {
            const { rows } = await db.pool.query<{ n: string }>(
              "SELECT count(*) AS n FROM pg_stat_activity WHERE query LIKE '%COMMIT%' AND state = 'active' AND application_name = 'sluice'",
            );
            if (Number(rows[0]!.n) > 0) break;
            await new Promise((res) => setTimeout(res, 20));
          }
          await app.stop();
          const file = app.deadLetter.pathFor('postgres');
          const deadLettered = existsSync(file)
            ? readFileSync(file, 'utf8').trim().split('\n').filter(Boolean).length
            : 0;
          const stored = await db.count('logs', "service = 'cut'");
          if (outcome === 'commits') {
            assert.equal(stored, 10);
            assert.equal(deadLettered, 0, 'a committed batch is not dead-lettered too');
          } else {
            assert.equal(stored, 0);
            assert.equal(deadLettered, 10, 'the batch that did not commit is dead-lettered');
          }
        } finally {
          dir.remove();
          await db.drop();
        }
      },
    );
  }
});
