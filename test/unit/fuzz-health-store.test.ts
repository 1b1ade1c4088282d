// Property tests (fast-check) beside the fuzz suite, over what the check store and a batch of
// checks parse: any bytes after the last newline of the change log are a torn append and are
// ignored; any complete line that is not a change stops the load with an Error naming the line
// (never another kind of failure); any array sent as a batch is registered or refused with a
// 4xx SluiceError, nothing written when refused.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import fc from 'fast-check';
import { SluiceError } from '../../src/errors.js';
import type { Check } from '../../src/health/check-schema.js';
import { FileCheckStore } from '../../src/health/file-store.js';
import { CheckRegistry, type RegisteredCheck } from '../../src/health/registry.js';
import { tempDir } from '../helpers/app.js';

const dir = tempDir('sluice-fuzz-store-');
after(() => dir.remove());
let n = 0;
const RUNS = { numRuns: 60 };

const good = (id: string): string =>
  `${JSON.stringify({ op: 'put', check: { id, name: id, kind: 'push', interval: 60_000, source: 'api' } })}\n`;

test('bytes after the last newline are ignored; the whole lines before them load', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.string({ maxLength: 200 }).filter((t) => !t.includes('\n')),
      async (tail) => {
        const path = join(dir.path, `t${n++}`, 'checks.json');
        mkdirSync(join(path, '..'), { recursive: true });
        writeFileSync(path.replace(/\.json$/, '.log'), good('a') + good('b') + tail);
        const store = new FileCheckStore(path);
        const r = await store.load();
        await store.close();
        assert.deepEqual(r.checks.map((c) => c.id).sort(), ['a', 'b']);
      },
    ),
    RUNS,
  );
});

test('a whole line that is not a change is an Error naming its line, nothing else', async () => {
  const notChange = fc.oneof(
    fc.string({ maxLength: 80 }),
    fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
    fc
      .record({ op: fc.constantFrom('put', 'delete', 'state', 'push', 'x'), id: fc.anything() })
      .map((v) => JSON.stringify(v)),
  );
  await fc.assert(
    fc.asyncProperty(
      notChange.filter((l) => !l.includes('\n') && l.trim() !== ''),
      async (line) => {
        const path = join(dir.path, `l${n++}`, 'checks.json');
        mkdirSync(join(path, '..'), { recursive: true });
        writeFileSync(path.replace(/\.json$/, '.log'), `${good('a')}${line}\n`);
        const store = new FileCheckStore(path);
        try {
          const r = await store.load();
          await store.close();
          // Only a line that is a change after all (e.g. a well-formed delete) may load.
          assert.ok(r.checks.length <= 1);
        } catch (err) {
          assert.ok(err instanceof Error && !(err instanceof TypeError), String(err));
          assert.match((err as Error).message, /checks\.log line 2/);
        }
      },
    ),
    RUNS,
  );
});

test('any array as a batch is registered or refused with a 4xx, nothing written when refused', async () => {
  const store = new FileCheckStore(join(dir.path, 'batch', 'checks.json'));
  await store.load();
  const registry = new CheckRegistry({
    maxChecks: 1000,
    store: () => store,
    activate: (check: Check) => ({ check }) as unknown as RegisteredCheck,
    deactivate: () => undefined,
    settled: async () => undefined,
  });
  const item = fc.oneof(
    fc.anything(),
    fc.record({
      name: fc.string({ maxLength: 12 }),
      kind: fc.constantFrom('push', 'http', 'tcp', 'nope'),
      interval: fc.oneof(fc.constantFrom('1m', '30s', '0s', 'x'), fc.integer()),
      url: fc.constantFrom('http://127.0.0.1:1/', 'nope'),
      host: fc.constantFrom('127.0.0.1', ''),
      port: fc.integer({ min: -1, max: 70_000 }),
    }),
  );
  await fc.assert(
    fc.asyncProperty(fc.array(item, { maxLength: 6 }), async (batch) => {
      const before = registry.size;
      try {
        const applied = await registry.apply(batch);
        assert.equal(applied.length, batch.length);
      } catch (err) {
        assert.ok(err instanceof SluiceError && err.statusCode >= 400 && err.statusCode < 500, String(err));
        assert.equal(registry.size, before);
      }
    }),
    RUNS,
  );
  await store.close();
});
