// The blackhole sink: counts and drops. For benchmarks of everything in front of the sink.
import type { Sink, SinkBatch } from '../sink.js';

export class BlackholeSink implements Sink {
  readonly name = 'blackhole';
  records = 0;
  batches = 0;

  async writeBatch(batch: SinkBatch): Promise<void> {
    this.records += batch.count;
    this.batches++;
  }

  async close(): Promise<void> {}
}
