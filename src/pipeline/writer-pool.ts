// The writer pool: N concurrent writers take batches from a small bounded queue and write
// them to the sink. A failing write is retried with exponential backoff and full jitter;
// a circuit breaker (cockatiel) stops hammering a sink that is down. Retries are counted
// only while the breaker is closed, so an outage holds batches (and pushes back on
// clients) instead of dead-lettering them; a batch that keeps failing while the sink is
// otherwise healthy, or fails permanently, goes to the dead-letter file. With a durable
// buffer (a ledger), a batch is written only once its boundaries are durable, the buffer is
// told when it is settled, and at the shutdown deadline it stays in the WAL for the next
// start instead of being dead-lettered. Halving after a permanent error is in
// batch-halving.ts, and what happens to a batch at the end (commit, dead letter, kept in the
// WAL) in write-outcomes.ts.
import {
  CircuitState,
  ConsecutiveBreaker,
  circuitBreaker,
  handleWhen,
  isBrokenCircuitError,
  type CircuitBreakerPolicy,
} from 'cockatiel';
import type { Logger } from 'pino';
import { SluiceError, errorMessage, isPermanent } from '../errors.js';
import type { Metrics } from '../observability/metrics.js';
import type { Batch } from '../batch.js';
import type { Sink } from '../sinks/sink.js';
import { fullJitterDelay, sleep } from './backoff.js';
import { BatchHalving } from './batch-halving.js';
import type { BatchLedger } from './buffer.js';
import type { DeadLetter } from './dead-letter.js';
import { WriteOutcomes } from './write-outcomes.js';

export interface WriterPoolOptions {
  sink: Sink;
  writers: number;
  queue: number;
  retry: { maxRetries: number; baseDelayMs: number; maxDelayMs: number };
  breaker: { failureThreshold: number; halfOpenAfterMs: number };
  deadLetter: DeadLetter;
  metrics: Metrics;
  logger: Logger;
  random?: () => number;
  /** Hook around each sink write (tracing); must call `write`. */
  around?: (batch: Batch, write: () => Promise<void>) => Promise<void>;
  /** The durable buffer that cut the batches, if any. */
  ledger?: BatchLedger;
}

export interface WriterStats {
  queued: number;
  inFlight: Array<{ writer: number; batch: string; records: number; attempt: number }>;
  committedBatches: number;
  committedRecords: number;
  retries: number;
  failures: number;
  deadLetteredBatches: number;
  /** Batches left in the WAL at the shutdown deadline, for the next start. */
  keptBatches: number;
  breaker: 'closed' | 'open' | 'half-open';
  lastError: string | null;
}

const STATE_NAMES = {
  [CircuitState.Closed]: 'closed',
  [CircuitState.Open]: 'open',
  [CircuitState.HalfOpen]: 'half-open',
  [CircuitState.Isolated]: 'open',
} as const;

export class WriterPool {
  private readonly queue: Batch[] = [];
  private readonly slots: Array<{ batch: string; records: number; attempt: number } | null>;
  private readonly breaker: CircuitBreakerPolicy;
  private readonly abort = new AbortController();
  private roomListener: (() => void) | undefined;
  private idleWaiters: Array<() => void> = [];
  /** Batches submitted whose cut is not yet durable (with a ledger): queued, but not in `queue`. */
  private waitingForSeal = 0;
  private counters = {
    committedBatches: 0,
    committedRecords: 0,
    retries: 0,
    failures: 0,
    deadLetteredBatches: 0,
    keptBatches: 0,
  };
  private lastError: string | null = null;
  private readonly sinkName: string;
  /** Retries a batch has spent, kept across a requeue (see `run`). */
  private readonly attemptsOf = new WeakMap<Batch, number>();
  private readonly halving = new BatchHalving();
  private readonly outcomes: WriteOutcomes;

  constructor(private readonly opts: WriterPoolOptions) {
    this.sinkName = opts.sink.name;
    this.slots = Array.from({ length: opts.writers }, () => null);
    this.outcomes = new WriteOutcomes({
      sink: opts.sink,
      deadLetter: opts.deadLetter,
      metrics: opts.metrics,
      logger: opts.logger,
      ledger: opts.ledger,
      halving: this.halving,
      counters: this.counters,
      signal: this.abort.signal,
    });
    // A permanent error is the data's fault, not the sink's: it must not open the breaker (a
    // client's bad record would stop the pipeline for everyone), and it proves the sink is up.
    this.breaker = circuitBreaker(
      handleWhen((err) => !isPermanent(err)),
      {
        halfOpenAfter: opts.breaker.halfOpenAfterMs,
        breaker: new ConsecutiveBreaker(opts.breaker.failureThreshold),
      },
    );
    const gauge = opts.metrics.circuitState.labels(this.sinkName);
    gauge.set(0);
    this.breaker.onStateChange((s) => {
      gauge.set(s === CircuitState.Closed ? 0 : s === CircuitState.HalfOpen ? 2 : 1);
      opts.logger.warn(
        { sink: this.sinkName, breaker: STATE_NAMES[s], err: this.lastError },
        `circuit breaker ${STATE_NAMES[s]}`,
      );
    });
  }

  /** True while another batch may be submitted without exceeding the queue bound. */
  hasRoom(): boolean {
    return this.queue.length < this.opts.queue;
  }

  /** Called whenever a writer frees up, so the batcher can pull more. One listener. */
  onRoom(listener: () => void): void {
    this.roomListener = listener;
  }

