// The storage baseline: a minimal pg-copy-streams client that COPYs pre-encoded text rows into
// `logs`, one transaction per batch, over W connections. Encoding happens before the clock
// starts, so this is what PostgreSQL itself takes for the rows: the ceiling for any sink.
import { finished } from 'node:stream/promises';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { type LogRecord } from '../../src/record.js';
import { formatMicros } from '../../src/timestamp.js';

const COLUMNS = 'id, ts, received_at, level, service, message, attrs, trace_id, span_id';

function esc(s: string | null): string {
  return s === null
    ? '\\N'
    : s.replace(/[\\\t\n\r]/g, (c) => (c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r'));
}

export function encodeTextBatches(rows: readonly LogRecord[], size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < rows.length; i += size) {
    let s = '';
    for (const r of rows.slice(i, i + size)) {
      s += `${esc(r.id)}\t${formatMicros(r.ts)}\t${formatMicros(r.received_at)}\t${r.level}\t${esc(r.service)}\t${esc(r.message)}\t${esc(r.attrs)}\t${esc(r.trace_id)}\t${esc(r.span_id)}\n`;
    }
    out.push(Buffer.from(s));
  }
  return out;
}

export interface CopyRun {
  records: number;
  ms: number;
  recordsPerSec: number;
}

export async function rawCopy(url: string, batches: Buffer[], records: number, writers: number): Promise<CopyRun> {
  const clients = await Promise.all(
    Array.from({ length: writers }, async () => {
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      return c;
    }),
  );
  let next = 0;
  const t0 = performance.now();
  try {
    await Promise.all(
      clients.map(async (c) => {
        for (let i = next++; i < batches.length; i = next++) {
          await c.query('BEGIN');
          const stream = c.query(copyFrom(`COPY logs (${COLUMNS}) FROM STDIN`));
          stream.end(batches[i]);
          await finished(stream);
          await c.query('COMMIT');
        }
      }),
    );
  } finally {
    await Promise.all(clients.map((c) => c.end()));
  }
  const ms = performance.now() - t0;
  return { records, ms, recordsPerSec: (records / ms) * 1000 };
}
