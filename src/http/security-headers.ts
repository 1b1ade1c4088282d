// Response headers that keep a browser from misusing what the read side serves: no MIME
// sniffing, no framing (clickjacking the UI's write buttons), no Referer leaking URLs with
// filters, and a Content-Security-Policy per kind of answer. No CORS header is ever added here:
// the UI is same-origin, so another site's scripts get no access to the API's answers.
import type { FastifyReply, FastifyRequest, onRequestHookHandler } from 'fastify';

/** The built UI (web/): its own script and stylesheet, fetch/EventSource to itself, a data: icon. */
const UI_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "font-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";
/** The server-rendered status page: one inline stylesheet, no script. */
const STATUS_CSP =
  "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; base-uri 'none'; frame-ancestors 'none'";
/** JSON, SVG and event streams: nothing in them may load or run anything. */
const DATA_CSP = "default-src 'none'; frame-ancestors 'none'; sandbox";

export type Served = 'ui' | 'status' | 'data';

const CSP: Record<Served, string> = { ui: UI_CSP, status: STATUS_CSP, data: DATA_CSP };

export function securityHeaders(kind: Served): Record<string, string> {
  return {
    'content-security-policy': CSP[kind],
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
    'referrer-policy': 'no-referrer',
  };
}

/** An onRequest hook setting them on every answer of a route family. */
export function securityHeadersHook(kind: Served | ((req: FastifyRequest) => Served)): onRequestHookHandler {
  return (req: FastifyRequest, reply: FastifyReply, done) => {
    void reply.headers(securityHeaders(typeof kind === 'function' ? kind(req) : kind));
    done();
  };
}
