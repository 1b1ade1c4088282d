#!/usr/bin/env node
// CLI entry: runs the compiled collector (npm start and npm run build produce dist/).
import { main } from '../dist/main.js';

main(process.argv.slice(2)).then(
  (code) => { if (typeof code === 'number') process.exitCode = code; },
  (err) => { console.error(err instanceof Error ? err.message : err); process.exitCode = 1; },
);
