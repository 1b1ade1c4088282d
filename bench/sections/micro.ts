// Section 5, micro-benchmarks of the hot paths, in process (bench/lib/micro.ts).
import { runMicro, type MicroResult } from '../lib/micro.js';
import { mdTable, num } from '../lib/table.js';
import type { BenchContext, SectionOutput } from './context.js';

export async function microSection(ctx: BenchContext): Promise<SectionOutput<MicroResult[]>> {
  const result = await runMicro(ctx.quick);
  return { result, markdown: microMarkdown(ctx, result) };
}

export function microMarkdown(ctx: BenchContext, result: MicroResult[]): string {
  const out: string[] = [];
  out.push(
    '## 5. Micro-benchmarks (tinybench, in process)',
    '',
    mdTable(
      ['hot path', 'ops/s', 'ns / record', 'records/s (one core)'],
      result.map((m) => [m.name, num(m.opsPerSec), num(m.nsPerRecord), num(m.recordsPerSec)]),
    ),
    '',
  );
  return out.join('\n');
}
