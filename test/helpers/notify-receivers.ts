// Local stand-ins for the notification providers: one HTTP server that answers each provider's
// documented paths with its documented answers and refuses (400, the reason in `problems`) a
// request whose method, headers or payload shape that provider would refuse; and a real SMTP
// server (smtp-server) that takes mail after AUTH PLAIN/LOGIN.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

export interface Seen {
  provider: string;
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: string;
  json: Record<string, unknown> | undefined;
}

export interface Receivers {
  url: string;
  seen: Seen[];
  problems: string[];
  close(): Promise<void>;
}

export const BOT_TOKEN = '123456:TEST-bot-token';
export const GENIE_KEY = 'genie-key-0001';

type Check = (j: Record<string, unknown>, req: IncomingMessage) => string | undefined;

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Each provider's path and the shape its docs require; undefined = accepted. */
function route(
  method: string,
  path: string,
): { provider: string; check: Check; answer: [number, unknown] } | undefined {
  if (method !== 'POST') return undefined;
  if (path === `/bot${BOT_TOKEN}/sendMessage`)
    return {
      provider: 'telegram',
      check: (j) => (j.chat_id === undefined || typeof j.text !== 'string' ? 'chat_id and text required' : undefined),
      answer: [200, { ok: true, result: { message_id: 1 } }],
    };
  if (path === '/v2/enqueue')
    return {
      provider: 'pagerduty',
      check: (j) => {
        if (typeof j.routing_key !== 'string' || typeof j.dedup_key !== 'string') return 'routing_key, dedup_key';
        if (j.event_action === 'resolve') return undefined;
        if (j.event_action !== 'trigger') return 'event_action';
        const p = j.payload;
        if (!isObj(p) || typeof p.summary !== 'string' || typeof p.source !== 'string') return 'payload.summary/source';
        return ['critical', 'error', 'warning', 'info'].includes(p.severity as string) ? undefined : 'payload.severity';
      },
      answer: [202, { status: 'success', message: 'Event processed' }],
    };
  if (path === '/v2/alerts')
    return {
      provider: 'opsgenie',
      check: (j, req) =>
        req.headers.authorization !== `GenieKey ${GENIE_KEY}`
          ? 'authorization'
          : typeof j.message !== 'string' || (j.message as string).length > 130
            ? 'message'
            : undefined,
      answer: [202, { result: 'Request will be processed', took: 0.1, requestId: 'r1' }],
    };
  const close = /^\/v2\/alerts\/([^/]+)\/close\?identifierType=alias$/.exec(path);
  if (close)
    return {
      provider: 'opsgenie',
      check: (_j, req) => (req.headers.authorization !== `GenieKey ${GENIE_KEY}` ? 'authorization' : undefined),
      answer: [202, { result: 'Request will be processed', took: 0.1, requestId: 'r2' }],
    };
  if (path.startsWith('/api/webhooks/'))
    return {
      provider: 'discord',
      check: (j) => (Array.isArray(j.embeds) && j.embeds.length > 0 ? undefined : 'embeds'),
      answer: [204, undefined],
    };
  if (path === '/teams')
    return {
      provider: 'teams',
      check: (j) => {
        const a = Array.isArray(j.attachments) ? (j.attachments[0] as Record<string, unknown>) : undefined;
        return j.type === 'message' && a?.contentType === 'application/vnd.microsoft.card.adaptive' && isObj(a.content)
          ? undefined
          : 'adaptive card attachment';
      },
      answer: [202, undefined],
    };
  if (path === '/slack')
    return { provider: 'slack', check: (j) => (typeof j.text === 'string' ? undefined : 'text'), answer: [200, 'ok'] };
  if (path === '/hook') return { provider: 'webhook', check: () => undefined, answer: [200, undefined] };
  if (path.startsWith('/topic-'))
    return { provider: 'ntfy', check: () => undefined, answer: [200, { id: 'n1', event: 'message' }] };
  return undefined;
}

export async function startReceivers(): Promise<Receivers> {
  const rx: Receivers = { url: '', seen: [], problems: [], close: async () => undefined };
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const path = req.url ?? '/';
      const r = route(req.method ?? '', path);
      if (!r) {
        rx.problems.push(`unknown ${req.method} ${path}`);
        res.writeHead(404).end();
        return;
      }
      let json: Record<string, unknown> | undefined;
      const isJson = r.provider !== 'ntfy';
      if (isJson) {
        if (!String(req.headers['content-type']).startsWith('application/json')) {
          rx.problems.push(`${r.provider}: content-type ${req.headers['content-type']}`);
          res.writeHead(415).end();
          return;
        }
        try {
          json = JSON.parse(body) as Record<string, unknown>;
        } catch {
          json = undefined;
        }
      }
      const problem = isJson ? (json ? r.check(json, req) : 'not JSON') : r.check({}, req);
      if (problem) {
        rx.problems.push(`${r.provider}: ${problem}`);
        res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ error: problem }));
        return;
      }
      rx.seen.push({ provider: r.provider, method: req.method!, path, headers: req.headers, body, json });
      const [status, answer] = r.answer;
      if (answer === undefined) res.writeHead(status).end();
      else
        res
          .writeHead(status, { 'content-type': typeof answer === 'string' ? 'text/plain' : 'application/json' })
          .end(typeof answer === 'string' ? answer : JSON.stringify(answer));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  rx.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  rx.close = async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  };
  return rx;
}

export interface Mail {
  from: string;
  to: string[];
  user: string;
  raw: string;
}

export interface SmtpReceiver {
  port: number;
  mails: Mail[];
  close(): Promise<void>;
}

/** A real SMTP server: AUTH required (user/pass given), no TLS, each message kept raw. */
export async function startSmtp(user: string, pass: string): Promise<SmtpReceiver> {
  const mails: Mail[] = [];
  const server = new SMTPServer({
    secure: false,
    disabledCommands: ['STARTTLS'],
    allowInsecureAuth: true,
    authMethods: ['PLAIN', 'LOGIN'],
    logger: false,
    onAuth(auth, _session, cb) {
      if (auth.username === user && auth.password === pass) cb(null, { user });
      else cb(new Error('Invalid username or password'));
    },
    onData(stream, session, cb) {
      let raw = '';
      stream.on('data', (c: Buffer) => (raw += c.toString()));
      stream.on('end', () => {
        mails.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          user: String(session.user),
          raw,
        });
        cb();
      });
    },
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.server.address() as AddressInfo).port;
  return { port, mails, close: () => new Promise<void>((r) => server.close(() => r())) };
}
