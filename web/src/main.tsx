// The browser UI's entry: header with navigation, theme toggle and admin token, and the three
// views (Logs, Checks, Pipeline) chosen by the URL hash (#/logs, #/checks, #/pipeline), so the
// server needs only one page and deep links survive a reload.
import 'uplot/dist/uPlot.min.css';
import './styles.css';
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { setToken, token } from './api.js';
import { ChecksView } from './checks-view.js';
import { EMPTY_FILTERS, LogsView, type LogFilters } from './logs-view.js';
import { PipelineView } from './pipeline-view.js';
import { applyTheme, nextTheme, storedTheme, type ThemeChoice } from './theme.js';

type Route = 'logs' | 'checks' | 'pipeline';
const ROUTES: Route[] = ['logs', 'checks', 'pipeline'];

function parseHash(): { route: Route; filters: LogFilters } {
  const [path = '', qs = ''] = location.hash.replace(/^#\/?/, '').split('?');
  const route = (ROUTES as string[]).includes(path) ? (path as Route) : 'logs';
  const p = new URLSearchParams(qs);
  return {
    route,
    filters: {
      range: p.get('range') ?? EMPTY_FILTERS.range,
      services: p.getAll('service'),
      level: p.get('level') ?? '',
      q: p.get('q') ?? '',
      attr: p.get('attr') ?? '',
      trace_id: p.get('trace_id') ?? '',
    },
  };
}

function hashOf(route: Route, f: LogFilters): string {
  if (route !== 'logs') return `#/${route}`;
  const p = new URLSearchParams();
  if (f.range !== EMPTY_FILTERS.range) p.set('range', f.range);
  for (const s of f.services) p.append('service', s);
  for (const k of ['level', 'q', 'attr', 'trace_id'] as const) if (f[k]) p.set(k, f[k]);
  const qs = p.toString();
  return `#/logs${qs ? `?${qs}` : ''}`;
}

function App() {
  const [{ route, filters }, setState] = useState(parseHash);
  const [theme, setTheme] = useState<ThemeChoice>(storedTheme);
  const [needToken, setNeedToken] = useState(false);
  const [tokenDraft, setTokenDraft] = useState(token);

  useEffect(() => {
    const onHash = () => setState(parseHash());
    const onUnauthorized = () => setNeedToken(true);
    window.addEventListener('hashchange', onHash);
    window.addEventListener('sluice:unauthorized', onUnauthorized);
    return () => {
      window.removeEventListener('hashchange', onHash);
      window.removeEventListener('sluice:unauthorized', onUnauthorized);
    };
  }, []);

  useEffect(() => applyTheme(theme), [theme]);
  useEffect(() => {
    document.title = `Sluice · ${route[0]!.toUpperCase()}${route.slice(1)}`;
  }, [route]);

  const go = (r: Route, f = filters) => {
    const h = hashOf(r, f);
    if (location.hash !== h) history.pushState(null, '', h);
    setState({ route: r, filters: f });
  };

  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <span class="brand">Sluice</span>
        <nav aria-label="Views">
          {ROUTES.map((r) => (
            <a key={r} href={hashOf(r, filters)} aria-current={route === r ? 'page' : undefined}>
              {r[0]!.toUpperCase() + r.slice(1)}
            </a>
          ))}
          <a href="/status">Status page</a>
        </nav>
        <span class="spacer" />
        <button type="button" class="ghost" onClick={() => setNeedToken((v) => !v)} aria-expanded={needToken}>
          Token
        </button>
        <button
          type="button"
          class="ghost"
          onClick={() => setTheme(nextTheme(theme))}
          title="Switch theme (auto follows the system)"
        >
          Theme: {theme}
        </button>
      </header>
      {needToken && (
        <form
          class="token-bar"
          onSubmit={(e) => {
            e.preventDefault();
            setToken(tokenDraft.trim());
            setNeedToken(false);
            location.reload();
          }}
        >
          <label>
            Admin token (auth.adminTokens; kept in this browser)
            <input
              type="password"
              value={tokenDraft}
              autoComplete="off"
              onInput={(e) => setTokenDraft(e.currentTarget.value)}
            />
          </label>
          <button type="submit">Save</button>
        </form>
      )}
      <main id="main" tabIndex={-1}>
        {route === 'logs' && <LogsView filters={filters} setFilters={(f) => go('logs', f)} />}
        {route === 'checks' && <ChecksView />}
        {route === 'pipeline' && <PipelineView />}
      </main>
    </>
  );
}

render(<App />, document.getElementById('app')!);
