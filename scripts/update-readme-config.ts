// Rewrites the configuration table in README.md from the config schema (npm run docs:config).
import { readFileSync, writeFileSync } from 'node:fs';
import { configKeysMarkdown } from '../src/cli/config-command.js';

const START = /<!-- config-table:start[^>]*-->/;
const END = '<!-- config-table:end -->';
const readme = readFileSync('README.md', 'utf8');
const start = START.exec(readme);
const end = readme.indexOf(END);
if (!start || end < 0) throw new Error('README.md has no config-table markers');
const head = readme.slice(0, start.index + start[0].length);
writeFileSync('README.md', `${head}\n${configKeysMarkdown()}\n${readme.slice(end)}`);
