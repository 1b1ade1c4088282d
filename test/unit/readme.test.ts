// The README and docs/ are part of the product: the README stays a short tour whose links all
// lead somewhere, and docs/configuration.md's table matches the schema.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { test } from 'node:test';
import { configKeysMarkdown } from '../../src/cli/config-command.js';

const root = resolve(import.meta.dirname, '../..');
const read = (path: string): string => readFileSync(resolve(root, path), 'utf8');

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
function anchorOf(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N} _-]/gu, '')
    .replace(/ /g, '-');
}

function anchorsIn(markdown: string): Set<string> {
  const withoutCode = markdown.replace(/```[\s\S]*?```/g, '');
  return new Set([...withoutCode.matchAll(/^#{1,6} (.+)$/gm)].map((m) => anchorOf(m[1]!)));
}

test('docs/configuration.md lists every key as the schema defines it (npm run docs:config)', () => {
  const section = /<!-- config-table:start[^>]*-->\n([\s\S]*?)\n<!-- config-table:end -->/.exec(
    read('docs/configuration.md'),
  );
  assert.ok(section, 'docs/configuration.md has the config-table markers');
  assert.equal(section[1], configKeysMarkdown());
});

test('the README is a tour: the newcomer sections in order, reference material left to docs/', () => {
  const readme = read('README.md');
  const headings = [...readme.matchAll(/^## (.+)$/gm)].map((m) => m[1]);
  const tour = ['Two commands', 'Send data', 'Look at your data', 'Operate it', 'Security', 'Configuration'];
  const positions = tour.map((h) => headings.indexOf(h));
  assert.ok(
    positions.every((p) => p >= 0),
    `README sections ${JSON.stringify(tour)}, found ${JSON.stringify(headings)}`,
  );
  assert.deepEqual(
    [...positions].sort((a, b) => a - b),
    positions,
    'in tour order',
  );
  assert.ok(!readme.includes('config-table:start'), 'the config table lives in docs/configuration.md');
  assert.ok(readme.length < 12_000, `README is ${readme.length} characters: move reference material to docs/`);
});

test('every relative link in README.md and docs/*.md leads to a file (and heading) that exists', () => {
  const pages = [
    'README.md',
    ...readdirSync(resolve(root, 'docs'))
      .filter((f) => f.endsWith('.md'))
      .map((f) => `docs/${f}`),
  ];
  const broken: string[] = [];
  for (const page of pages) {
    const text = read(page).replace(/```[\s\S]*?```/g, '');
    for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      if (/^[a-z]+:/i.test(target!)) continue;
      const [path, anchor] = target!.split('#') as [string, string | undefined];
      const file = path === '' ? resolve(root, page) : resolve(root, dirname(page), path);
      if (!existsSync(file)) broken.push(`${page}: ${target} (no such file)`);
      else if (anchor && file.endsWith('.md') && !anchorsIn(readFileSync(file, 'utf8')).has(anchor)) {
        broken.push(`${page}: ${target} (no such heading)`);
      }
    }
  }
  assert.deepEqual(broken, []);
});
