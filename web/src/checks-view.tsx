// The Checks view: every check with its state (narrowed by group and tag if asked), and for the
// selected one its uptime bars (24 h by hour, 90 d by day), latency charts (recent results, and
// p50/p95 per hour and day) and incidents; add, edit, pause and delete through the admin API.
// The list refreshes every few seconds so state changes show without a reload.
import { useEffect, useState } from 'preact/hooks';
import { api, ApiError } from './api.js';
import { CheckForm, definitionOf } from './check-form.js';
import { ago, duration, percent, timeOf } from './format.js';
import { LatencyChart, LatencyPercentiles } from './latency-chart.js';
import type { BucketHistory, CheckResult, CheckView, StatusAnswer } from './types.js';
import { UptimeBars } from './uptime-bars.js';

const REFRESH_MS = 3000;

const tagsOf = (c: CheckView): string[] => (Array.isArray(c.tags) ? (c.tags as string[]) : []);
const groupOf = (c: CheckView): string => (typeof c.group === 'string' ? c.group : '');

/** The same rule as the API's ?group=&tag=: that group, and every tag typed (comma-separated). */
function matches(c: CheckView, group: string, tags: string): boolean {
  if (group !== '' && groupOf(c) !== group) return false;
  const want = tags.split(',').flatMap((t) => (t.trim() ? [t.trim()] : []));
  return want.every((t) => tagsOf(c).includes(t));
}

export function StateBadge({ state }: { state: string }) {
  return <span class={`badge st-${state}`}>{state}</span>;
}

interface Incident {
  start: string;
  end: string | null;
  results: number;
  error: string;
}

/** Runs of down results in the history (newest first in, newest first out). */
function incidentsOf(results: CheckResult[]): Incident[] {
  const out: Incident[] = [];
  let cur: Incident | null = null;
  for (let i = results.length - 1; i >= 0; i--) {
    const r = results[i]!;
    if (r.status === 'down') {
      if (!cur) cur = { start: r.ts, end: null, results: 0, error: r.error_class ?? r.message ?? 'down' };
      cur.results++;
    } else if (cur) {
      cur.end = r.ts;
      out.push(cur);
      cur = null;
    }
  }
  if (cur) out.push(cur);
  return out.reverse();
}

