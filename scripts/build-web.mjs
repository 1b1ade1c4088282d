// Bundles the browser UI (web/src) with esbuild into dist/web: content-hashed assets (served
// immutable) and an index.html naming them (served no-cache). Prints the gzip size it ships.
import { build } from 'esbuild';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { gzipSync } from 'node:zlib';

const out = 'dist/web';
rmSync(out, { recursive: true, force: true });
mkdirSync(join(out, 'assets'), { recursive: true });

const result = await build({
  entryPoints: ['web/src/main.tsx'],
  bundle: true,
  minify: true,
  format: 'esm',
  target: ['es2020', 'chrome100', 'firefox100', 'safari15'],
  jsx: 'automatic',
  jsxImportSource: 'preact',
  entryNames: '[name]-[hash]',
  outdir: join(out, 'assets'),
  metafile: true,
  legalComments: 'none',
  logLevel: 'warning',
});

const files = Object.keys(result.metafile.outputs);
const js = files.find((f) => f.endsWith('.js'));
const css = files.find((f) => f.endsWith('.css'));
if (!js || !css) throw new Error('web build: expected one .js and one .css output');

const template = readFileSync('web/index.html', 'utf8');
const html = template.replace('%CSS%', `/assets/${basename(css)}`).replace('%JS%', `/assets/${basename(js)}`);
writeFileSync(join(out, 'index.html'), html);

const gz = [js, css].reduce((n, f) => n + gzipSync(readFileSync(f), { level: 9 }).length, 0);
const raw = [js, css].reduce((n, f) => n + readFileSync(f).length, 0);
writeFileSync(join(out, 'build.json'), JSON.stringify({ js: basename(js), css: basename(css), bytes: raw, gzipBytes: gz }, null, 2) + '\n');
console.error(`sluice: web UI built (${(raw / 1024).toFixed(1)} KiB, ${(gz / 1024).toFixed(1)} KiB gzip)`);
