// `sluice logs`: the read API from a terminal — a page of stored logs (GET /api/logs), or with
// --follow the live tail (GET /api/logs/tail) after the latest page. Finds the collector and its
// token the way `serve` is configured (server.host/port, auth.adminTokens), unless told.
import { SluiceError, errorMessage } from '../errors.js';
import type { ParsedArgs } from './args.js';
import { configFromFlags } from './config-flags.js';

export const LOGS_HELP = `Usage: sluice logs [options] [config flags]

Shows the latest stored logs (oldest of them first), or follows them live with --follow.
Stored logs need the postgres sink; --follow works with every sink.

  --service S[,S…]      only these services
  --level L             minimum level: trace, debug, info, warn, error, fatal
  --since T             from T ago (15m, 24h, 7d) or an RFC 3339 time
  --until T             before T (same forms)
  -q, --q TEXT          message contains TEXT (case-insensitive)
  --trace-id ID         only this trace
  --attr PATH=VALUE     attrs equality, e.g. --attr user.id=42
  --limit N             how many stored records to show (default 100, at most 1000)
  -f, --follow          after the latest ones, print records as they are accepted (Ctrl-C ends)
  --json                one JSON record a line instead of text
  --url URL             collector base URL (default: from server.host/server.port, as serve uses)
  --token TOKEN         bearer token (default: the first of auth.adminTokens)
Config flags (--config FILE, --port N, --host ADDR, --<section.key> VALUE) are read as by serve.
Exit code: 0 when done, 1 when the collector could not be reached or refused, 2 for a usage mistake.`;

const OWN = new Set(['service', 'level', 'since', 'until', 'q', 'trace-id', 'attr', 'limit', 'url', 'token']);

export interface LogsOptions {
  url: string;
  token: string | undefined;
  /** Query parameters shared by the page and the tail. */
  filters: Array<[string, string]>;
  since: string | undefined;
  until: string | undefined;
  limit: number;
  follow: boolean;
  json: boolean;
}

export async function logsCommand(args: ParsedArgs, out: (s: string) => void): Promise<number> {
  if (args.booleans.has('help')) {
    out(LOGS_HELP);
    return 0;
  }
  const ac = new AbortController();
  const stop = (): void => ac.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    return await runLogs(logsOptions(args), out, ac.signal, (s) => process.stderr.write(`${s}\n`));
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
}

export function logsOptions(args: ParsedArgs): LogsOptions {
  const f = args.flags;
  const configFlags = Object.fromEntries(Object.entries(f).filter(([k]) => !OWN.has(k)));
  const { config } = configFromFlags(configFlags);
  const host = config.server.host === '0.0.0.0' || config.server.host === '::' ? '127.0.0.1' : config.server.host;
  const filters: Array<[string, string]> = [];
  for (const s of (f.service ?? '').split(',')) if (s.trim() !== '') filters.push(['service', s.trim()]);
  if (f.level !== undefined) filters.push(['level', f.level]);
  if (f.q !== undefined) filters.push(['q', f.q]);
  if (f['trace-id'] !== undefined) filters.push(['trace_id', f['trace-id']]);
  if (f.attr !== undefined) {
    const eq = f.attr.indexOf('=');
    if (eq <= 0)
      throw new SluiceError('SLUICE_ERR_CONFIG', `--attr must be PATH=VALUE (e.g. user.id=42), got "${f.attr}"`);
    filters.push([`attr.${f.attr.slice(0, eq)}`, f.attr.slice(eq + 1)]);
  }
  const limit = f.limit === undefined ? 100 : Number(f.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000)
    throw new SluiceError('SLUICE_ERR_CONFIG', `--limit must be an integer from 1 to 1000, got "${f.limit}"`);
  return {
    url: (f.url ?? `http://${host.includes(':') ? `[${host}]` : host}:${config.server.port}`).replace(/\/+$/, ''),
    token: f.token ?? config.auth.adminTokens[0],
    filters,
    since: f.since,
    until: f.until,
    limit,
    follow: args.booleans.has('follow'),
    json: args.booleans.has('json'),
  };
}

interface Item {
  id: string;
  ts: string;
  level: string;
  service: string | null;
  message: string | null;
  attrs: unknown;
  trace_id: string | null;
}

