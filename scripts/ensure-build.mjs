// Builds dist/ when it is missing or older than any file under src/ (and the browser UI,
// dist/web, when older than any file under web/), so `npm start` on a fresh clone just works.
import { execFileSync } from 'node:child_process';
import { readdirSync, statSync, existsSync } from 'node:fs';
import { join } from 'node:path';

function newest(dir) {
  let max = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    max = Math.max(max, entry.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return max;
}

const stamp = 'dist/main.js';
if (!existsSync(stamp) || statSync(stamp).mtimeMs < newest('src')) {
  console.error('sluice: building (tsc)…');
  execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], {
    stdio: 'inherit',
  });
}

const webStamp = 'dist/web/index.html';
if (!existsSync(webStamp) || statSync(webStamp).mtimeMs < newest('web')) {
  console.error('sluice: building the web UI (esbuild)…');
  execFileSync(process.execPath, ['scripts/build-web.mjs'], { stdio: 'inherit' });
}
