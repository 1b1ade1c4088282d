// Rewrites the configuration table in docs/configuration.md from the config schema (npm run docs:config).
import { readFileSync, writeFileSync } from 'node:fs';
import { configKeysMarkdown } from '../src/cli/config-command.js';

const PAGE = 'docs/configuration.md';
const START = /<!-- config-table:start[^>]*-->/;
const END = '<!-- config-table:end -->';
const page = readFileSync(PAGE, 'utf8');
const start = START.exec(page);
const end = page.indexOf(END);
if (!start || end < 0) throw new Error(`${PAGE} has no config-table markers`);
const head = page.slice(0, start.index + start[0].length);
writeFileSync(PAGE, `${head}\n${configKeysMarkdown()}\n${page.slice(end)}`);
