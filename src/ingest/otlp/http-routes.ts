// OTLP/HTTP logs: POST /v1/logs, binary protobuf or OTLP/JSON, optionally gzipped. Records take
// the same path as POST /logs (enqueue: buffer, ack modes, WAL, limits; the ingest auth; the
// live tail). Answers in OTLP's terms: 200 with an ExportLogsServiceResponse (a partial success
// when some records were refused), and a google.rpc.Status body, in the request's encoding,
// with every error — 429/503 with Retry-After and RetryInfo when the client should come back.
import type { FastifyError, FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { SluiceError } from '../../errors.js';
import { toSluiceError } from '../../http/error-handler.js';
import { INGEST_ROUTE } from '../../http/ingest-route.js';
import { chargeRecords } from '../../http/rate-limit/rate-limit-hook.js';
import { requestSpanContext } from '../../observability/tracing.js';
import { type LogRecord } from '../../record.js';
import { nowMicros } from '../../timestamp.js';
import { checkEncoding, decodeBody } from '../body.js';
import { enqueue, type IngestContext } from '../enqueue.js';
import { refuseWhenFull, refuseWhenStopping, type IngestHooks } from '../ingest-routes.js';
import { SYNC_MAX_BYTES, checkCharset } from '../parse-body.js';
import { encodeExportResponse, exportResponseJson, type PartialSuccess } from './codec.js';
import type { OtlpMapped } from './map.js';
import { readExport, readExportAsync } from './read-export.js';
import { statusBody } from './status.js';

export const OTLP_HTTP_PROTOCOL = 'otlp_http';
const PROTOBUF_TYPES = ['application/x-protobuf', 'application/protobuf'];
const JSON_TYPE = 'application/json';
const ACCEPTED = 'application/x-protobuf or application/json (OTLP/HTTP)';

function isJson(req: FastifyRequest): boolean {
  const ct = req.headers['content-type'];
  return ct !== undefined && ct.split(';', 1)[0]!.trim().toLowerCase() === JSON_TYPE;
}

export function otlpHttpRoutes(ctx: IngestContext, hooks: Pick<IngestHooks, 'onLogs'> = {}): FastifyPluginAsync {
  return async (app: FastifyInstance) => {
    const limit = ctx.config.ingest.maxBodyBytes;
    app.removeAllContentTypeParsers();
    app.addContentTypeParser(
      [...PROTOBUF_TYPES, JSON_TYPE],
      { parseAs: 'buffer', bodyLimit: limit },
      (req: FastifyRequest, body: Buffer, done: (err: Error | null, body?: Buffer) => void) => {
        let encoding: ReturnType<typeof checkEncoding>;
        try {
          if (isJson(req)) checkCharset(req.headers['content-type']);
          encoding = checkEncoding(req.headers);
        } catch (err) {
          return done(err as Error);
        }
        if (encoding === 'identity') return done(null, body);
        (decodeBody(body, encoding, limit) as Promise<Buffer>).then((decoded) => done(null, decoded), done);
      },
    );
    app.addHook('onRequest', ctx.access.hook('ingest'));
    app.setErrorHandler((err: FastifyError, req: FastifyRequest, reply: FastifyReply) =>
      answerError(ctx, err, req, reply),
    );
    ctx.metrics.initProtocol(OTLP_HTTP_PROTOCOL);
    app.post(
      '/v1/logs',
      { config: { ...INGEST_ROUTE.config, protocol: OTLP_HTTP_PROTOCOL } },
      exportHandler(ctx, hooks.onLogs),
    );
  };
}

function exportHandler(ctx: IngestContext, onLogs?: (records: LogRecord[]) => void) {
  const counter = ctx.metrics.recordsCounter('log', OTLP_HTTP_PROTOCOL);
  const rejectedCounter = ctx.metrics.ingestRejectedRecords.labels('log', OTLP_HTTP_PROTOCOL);
  return (req: FastifyRequest, reply: FastifyReply): void => {
    refuseWhenStopping(ctx);
    const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    req.body = undefined;
    const json = isJson(req);
    const encoding = json ? 'json' : 'protobuf';
    const spanContext = requestSpanContext(req);
    // Decoded before its turn in the buffer, not at it: the answer must say how many were refused.
    const tenant = req.apiKey?.tenant;
    const push = (mapped: OtlpMapped): void => {
      // The key's tenant, as POST /logs sets it (never a field of the export).
      if (tenant !== undefined) for (const r of mapped.records) r.tenant = tenant;
      const partial: PartialSuccess = { rejected: mapped.rejected, message: mapped.rejectedMessage };
      rejectedCounter.inc(mapped.rejected);
      if (mapped.records.length === 0) {
        succeed(ctx, reply, json, partial);
        return;
      }
      enqueue(ctx, { parse: () => mapped, rawBytes: body.length }, spanContext).then(
        () => {
          counter.inc(mapped.records.length);
          chargeRecords(req, mapped.records.length, body.length);
          onLogs?.(mapped.records);
          succeed(ctx, reply, json, partial);
        },
        (err: unknown) => reply.send(err),
      );
    };
    if (body.length <= SYNC_MAX_BYTES) {
      push(readExport(body, encoding, nowMicros(), ctx.limits));
      return;
    }
    // A large export is read a slice at a time; one that would have to wait for room anyway is
    // refused before that work is spent (as POST /logs does).
    refuseWhenFull(ctx);
    readExportAsync(body, encoding, nowMicros(), ctx.limits).then(push, (err: unknown) => reply.send(err));
  };
}

function succeed(ctx: IngestContext, reply: FastifyReply, json: boolean, partial: PartialSuccess): FastifyReply {
  ctx.metrics.countRequest('/v1/logs', 200, OTLP_HTTP_PROTOCOL);
  if (json) return reply.code(200).type(JSON_TYPE).send(exportResponseJson(partial));
  return reply.code(200).type('application/x-protobuf').send(encodeExportResponse(partial));
}

/** Like the app's error handler (same metrics and logging), with OTLP's Status body. */
function answerError(ctx: IngestContext, err: FastifyError, req: FastifyRequest, reply: FastifyReply): void {
  let e = toSluiceError(err, req.routeOptions.bodyLimit);
  if (e.code === 'SLUICE_ERR_UNSUPPORTED_MEDIA_TYPE' && !(err instanceof SluiceError))
    e = new SluiceError('SLUICE_ERR_UNSUPPORTED_MEDIA_TYPE', { accepted: ACCEPTED });
  const route = req.routeOptions.url ?? 'unmatched';
  ctx.metrics.ingestErrors.labels(route, e.code, OTLP_HTTP_PROTOCOL).inc();
  ctx.metrics.countRequest(route, e.statusCode, OTLP_HTTP_PROTOCOL);
  if (e.statusCode >= 500 && e.code === 'SLUICE_ERR_INTERNAL') req.log.error({ err }, 'request failed');
  else req.log.debug({ code: e.code, msg: e.message }, 'request rejected');
  if (e.retryAfter !== undefined) void reply.header('retry-after', String(e.retryAfter));
  if (e.statusCode === 401) void reply.header('www-authenticate', 'Bearer realm="sluice"');
  const json = isJson(req);
  void reply
    .code(e.statusCode)
    .type(json ? JSON_TYPE : 'application/x-protobuf')
    .send(statusBody(e, json));
}
