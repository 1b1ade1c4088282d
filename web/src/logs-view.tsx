// The Logs view: filters (time range, services, level, search, attr, trace id), a virtualised
// results table whose rows expand to show the record as JSON, and a live toggle that swaps the
// query for the tail stream. Filters live in the URL hash so a view can be shared or reloaded.
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { api, ApiError, query } from './api.js';
import { timeOf } from './format.js';
import { openTail } from './tail-stream.js';
import type { LogPage, LogRecord, ServiceSeen } from './types.js';
import { VirtualList } from './virtual-list.js';

const ROW_PX = 30;
const DETAIL_PX = 260;
/** Rows kept in view; the oldest go first when live records keep arriving. */
const MAX_ROWS = 10_000;
const PAGE = 500;
const RANGES = ['5m', '15m', '1h', '6h', '24h', '7d', '30d'];
const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'];

export interface LogFilters {
  range: string;
  services: string[];
  level: string;
  q: string;
  attr: string;
  trace_id: string;
}

export const EMPTY_FILTERS: LogFilters = { range: '1h', services: [], level: '', q: '', attr: '', trace_id: '' };

/** `user.id=42` → ["attr.user.id", "42"]; anything without "=" is ignored (and flagged). */
function attrParam(attr: string): [string, string] | null {
  const eq = attr.indexOf('=');
  if (eq <= 0) return null;
  return [
    `attr.${attr
      .slice(0, eq)
      .trim()
      .replace(/^attr\./, '')}`,
    attr.slice(eq + 1).trim(),
  ];
}

function params(f: LogFilters, live: boolean): Record<string, string | string[] | undefined> {
  const p: Record<string, string | string[] | undefined> = {
    service: f.services,
    level: f.level,
    q: f.q,
    trace_id: f.trace_id,
  };
  if (!live) p.from = f.range;
  const a = attrParam(f.attr);
  if (a) p[a[0]] = a[1];
  return p;
}

