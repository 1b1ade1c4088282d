// The Pipeline view: the collector's own state from /admin/jobs and /metrics, polled every
// two seconds. Rates and latency percentiles are over the last interval (difference of two
// scrapes), so they show what is happening now rather than since start.
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, ApiError, authHeaders } from './api.js';
import { bytes } from './format.js';
import { bucketDelta, histogramBuckets, quantile, sumSamples } from './prom-text.js';
import { TimeChart } from './time-chart.js';

const REFRESH_MS = 2000;
const KEEP_POINTS = 150;

interface Jobs {
  uptime_s: number;
  accepting: boolean;
  buffer: { records: number; bytes: number; maxRecords: number; maxBytes: number; waiting?: number };
  batcher: { pending: number };
  sink: string;
  writers: {
    queued: number;
    inFlight: unknown[];
    committedBatches: number;
    committedRecords: number;
    retries: number;
    failures: number;
    deadLetteredBatches: number;
    breaker: string;
    lastError: string | null;
  };
  dead_letter: { records: number; file: string };
  wal?: { diskBytes: number; maxDiskBytes: number; segments: number; unsettledBatches: number; outOfSpace: boolean };
}

interface Sample {
  at: number;
  jobs: Jobs;
  ingested: number | null;
  e2e: Array<[number, number]>;
}

const E2E = 'sluice_e2e_latency_seconds';
const INGESTED = 'sluice_ingest_records_total';

async function sample(): Promise<Sample> {
  const [jobs, metrics] = await Promise.all([
    api<Jobs>('/admin/jobs'),
    fetch('/metrics', { headers: authHeaders() }).then((r) => (r.ok ? r.text() : '')),
  ]);
  return { at: Date.now(), jobs, ingested: sumSamples(metrics, INGESTED), e2e: histogramBuckets(metrics, E2E) };
}

function Meter({ label, value, max, text }: { label: string; value: number; max: number; text: string }) {
  const pct = max > 0 ? Math.min(100, (value / max) * 100) : 0;
  return (
    <div class="meter-wrap">
      <div class="meter-label">
        <span>{label}</span>
        <span>{text}</span>
      </div>
      <div class="meter" role="meter" aria-label={label} aria-valuemin={0} aria-valuemax={max} aria-valuenow={value}>
        <span class={pct > 90 ? 'hot' : pct > 60 ? 'warm' : ''} style={{ width: `${pct}%` }} />
      </div>
    </div>
  );
}

function Stat({ label, value, tone }: { label: string; value: string; tone?: string }) {
  return (
    <div class={`stat ${tone ?? ''}`}>
      <div class="stat-value">{value}</div>
      <div class="stat-label">{label}</div>
    </div>
  );
}

const ms = (s: number | null) =>
  s === null ? '–' : s < 1 ? `${(s * 1000).toFixed(s < 0.01 ? 1 : 0)} ms` : `${s.toFixed(2)} s`;

