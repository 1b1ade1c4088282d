// The Grafana dashboard and the Prometheus config cannot be run here (no Docker), so this
// keeps them honest: the JSON parses, every PromQL expression names only metrics (and
// labels) the service exports, the metrics all have a panel, and the files point
// at each other and at the compose services the way docker-compose wires them.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, test } from 'node:test';
import { parse } from 'yaml';
import { Metrics } from '../../src/observability/metrics.js';

const deploy = resolve(import.meta.dirname, '../../deploy');

interface Target {
  expr?: string;
  datasource?: { type?: string; uid?: string };
}
interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos?: { h: number; w: number; x: number; y: number };
  datasource?: { uid?: string };
  targets?: Target[];
  panels?: Panel[];
}
interface Dashboard {
  uid: string;
  title: string;
  panels: Panel[];
  templating: { list: Array<{ name: string; query?: { query?: string } | string; datasource?: { uid?: string } }> };
}

const GROUPING = /\b(by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)/g;
const KEYWORDS = new Set(['and', 'or', 'unless', 'bool', 'offset', 'inf', 'nan']);
/** Labels Prometheus adds on scrape, and the bucket label of histograms. */
const IMPLICIT_LABELS = new Set(['instance', 'job', 'le']);

/** The metric names an expression selects, and the label names it matches or groups on. */
function promqlNames(expr: string): {
  metrics: string[];
  selectors: Array<{ metric: string | undefined; labels: string[] }>;
  grouping: string[];
} {
  let e = expr.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""');
  const selectors: Array<{ metric: string | undefined; labels: string[] }> = [];
  for (const m of e.matchAll(/([a-zA-Z_:][\w:]*)?\s*\{([^}]*)\}/g)) {
    selectors.push({ metric: m[1], labels: [...m[2]!.matchAll(/(\w+)\s*(?:=~|!~|!=|=)/g)].map((l) => l[1]!) });
  }
  const grouping = [...e.matchAll(GROUPING)].flatMap((g) =>
    g[2]!
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  );
  e = e
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(GROUPING, ' ');
  const metrics: string[] = [];
  for (const t of e.matchAll(/\d+(?:\.\d+)?(?:e[+-]?\d+)?|[a-zA-Z_:][\w:]*(\s*\()?/gi)) {
    if (/^\d/.test(t[0]) || t[1] !== undefined || KEYWORDS.has(t[0].toLowerCase())) continue; // numbers, functions, operators
    metrics.push(t[0]);
  }
  return { metrics, selectors, grouping };
}

/** Every series name the service's registry can expose, with its label names. */
function exported(): Map<string, Set<string>> {
  const metrics = new Metrics({ defaultMetrics: true });
  const out = new Map<string, Set<string>>();
  for (const m of metrics.registry.getMetricsAsArray()) {
    // prom-client keeps each metric's declared label names on the object.
    const labels = new Set((m as unknown as { labelNames?: readonly string[] }).labelNames ?? []);
    const type = (m as unknown as { type: string }).type;
    const names =
      type === 'histogram'
        ? ['_bucket', '_sum', '_count'].map((s) => m.name + s)
        : type === 'summary'
          ? [m.name, `${m.name}_sum`, `${m.name}_count`]
          : [m.name];
    for (const n of names) out.set(n, labels);
  }
  return out;
}

function allPanels(panels: Panel[]): Panel[] {
  return panels.flatMap((p) => [p, ...allPanels(p.panels ?? [])]);
}

const dashboard = JSON.parse(readFileSync(join(deploy, 'grafana/sluice.json'), 'utf8')) as Dashboard;
const panels = allPanels(dashboard.panels);
const exprs = panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr ?? '' })));

describe('promqlNames', () => {
  test('finds metric names and labels but not functions, aggregations, numbers or variables', () => {
    const r = promqlNames(
      'histogram_quantile(0.99, sum by (le, sink) (rate(sluice_write_latency_seconds_bucket{instance=~"$instance"}[$__rate_interval]))) / 1e3 + on (job) up',
    );
    assert.deepEqual(r.metrics, ['sluice_write_latency_seconds_bucket', 'up']);
    assert.deepEqual(r.selectors, [{ metric: 'sluice_write_latency_seconds_bucket', labels: ['instance'] }]);
    assert.deepEqual(r.grouping, ['le', 'sink', 'job']);
    assert.deepEqual(promqlNames('sum(rate(a_total[5m])) / sum(rate(b_total[5m])) > bool 0 or c').metrics, [
      'a_total',
      'b_total',
      'c',
    ]);
  });

  test('would flag a misspelt metric', () => {
    const names = exported();
    const unknown = promqlNames('sum(rate(sluice_ingest_record_total[1m]))').metrics.filter((m) => !names.has(m));
    assert.deepEqual(unknown, ['sluice_ingest_record_total']);
  });
});

