// Section 8, the health scheduler's own bench (bench/health-scheduler.ts), run when present.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { withTimeout } from '../../src/timeout.js';
import type { BenchContext, SectionOutput } from './context.js';

export interface HealthResult {
  ran: boolean;
  note: string;
  result?: unknown;
  markdown?: string;
}

async function measureHealth(ctx: BenchContext): Promise<HealthResult> {
  const file = resolve(import.meta.dirname, '../health-scheduler.ts');
  if (!existsSync(file)) return { ran: false, note: 'skipped: bench/health-scheduler.ts does not exist yet' };
  // Imported by URL so this file type-checks whether or not the other bench exists yet.
  const mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  const run = mod.runSchedulerBench;
  if (typeof run !== 'function')
    return { ran: false, note: 'skipped: bench/health-scheduler.ts exports no runSchedulerBench()' };
  const opts = ctx.quick
    ? { checks: 1000, intervalMs: 1000, measureMs: 2000, outDir: false }
    : { measureMs: 10_000, outDir: false };
  try {
    const result: unknown = await withTimeout((run as (o: unknown) => Promise<unknown>)(opts), 180_000, () => {
      throw new Error('took longer than 180 s');
    });
    const table =
      typeof mod.resultTable === 'function' ? (mod.resultTable as (r: unknown) => string)(result) : undefined;
    return {
      ran: true,
      note: `runSchedulerBench(${JSON.stringify(opts)}) from bench/health-scheduler.ts (that file's own method and targets)`,
      result,
      ...(table ? { markdown: table } : {}),
    };
  } catch (err) {
    return { ran: false, note: `failed: ${(err as Error).message}` };
  }
}

export async function healthSection(ctx: BenchContext): Promise<SectionOutput<HealthResult>> {
  const result = await measureHealth(ctx);
  return { result, markdown: healthMarkdown(ctx, result) };
}

export function healthMarkdown(ctx: BenchContext, result: HealthResult): string {
  const out: string[] = [];
  out.push('## 8. Health scheduler', '', result.note, '');
  if (result.markdown) out.push(result.markdown, '');
  else if (result.result !== undefined) out.push('```json', JSON.stringify(result.result, null, 2), '```', '');
  return out.join('\n');
}
