// The stdout sink: each record as one NDJSON line on standard output (for piping and demos).
// Waits for the stream to drain, so a slow reader pushes back like any other sink.
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { toJsonLine } from '../../record.js';
import type { Sink, SinkBatch } from '../sink.js';

export class StdoutSink implements Sink {
  readonly name = 'stdout';

  constructor(private readonly out: Writable = process.stdout) {}

  async writeBatch(batch: SinkBatch): Promise<void> {
    let text = '';
    for (const r of batch.records) text += toJsonLine(r) + '\n';
    if (!this.out.write(text)) await once(this.out, 'drain');
  }

  async close(): Promise<void> {}
}