export function ChecksView() {
  const [checks, setChecks] = useState<CheckView[] | null>(null);
  const [error, setError] = useState('');
  const [selected, setSelected] = useState<string | null>(null);
  const [editing, setEditing] = useState<CheckView | 'new' | null>(null);
  const [tick, setTick] = useState(0);
  const [uptime, setUptime] = useState<Map<string, StatusAnswer['checks'][number]['uptime']>>(new Map());
  const [group, setGroup] = useState('');
  const [tagFilter, setTagFilter] = useState('');

  useEffect(() => {
    let stop = false;
    const loadChecks = () =>
      api<CheckView[]>('/admin/checks')
        .then((c) => {
          if (stop) return;
          setChecks(c.sort((a, b) => a.name.localeCompare(b.name)));
          setError('');
        })
        .catch((e: unknown) => !stop && setError(e instanceof ApiError ? e.message : String(e)));
    // Uptime of every check in one request (the read API's status answer); without it, no column.
    const loadUptime = () =>
      api<StatusAnswer>('/api/status')
        .then((s) => !stop && setUptime(new Map(s.checks.map((c) => [c.id, c.uptime]))))
        .catch(() => undefined);
    const load = () => Promise.all([loadChecks(), loadUptime()]);
    void load();
    const t = setInterval(() => {
      void load();
      setTick((n) => n + 1);
    }, REFRESH_MS);
    return () => {
      stop = true;
      clearInterval(t);
    };
  }, []);

  const refresh = () => setTick((n) => n + 1);
  const current = checks?.find((c) => c.id === selected);
  const groups = [...new Set((checks ?? []).map(groupOf).filter((g) => g !== ''))].sort();
  const shown = checks?.filter((c) => matches(c, group, tagFilter));

  const pause = async (c: CheckView) => {
    try {
      await api(`/admin/checks/${encodeURIComponent(c.id)}`, {
        method: 'PUT',
        body: { ...definitionOf(c), enabled: !c.enabled },
      });
      setChecks((list) => list?.map((x) => (x.id === c.id ? { ...x, enabled: !c.enabled } : x)) ?? null);
    } catch (e) {
      setError(e instanceof ApiError ? e.message : String(e));
    }
  };

  const remove = async (c: CheckView) => {
    if (!confirm(`Delete the check "${c.name}"?`)) return;
    try {
      await api(`/admin/checks/${encodeURIComponent(c.id)}`, { method: 'DELETE' });
      setChecks((list) => list?.filter((x) => x.id !== c.id) ?? null);
      if (selected === c.id) setSelected(null);
    } catch (e) {
      setError(e instanceof ApiError ? e.message : String(e));
    }
  };

  return (
    <section class="view checks" aria-labelledby="checks-h">
      <div class="view-head">
        <h1 id="checks-h">Checks</h1>
        <button type="button" class="primary" onClick={() => setEditing('new')}>
          Add check
        </button>
      </div>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {editing && (
        <CheckForm
          {...(editing === 'new' ? {} : { check: editing })}
          onCancel={() => setEditing(null)}
          onDone={(c) => {
            setEditing(null);
            setSelected(c.id);
            setChecks((list) =>
              [...(list ?? []).filter((x) => x.id !== c.id), c].sort((a, b) => a.name.localeCompare(b.name)),
            );
            refresh();
          }}
        />
      )}
      {checks && checks.length === 0 && <p class="empty">No checks yet. Add one to start probing a service.</p>}
      {checks && checks.length > 0 && (
        <div class="filters" role="search" aria-label="filter checks">
          <label>
            Group{' '}
            <select aria-label="filter by group" value={group} onChange={(e) => setGroup(e.currentTarget.value)}>
              <option value="">all</option>
              {groups.map((g) => (
                <option key={g} value={g}>
                  {g}
                </option>
              ))}
            </select>
          </label>
          <label>
            Tags{' '}
            <input
              type="search"
              aria-label="filter by tags"
              value={tagFilter}
              placeholder="prod, critical"
              onInput={(e) => setTagFilter(e.currentTarget.value)}
            />
          </label>
        </div>
      )}
      {shown && checks && checks.length > 0 && shown.length === 0 && (
        <p class="empty">No check is in that group with every one of those tags.</p>
      )}
      {shown && checks && checks.length > 0 && (
        <table class="check-table">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Kind</th>
              <th scope="col">Group · tags</th>
              <th scope="col">State</th>
              <th scope="col">Since</th>
              <th scope="col">Uptime 24 h / 30 d</th>
              <th scope="col">Last result</th>
              <th scope="col">
                <span class="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {shown.map((c) => (
              <tr key={c.id} class={c.id === selected ? 'selected' : ''}>
                <td>
                  <button type="button" class="link" aria-pressed={c.id === selected} onClick={() => setSelected(c.id)}>
                    {c.name}
                  </button>
                </td>
                <td>{c.kind}</td>
                <td class="muted">
                  {[groupOf(c), ...tagsOf(c).map((t) => `#${t}`)].filter(Boolean).join(' · ') || '–'}
                </td>
                <td>
                  <StateBadge state={c.enabled ? c.state : 'paused'} />
                </td>
                <td title={c.since}>{ago(c.since)}</td>
                <td>
                  {uptime.has(c.id)
                    ? `${percent(uptime.get(c.id)?.['24h'])} / ${percent(uptime.get(c.id)?.['30d'])}`
                    : '–'}
                </td>
                <td class="muted">
                  {c.lastResult
                    ? `${c.lastResult.status}${c.lastResult.latency_ms !== null ? ` · ${Math.round(c.lastResult.latency_ms)} ms` : ''}${c.lastResult.error_class ? ` · ${c.lastResult.error_class}` : ''}`
                    : '–'}
                </td>
                <td>
                  {c.source === 'api' ? (
                    <div class="row-actions">
                      <button type="button" onClick={() => setEditing(c)} aria-label={`Edit ${c.name}`}>
                        Edit
                      </button>
                      <button
                        type="button"
                        onClick={() => void pause(c)}
                        aria-label={`${c.enabled ? 'Pause' : 'Resume'} ${c.name}`}
                      >
                        {c.enabled ? 'Pause' : 'Resume'}
                      </button>
                      <button
                        type="button"
                        class="danger"
                        onClick={() => void remove(c)}
                        aria-label={`Delete ${c.name}`}
                      >
                        Delete
                      </button>
                    </div>
                  ) : (
                    <span class="muted" title="Defined in the config file: edit it there">
                      config file
                    </span>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {current && <CheckDetail check={current} tick={tick} />}
    </section>
  );
}

function CheckDetail({ check, tick }: { check: CheckView; tick: number }) {
  const [hours, setHours] = useState<BucketHistory | null>(null);
  const [days, setDays] = useState<BucketHistory | null>(null);
  const [results, setResults] = useState<CheckResult[]>([]);
  const id = encodeURIComponent(check.id);
  // Bars and history change slowly: reload them every ~5 list refreshes, and on selection.
  const slow = Math.floor(tick / 5);
  useEffect(() => {
    void api<BucketHistory>(`/api/checks/${id}/history?bucket=hour`).then(setHours, () => setHours(null));
    void api<BucketHistory>(`/api/checks/${id}/history?bucket=day`).then(setDays, () => setDays(null));
    void api<CheckResult[]>(`/admin/checks/${id}/history?limit=500`).then(setResults, () => setResults([]));
  }, [id, slow]);
  const incidents = incidentsOf(results);
  return (
    <article class="check-detail" aria-labelledby="detail-h">
      <h2 id="detail-h">
        {check.name} <StateBadge state={check.enabled ? check.state : 'paused'} />
      </h2>
      <p class="muted">
        {check.kind} · every {duration(check.interval)} · timeout {duration(check.timeout)} · id {check.id}
        {check.lastResult?.message ? ` · last: ${check.lastResult.message}` : ''}
      </p>
      <FailedConditions result={check.lastResult} />
      {hours && <UptimeBars items={hours.items} label="Last 24 hours" unit="hour" />}
      {days && <UptimeBars items={days.items} label="Last 90 days" unit="day" />}
      <LatencyChart results={results} />
      {hours && <LatencyPercentiles items={hours.items} caption="Latency per hour (24 h)" />}
      {days && <LatencyPercentiles items={days.items} caption="Latency per day (90 d)" />}
      <h3>Incidents</h3>
      {incidents.length === 0 ? (
        <p class="muted">No down results in the last {results.length} results.</p>
      ) : (
        <ul class="incidents">
          {incidents.map((i) => (
            <li key={i.start}>
              <StateBadge state="down" /> {timeOf(i.start)} —{' '}
              {i.end ? `${timeOf(i.end)} (${duration(Date.parse(i.end) - Date.parse(i.start))})` : 'ongoing'} ·{' '}
              {i.results} failed result{i.results === 1 ? '' : 's'} · {i.error}
            </li>
          ))}
        </ul>
      )}
    </article>
  );
}

/** The conditions the last result failed, with what was seen (docs/health.md#conditions). */
function FailedConditions({ result }: { result: CheckResult | null }) {
  const failed = (result?.details?.conditions ?? []).filter((c) => !c.ok);
  if (failed.length === 0) return null;
  return (
    <section class="failed-conditions" aria-label="Failed conditions">
      <h3>Failed conditions</h3>
      <ul>
        {failed.map((c, i) => (
          <li key={i}>
            <code>{c.condition}</code> — saw <code>{JSON.stringify(c.value)}</code>
            {c.degraded ? ' (degraded)' : ''}
          </li>
        ))}
      </ul>
    </section>
  );
}
