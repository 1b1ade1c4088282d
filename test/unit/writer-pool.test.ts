import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, describe, test } from 'node:test';
import { pino, type Logger } from 'pino';
import { PermanentSinkError } from '../../src/errors.js';
import { Metrics } from '../../src/observability/metrics.js';
import { fullJitterDelay } from '../../src/pipeline/backoff.js';
import { DeadLetter } from '../../src/pipeline/dead-letter.js';
import type { BatchLedger } from '../../src/pipeline/buffer.js';
import { Ticket, type Batch } from '../../src/batch.js';
import { WriterPool } from '../../src/pipeline/writer-pool.js';
import type { LogRecord } from '../../src/record.js';
import type { Sink } from '../../src/sinks/sink.js';
import { tempDir } from '../helpers/app.js';
import { waitFor } from '../helpers/wait-for.js';

/** A sink that fails in scripted ways: each call takes the next step of the script. */
class ScriptedSink implements Sink {
  readonly name = 'scripted';
  calls: string[] = [];
  written: string[] = [];
  active = 0;
  maxActive = 0;
  constructor(private readonly script: (call: number, batch: Batch) => 'ok' | 'fail' | 'permanent' | number) {}
  async writeBatch(batch: Batch, signal: AbortSignal): Promise<void> {
    const n = this.calls.length;
    this.calls.push(batch.id);
    this.active++;
    this.maxActive = Math.max(this.maxActive, this.active);
    try {
      const step = this.script(n, batch);
      if (typeof step === 'number') {
        await new Promise<void>((resolve, reject) => {
          const t = setTimeout(resolve, step);
          signal.addEventListener('abort', () => {
            clearTimeout(t);
            reject(new Error('aborted'));
          });
        });
      } else if (step === 'fail') throw new Error(`scripted failure ${n}`);
      else if (step === 'permanent') throw new PermanentSinkError('bad data');
      this.written.push(batch.id);
    } finally {
      this.active--;
    }
  }
  async close(): Promise<void> {}
}

const dirs: Array<() => void> = [];
after(() => dirs.forEach((d) => d()));

function batch(id: string, n = 3, ticket?: Ticket): Batch {
  const records: LogRecord[] = Array.from({ length: n }, (_, i) => ({
    type: 'log',
    id: `${id}-${i}`,
    ts: 1_700_000_000_000_000,
    received_at: 1_700_000_000_000_000,
    level: 'info',
    service: 's',
    message: 'm',
    attrs: null,
    trace_id: null,
    span_id: null,
    size: 100,
  }));
  return {
    id,
    count: records.length,
    records,
    bytes: n * 100,
    createdAt: 0,
    trigger: 'size',
    tickets: ticket ? [[ticket, n]] : [],
    links: [],
  };
}

function pool(
  sink: Sink,
  opts: {
    writers?: number;
    maxRetries?: number;
    threshold?: number;
    halfOpenAfterMs?: number;
    ledger?: BatchLedger;
    logger?: Logger;
  } = {},
) {
  const dir = tempDir();
  dirs.push(dir.remove);
  const deadLetter = new DeadLetter(dir.path);
  const metrics = new Metrics({ defaultMetrics: false });
  const p = new WriterPool({
    sink,
    writers: opts.writers ?? 2,
    queue: 2,
    retry: { maxRetries: opts.maxRetries ?? 3, baseDelayMs: 1, maxDelayMs: 5 },
    breaker: { failureThreshold: opts.threshold ?? 100, halfOpenAfterMs: opts.halfOpenAfterMs ?? 50 },
    deadLetter,
    metrics,
    logger: opts.logger ?? pino({ level: 'silent' }),
    ...(opts.ledger ? { ledger: opts.ledger } : {}),
  });
  return { p, deadLetter, metrics };
}

