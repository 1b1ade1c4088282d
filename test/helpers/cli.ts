// Runs the sluice CLI from source (no build needed), for tests that need a real child process.
import { main } from '../../src/main.js';

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  },
);
