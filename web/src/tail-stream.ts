// The live tail: Server-Sent Events from /api/logs/tail. EventSource when no token is needed
// (it cannot send headers); with an admin token, the same stream read through fetch.
import { authHeaders, token } from './api.js';
import type { LogRecord } from './types.js';

export interface TailHandlers {
  onRecord: (r: LogRecord) => void;
  onDropped: (count: number) => void;
  onState: (state: 'connecting' | 'open' | 'error') => void;
}

export function openTail(url: string, h: TailHandlers): () => void {
  h.onState('connecting');
  if (!token()) {
    const es = new EventSource(url);
    es.onopen = () => h.onState('open');
    es.onerror = () => h.onState('error');
    es.onmessage = (e: MessageEvent<string>) => h.onRecord(JSON.parse(e.data) as LogRecord);
    es.addEventListener('dropped', (e) => h.onDropped(droppedCount((e as MessageEvent<string>).data)));
    return () => es.close();
  }
  const ac = new AbortController();
  void (async () => {
    try {
      const res = await fetch(url, { headers: { accept: 'text/event-stream', ...authHeaders() }, signal: ac.signal });
      if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
      h.onState('open');
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buf = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += value;
        let end;
        while ((end = buf.indexOf('\n\n')) >= 0) {
          dispatch(buf.slice(0, end), h);
          buf = buf.slice(end + 2);
        }
      }
      h.onState('error');
    } catch {
      if (!ac.signal.aborted) h.onState('error');
    }
  })();
  return () => ac.abort();
}

function dispatch(block: string, h: TailHandlers): void {
  let event = 'message';
  const data: string[] = [];
  for (const line of block.split('\n')) {
    if (line.startsWith('event:')) event = line.slice(6).trim();
    else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
  }
  if (data.length === 0) return;
  if (event === 'dropped') h.onDropped(droppedCount(data.join('\n')));
  else if (event === 'message') h.onRecord(JSON.parse(data.join('\n')) as LogRecord);
}

/** `event: dropped` carries `{"count": n}`: records this subscriber missed for being slow. */
function droppedCount(data: string): number {
  try {
    const v = JSON.parse(data) as { count?: unknown } | number;
    return typeof v === 'number' ? v : Number(v.count) || 0;
  } catch {
    return 0;
  }
}
