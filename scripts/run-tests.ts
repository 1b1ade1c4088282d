// Runs every *.test.ts under the given folders (default: test/) with node's test runner and tsx.
// Node 20's runner does not expand globs, so the files are found here.
// Which runs get a database, by one rule: PostgreSQL is started only when a selected file lies in
// test/integration/ (the folder for tests on real services). test/unit/ and test/system/ never
// need one: the runner tells helpers/postgres so (SLUICE_TEST_NO_PG), and a test there that asks
// for a database fails saying to move it. Without DATABASE_URL the runner starts one embedded
// PostgreSQL for the whole run; each test file makes its own database on it.
import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../src/postgres/embedded.js';
import { TEST_SERVER_SETTINGS } from '../test/helpers/postgres.js';

function find(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...find(p));
    else if (entry.name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

/** The rule above: a file needs PostgreSQL when it is under test/integration/. */
function needsDatabase(file: string): boolean {
  return relative(process.cwd(), file).split(sep).join('/').startsWith('test/integration/');
}

const roots = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const files = (roots.length ? roots : ['test']).flatMap((r) => (r.endsWith('.test.ts') ? [r] : find(r))).sort();
if (files.length === 0) {
  console.error('no test files found');
  process.exit(1);
}

const env: NodeJS.ProcessEnv = { ...process.env, SLUICE_LOG_LEVEL: process.env.SLUICE_LOG_LEVEL ?? 'silent' };
let server: EmbeddedPostgres | undefined;
let dir: string | undefined;
if (!files.some(needsDatabase)) {
  env.SLUICE_TEST_NO_PG = '1';
  console.log('# no file in test/integration/: no PostgreSQL for this run');
} else if (!process.env.DATABASE_URL) {
  dir = mkdtempSync(join(tmpdir(), 'sluice-test-pg-'));
  chmodSync(dir, 0o755); // as root the server runs as `postgres`, which must enter the directory
  server = await startEmbeddedPostgres({ dataDir: join(dir, 'data'), settings: TEST_SERVER_SETTINGS });
  env.SLUICE_TEST_PG_URL = server.url;
  console.log(`# embedded PostgreSQL for the tests on port ${server.port} (set DATABASE_URL to use another server)`);
} else {
  console.log('# tests use the PostgreSQL server at DATABASE_URL');
}

const child = spawn(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-concurrency=2', '--test-timeout=180000', ...files],
  {
    stdio: 'inherit',
    env,
  },
);
const code: number = await new Promise((resolve) => child.once('exit', (c, sig) => resolve(c ?? (sig ? 1 : 0))));
await server?.stop();
if (dir) rmSync(dir, { recursive: true, force: true });
process.exit(code);
