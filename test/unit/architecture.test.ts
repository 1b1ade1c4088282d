// The architecture lint (.dependency-cruiser.cjs) holds on the real tree, and fails on a tree
// with a deliberately wrong import: each rule is shown to bite, not merely to be quiet.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, describe, test } from 'node:test';
import { promisify } from 'node:util';

const ROOT = resolve(import.meta.dirname, '../..');
const CONFIG = join(ROOT, '.dependency-cruiser.cjs');
const CRUISER = join(ROOT, 'node_modules/dependency-cruiser/bin/dependency-cruise.mjs');
const run = promisify(execFile);

interface Violation {
  rule: { name: string };
  from: string;
  to: string;
}

/** Runs the cruiser over `src` in `cwd`; the violations it reports (it exits non-zero on any). */
async function cruise(cwd: string): Promise<Violation[]> {
  try {
    const { stdout } = await run(process.execPath, [CRUISER, 'src', '--config', CONFIG, '--output-type', 'json'], {
      cwd,
      maxBuffer: 64 << 20,
    });
    return (JSON.parse(stdout) as { summary: { violations: Violation[] } }).summary.violations;
  } catch (err) {
    const { stdout } = err as { stdout?: string };
    if (!stdout) throw err;
    return (JSON.parse(stdout) as { summary: { violations: Violation[] } }).summary.violations;
  }
}

const trees: string[] = [];
after(() => {
  for (const dir of trees) rmSync(dir, { recursive: true, force: true });
});

/** A throwaway project: the given files (path → source) and a tsconfig like the repo's. */
function tree(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-arch-'));
  trees.push(dir);
  writeFileSync(
    join(dir, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', strict: true },
      include: ['src'],
    }),
  );
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

describe('architecture lint', () => {
  test('the source tree keeps every rule', async () => {
    assert.deepEqual(await cruise(ROOT), []);
  });

  test('a sink importing the pipeline is refused', async () => {
    const dir = tree({
      'src/pipeline/batcher.ts': 'export const batcher = 1;\n',
      'src/sinks/bad-sink.ts': "import { batcher } from '../pipeline/batcher.js';\nexport const x = batcher;\n",
    });
    const v = await cruise(dir);
    assert.deepEqual(
      v.map((x) => [x.rule.name, x.from, x.to]),
      [['sinks-see-only-a-batch', 'src/sinks/bad-sink.ts', 'src/pipeline/batcher.ts']],
    );
  });

  test('the pipeline importing ingest, and a leaf importing a stage, are refused', async () => {
    const dir = tree({
      'src/ingest/enqueue.ts': 'export const enqueue = 1;\n',
      'src/pipeline/batcher.ts': "import { enqueue } from '../ingest/enqueue.js';\nexport const b = enqueue;\n",
      'src/batch.ts': "import { b } from './pipeline/batcher.js';\nexport const c = b;\n",
    });
    const names = (await cruise(dir)).map((x) => x.rule.name).sort();
    assert.deepEqual(names, ['leaves-import-no-stage', 'pipeline-below-ingest-health-admin']);
  });

  test('the key store importing the read side, and the database importing the key store, are refused', async () => {
    const dir = tree({
      'src/admin/keys-routes.ts': 'export const routes = 1;\n',
      'src/access/api-keys.ts': "import { routes } from '../admin/keys-routes.js';\nexport const k = routes;\n",
      'src/postgres/database.ts': "import { k } from '../access/api-keys.js';\nexport const d = k;\n",
    });
    const names = (await cruise(dir)).map((x) => x.rule.name).sort();
    assert.deepEqual(names, ['access-knows-only-the-database', 'postgres-is-infrastructure']);
  });

  test('an import loop is refused', async () => {
    const dir = tree({
      'src/health/a.ts': "import { b } from './b.js';\nexport const a = () => b;\n",
      'src/health/b.ts': "import { a } from './a.js';\nexport const b = () => a;\n",
    });
    const v = await cruise(dir);
    assert.ok(v.length > 0 && v.every((x) => x.rule.name === 'no-cycles'), JSON.stringify(v));
  });
});