/** Prints records; resolves with the exit code (with --follow, once `signal` aborts or the stream ends). */
export async function runLogs(
  o: LogsOptions,
  out: (s: string) => void,
  signal: AbortSignal,
  err: (s: string) => void,
): Promise<number> {
  const headers: Record<string, string> = o.token ? { authorization: `Bearer ${o.token}` } : {};
  const show = (item: Item, raw: string): void => out(o.json ? raw : line(item));
  try {
    // The tail opens first, so nothing accepted between the page and the stream is missed;
    // what the page already showed is skipped on the stream.
    const tail = o.follow
      ? await open(`${o.url}/api/logs/tail?${new URLSearchParams(o.filters)}`, headers, signal)
      : undefined;
    const shown = new Set<string>();
    const params = new URLSearchParams([...o.filters, ['limit', String(o.limit)]]);
    if (o.since !== undefined) params.set('from', o.since);
    if (o.until !== undefined) params.set('to', o.until);
    const res = await fetch(`${o.url}/api/logs?${params}`, { headers, signal });
    if (res.status === 501 && tail) {
      err('(stored logs need the postgres sink: following only)');
      await res.arrayBuffer();
    } else {
      const body = await answer(res);
      const page = JSON.parse(body) as { items: Item[] };
      for (const item of page.items.reverse()) {
        shown.add(item.id);
        show(item, JSON.stringify(item));
      }
    }
    if (!tail) return 0;
    for await (const ev of events(tail, signal)) {
      if (ev.event === 'dropped') {
        err(
          `(${(JSON.parse(ev.data) as { count: number }).count} records dropped: this terminal reads more slowly ` +
            `than they arrive)`,
        );
        continue;
      }
      const item = JSON.parse(ev.data) as Item;
      if (shown.delete(item.id)) continue;
      show(item, ev.data);
    }
    return 0;
  } catch (e) {
    if (signal.aborted) return 0;
    if (e instanceof SluiceError) throw e;
    err(`sluice logs: ${o.url}: ${describe(e)}`);
    return 1;
  }
}

async function open(url: string, headers: Record<string, string>, signal: AbortSignal): Promise<Response> {
  const res = await fetch(url, { headers: { ...headers, accept: 'text/event-stream' }, signal });
  if (res.status !== 200) await answer(res);
  return res;
}

/** The body of a 2xx; a 400 is a usage mistake (exit 2, naming the parameter); anything else an error. */
async function answer(res: Response): Promise<string> {
  const text = await res.text();
  if (res.ok) return text;
  let message = text;
  try {
    message = (JSON.parse(text) as { message?: string }).message ?? text;
  } catch {
    // not JSON: show it as it is
  }
  if (res.status === 400) throw new SluiceError('SLUICE_ERR_CONFIG', message);
  throw new Error(`${res.status}: ${message}`);
}

async function* events(res: Response, signal: AbortSignal): AsyncGenerator<{ event: string; data: string }> {
  const decoder = new TextDecoder();
  let buf = '';
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    if (signal.aborted) return;
    buf += decoder.decode(chunk, { stream: true });
    let at: number;
    while ((at = buf.indexOf('\n\n')) >= 0) {
      const block = buf.slice(0, at);
      buf = buf.slice(at + 2);
      let event = 'message';
      let data = '';
      for (const l of block.split('\n')) {
        if (l.startsWith('event: ')) event = l.slice(7);
        else if (l.startsWith('data: ')) data += l.slice(6);
      }
      if (data !== '') yield { event, data };
    }
  }
}

/** `2026-11-25 10:00:00.123 WARN  api  slow query {"ms":912} trace=…` */
function line(r: Item): string {
  const ts = `${r.ts.slice(0, 10)} ${r.ts.slice(11, 23)}`;
  let s = `${ts} ${r.level.toUpperCase().padEnd(5)} ${r.service ?? '-'}  ${r.message ?? ''}`;
  if (r.attrs !== null && r.attrs !== undefined) s += ` ${JSON.stringify(r.attrs)}`;
  if (r.trace_id) s += ` trace=${r.trace_id}`;
  return s;
}

function describe(e: unknown): string {
  const cause = (e as { cause?: { code?: string; message?: string } }).cause;
  if (cause?.code === 'ECONNREFUSED')
    return 'connection refused (is `sluice serve` running there? --url or --port tell where)';
  return cause?.message ? `${errorMessage(e)}: ${cause.message}` : errorMessage(e);
}