  submit(batch: Batch): void {
    const { ledger } = this.opts;
    if (!ledger) {
      this.queue.push(batch);
      this.dispatch();
      return;
    }
    // Queued only once its cut is durable. Batches waiting for that, and queued, are not held
    // to the queue bound: the durable buffer counts their records until a writer starts them
    // (`started`), so every batch cut in one group-commit round shares the next sync instead
    // of waiting for a free slot, and the buffer's limits still bound the backlog.
    this.waitingForSeal++;
    // Sealing can wait for ever when the disk stays full: at the deadline the batch stays in
    // the WAL (its records are there; only its cut may be missing, and a restart cuts again).
    const signal = this.abort.signal;
    let done = false;
    const onAbort = (): void => {
      if (done) return;
      done = true;
      this.waitingForSeal--;
      void this.outcomes.aborted(batch, errorMessage(signal.reason), 0).finally(() => this.notifyIdle());
    };
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    void ledger.sealed(batch).then(() => {
      if (done) return;
      done = true;
      signal.removeEventListener('abort', onAbort);
      this.waitingForSeal--;
      this.queue.push(batch);
      this.dispatch();
    });
  }

  get breakerState(): WriterStats['breaker'] {
    return STATE_NAMES[this.breaker.state];
  }

  stats(): WriterStats {
    return {
      queued: this.queue.length + this.waitingForSeal,
      inFlight: this.slots.flatMap((s, i) => (s ? [{ writer: i, ...s }] : [])),
      ...this.counters,
      breaker: this.breakerState,
      lastError: this.lastError,
    };
  }

  /** Resolves once nothing is queued or in flight. */
  idle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /**
   * Shutdown deadline: in-flight writes are aborted; everything left is dead-lettered (or, with a
   * ledger, kept in the WAL).
   */
  abortAll(reason: string): void {
    this.abort.abort(new SluiceError('SLUICE_ERR_SHUTTING_DOWN', reason));
    this.dispatch();
  }

  private notifyIdle(): void {
    if (this.isIdle()) for (const w of this.idleWaiters.splice(0)) w();
  }

  private isIdle(): boolean {
    return this.waitingForSeal === 0 && this.queue.length === 0 && this.slots.every((s) => s === null);
  }

  private dispatch(): void {
    for (let i = 0; i < this.slots.length && this.queue.length > 0; i++) {
      if (this.slots[i] !== null) continue;
      const batch = this.queue.shift()!;
      this.opts.ledger?.started(batch);
      this.slots[i] = { batch: batch.id, records: batch.count, attempt: 0 };
      void this.run(i, batch).finally(() => {
        this.slots[i] = null;
        this.dispatch();
        this.roomListener?.();
        this.notifyIdle();
      });
    }
  }

  private async run(slot: number, batch: Batch): Promise<void> {
    const { sink, metrics, retry } = this.opts;
    const signal = this.abort.signal;
    let attempts = this.attemptsOf.get(batch) ?? 0;
    for (;;) {
      if (signal.aborted) return this.outcomes.aborted(batch, errorMessage(signal.reason), attempts);
      const probing = this.breaker.state !== CircuitState.Closed;
      const started = performance.now();
      try {
        const write = (): Promise<void> =>
          this.breaker.execute(() => {
            this.outcomes.writing(batch);
            return sink.writeBatch(batch, signal);
          }, signal);
        await (this.opts.around ? this.opts.around(batch, write) : write());
        this.outcomes.committed(batch, (performance.now() - started) / 1000);
        return;
      } catch (err) {
        if (isBrokenCircuitError(err)) {
          // The breaker is open: wait for it without spending this batch's retries.
          await sleep(Math.min(250, this.opts.breaker.halfOpenAfterMs), signal);
          continue;
        }
        if (signal.aborted) return this.outcomes.aborted(batch, errorMessage(signal.reason), attempts);
        this.lastError = errorMessage(err);
        this.counters.failures++;
        metrics.workerFailures.labels(this.sinkName).inc();
        // Probes spend no retries: an outage is not the batch's fault (see the note on
        // requeueing below for a batch that fails alone).
        if (!probing) attempts++;
        if (isPermanent(err) && batch.count > 1) return this.halve(batch, this.lastError);
        if (isPermanent(err) || attempts > retry.maxRetries) {
          return this.outcomes.deadLetter(batch, this.lastError, attempts);
        }
        if (probing && this.queue.length > 0) {
          // A failed probe may be this batch's own fault. Another batch probes next: were this
          // one to probe every time, a batch that fails alone would hold the breaker open (and,
          // with one writer, the whole pipeline) forever, never spending a retry.
          this.attemptsOf.set(batch, attempts);
          this.queue.push(batch);
          return;
        }
        this.counters.retries++;
        metrics.workerRetries.labels(this.sinkName).inc();
        this.slots[slot]!.attempt = attempts;
        this.opts.logger.debug(
          { sink: this.sinkName, batch: batch.id, attempt: attempts, err: this.lastError },
          'sink write failed; retrying',
        );
        await sleep(fullJitterDelay(attempts, retry.baseDelayMs, retry.maxDelayMs, this.opts.random), signal);
      }
    }
  }

  /**
   * A permanent error is one record's fault as often as the batch's: rather than dead-letter
   * every client's records with it, the batch is halved and each half written on its own
   * (see batch-halving.ts), ahead of the queue.
   */
  private halve(batch: Batch, error: string): void {
    this.opts.logger.warn(
      { sink: this.sinkName, batch: batch.id, records: batch.count, err: error },
      'permanent error: writing the batch in halves to find the records at fault',
    );
    this.queue.unshift(...this.halving.halve(batch));
  }
}
