// The long fuzz run: every property of test/helpers/fuzz-properties.ts for many cases
// (default 1,000,000 in all; `--cases N` to choose), split evenly. Prints cases per property,
// time taken and the seed, so a failure can be replayed (`--seed S`).
// Run: node --import tsx bench/fuzz-long.ts [--cases 1000000] [--seed 42]
import fc from 'fast-check';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { properties, setFuzzDir } from '../test/helpers/fuzz-properties.js';

function arg(name: string): number | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : undefined;
}

const total = arg('cases') ?? 1_000_000;
const seed = arg('seed') ?? Date.now() % 2 ** 31;
const dir = mkdtempSync(join(tmpdir(), 'sluice-fuzz-long-'));
setFuzzDir(dir);
const props = properties();
const each = Math.ceil(total / props.length);
console.log(`fuzz: ${props.length} properties x ${each} cases, seed ${seed}`);
let failed = false;
const started = performance.now();
for (const { name, property } of props) {
  const t = performance.now();
  const out = await fc.check(property as fc.IAsyncProperty<never>, { numRuns: each, seed });
  const s = ((performance.now() - t) / 1000).toFixed(1);
  if (out.failed) {
    failed = true;
    console.log(`FAIL ${name} (${s} s): ${fc.defaultReportMessage(out) ?? ''}`);
  } else console.log(`ok   ${name}: ${out.numRuns} cases in ${s} s`);
}
console.log(`fuzz: ${failed ? 'FAILED' : 'passed'} in ${((performance.now() - started) / 1000).toFixed(0)} s`);
rmSync(dir, { recursive: true, force: true });
process.exitCode = failed ? 1 : 0;
