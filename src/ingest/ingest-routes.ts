// The ingest route family: POST /logs and POST /health. The plugin owns its body parsing
// (raw bytes, gzip, limits), auth and the shutdown gate, and touches nothing global.
import type { IncomingMessage } from 'node:http';
import type { FastifyInstance, FastifyPluginAsync, FastifyRequest } from 'fastify';
import { SluiceError } from '../errors.js';
import { nowMicros } from '../record.js';
import { bearerAuth } from './auth.js';
import { readBody } from './body.js';
import { enqueue, type IngestContext } from './enqueue.js';
import { normaliseHealth, normaliseLog } from './normalise.js';
import { JSON_TYPES, NDJSON_TYPES, isNdjson, parseBody } from './parse-body.js';

export function ingestRoutes(ctx: IngestContext): FastifyPluginAsync {
  return async (app: FastifyInstance) => {
    const limit = ctx.config.ingest.maxBodyBytes;
    app.removeAllContentTypeParsers();
    app.addContentTypeParser([...JSON_TYPES, ...NDJSON_TYPES], (req: FastifyRequest, payload: IncomingMessage) => readBody(payload, req.headers, limit));

    app.addHook('onRequest', async () => {
      if (!ctx.accepting()) {
        throw new SluiceError('SLUICE_ERR_SHUTTING_DOWN', 'shutting down: not accepting new records', {
          retryAfter: ctx.config.ingest.retryAfterSeconds,
        });
      }
    });
    const auth = bearerAuth(ctx.config.auth.ingestTokens);
    if (auth) app.addHook('onRequest', auth);

    app.post('/logs', async (req, reply) => {
      const { records, bytes } = parseBody(bodyOf(req.body), isNdjson(req.headers['content-type']), nowMicros(), normaliseLog);
      await enqueue(ctx, 'log', records, bytes);
      return reply.code(202).type('application/json').send(`{"accepted":${records.length}}`);
    });

    app.post('/health', async (req, reply) => {
      const { records, bytes } = parseBody(bodyOf(req.body), isNdjson(req.headers['content-type']), nowMicros(), normaliseHealth);
      await enqueue(ctx, 'health', records, bytes);
      return reply.code(202).type('application/json').send(`{"accepted":${records.length}}`);
    });
  };
}

function bodyOf(body: unknown): Buffer {
  // No body at all (no Content-Type) never reaches our parser.
  if (!Buffer.isBuffer(body)) throw new SluiceError('SLUICE_ERR_EMPTY_BODY', 'request body is empty; send application/json or application/x-ndjson');
  return body;
}
