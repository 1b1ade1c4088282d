// Section 9, ingest protocols: each bench/protocols/<name>.ts that exports `run({ quick })`
// measures its protocol against the same records as NDJSON on its own blackhole collector and
// returns its rows; this section finds those files, runs them in name order and renders one
// table. Files there without `run` (drive.ts, helpers shared by protocols) are skipped. A file
// that fails is reported and the others still run.
import { readdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ProtocolRow } from '../protocols/drive.js';
import { mdTable, num, ratio } from '../lib/table.js';
import type { BenchContext, SectionOutput } from './context.js';

const PROTOCOLS_DIR = resolve(import.meta.dirname, '../protocols');

export interface ProtocolsResult {
  /** The protocol files that ran (file names), in order. */
  files: string[];
  /** Files in bench/protocols/ that export no `run`: helpers of the protocol files. */
  helpers: string[];
  rows: Array<ProtocolRow & { file: string }>;
  failures: Array<{ file: string; error: string }>;
}

type ProtocolModule = { run?: (opts: { quick: boolean }) => Promise<ProtocolRow[]> };

/** The protocol files of bench/protocols/, drive.ts (the shared driver) aside. */
export function protocolFiles(dir = PROTOCOLS_DIR): string[] {
  return readdirSync(dir)
    .filter((name) => name.endsWith('.ts') && !name.endsWith('.d.ts') && name !== 'drive.ts')
    .sort();
}

export async function protocolsSection(ctx: BenchContext): Promise<SectionOutput<ProtocolsResult>> {
  const result: ProtocolsResult = { files: [], helpers: [], rows: [], failures: [] };
  for (const file of protocolFiles()) {
    try {
      const mod = (await import(pathToFileURL(resolve(PROTOCOLS_DIR, file)).href)) as ProtocolModule;
      if (typeof mod.run !== 'function') {
        result.helpers.push(file);
        continue;
      }
      result.files.push(file);
      const rows = await mod.run({ quick: ctx.quick });
      for (const row of rows) {
        result.rows.push({ ...row, file });
        ctx.log(`protocols ${row.protocol}: ${num(row.recordsPerSec)} rec/s, ${ratio(row.ratio)} of NDJSON`);
      }
    } catch (err) {
      result.failures.push({ file, error: (err as Error).stack ?? String(err) });
      ctx.log(`protocols ${file} FAILED: ${(err as Error).message}`);
    }
  }
  return { result, markdown: protocolsMarkdown(result) };
}

export function protocolsMarkdown(result: ProtocolsResult): string {
  const out = ['## 9. Ingest protocols vs NDJSON, same records, same collector (blackhole sink)', ''];
  if (result.files.length === 0 && result.failures.length === 0)
    return [...out, 'No protocol in bench/protocols/ yet.', ''].join('\n');
  out.push(
    mdTable(
      ['protocol', 'records / body', 'records/s', 'NDJSON records/s', 'ratio', 'non-2xx', 'note', 'file'],
      result.rows.map((row) => [
        row.protocol,
        row.recordsPerBody,
        num(row.recordsPerSec),
        num(row.ndjsonRecordsPerSec),
        ratio(row.ratio),
        row.errors,
        row.note ?? '',
        row.file,
      ]),
    ),
    '',
  );
  for (const { file, error } of result.failures) out.push(`- ${file} failed: ${error.split('\n')[0]}`);
  if (result.failures.length > 0) out.push('');
  return out.join('\n');
}
