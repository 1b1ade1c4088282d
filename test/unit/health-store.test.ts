// The file check store (non-PostgreSQL sinks): a snapshot plus an append-only change log. A
// change costs the same whatever the number of checks; a change whose write fails is undone in
// memory and on disk; a torn last line is ignored; folding the log into the snapshot loses nothing.
import assert from 'node:assert/strict';
import { appendFileSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { writeFully } from '../../src/durable-fs.js';
import type { Check } from '../../src/health/check-schema.js';
import { FileCheckStore } from '../../src/health/file-store.js';
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

/** Ids of one length, so every put's line has the same size. */
const idOf = (i: number): string => `c${String(i).padStart(6, '0')}`;

async function reload(path: string): Promise<Map<string, Check>> {
  const s = new FileCheckStore(path);
  const r = await s.load();
  await s.close();
  return new Map(r.checks.map((c) => [c.id, c]));
}

test('a put or delete whose write fails is undone: the next write and a restart do not store it', async () => {
  const path = join(dir.path, 'a', 'checks.json');
  let failing = false;
  // A failing append first writes half its bytes, as a full disk would.
  const append = async (fh: FileHandle, data: Buffer): Promise<void> => {
    if (!failing) return writeFully(fh, data);
    await writeFully(fh, data.subarray(0, data.length >> 1));
    throw Object.assign(new Error('no space left'), { code: 'ENOSPC' });
  };
  const store = new FileCheckStore(path, { append });
  await store.load();
  await store.put(check('kept'));
  await store.put(check('changed', 'http://127.0.0.1:1/old'));
  failing = true;
  await assert.rejects(store.put(check('refused')), /no space left/);
  await assert.rejects(store.put(check('changed', 'http://127.0.0.1:1/new')));
  await assert.rejects(store.delete('kept'));
  failing = false;
  await store.put(check('later'));
  await store.close();

  const byId = await reload(path);
  assert.deepEqual([...byId.keys()].sort(), ['changed', 'kept', 'later']);
  assert.equal((byId.get('changed') as unknown as { url: string }).url, 'http://127.0.0.1:1/old');
});

test('a delete that was written reports whether the check existed', async () => {
  const path = join(dir.path, 'b', 'checks.json');
  const store = new FileCheckStore(path);
  await store.load();
  await store.put(check('x'));
  assert.equal(await store.delete('x'), true);
  assert.equal(await store.delete('x'), false);
  await store.close();
  assert.deepEqual([...(await reload(path)).keys()], []);
});

test('an add writes as many bytes at 2,000 checks as at 10 (it does not rewrite the others)', async () => {
  const path = join(dir.path, 'c', 'checks.json');
  const store = new FileCheckStore(path, { compactMinBytes: 1e12 });
  await store.load();
  const bytesOfAdd = async (i: number): Promise<number> => {
    const before = store.appendedBytes;
    await store.put(check(idOf(i)));
    return store.appendedBytes - before;
  };
  for (let i = 0; i < 10; i++) await store.put(check(idOf(i)));
  const at10 = await bytesOfAdd(10);
  await Promise.all(Array.from({ length: 1989 }, (_, k) => store.put(check(idOf(11 + k)))));
  const at2000 = await bytesOfAdd(2000);
  assert.ok(at10 > 0);
  assert.equal(at2000, at10);
  // The same for an edit and a delete: one line each, not the file.
  const before = store.appendedBytes;
  await store.delete(idOf(5));
  assert.ok(store.appendedBytes - before < 100, `a delete wrote ${store.appendedBytes - before} bytes`);
  await store.close();
  assert.equal((await reload(path)).size, 2000);
});

test('a torn last line is ignored; a bad line before it is an error naming the line', async () => {
  const path = join(dir.path, 'd', 'checks.json');
  const store = new FileCheckStore(path, { compactMinBytes: 1e12 });
  await store.load();
  await store.put(check('a'));
  await store.put(check('b'));
  await store.close();
  const line = JSON.stringify({ op: 'put', check: check('torn') });
  appendFileSync(store.logPath, line.slice(0, 30));
  assert.deepEqual([...(await reload(path)).keys()].sort(), ['a', 'b']);

  const bad = join(dir.path, 'd2', 'checks.json');
  const s2 = new FileCheckStore(bad);
  await s2.load();
  await s2.close();
  writeFileSync(s2.logPath, `${JSON.stringify({ op: 'put', check: check('a') })}\n{oops\n`);
  await assert.rejects(new FileCheckStore(bad).load(), /checks\.log line 2/);
});

test('load folds the log into the snapshot; a crash before the log was emptied replays to the same checks', async () => {
  const path = join(dir.path, 'e', 'checks.json');
  const store = new FileCheckStore(path, { compactMinBytes: 1e12 });
  await store.load();
  for (let i = 0; i < 20; i++) await store.put(check(idOf(i)));
  await store.delete(idOf(3));
  await store.saveState(idOf(4), { state: 'down', since: 1000 });
  await store.savePush(idOf(4), { lastResultAt: 2000, lastPingAt: 1500 });
  await store.close();
  const log = readFileSync(store.logPath);

  const s2 = new FileCheckStore(path);
  const r = await s2.load();
  await s2.close();
  assert.equal(statSync(s2.logPath).size, 0, 'the log is emptied once folded');
  assert.equal(r.checks.length, 19);
  assert.deepEqual(r.states.get(idOf(4)), {
    state: 'down',
    since: 1000,
    push: { lastResultAt: 2000, lastPingAt: 1500 },
  });

  // As if the process stopped after the snapshot's rename, before the log was truncated.
  writeFileSync(s2.logPath, log);
  const s3 = new FileCheckStore(path);
  const again = await s3.load();
  await s3.close();
  assert.deepEqual(again.checks, r.checks);
  assert.deepEqual(again.states, r.states);
});

test('the log is folded once it outgrows the snapshot, and nothing is lost', async () => {
  const path = join(dir.path, 'f', 'checks.json');
  const store = new FileCheckStore(path, { compactMinBytes: 4096, compactRatio: 2 });
  await store.load();
  for (let i = 0; i < 500; i++) await store.put(check(idOf(i)));
  for (let i = 0; i < 500; i += 2) await store.delete(idOf(i));
  assert.ok(store.compactions >= 2, `folded ${store.compactions} times`);
  // Amortised: folds happen as the snapshot doubles, not once per change.
  assert.ok(store.compactions < 40, `folded ${store.compactions} times`);
  assert.ok(statSync(store.logPath).size <= Math.max(4096, 2 * statSync(path).size) + 200);
  await store.close();
  const byId = await reload(path);
  assert.equal(byId.size, 250);
  assert.ok(byId.has(idOf(1)) && !byId.has(idOf(0)));
});

test('a snapshot written by the earlier whole-file store is read as it is', async () => {
  const path = join(dir.path, 'g', 'checks.json');
  const store = new FileCheckStore(path);
  await store.load();
  await store.close();
  writeFileSync(path, JSON.stringify({ checks: [check('old')], states: { old: { state: 'up', since: 5 } } }, null, 2));
  writeFileSync(store.logPath, '');
  const s2 = new FileCheckStore(path);
  const r = await s2.load();
  await s2.close();
  assert.deepEqual(
    r.checks.map((c) => c.id),
    ['old'],
  );
  assert.deepEqual(r.states.get('old'), { state: 'up', since: 5 });
});
