// The README is part of the product: its configuration table must match the schema.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { test } from 'node:test';
import { configKeysMarkdown } from '../../src/cli/config-command.js';

test('the README configuration table lists every key as the schema defines it (npm run docs:config)', () => {
  const readme = readFileSync(resolve(import.meta.dirname, '../../README.md'), 'utf8');
  const section = /<!-- config-table:start[^>]*-->\n([\s\S]*?)\n<!-- config-table:end -->/.exec(readme);
  assert.ok(section, 'README has the config-table markers');
  assert.equal(section[1], configKeysMarkdown());
});
