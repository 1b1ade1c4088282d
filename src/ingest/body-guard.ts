// Bounds the request bodies being received: all of them together (ingest.maxInFlightBodyBytes:
// past it a new request gets 429 before its body is read) and each one in time
// (ingest.bodyTimeoutMs: 408, and the connection is closed). Without it, 100 stalled 10 MB
// uploads held 1 GiB and slow senders kept their connections for ever.
// A body's bytes count from its first byte (or its Content-Length, reserved up front) until its
// response is sent, so a large body being parsed still counts.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { SluiceError } from '../errors.js';

export interface BodyGuardOptions {
  maxInFlightBytes: number;
  timeoutMs: number;
  retryAfterSeconds: number;
}

/** What the guard holds right now (for /admin/stats and tests). */
export interface BodyGuardStats {
  bytes: number;
  bodies: number;
}

export function installBodyGuard(app: FastifyInstance, opts: BodyGuardOptions): () => BodyGuardStats {
  let used = 0;
  let bodies = 0;
  const budgetError = (): SluiceError =>
    new SluiceError(
      'SLUICE_ERR_BODY_BUDGET',
      `request bodies being received hold ${used} bytes, the limit is ${opts.maxInFlightBytes} (ingest.maxInFlightBodyBytes): retry later`,
      { retryAfter: opts.retryAfterSeconds },
    );

  // Callback style: a hook on every request, kept off the promise machinery.
  app.addHook('preParsing', (req: FastifyRequest, reply: FastifyReply, payload, done) => {
    const length = req.headers['content-length'];
    const chunked = req.headers['transfer-encoding'] !== undefined;
    const declared = length === undefined ? 0 : Number(length) || 0;
    if (declared === 0 && !chunked) return done(null, payload);
    // An empty budget takes any one body (Content-Length is bounded by ingest.maxBodyBytes).
    if (used > 0 && used + declared > opts.maxInFlightBytes) {
      void reply.header('connection', 'close');
      return done(budgetError());
    }
    const raw = req.raw;
    let held = declared;
    let received = 0;
    let settled = false;
    used += held;
    bodies++;
    const release = (): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      used -= held;
      bodies--;
    };
    // Ends the upload with `err`: while the body parser is reading it, through the stream
    // (the error handler answers and the connection closes); otherwise the socket is closed.
    const fail = (err: SluiceError): void => {
      release();
      void reply.header('connection', 'close');
      if (!reply.sent && raw.listenerCount('error') > 0 && !raw.complete) raw.emit('error', err);
      else raw.socket?.destroy();
    };
    const timer = setTimeout(() => {
      if (!raw.complete) {
        fail(
          new SluiceError(
            'SLUICE_ERR_BODY_TIMEOUT',
            `request body not received within ${opts.timeoutMs} ms (ingest.bodyTimeoutMs)`,
          ),
        );
      }
    }, opts.timeoutMs);
    timer.unref();
    // Paused first: adding a 'data' listener must not start the flow before Fastify reads it.
    raw.pause();
    raw.on('data', (chunk: Buffer) => {
      if (settled) return;
      received += chunk.length;
      if (received <= held) return;
      used += received - held;
      held = received;
      if (used > opts.maxInFlightBytes && used > held) fail(budgetError());
    });
    raw.once('end', () => clearTimeout(timer));
    reply.raw.once('close', release);
    done(null, payload);
  });
  return () => ({ bytes: used, bodies });
}
