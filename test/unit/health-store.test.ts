// The file check store (non-PostgreSQL sinks): a change whose write fails is undone in memory
// too, so neither the next write nor a restart brings it back.
import assert from 'node:assert/strict';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { Check } from '../../src/health/check-schema.js';
import { FileCheckStore } from '../../src/health/store.js';
import { tempDir } from '../helpers/app.js';

const dir = tempDir('sluice-store-');
after(() => dir.remove());

const check = (id: string, url = 'http://127.0.0.1:1/'): Check =>
  ({
    id,
    name: id,
    kind: 'http',
    url,
    source: 'api',
    createdAt: '2026-11-28T00:00:00.000Z',
    updatedAt: '2026-11-28T00:00:00.000Z',
  }) as unknown as Check;

test('a put or delete whose write fails is undone: the next write and a restart do not store it', async () => {
  const path = join(dir.path, 'a', 'checks.json');
  const store = new FileCheckStore(path);
  await store.load();
  await store.put(check('kept'));
  await store.put(check('changed', 'http://127.0.0.1:1/old'));
  // The write goes through checks.json.tmp: a directory there makes every write fail.
  mkdirSync(`${path}.tmp`);
  await assert.rejects(store.put(check('refused')));
  await assert.rejects(store.put(check('changed', 'http://127.0.0.1:1/new')));
  await assert.rejects(store.delete('kept'));
  rmSync(`${path}.tmp`, { recursive: true });
  await store.put(check('later'));

  const reloaded = await new FileCheckStore(path).load();
  const byId = new Map(reloaded.checks.map((c) => [c.id, c]));
  assert.deepEqual([...byId.keys()].sort(), ['changed', 'kept', 'later']);
  assert.equal((byId.get('changed') as unknown as { url: string }).url, 'http://127.0.0.1:1/old');
});

test('a delete that was written reports whether the check existed', async () => {
  const store = new FileCheckStore(join(dir.path, 'b', 'checks.json'));
  await store.load();
  await store.put(check('x'));
  assert.equal(await store.delete('x'), true);
  assert.equal(await store.delete('x'), false);
  assert.deepEqual((await new FileCheckStore(join(dir.path, 'b', 'checks.json')).load()).checks, []);
});
