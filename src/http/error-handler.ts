// Maps every error to a response in one place: SluiceErrors by their code, Fastify's own
// client errors (415, 413, 400) to ours, and anything else to a 500 that is logged with
// the request id. A client's mistake is never a 500.
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { SluiceError, type ErrorCode } from '../errors.js';
import { SLUICE_PROTOCOL, type Metrics } from '../observability/metrics.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The wire protocol of an ingest route, for the `protocol` metrics label; `sluice` when unset. */
    protocol?: string;
  }
}

/** The `protocol` label of a request: its route's `config.protocol`, else Sluice's own API. */
export function routeProtocol(req: FastifyRequest): string {
  return req.routeOptions.config?.protocol ?? SLUICE_PROTOCOL;
}

/** A 413 naming the limit and the key that sets it (the wire size here, the decompressed size in ingest/body.ts). */
export function tooLarge(limit: number, what: string): SluiceError {
  return new SluiceError(
    'SLUICE_ERR_BODY_TOO_LARGE',
    `${what} exceeds the limit of ${limit} bytes (ingest.maxBodyBytes)`,
  );
}

const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'SLUICE_ERR_UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'SLUICE_ERR_INVALID_JSON',
  FST_ERR_CTP_BODY_TOO_LARGE: 'SLUICE_ERR_BODY_TOO_LARGE',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'SLUICE_ERR_EMPTY_BODY',
  FST_ERR_CTP_INVALID_JSON_BODY: 'SLUICE_ERR_INVALID_JSON',
};

/** `bodyLimit`: the route's limit, named in a 413 with the key that sets it (like the gzip one). */
export function toSluiceError(err: FastifyError | Error, bodyLimit?: number): SluiceError {
  if (err instanceof SluiceError) return err;
  const fe = err as FastifyError;
  const mapped = fe.code ? FASTIFY_CODES[fe.code] : undefined;
  if (mapped === 'SLUICE_ERR_BODY_TOO_LARGE' && bodyLimit !== undefined) return tooLarge(bodyLimit, 'the request body');
  if (mapped === 'SLUICE_ERR_UNSUPPORTED_MEDIA_TYPE') return new SluiceError(mapped);
  if (mapped) return new SluiceError(mapped, fe.message);
  if (fe.validation) return new SluiceError('SLUICE_ERR_INVALID_RECORD', { where: 'request', detail: fe.message });
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    return new SluiceError('SLUICE_ERR_INVALID_JSON', fe.message);
  }
  return new SluiceError('SLUICE_ERR_INTERNAL', {}, { cause: err });
}

export function installErrorHandler(app: FastifyInstance, metrics: Metrics): void {
  app.setErrorHandler((err: FastifyError, req: FastifyRequest, reply: FastifyReply) => {
    const e = toSluiceError(err, req.routeOptions.bodyLimit);
    const route = req.routeOptions.url ?? 'unmatched';
    const protocol = routeProtocol(req);
    metrics.ingestErrors.labels(route, e.code, protocol).inc();
    metrics.countRequest(route, e.statusCode, protocol);
    if (e.statusCode >= 500 && e.code === 'SLUICE_ERR_INTERNAL') req.log.error({ err }, 'request failed');
    else req.log.debug({ code: e.code, msg: e.message }, 'request rejected');
    if (e.retryAfter !== undefined) void reply.header('retry-after', String(e.retryAfter));
    if (e.statusCode === 401) void reply.header('www-authenticate', 'Bearer realm="sluice"');
    void reply.code(e.statusCode).send({ ...e.toJSON(), req_id: req.id });
  });
  app.setNotFoundHandler((req, reply) => {
    metrics.countRequest('unmatched', 404);
    metrics.ingestErrors.labels('unmatched', 'SLUICE_ERR_NOT_FOUND', SLUICE_PROTOCOL).inc();
    const e = new SluiceError('SLUICE_ERR_NOT_FOUND', { what: `route ${req.method} ${req.url}` });
    void reply.code(404).send({ ...e.toJSON(), req_id: req.id });
  });
}
