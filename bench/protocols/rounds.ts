// Measures several paths in interleaved rounds and keeps each one's median, so a protocol and
// its NDJSON baseline see the same machine load (sequential runs on a busy machine differed 3×).
import { measure, type Measured, type MeasureOptions } from './drive.js';

export async function interleaved(
  paths: ReadonlyArray<Omit<MeasureOptions, 'seconds'>>,
  rounds: number,
  seconds: number,
): Promise<Measured[]> {
  const runs: Measured[][] = paths.map(() => []);
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < paths.length; i++) runs[i]!.push(await measure({ ...paths[i]!, seconds }));
  }
  return runs.map((ms) => {
    const sorted = [...ms].sort((a, b) => a.recordsPerSec - b.recordsPerSec);
    const mid = sorted[Math.floor(sorted.length / 2)]!;
    return { ...mid, errors: ms.reduce((a, m) => a + m.errors, 0) };
  });
}
