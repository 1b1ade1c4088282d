// The embedded PostgreSQL as a newcomer meets it in a terminal: Ctrl-C goes to the whole
// foreground process group, yet the collector drains every accepted record into the server and
// stops it last; the server keeps its port across restarts and its URL file only while it runs.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { after, test } from 'node:test';
import pg from 'pg';
import { PORT_FILE, URL_FILE, startEmbeddedPostgres } from '../../src/postgres/embedded.js';
import { tempDir } from '../helpers/app.js';
import { startChildCollector } from '../helpers/child-collector.js';
import { waitFor } from '../helpers/wait-for.js';

const dir = tempDir('sluice-embedded-life-');
// As root the server runs as the `postgres` user, which must be able to enter the directory.
chmodSync(dir.path, 0o755);
after(() => dir.remove());

async function countIds(url: string, ids: Set<string>): Promise<{ stored: number; missing: string[] }> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const { rows } = await c.query<{ id: string }>('SELECT id FROM logs');
    const have = new Set(rows.map((r) => r.id));
    return { stored: rows.length, missing: [...ids].filter((id) => !have.has(id)) };
  } finally {
    await c.end();
  }
}

test('Ctrl-C to the whole process group under load: exit 0 within seconds, every accepted record stored, no warnings', async () => {
  const dataDir = join(dir.path, 'ctrl-c');
  // Its own process group, as a shell gives a foreground job; the group is what a terminal signals.
  const collector = await startChildCollector(
    {
      sink: 'postgres',
      'postgres.embeddedDataDir': join(dataDir, 'postgres'),
      'wal.dir': join(dataDir, 'wal'),
      'deadLetter.dir': join(dataDir, 'dead-letter'),
      'health.dataDir': join(dataDir, 'health'),
    },
    {},
    { detached: true },
  );
  const { child, url } = collector;
  try {
    const acked = new Set<string>();
    let loading = true;
    const clients = Array.from({ length: 8 }, async (_, w) => {
      for (let n = 0; loading; n++) {
        const ids = Array.from({ length: 20 }, (_, j) => `k${w}-${n}-${j}`);
        try {
          const res = await fetch(`${url}/logs`, {
            method: 'POST',
            headers: { 'content-type': 'application/x-ndjson' },
            body: ids.map((id) => JSON.stringify({ id, msg: id })).join('\n'),
          });
          await res.arrayBuffer();
          if (res.status === 202) for (const id of ids) acked.add(id);
        } catch {
          return; // the collector has closed its listener
        }
      }
    });
    await waitFor('records flowing', () => acked.size >= 2000, 30_000);
    const signalled = Date.now();
    process.kill(-child.pid!, 'SIGINT');
    const code = await collector.exited;
    const took = Date.now() - signalled;
    loading = false;
    await Promise.all(clients);

    assert.equal(code, 0, collector.output().slice(-2000));
    assert.ok(took < 10_000, `stopped in ${took} ms (the shutdown deadline is 20 s)`);
    const loud = collector
      .output()
      .split('\n')
      .filter((l) => /"level":(4|5|6)\d/.test(l));
    assert.deepEqual(loud, [], 'no warning or error lines');
    assert.equal(
      existsSync(join(dataDir, 'postgres', 'postmaster.pid')),
      false,
      'the server was stopped with the collector',
    );
    assert.equal(existsSync(join(dataDir, 'postgres', URL_FILE)), false, 'the URL file does not outlive the server');

    const server = await startEmbeddedPostgres({ dataDir: join(dataDir, 'postgres') });
    try {
      const { stored, missing } = await countIds(server.url, acked);
      assert.deepEqual(missing.slice(0, 5), [], `${missing.length} of ${acked.size} accepted records missing`);
      assert.ok(stored >= acked.size);
    } finally {
      await server.stop();
    }
  } finally {
    if (child.exitCode === null) process.kill(-child.pid!, 'SIGKILL');
  }
});

test('the embedded server keeps its port across restarts, moves only when the port is taken, and removes its URL file when stopped', async () => {
  const dataDir = join(dir.path, 'port');
  const first = await startEmbeddedPostgres({ dataDir });
  assert.equal(readFileSync(join(dataDir, URL_FILE), 'utf8').trim(), first.url);
  await first.stop();
  assert.equal(existsSync(join(dataDir, URL_FILE)), false, 'no URL file naming a stopped server');

  const second = await startEmbeddedPostgres({ dataDir });
  assert.equal(second.port, first.port, 'the same port as last time');
  assert.equal(readFileSync(join(dataDir, URL_FILE), 'utf8').trim(), second.url);
  await second.stop();

  const squatter: Server = createServer();
  await new Promise<void>((resolve) => squatter.listen(first.port, '127.0.0.1', resolve));
  try {
    const third = await startEmbeddedPostgres({ dataDir });
    assert.notEqual(third.port, first.port, 'a taken port is not fought over');
    assert.equal(readFileSync(join(dataDir, PORT_FILE), 'utf8').trim(), String(third.port));
    await third.stop();
  } finally {
    await new Promise((resolve) => squatter.close(resolve));
  }
});

test('a server left running by a collector that was killed outright is stopped at the next start, not refused', async () => {
  const dataDir = join(dir.path, 'orphan');
  // A child process starts the server and is then SIGKILLed: no exit handler runs.
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      '-e',
      `import('./src/postgres/embedded.ts').then((m) => m.startEmbeddedPostgres({ dataDir: ${JSON.stringify(dataDir)} })).then(() => console.log('up'))`,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  await waitFor('the server to start', () => out.includes('up'), 60_000);
  const orphan = Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  child.kill('SIGKILL');
  await new Promise((resolve) => child.once('exit', resolve));
  assert.doesNotThrow(() => process.kill(orphan, 0), 'the server outlived its collector');

  const next = await startEmbeddedPostgres({ dataDir });
  try {
    assert.throws(() => process.kill(orphan, 0), 'the orphan was stopped');
    const c = new pg.Client({ connectionString: next.url });
    await c.connect();
    await c.end();
  } finally {
    await next.stop();
  }
});