export function LogsView({ filters, setFilters }: { filters: LogFilters; setFilters: (f: LogFilters) => void }) {
  const [rows, setRows] = useState<LogRecord[]>([]);
  const [next, setNext] = useState<string | null>(null);
  const [error, setError] = useState('');
  const [loading, setLoading] = useState(false);
  const [live, setLive] = useState(false);
  const [liveState, setLiveState] = useState('');
  const [dropped, setDropped] = useState(0);
  const [open, setOpen] = useState<ReadonlySet<string>>(new Set());
  const [services, setServices] = useState<ServiceSeen[]>([]);
  const [draft, setDraft] = useState({ q: filters.q, attr: filters.attr });
  const [copied, setCopied] = useState('');

  useEffect(() => setDraft({ q: filters.q, attr: filters.attr }), [filters.q, filters.attr]);

  useEffect(() => {
    api<{ services: ServiceSeen[] }>(`/api/services${query({ window: '30d' })}`)
      .then((s) => setServices(s.services.filter((x) => typeof x.service === 'string')))
      .catch(() => setServices([]));
  }, []);

  // A query (not live): the newest page for the filters.
  useEffect(() => {
    if (live) return;
    const ac = new AbortController();
    setLoading(true);
    setError('');
    api<LogPage>(`/api/logs${query({ ...params(filters, false), limit: String(PAGE) })}`, { signal: ac.signal })
      .then((page) => {
        setRows(page.items);
        setNext(page.next);
      })
      .catch((e: unknown) => {
        if (!ac.signal.aborted) setError(e instanceof ApiError ? e.message : String(e));
      })
      .finally(() => setLoading(false));
    return () => ac.abort();
  }, [filters, live]);

  // Live: records from the tail stream, newest on top; applied once per frame, not per record.
  const pending = useRef<LogRecord[]>([]);
  useEffect(() => {
    if (!live) return;
    setDropped(0);
    let frame = 0;
    const flush = () => {
      frame = 0;
      const add = pending.current.reverse();
      pending.current = [];
      setRows((old) => {
        const merged = add.concat(old);
        return merged.length > MAX_ROWS ? merged.slice(0, MAX_ROWS) : merged;
      });
    };
    const close = openTail(`/api/logs/tail${query(params(filters, true))}`, {
      onRecord: (r) => {
        pending.current.push(r);
        if (!frame) frame = requestAnimationFrame(flush);
      },
      onDropped: (n) => setDropped((d) => d + n),
      onState: setLiveState,
    });
    return () => {
      close();
      if (frame) cancelAnimationFrame(frame);
      pending.current = [];
    };
  }, [filters, live]);

  const loadMore = () => {
    if (!next) return;
    setLoading(true);
    api<LogPage>(`/api/logs${query({ ...params(filters, false), limit: String(PAGE), cursor: next })}`)
      .then((page) => {
        setRows((old) => [...old, ...page.items].slice(0, MAX_ROWS));
        setNext(page.next);
      })
      .catch((e: unknown) => setError(e instanceof ApiError ? e.message : String(e)))
      .finally(() => setLoading(false));
  };

  const toggle = (id: string) =>
    setOpen((o) => {
      const n = new Set(o);
      if (n.has(id)) n.delete(id);
      else n.add(id);
      return n;
    });

  const copy = async (r: LogRecord) => {
    const text = JSON.stringify(r, null, 2);
    try {
      await navigator.clipboard.writeText(text);
    } catch {
      // Clipboard API needs a secure context: fall back to a hidden textarea.
      const ta = document.createElement('textarea');
      ta.value = text;
      document.body.append(ta);
      ta.select();
      document.execCommand('copy');
      ta.remove();
    }
    setCopied(r.id);
    setTimeout(() => setCopied(''), 1500);
  };

  const set = (patch: Partial<LogFilters>) => setFilters({ ...filters, ...patch });
  const serviceNames = useMemo(
    () => [...new Set([...services.map((s) => s.service ?? ''), ...filters.services].filter(Boolean))].sort(),
    [services, filters.services],
  );
  const attrBad = filters.attr !== '' && !attrParam(filters.attr);

  return (
    <section class="view logs" aria-labelledby="logs-h">
      <h1 id="logs-h" class="sr-only">
        Logs
      </h1>
      <form
        class="filters"
        onSubmit={(e) => {
          e.preventDefault();
          set({ q: draft.q.trim(), attr: draft.attr.trim() });
        }}
      >
        <label>
          Time range
          <select value={filters.range} disabled={live} onChange={(e) => set({ range: e.currentTarget.value })}>
            {RANGES.map((r) => (
              <option value={r} key={r}>
                last {r}
              </option>
            ))}
          </select>
        </label>
        <label>
          Service
          <select
            value={filters.services[0] ?? ''}
            onChange={(e) => set({ services: e.currentTarget.value ? [e.currentTarget.value] : [] })}
          >
            <option value="">all services</option>
            {serviceNames.map((s) => (
              <option value={s} key={s}>
                {s}
              </option>
            ))}
          </select>
        </label>
        <label>
          Level
          <select value={filters.level} onChange={(e) => set({ level: e.currentTarget.value })}>
            <option value="">any level</option>
            {LEVELS.map((l) => (
              <option value={l} key={l}>
                {l} and above
              </option>
            ))}
          </select>
        </label>
        <label class="grow">
          Search messages
          <input
            type="search"
            value={draft.q}
            placeholder="text in the message"
            onInput={(e) => setDraft({ ...draft, q: e.currentTarget.value })}
          />
        </label>
        <label>
          Attribute
          <input
            value={draft.attr}
            placeholder="user.id=42"
            aria-invalid={attrBad}
            onInput={(e) => setDraft({ ...draft, attr: e.currentTarget.value })}
          />
        </label>
        <button type="submit">Search</button>
        <label class="switch">
          <input type="checkbox" checked={live} onChange={(e) => setLive(e.currentTarget.checked)} />
          Live
        </label>
      </form>
      <div class="status-line" role="status">
        {filters.trace_id && (
          <span class="chip">
            trace {filters.trace_id}
            <button type="button" class="link" aria-label="Clear trace filter" onClick={() => set({ trace_id: '' })}>
              ✕
            </button>
          </span>
        )}
        {attrBad && <span class="error">attribute filter must look like path=value</span>}
        {error && <span class="error">{error}</span>}
        {live ? (
          <span>
            live: {liveState === 'open' ? 'streaming' : liveState} · {rows.length} records
            {dropped > 0 && ` · ${dropped} dropped (too slow)`}
          </span>
        ) : (
          <span>{loading ? 'loading…' : `${rows.length} records${next ? ' (more available)' : ''}`}</span>
        )}
      </div>
      <div class="table-head" aria-hidden="true">
        <span>time</span>
        <span>level</span>
        <span>service</span>
        <span>message</span>
        <span>trace</span>
      </div>
      <VirtualList
        items={rows}
        label="log records"
        version={open}
        keyOf={(r) => r.id}
        heightOf={(r) => (open.has(r.id) ? ROW_PX + DETAIL_PX : ROW_PX)}
        render={(r) => (
          <>
            <div class={`log-row lvl-${r.level}`}>
              <button
                type="button"
                class="expand"
                aria-expanded={open.has(r.id)}
                aria-label={`Show record ${r.id}`}
                onClick={() => toggle(r.id)}
              >
                {open.has(r.id) ? '▾' : '▸'}
              </button>
              <span class="ts">{timeOf(r.ts)}</span>
              <span class="lvl">{r.level}</span>
              <span class="svc">{r.service}</span>
              <span class="msg" title={r.message}>
                {r.message}
              </span>
              <span class="trace">
                {r.trace_id && (
                  <button
                    type="button"
                    class="link"
                    title={r.trace_id}
                    aria-label={`Filter by trace ${r.trace_id}`}
                    onClick={() => set({ trace_id: r.trace_id ?? '' })}
                  >
                    {r.trace_id.slice(0, 12)}
                  </button>
                )}
              </span>
            </div>
            {open.has(r.id) && (
              <div class="detail">
                <div class="detail-bar">
                  <button type="button" onClick={() => void copy(r)}>
                    {copied === r.id ? 'Copied' : 'Copy as JSON'}
                  </button>
                </div>
                <pre tabIndex={0}>{JSON.stringify(r, null, 2)}</pre>
              </div>
            )}
          </>
        )}
      />
      {rows.length === 0 && !loading && !error && (
        <p class="empty">
          {live ? 'Waiting for records that match…' : 'No records match these filters in this time range.'}
        </p>
      )}
      {!live && next && (
        <button type="button" class="more" disabled={loading} onClick={loadMore}>
          Load older records
        </button>
      )}
    </section>
  );
}
