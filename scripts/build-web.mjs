// Bundles the browser UI (web/src) with esbuild into dist/web: content-hashed assets (served
// immutable) and an index.html naming them (served no-cache). Prints the gzip size it ships.
// Every file is written to a temporary name and renamed into place, so a server starting (or a
// second build running, as test files do) never reads a half-written file.
import { build } from 'esbuild';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { gzipSync } from 'node:zlib';

const out = 'dist/web';
const assetsDir = join(out, 'assets');
mkdirSync(assetsDir, { recursive: true });

function writeAtomic(path, data) {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, data);
  renameSync(tmp, path);
}

const result = await build({
  entryPoints: ['web/src/main.tsx'],
  bundle: true,
  minify: true,
  format: 'esm',
  target: ['es2020', 'chrome100', 'firefox100', 'safari15'],
  jsx: 'automatic',
  jsxImportSource: 'preact',
  entryNames: '[name]-[hash]',
  outdir: assetsDir,
  write: false,
  legalComments: 'none',
  logLevel: 'warning',
});

const files = result.outputFiles.filter((f) => f.path.endsWith('.js') || f.path.endsWith('.css'));
const js = files.find((f) => f.path.endsWith('.js'));
const css = files.find((f) => f.path.endsWith('.css'));
if (!js || !css) throw new Error('web build: expected one .js and one .css output');
for (const f of files) writeAtomic(join(assetsDir, basename(f.path)), f.contents);

const template = readFileSync('web/index.html', 'utf8');
writeAtomic(
  join(out, 'index.html'),
  template.replace('%CSS%', `/assets/${basename(css.path)}`).replace('%JS%', `/assets/${basename(js.path)}`),
);

// Assets of earlier builds go once they are a minute old (a page loaded just before a rebuild
// may still ask for them).
const current = new Set(files.map((f) => basename(f.path)));
for (const name of readdirSync(assetsDir)) {
  const p = join(assetsDir, name);
  if (!current.has(name) && Date.now() - statSync(p).mtimeMs > 60_000) rmSync(p, { force: true });
}

const raw = files.reduce((n, f) => n + f.contents.length, 0);
const gz = files.reduce((n, f) => n + gzipSync(f.contents, { level: 9 }).length, 0);
writeAtomic(
  join(out, 'build.json'),
  JSON.stringify({ js: basename(js.path), css: basename(css.path), bytes: raw, gzipBytes: gz }, null, 2) + '\n',
);
console.error(`sluice: web UI built (${(raw / 1024).toFixed(1)} KiB, ${(gz / 1024).toFixed(1)} KiB gzip)`);
