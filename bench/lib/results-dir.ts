// Where a benchmark writes its results: a deliberate full run under bench/results/ (committed),
// a --quick or --only run under bench/results/quick/ (git-ignored), so ad-hoc runs leave the
// tree clean and never overwrite the day's full run.
import { resolve } from 'node:path';

export const RESULTS_DIR = resolve(import.meta.dirname, '../results');

export function resultsDir(quick: boolean): string {
  return quick ? resolve(RESULTS_DIR, 'quick') : RESULTS_DIR;
}