describe('WriterPool', () => {
  test('a permanent error is narrowed down to the records at fault: the rest of the batch is stored, the batch settles once', async () => {
    const stored: string[] = [];
    const calls: string[] = [];
    const sink: Sink = {
      name: 'picky',
      async writeBatch(b) {
        calls.push(b.id);
        if (b.records.some((r) => (r as LogRecord).message === 'poison')) throw new PermanentSinkError('bad data');
        stored.push(...b.records.map((r) => r.id));
      },
      async close() {},
    };
    const settled: string[] = [];
    const ledger: BatchLedger = {
      sealed: async () => undefined,
      started: () => undefined,
      settled: (b) => void settled.push(b.id),
    };
    const { p, deadLetter } = pool(sink, { writers: 2, ledger });
    const first = new Ticket(5);
    const second = new Ticket(3);
    const b = batch('root', 8);
    const records = b.records.map((r, i) => ({ ...(r as LogRecord), message: i === 5 ? 'poison' : 'm' }));
    p.submit({
      ...b,
      records,
      tickets: [
        [first, 5],
        [second, 3],
      ],
    });
    await p.idle();
    assert.deepEqual(stored.sort(), ['root-0', 'root-1', 'root-2', 'root-3', 'root-4', 'root-6', 'root-7']);
    assert.deepEqual(settled, ['root'], 'the batch settles once, after all its parts');
    assert.equal(p.stats().deadLetteredBatches, 1);
    const dead = readFileSync(deadLetter.pathFor('picky'), 'utf8').trim().split('\n');
    assert.equal(dead.length, 1, 'only the bad record is dead-lettered');
    assert.match(dead[0]!, /root-5/);
    await first.done; // all five of its records stored
    await assert.rejects(second.done, /dead-lettered/, 'the request holding the bad record is told');
    assert.ok(
      calls.every((id) => /^root(\/[01])*$/.test(id)),
      calls.join(' '),
    );
  });

  test(
    'at the deadline (no WAL) only a batch whose write reached the sink is checked with wasCommitted; queued ones are dead-lettered at once',
    { timeout: 10_000 },
    async () => {
      const asked: string[] = [];
      const writing: string[] = [];
      const sink: Sink = {
        name: 'slow',
        writeBatch: (b, signal) => {
          writing.push(b.id);
          return new Promise<void>((_, reject) => signal.addEventListener('abort', () => reject(new Error('cut'))));
        },
        wasCommitted: async (id) => {
          asked.push(id);
          return id === 'w0';
        },
        async close() {},
      };
      const { p } = pool(sink, { writers: 1 });
      for (let i = 0; i < 3; i++) p.submit(batch(`w${i}`));
      await waitFor('the first write to reach the sink', () => writing.length === 1);
      p.abortAll('deadline');
      await p.idle();
      assert.deepEqual(asked, ['w0']);
      assert.equal(p.stats().committedBatches, 1, 'the cut write that did commit counts as committed');
      assert.equal(p.stats().deadLetteredBatches, 2);
    },
  );

  test('permanent (data) errors do not open the breaker: a run of bad batches is dead-lettered, the next good one commits at once', async () => {
    const sink = new ScriptedSink((_n, b) => (b.id.startsWith('bad') ? 'permanent' : 'ok'));
    const { p } = pool(sink, { writers: 1, threshold: 2, halfOpenAfterMs: 60_000 });
    for (let i = 0; i < 5; i++) p.submit(batch(`bad-${i}`, 1));
    await p.idle();
    assert.equal(p.stats().deadLetteredBatches, 5);
    assert.equal(p.breakerState, 'closed');
    p.submit(batch('good'));
    await p.idle();
    assert.deepEqual(sink.written, ['good'], 'not held back for halfOpenAfterMs (60 s)');
  });

  test('retries a failing batch and commits it once the sink recovers', async () => {
    const sink = new ScriptedSink((n) => (n < 2 ? 'fail' : 'ok'));
    const { p, metrics } = pool(sink);
    p.submit(batch('b1'));
    await p.idle();
    assert.deepEqual(sink.calls, ['b1', 'b1', 'b1']);
    assert.deepEqual(sink.written, ['b1']);
    const s = p.stats();
    assert.deepEqual([s.retries, s.failures, s.committedRecords, s.deadLetteredBatches], [2, 2, 3, 0]);
    assert.equal((await metrics.registry.getSingleMetric('sluice_worker_retries_total')!.get()).values[0]!.value, 2);
  });

  test('dead-letters a batch after the last retry, as NDJSON with the error, never dropping it', async () => {
    const sink = new ScriptedSink(() => 'fail');
    const { p, deadLetter } = pool(sink, { maxRetries: 2 });
    p.submit(batch('b2', 4));
    await p.idle();
    assert.equal(sink.calls.length, 3, 'first attempt + 2 retries');
    const lines = readFileSync(deadLetter.pathFor('scripted'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.equal(lines.length, 4);
    assert.deepEqual(
      lines.map((l) => l.id),
      ['b2-0', 'b2-1', 'b2-2', 'b2-3'],
    );
    const meta = lines[0]!.dead_letter as Record<string, unknown>;
    assert.equal(meta.batch_id, 'b2');
    assert.equal(meta.attempts, 3);
    assert.match(String(meta.error), /scripted failure 2/);
    assert.equal(deadLetter.records, 4);
  });

  test('dead-letters a permanent error without retrying: one record at once; a batch whose every record fails, record by record', async () => {
    const one = new ScriptedSink(() => 'permanent');
    const a = pool(one);
    a.p.submit(batch('b1', 1));
    await a.p.idle();
    assert.equal(one.calls.length, 1, 'no retry');
    assert.equal(a.p.stats().deadLetteredBatches, 1);
    const all = new ScriptedSink(() => 'permanent');
    const b = pool(all);
    b.p.submit(batch('b3', 3));
    await b.p.idle();
    // 3 records: the batch, its halves (2 + 1), the 2-record half's halves: 5 writes, no retries.
    assert.equal(all.calls.length, 5, all.calls.join(' '));
    assert.equal(b.p.stats().deadLetteredBatches, 3);
    assert.equal(b.p.stats().retries, 0);
  });

  test('runs at most N writes at once', async () => {
    const sink = new ScriptedSink(() => 20);
    const { p } = pool(sink, { writers: 3 });
    for (let i = 0; i < 9; i++) p.submit(batch(`c${i}`));
    await p.idle();
    assert.equal(sink.maxActive, 3);
    assert.equal(sink.written.length, 9);
  });

  test('reports room only while the queue is below its bound', () => {
    const sink = new ScriptedSink(() => 1000);
    const { p } = pool(sink, { writers: 1 });
    p.submit(batch('q1'));
    assert.equal(p.hasRoom(), true, 'q1 went straight to the writer');
    p.submit(batch('q2'));
    p.submit(batch('q3'));
    assert.equal(p.hasRoom(), false);
    p.abortAll('test over');
  });

  test(
    'opens the breaker after consecutive failures, probes once per half-open window while it stays down, holds batches without spending their retries, and recovers',
    { timeout: 5_000 },
    async () => {
      // One timeline: breaker transitions (from the pool's log, written synchronously as they
      // happen) and sink calls with the breaker state the pool reports while the call runs.
      const events: Array<{ transition: string } | { call: string; state: string }> = [];
      const logger = pino(
        { level: 'warn' },
        {
          write: (line: string) => {
            const m = /"msg":"circuit breaker ([a-z-]+)"/.exec(line);
            if (m) events.push({ transition: m[1]! });
          },
        },
      );
      let healthy = false;
      const ref: { p?: WriterPool } = {};
      const sink = new ScriptedSink(() => (healthy ? 20 : 'fail'));
      const inner = sink.writeBatch.bind(sink);
      sink.writeBatch = async (b, signal) => {
        // After a microtask: cockatiel calls the probe before it records the half-open state.
        await Promise.resolve();
        events.push({ call: b.id, state: ref.p!.breakerState });
        return inner(b, signal);
      };
      const halfOpenAfterMs = 40;
      const { p, metrics } = pool(sink, { writers: 2, maxRetries: 3, threshold: 3, halfOpenAfterMs, logger });
      ref.p = p;
      const transitions = () => events.flatMap((e) => ('transition' in e ? [e.transition] : []));
      // With halfOpenAfterMs = 40 this takes well under a second.
      const until = (cond: () => boolean, what: string) =>
        waitFor(() => `${what}: ${transitions().join(' ')}`, cond, 4_000);
      for (let i = 0; i < 4; i++) p.submit(batch(`o${i}`));
      await until(() => p.breakerState === 'open', 'the breaker opens');
      assert.equal(
        (await metrics.registry.getSingleMetric('sluice_circuit_state')!.get()).values[0]!.value,
        1,
        'the gauge says open',
      );
      // An outage far longer than maxRetries × delays: three failed probes, and nothing dead-lettered.
      await until(
        () => transitions().filter((t) => t === 'half-open').length >= 3 && p.breakerState === 'open',
        'three probes failed',
      );
      assert.equal(p.stats().deadLetteredBatches, 0);
      healthy = true;
      await p.idle();
      assert.equal(p.breakerState, 'closed');
      assert.equal(
        (await metrics.registry.getSingleMetric('sluice_circuit_state')!.get()).values[0]!.value,
        0,
        'the gauge says closed',
      );
      assert.deepEqual([...sink.written].sort(), ['o0', 'o1', 'o2', 'o3']);
      assert.equal(p.stats().deadLetteredBatches, 0);

      // closed → open, then (half-open → open)* while the sink is down, then half-open → closed.
      const seq = transitions();
      assert.match(seq.join(' '), /^open (half-open open ){3,}half-open closed$/, seq.join(' '));
      // The sink is never called while the breaker is open, and each half-open window gets exactly one call: the probe.
      assert.ok(!events.some((e) => 'call' in e && e.state === 'open'), 'no sink call while open');
      for (let i = 0; i < events.length; i++) {
        const e = events[i]!;
        if (!('transition' in e) || e.transition !== 'half-open') continue;
        const next = events.findIndex((x, j) => j > i && 'transition' in x);
        const window = events.slice(i + 1, next < 0 ? events.length : next);
        assert.equal(
          window.length,
          1,
          `one sink call in the half-open window at event ${i}: ${JSON.stringify(window)}`,
        );
        assert.deepEqual('state' in window[0]! ? window[0].state : undefined, 'half-open');
      }
    },
  );

  test(
    'a batch that fails alone is dead-lettered even with one writer: failed probes let another batch probe next',
    { timeout: 10_000 },
    async () => {
      // failureThreshold = maxRetries, so the poison batch opens the breaker before its retries run out.
      const sink = new ScriptedSink((_n, b) => (b.id === 'poison' ? 'fail' : 'ok'));
      const { p, deadLetter } = pool(sink, { writers: 1, maxRetries: 3, threshold: 3, halfOpenAfterMs: 10 });
      p.submit(batch('poison'));
      p.submit(batch('g1'));
      p.submit(batch('g2'));
      await p.idle();
      assert.deepEqual(sink.written.sort(), ['g1', 'g2']);
      const lines = readFileSync(deadLetter.pathFor('scripted'), 'utf8').trim().split('\n');
      assert.deepEqual(
        lines.map((l) => (JSON.parse(l) as { dead_letter: { batch_id: string } }).dead_letter.batch_id),
        ['poison', 'poison', 'poison'],
      );
      assert.ok(
        sink.calls.filter((c) => c === 'poison').length <= 10,
        `poison batch tried ${sink.calls.filter((c) => c === 'poison').length} times`,
      );
    },
  );

  test(
    'at the shutdown deadline a batch whose cut never became durable (disk full) is kept in the WAL, and the pool goes idle',
    { timeout: 10_000 },
    async () => {
      const settled: string[] = [];
      const ledger: BatchLedger = {
        sealed: () => new Promise<void>(() => undefined),
        started: () => undefined,
        settled: (b) => void settled.push(b.id),
      };
      const sink = new ScriptedSink(() => 'ok');
      const { p } = pool(sink, { ledger });
      p.submit(batch('stuck'));
      assert.equal(p.stats().queued, 1);
      const idle = p.idle();
      p.abortAll('deadline');
      await idle;
      assert.equal(p.stats().keptBatches, 1);
      assert.equal(p.stats().queued, 0);
      assert.deepEqual(sink.calls, [], 'the sink never saw a batch whose boundaries are not on disk');
      assert.deepEqual(settled, [], 'not settled: it is still in the WAL');
    },
  );

  test('settles tickets on commit, and fails them when the batch is dead-lettered', async () => {
    const okSink = new ScriptedSink(() => 'ok');
    const { p: ok } = pool(okSink);
    const t1 = new Ticket(3);
    ok.submit(batch('t1', 3, t1));
    await t1.done;
    const badSink = new ScriptedSink(() => 'permanent');
    const { p: bad } = pool(badSink);
    const t2 = new Ticket(3);
    bad.submit(batch('t2', 3, t2));
    await assert.rejects(t2.done, /dead-lettered/);
  });

  test('abortAll dead-letters in-flight and queued batches', async () => {
    const sink = new ScriptedSink(() => 10_000);
    const { p, deadLetter } = pool(sink, { writers: 1 });
    p.submit(batch('a1'));
    p.submit(batch('a2'));
    p.abortAll('deadline');
    await p.idle();
    assert.equal(deadLetter.records, 6);
    assert.equal(sink.written.length, 0);
  });
});

describe('retry backoff (full jitter)', () => {
  const base = 100;
  const cap = 10_000;

  test('every delay lies in [0, min(cap, base·2^attempt)]; the extremes of the random pick map to 0 and just under the ceiling', () => {
    for (let attempt = 0; attempt <= 12; attempt++) {
      const bound = Math.min(cap, base * 2 ** attempt);
      for (let i = 0; i < 500; i++) {
        const d = fullJitterDelay(attempt, base, cap);
        assert.ok(Number.isInteger(d) && d >= 0 && d <= bound, `attempt ${attempt}: ${d} outside [0, ${bound}]`);
      }
      assert.equal(
        fullJitterDelay(attempt, base, cap, () => 0),
        0,
      );
      assert.ok(fullJitterDelay(attempt, base, cap, () => 0.999999) <= bound);
    }
  });

  test('the envelope grows exponentially, doubling per attempt until the cap', () => {
    const top = (attempt: number) => fullJitterDelay(attempt, base, cap, () => 0.999999);
    // Doubling from the first retry on, until the cap holds it.
    for (let attempt = 1; top(attempt + 1) < cap - 1; attempt++) {
      assert.ok(
        Math.abs(top(attempt + 1) - 2 * top(attempt)) <= 2,
        `attempt ${attempt + 1}: ${top(attempt + 1)} is not twice ${top(attempt)}`,
      );
    }
    assert.ok(top(30) <= cap && top(30) >= cap - 1, `capped at ${cap}: ${top(30)}`);
    // With the real random source too: the largest of many picks for attempt 3 is well above attempt 0's ceiling.
    const maxOf = (attempt: number) =>
      Math.max(...Array.from({ length: 2000 }, () => fullJitterDelay(attempt, base, cap)));
    assert.ok(maxOf(0) <= base, `attempt 0 stays within base: ${maxOf(0)}`);
    assert.ok(maxOf(3) > 2 * base, `attempt 3 reaches well past base: ${maxOf(3)}`);
  });
});
