// The long fuzz run: every property of test/helpers/fuzz-properties.ts for many cases
// (default 1,000,000 in all; `--cases N` to choose), split evenly. Each property runs in
// chunks of `--chunk` cases (seed + chunk number), so progress shows while it runs and a
// failure names the one seed that replays it (`--seed S --chunk N`, property filter `--only`).
// Run: node --import tsx bench/fuzz-long.ts [--cases 1000000] [--seed 42] [--chunk 5000] [--only text]
import fc from 'fast-check';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { properties, setFuzzDir } from '../test/helpers/fuzz-properties.js';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const total = Number(arg('cases') ?? 1_000_000);
const seed = Number(arg('seed') ?? Date.now() % 2 ** 31);
const chunk = Number(arg('chunk') ?? 5000);
const only = arg('only');
const dir = mkdtempSync(join(tmpdir(), 'sluice-fuzz-long-'));
setFuzzDir(dir);
const props = properties().filter((p) => only === undefined || p.name.includes(only));
const each = Math.ceil(total / props.length);
console.log(`fuzz: ${props.length} properties x ${each} cases, seed ${seed}, chunks of ${chunk}`);
let failed = false;
const started = performance.now();
for (const { name, property } of props) {
  const t = performance.now();
  let ran = 0;
  let failure: string | undefined;
  for (let c = 0; ran < each && failure === undefined; c++) {
    const runs = Math.min(chunk, each - ran);
    const out = await fc.check(property as fc.IAsyncProperty<never>, { numRuns: runs, seed: seed + c });
    ran += out.numRuns;
    if (out.failed) failure = `seed ${seed + c} (chunk ${c}): ${fc.defaultReportMessage(out) ?? ''}`;
    // One progress line per chunk: a long run on a shared machine shows it is moving.
    const s = (performance.now() - t) / 1000;
    process.stderr.write(`  ${name.slice(0, 60)}: ${ran}/${each} cases, ${s.toFixed(0)} s\r`);
  }
  process.stderr.write('\n');
  const s = ((performance.now() - t) / 1000).toFixed(1);
  if (failure !== undefined) {
    failed = true;
    console.log(`FAIL ${name} after ${ran} cases (${s} s): ${failure}`);
  } else console.log(`ok   ${name}: ${ran} cases in ${s} s`);
}
console.log(`fuzz: ${failed ? 'FAILED' : 'passed'} in ${((performance.now() - started) / 1000).toFixed(0)} s`);
rmSync(dir, { recursive: true, force: true });
process.exitCode = failed ? 1 : 0;
