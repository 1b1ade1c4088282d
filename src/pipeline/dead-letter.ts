// The dead-letter file: batches the sink could not take after the last retry (or at the
// shutdown deadline) are appended as NDJSON, one record a line with the error, and fsynced.
// Never a silent drop: a record leaves Sluice through the sink or through this file.
import { mkdir, open } from 'node:fs/promises';
import { join } from 'node:path';
import { toJsonLine } from '../record.js';
import { formatMicros } from '../timestamp.js';
import type { Batch } from '../batch.js';

export interface DeadLetterEntry {
  batch: Batch;
  sink: string;
  error: string;
  attempts: number;
}

export class DeadLetter {
  private chain: Promise<void> = Promise.resolve();
  private count = 0;

  constructor(private readonly dir: string) {}

  /** Path of the file for one sink. */
  pathFor(sink: string): string {
    return join(this.dir, `${sink}.ndjson`);
  }

  /** Records dead-lettered since start. */
  get records(): number {
    return this.count;
  }

  /** Appends the batch; writes are serialised so lines from two batches never interleave. */
  write(entry: DeadLetterEntry): Promise<void> {
    const next = this.chain.then(() => this.append(entry));
    this.chain = next.catch(() => undefined);
    return next;
  }

  private async append({ batch, sink, error, attempts }: DeadLetterEntry): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const at = formatMicros(Date.now() * 1000);
    const meta = `"dead_letter":${JSON.stringify({ batch_id: batch.id, sink, error, attempts, at })}`;
    let text = '';
    for (const r of batch.records) {
      const line = toJsonLine(r);
      text += line.slice(0, -1) + ',' + meta + '}\n';
    }
    const fh = await open(this.pathFor(sink), 'a');
    try {
      await fh.writeFile(text);
      await fh.sync();
    } finally {
      await fh.close();
    }
    this.count += batch.count;
  }
}
