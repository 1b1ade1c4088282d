// How a batch leaves the writer pool: committed, dead-lettered, or (at the shutdown deadline)
// kept in the WAL for the next start. Each outcome answers the batch's tickets (so clients
// waiting on an ack get their answer), updates the counters and metrics, and tells the ledger
// when the batch is gone for good.
import type { Logger } from 'pino';
import { SluiceError, errorMessage } from '../errors.js';
import { nowMicros } from '../timestamp.js';
import type { Metrics } from '../observability/metrics.js';
import { answerTickets, receivedRuns, type Batch } from '../batch.js';
import type { Sink } from '../sinks/sink.js';
import { withTimeout } from '../timeout.js';
import { sleep } from './backoff.js';
import type { BatchHalving } from './batch-halving.js';
import type { BatchLedger } from './buffer.js';
import type { DeadLetter } from './dead-letter.js';

/** The pool's running totals the outcomes add to. */
export interface OutcomeCounters {
  committedBatches: number;
  committedRecords: number;
  deadLetteredBatches: number;
  keptBatches: number;
}

export interface WriteOutcomesOptions {
  sink: Sink;
  deadLetter: DeadLetter;
  metrics: Metrics;
  logger: Logger;
  ledger: BatchLedger | undefined;
  halving: BatchHalving;
  counters: OutcomeCounters;
  /** The pool's shutdown deadline. */
  signal: AbortSignal;
}

export class WriteOutcomes {
  private readonly sinkName: string;
  /** Batches whose write reached the sink at least once (the ones a deadline may have cut mid-COMMIT). */
  private readonly writeBegun = new WeakSet<Batch>();

  constructor(private readonly opts: WriteOutcomesOptions) {
    this.sinkName = opts.sink.name;
  }

  /** Called as a write reaches the sink. */
  writing(batch: Batch): void {
    this.writeBegun.add(batch);
  }

  committed(batch: Batch, seconds: number): void {
    const { metrics, counters } = this.opts;
    counters.committedBatches++;
    counters.committedRecords += batch.count;
    metrics.writeLatency.labels(this.sinkName).observe(seconds);
    metrics.recordsWritten.labels(this.sinkName).inc(batch.count);
    const now = nowMicros();
    // Records of one request share their receive time: one observation per run of them.
    const runs = receivedRuns(batch);
    for (let i = 0; i < runs.length; i += 2) metrics.e2eLatency.observe((now - runs[i]!) / 1e6, runs[i + 1]!);
    answerTickets(batch.tickets);
    this.release(batch);
  }

  /** The shutdown deadline caught the batch: committed after all, kept in the WAL, or dead-lettered. */
  async aborted(batch: Batch, reason: string, attempts: number): Promise<void> {
    if (!this.opts.ledger) {
      // The deadline may have cut a write after COMMIT went out: a committed batch is done.
      // (Only a batch that reached the sink: asking for every queued one would take seconds each.)
      if (this.writeBegun.has(batch) && (await this.committedAfterAll(batch))) return this.committed(batch, 0);
      return this.deadLetter(batch, reason, attempts);
    }
    // Its records and cut are in the WAL: the next start sends it again under the same id,
    // which a sink that did commit it (the abort may have come after COMMIT) recognises.
    this.opts.counters.keptBatches++;
    this.opts.logger.warn(
      { sink: this.sinkName, batch: batch.id, records: batch.count },
      'batch left in the WAL for the next start',
    );
    answerTickets(
      batch.tickets,
      new SluiceError(
        'SLUICE_ERR_SHUTTING_DOWN',
        `the sink did not take the records in time (kept in the WAL): ${reason}`,
      ),
    );
  }

  async deadLetter(batch: Batch, error: string, attempts: number): Promise<void> {
    const { deadLetter, metrics, logger } = this.opts;
    let written = false;
    for (let tries = 1; ; tries++) {
      try {
        await deadLetter.write({ batch, sink: this.sinkName, error, attempts });
        written = true;
        break;
      } catch (err) {
        // Losing the batch is not an option: keep trying, loudly, unless we are past the deadline.
        logger.error({ sink: this.sinkName, batch: batch.id, err: errorMessage(err) }, 'dead-letter write failed');
        if (this.opts.signal.aborted && tries >= 3) {
          if (this.opts.ledger) return this.aborted(batch, error, attempts);
          logger.fatal(
            { batch: batch.id, records: batch.count },
            'records lost: dead-letter file unwritable at shutdown',
          );
          break;
        }
        await sleep(1000);
      }
    }
    if (written) {
      // Counted only when the file has them: the metric is what an operator can re-ingest.
      this.opts.counters.deadLetteredBatches++;
      metrics.deadLetters.labels(this.sinkName).inc(batch.count);
      logger.error(
        {
          sink: this.sinkName,
          batch: batch.id,
          records: batch.count,
          attempts,
          err: error,
          file: deadLetter.pathFor(this.sinkName),
        },
        'batch dead-lettered',
      );
    }
    answerTickets(
      batch.tickets,
      new SluiceError('SLUICE_ERR_SINK_FAILED', written ? `${error} (dead-lettered)` : error),
    );
    if (written) this.release(batch);
  }

  /** Tells the ledger a batch left the collector; a part, once every part of its batch has. */
  private release(batch: Batch): void {
    const done = this.opts.halving.finish(batch);
    if (done) this.opts.ledger?.settled(done);
  }

  /** Asks the sink (within 3 s) whether the batch committed after all; unknown counts as no. */
  private async committedAfterAll(batch: Batch): Promise<boolean> {
    const { sink } = this.opts;
    const ask = sink.wasCommitted;
    if (!ask) return false;
    try {
      return await withTimeout(ask.call(sink, batch.id), 3000, () => false);
    } catch (err) {
      this.opts.logger.warn(
        { sink: this.sinkName, batch: batch.id, err: errorMessage(err) },
        'could not ask the sink whether the batch committed; dead-lettering it',
      );
      return false;
    }
  }
}