export function PipelineView() {
  const [cur, setCur] = useState<Sample | null>(null);
  const [rates, setRates] = useState({ in: null as number | null, out: null as number | null });
  const [e2e, setE2e] = useState<{ p50: number | null; p95: number | null; p99: number | null; n: number }>({
    p50: null,
    p95: null,
    p99: null,
    n: 0,
  });
  const [series, setSeries] = useState<{ xs: number[]; ys: number[] }>({ xs: [], ys: [] });
  const [error, setError] = useState('');
  const prev = useRef<Sample | null>(null);

  useEffect(() => {
    let stop = false;
    const tick = async () => {
      try {
        const s = await sample();
        if (stop) return;
        const p = prev.current;
        if (p) {
          const dt = (s.at - p.at) / 1000;
          const out = (s.jobs.writers.committedRecords - p.jobs.writers.committedRecords) / dt;
          const inn = s.ingested !== null && p.ingested !== null ? (s.ingested - p.ingested) / dt : null;
          setRates({ in: inn, out });
          const d = bucketDelta(s.e2e, p.e2e);
          const n = d.at(-1)?.[1] ?? 0;
          // Nothing committed in the interval: show the percentiles since start instead of blanks.
          const use = n > 0 ? d : s.e2e;
          setE2e({ p50: quantile(use, 0.5), p95: quantile(use, 0.95), p99: quantile(use, 0.99), n });
          setSeries((old) => ({
            xs: [...old.xs, s.at / 1000].slice(-KEEP_POINTS),
            ys: [...old.ys, out].slice(-KEEP_POINTS),
          }));
        } else {
          setE2e({ p50: quantile(s.e2e, 0.5), p95: quantile(s.e2e, 0.95), p99: quantile(s.e2e, 0.99), n: 0 });
        }
        prev.current = s;
        setCur(s);
        setError('');
      } catch (e) {
        if (!stop) setError(e instanceof ApiError ? e.message : String(e));
      }
    };
    void tick();
    const t = setInterval(() => void tick(), REFRESH_MS);
    return () => {
      stop = true;
      clearInterval(t);
    };
  }, []);

  const j = cur?.jobs;
  return (
    <section class="view pipeline" aria-labelledby="pipeline-h">
      <div class="view-head">
        <h1 id="pipeline-h">Pipeline</h1>
        {j && (
          <span class="muted">
            sink {j.sink} · up {Math.floor(j.uptime_s / 60)} min · {j.accepting ? 'accepting' : 'not accepting'}
          </span>
        )}
      </div>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {j && (
        <>
          <div class="stats">
            <Stat
              label="records/s received"
              value={rates.in === null ? '–' : rates.in.toFixed(rates.in < 10 ? 1 : 0)}
            />
            <Stat
              label="records/s written"
              value={rates.out === null ? '–' : rates.out.toFixed(rates.out < 10 ? 1 : 0)}
            />
            <Stat label="end-to-end p50" value={ms(e2e.p50)} />
            <Stat label="end-to-end p95" value={ms(e2e.p95)} />
            <Stat label="end-to-end p99" value={ms(e2e.p99)} />
            <Stat
              label="circuit breaker"
              value={j.writers.breaker}
              tone={j.writers.breaker === 'closed' ? 'good' : 'bad'}
            />
            <Stat label="retries" value={String(j.writers.retries)} tone={j.writers.retries > 0 ? 'warn' : ''} />
            <Stat
              label="failed writes"
              value={String(j.writers.failures)}
              tone={j.writers.failures > 0 ? 'warn' : ''}
            />
            <Stat
              label="dead-lettered records"
              value={String(j.dead_letter.records)}
              tone={j.dead_letter.records > 0 ? 'bad' : ''}
            />
            <Stat label="committed records" value={j.writers.committedRecords.toLocaleString()} />
          </div>
          <figure>
            <figcaption>Records written per second</figcaption>
            <TimeChart xs={series.xs} ys={series.ys} label="records/s" unit="rec/s" height={160} windowSeconds={300} />
          </figure>
          <div class="meters">
            <Meter
              label="Buffer (records)"
              value={j.buffer.records}
              max={j.buffer.maxRecords}
              text={`${j.buffer.records.toLocaleString()} / ${j.buffer.maxRecords.toLocaleString()}`}
            />
            <Meter
              label="Buffer (bytes)"
              value={j.buffer.bytes}
              max={j.buffer.maxBytes}
              text={`${bytes(j.buffer.bytes)} / ${bytes(j.buffer.maxBytes)}`}
            />
            {j.wal ? (
              <Meter
                label={`WAL disk (${j.wal.segments} segments${j.wal.outOfSpace ? ', OUT OF SPACE' : ''})`}
                value={j.wal.diskBytes}
                max={j.wal.maxDiskBytes}
                text={`${bytes(j.wal.diskBytes)} / ${bytes(j.wal.maxDiskBytes)}`}
              />
            ) : (
              <p class="muted">No WAL (ack mode is not durable).</p>
            )}
          </div>
          <p class="muted">
            writers: {j.writers.inFlight.length} writing, {j.writers.queued} batches queued · batcher holds{' '}
            {j.batcher.pending} records
            {j.writers.lastError ? ` · last error: ${j.writers.lastError}` : ''}
          </p>
        </>
      )}
    </section>
  );
}
