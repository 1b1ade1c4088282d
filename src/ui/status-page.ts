// The public status page as one server-rendered HTML document: inline CSS, no script, no
// external font or image, light/dark by prefers-color-scheme, refreshed by the browser every
// minute. Everything shown comes from PublicStatus (only the checks the config allows).
import type { PublicStatus } from './public-status.js';

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

const pct = (p: number | null) => (p === null ? '–' : `${p.toFixed(2)}%`);

const HEADLINE = {
  up: 'All systems operational',
  degraded: 'Some systems degraded',
  down: 'Some systems are down',
} as const;

const CSS = `
:root{--bg:#fff;--fg:#1d2330;--muted:#5c6578;--border:#d6dae2;--card:#f6f7f9;--up:#1c8a4a;--down:#c9372c;--warn:#b86e00;--none:#c3c8d1;color-scheme:light}
@media (prefers-color-scheme:dark){:root{--bg:#14171d;--fg:#e3e7ef;--muted:#98a2b5;--border:#323846;--card:#1c2029;--up:#3fbf73;--down:#ff6b5e;--warn:#e5a445;--none:#3a4150;color-scheme:dark}}
body{margin:0;background:var(--bg);color:var(--fg);font:15px/1.5 system-ui,-apple-system,'Segoe UI',Roboto,Arial,sans-serif}
main{max-width:860px;margin:0 auto;padding:24px 16px}
h1{font-size:24px;margin:0 0 16px}
h2.group{font-size:17px;margin:20px 0 8px}
.overall{border-radius:8px;padding:14px 16px;font-weight:600;color:#fff;margin-bottom:20px}
.overall.up{background:var(--up)}.overall.degraded{background:var(--warn)}.overall.down{background:var(--down)}
.check{border:1px solid var(--border);background:var(--card);border-radius:8px;padding:12px 14px;margin-bottom:12px}
.row{display:flex;justify-content:space-between;gap:12px;align-items:baseline;flex-wrap:wrap}
.name{font-weight:600}
.state{font-weight:600;text-transform:uppercase;font-size:12px;letter-spacing:.04em}
.state.up{color:var(--up)}.state.down{color:var(--down)}.state.degraded{color:var(--warn)}.state.unknown,.state.paused{color:var(--muted)}
.bars{display:flex;gap:2px;height:26px;margin:8px 0 4px}
.bars span{flex:1;border-radius:2px;background:var(--none)}
.bars .u{background:var(--up)}.bars .d{background:var(--down)}.bars .p{background:var(--warn)}
.muted{color:var(--muted);font-size:13px}
footer{margin-top:24px;color:var(--muted);font-size:12px}
`;

function renderCheck(c: PublicStatus['checks'][number]): string {
  const bars = c.days
    .map((b) => {
      const cls = b.total === 0 ? '' : b.down === 0 ? 'u' : b.down === b.total ? 'd' : 'p';
      const title =
        b.total === 0 ? `${b.start.slice(0, 10)}: no data` : `${b.start.slice(0, 10)}: ${b.up} of ${b.total} checks up`;
      return `<span${cls ? ` class="${cls}"` : ''} title="${esc(title)}"></span>`;
    })
    .join('');
  return `<section class="check" aria-label="${esc(c.name)}">
<div class="row"><span class="name">${esc(c.name)}</span><span class="state ${esc(c.state)}">${esc(c.state)}</span></div>
<div class="bars" role="img" aria-label="daily results, last 90 days">${bars}</div>
<div class="row muted"><span>90 days ago</span><span>uptime 24 h ${pct(c.uptime['24h'])} · 7 d ${pct(c.uptime['7d'])} · 30 d ${pct(c.uptime['30d'])}</span><span>today</span></div>
</section>`;
}

/** The checks, one section per group (in name order, ungrouped checks first) once any check has one. */
function renderChecks(list: PublicStatus['checks']): string {
  if (list.every((c) => c.group === null)) return list.map(renderCheck).join('\n');
  const groups = new Map<string, PublicStatus['checks']>();
  for (const c of list) {
    const key = c.group ?? '';
    const members = groups.get(key);
    if (members) members.push(c);
    else groups.set(key, [c]);
  }
  return [...groups.keys()]
    .sort()
    .map((g) => {
      const checks = groups.get(g)!.map(renderCheck).join('\n');
      return g === '' ? checks : `<h2 class="group">${esc(g)}</h2>\n${checks}`;
    })
    .join('\n');
}

export function renderStatusPage(s: PublicStatus): string {
  const checks = renderChecks(s.checks);
  const body =
    s.checks.length === 0
      ? '<p class="muted">No checks are published on this page.</p>'
      : `<div class="overall ${s.overall}" role="status">${HEADLINE[s.overall]}</div>\n${checks}`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="60"><title>${esc(s.title)}</title><link rel="icon" href="data:,"><style>${CSS}</style></head>
<body><main><h1>${esc(s.title)}</h1>
${body}
<footer>Updated ${esc(s.updated_at.replace('T', ' ').slice(0, 19))} UTC · refreshes every minute · <a href="/status.json">JSON</a></footer>
</main></body></html>
`;
}
