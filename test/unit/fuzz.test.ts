// The short fuzz run in `npm test` (a few seconds): every property of fuzz-properties.ts with
// a fixed seed per run printed on failure. The long run (>= 1M cases) is bench/fuzz-long.ts.
import { test } from 'node:test';
import fc from 'fast-check';
import { tempDir } from '../helpers/app.js';
import { properties, setFuzzDir } from '../helpers/fuzz-properties.js';

const dir = tempDir('sluice-fuzz-');
setFuzzDir(dir.path);
test.after(() => dir.remove());

for (const { name, property } of properties()) {
  test(name, async () => {
    await fc.assert(property as fc.IAsyncProperty<never>, { numRuns: 150 });
  });
}