describe('Grafana dashboard (deploy/grafana/sluice.json)', () => {
  const names = exported();

  test('parses, has a stable uid and title, and panels with unique ids and grid positions', () => {
    assert.equal(dashboard.uid, 'sluice');
    assert.equal(dashboard.title, 'Sluice');
    const ids = panels.map((p) => p.id);
    assert.equal(new Set(ids).size, ids.length, 'panel ids are unique');
    for (const p of panels)
      assert.ok(p.gridPos && p.gridPos.w > 0 && p.gridPos.x + p.gridPos.w <= 24, `${p.title}: gridPos`);
    assert.ok(exprs.length >= 20);
  });

  test('every PromQL expression names only metrics the service exports', () => {
    for (const { panel, expr } of exprs) {
      const found = promqlNames(expr).metrics;
      assert.ok(found.length > 0, `${panel}: no metric in ${expr}`);
      for (const m of found) assert.ok(names.has(m), `${panel}: ${m} is not exported (in ${expr})`);
    }
    for (const v of dashboard.templating.list) {
      const q = typeof v.query === 'string' ? v.query : (v.query?.query ?? '');
      const m = /^label_values\((\w+),\s*(\w+)\)$/.exec(q);
      assert.ok(m, `variable ${v.name}: ${q}`);
      assert.ok(names.has(m[1]!), `variable ${v.name}: ${m[1]} is not exported`);
    }
  });

  test('every label an expression matches or groups by exists on its metrics', () => {
    for (const { panel, expr } of exprs) {
      const { metrics, selectors, grouping } = promqlNames(expr);
      for (const s of selectors) {
        const own = names.get(s.metric ?? '') ?? new Set<string>();
        for (const l of s.labels)
          assert.ok(own.has(l) || IMPLICIT_LABELS.has(l), `${panel}: ${s.metric} has no label ${l}`);
      }
      const any = new Set(metrics.flatMap((m) => [...(names.get(m) ?? [])]));
      for (const l of grouping)
        assert.ok(any.has(l) || IMPLICIT_LABELS.has(l), `${panel}: no metric in ${expr} has label ${l}`);
    }
  });

  test("charts every metric of the issue's set and the process metrics", () => {
    const used = new Set(exprs.flatMap(({ expr }) => promqlNames(expr).metrics));
    const usedBase = new Set([...used].map((m) => m.replace(/_(bucket|sum|count)$/, '')));
    const required = [
      'sluice_ingest_requests_total',
      'sluice_ingest_errors_total',
      'sluice_ingest_records_total',
      'sluice_batch_size',
      'sluice_batch_bytes',
      'sluice_batches_flushed_total',
      'sluice_worker_failures_total',
      'sluice_worker_retries_total',
      'sluice_write_latency_seconds',
      'sluice_e2e_latency_seconds',
      'sluice_buffer_records',
      'sluice_buffer_bytes',
      'sluice_circuit_state',
      'sluice_dead_letter_total',
      'sluice_check_up',
      'sluice_check_duration_seconds',
      'sluice_scheduler_lag_seconds',
      'nodejs_eventloop_lag_p99_seconds',
      'nodejs_heap_size_used_bytes',
      'nodejs_gc_duration_seconds',
    ];
    for (const r of required) assert.ok(usedBase.has(r) || used.has(r), `${r} has no panel`);
    const titles = panels.map((p) => p.title.toLowerCase()).join('\n');
    for (const topic of ['ingested', 'latency', 'buffer fill', 'errors', 'retries', 'breaker', 'check status'])
      assert.ok(titles.includes(topic), `no panel about ${topic}`);
  });

  test('every query uses the provisioned Prometheus datasource', () => {
    const provisioned = parse(
      readFileSync(join(deploy, 'grafana/provisioning/datasources/prometheus.yml'), 'utf8'),
    ) as { datasources: Array<{ uid: string; type: string }> };
    const ds = provisioned.datasources.find((d) => d.type === 'prometheus')!;
    for (const p of panels.filter((x) => x.targets)) {
      assert.equal(p.datasource?.uid, ds.uid, p.title);
      for (const t of p.targets!) assert.equal(t.datasource?.uid, ds.uid, p.title);
    }
  });
});

describe('Prometheus and Grafana wiring (deploy/)', () => {
  interface Compose {
    services: Record<string, { ports?: string[]; volumes?: string[] }>;
  }
  const compose = parse(readFileSync(join(deploy, 'docker-compose.yml'), 'utf8')) as Compose;

  test('prometheus.yml scrapes the collector service at /metrics on its container port', () => {
    const prom = parse(readFileSync(join(deploy, 'prometheus.yml'), 'utf8')) as {
      scrape_configs: Array<{ job_name: string; metrics_path?: string; static_configs: Array<{ targets: string[] }> }>;
    };
    const job = prom.scrape_configs.find((j) => j.job_name === 'sluice');
    assert.ok(job);
    assert.equal(job.metrics_path ?? '/metrics', '/metrics');
    const [host, port] = job.static_configs[0]!.targets[0]!.split(':');
    assert.ok(compose.services[host!], `no compose service ${host}`);
    assert.ok(
      compose.services[host!]!.ports!.some((p) => p.endsWith(`:${port}`)),
      `${host} does not expose ${port}`,
    );
    assert.ok(compose.services.prometheus!.volumes!.some((v) => v.startsWith('./prometheus.yml:')));
  });

  test('Grafana provisions the dashboard from where compose mounts sluice.json, and the datasource points at the prometheus service', () => {
    const provider = parse(readFileSync(join(deploy, 'grafana/provisioning/dashboards/sluice.yml'), 'utf8')) as {
      providers: Array<{ options: { path: string } }>;
    };
    const mount = compose.services.grafana!.volumes!.find((v) => v.startsWith('./grafana/sluice.json:'))!;
    const target = mount.split(':')[1]!;
    assert.equal(target, `${provider.providers[0]!.options.path}/sluice.json`);
    const ds = parse(readFileSync(join(deploy, 'grafana/provisioning/datasources/prometheus.yml'), 'utf8')) as {
      datasources: Array<{ url: string }>;
    };
    const url = new URL(ds.datasources[0]!.url);
    assert.ok(compose.services[url.hostname], `no compose service ${url.hostname}`);
    assert.ok(compose.services[url.hostname]!.ports!.some((p) => p.endsWith(`:${url.port}`)));
  });
});
