// A Server-Sent Events client for tests, on node:http so a test can stop reading (pause) to
// play a slow subscriber. Collects events as {event, data} in arrival order.
import { request, type IncomingMessage } from 'node:http';

export interface SseEvent {
  event: string;
  data: string;
}

export interface SseStream {
  status: number;
  res: IncomingMessage;
  events: SseEvent[];
  /** Comment lines seen (heartbeats). */
  comments: number;
  /** Resolves when the server ends the stream. */
  ended: Promise<void>;
  close(): void;
}

export function openSse(url: string, headers: Record<string, string> = {}): Promise<SseStream> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: { accept: 'text/event-stream', ...headers } }, (res) => {
      let buf = '';
      let endedResolve!: () => void;
      const s: SseStream = {
        status: res.statusCode ?? 0,
        res,
        events: [],
        comments: 0,
        ended: new Promise<void>((r) => (endedResolve = r)),
        close: () => req.destroy(),
      };
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buf += chunk;
        let at: number;
        while ((at = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, at);
          buf = buf.slice(at + 2);
          let event = 'message';
          const data: string[] = [];
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) s.comments++;
            else if (line.startsWith('event: ')) event = line.slice(7);
            else if (line.startsWith('data: ')) data.push(line.slice(6));
          }
          if (data.length > 0) s.events.push({ event, data: data.join('\n') });
        }
      });
      res.on('end', endedResolve);
      res.on('close', endedResolve);
      resolve(s);
    });
    req.on('error', reject);
    req.end();
  });
}
