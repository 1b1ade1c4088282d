// OTLP/gRPC logs: opentelemetry.proto.collector.logs.v1.LogsService/Export on its own port
// (otlp.grpcPort). The same path as OTLP/HTTP (readExport → enqueue), the same ingest tokens
// (`authorization: Bearer …` metadata), answered with gRPC statuses: INVALID_ARGUMENT for a
// malformed export, RESOURCE_EXHAUSTED / UNAVAILABLE with google.rpc.RetryInfo in the status
// details when the client should come back. grpc-js undoes gzip itself, bounded by
// ingest.maxBodyBytes after decompression. Stopping lets exports in flight finish.
import { Metadata, Server, ServerCredentials, type ServerUnaryCall, type sendUnaryData } from '@grpc/grpc-js';
import type { FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { SluiceError } from '../../errors.js';
import { toSluiceError } from '../../http/error-handler.js';
import { type LogRecord } from '../../record.js';
import { nowMicros } from '../../timestamp.js';
import { enqueue, type IngestContext } from '../enqueue.js';
import { refuseWhenFull, refuseWhenStopping } from '../ingest-routes.js';
import { SYNC_MAX_BYTES } from '../parse-body.js';
import { encodeExportResponse, encodeStatus } from './codec.js';
import type { OtlpMapped } from './map.js';
import { readExport, readExportAsync } from './read-export.js';
import { grpcCode } from './status.js';

export const OTLP_GRPC_PROTOCOL = 'otlp_grpc';
export const EXPORT_PATH = '/opentelemetry.proto.collector.logs.v1.LogsService/Export';

const identity = (b: Buffer): Buffer => b;
// Bytes in, bytes out: decoding happens in the handler, where a bad payload becomes
// INVALID_ARGUMENT (a throwing deserializer would be answered INTERNAL).
const LOGS_SERVICE = {
  Export: {
    path: EXPORT_PATH,
    requestStream: false,
    responseStream: false,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
  },
} as const;

export interface OtlpGrpcOptions {
  host: string;
  port: number;
  logger: Logger;
  onLogs?: (records: readonly LogRecord[]) => void;
}

export interface OtlpGrpcServer {
  /** The bound port (after start). */
  readonly port: number;
  start(): Promise<void>;
  /** Refuses new calls and waits up to `timeoutMs` for those in flight, then cuts them. */
  stop(timeoutMs: number): Promise<void>;
}

export function createOtlpGrpcServer(ctx: IngestContext, opts: OtlpGrpcOptions): OtlpGrpcServer {
  const limit = ctx.config.ingest.maxBodyBytes;
  const server = new Server({ 'grpc.max_receive_message_length': limit });
  const counter = ctx.metrics.recordsCounter('log', OTLP_GRPC_PROTOCOL);
  const rejectedCounter = ctx.metrics.ingestRejectedRecords.labels('log', OTLP_GRPC_PROTOCOL);
  ctx.metrics.initProtocol(OTLP_GRPC_PROTOCOL);
  let port = 0;

  const fail = (callback: sendUnaryData<Buffer>, err: unknown): void => {
    const e = toSluiceError(err as Error);
    ctx.metrics.ingestErrors.labels(EXPORT_PATH, e.code, OTLP_GRPC_PROTOCOL).inc();
    ctx.metrics.countRequest(EXPORT_PATH, e.statusCode, OTLP_GRPC_PROTOCOL);
    if (e.code === 'SLUICE_ERR_INTERNAL') opts.logger.error({ err }, 'otlp/grpc export failed');
    const metadata = new Metadata();
    const code = grpcCode(e);
    if (e.retryAfter !== undefined)
      metadata.set('grpc-status-details-bin', encodeStatus(code, e.message, e.retryAfter));
    callback({ code, details: e.message, metadata });
  };

  const exportLogs = (call: ServerUnaryCall<Buffer, Buffer>, callback: sendUnaryData<Buffer>): void => {
    const run = (tenant: string | undefined): void => {
      refuseWhenStopping(ctx);
      const body = call.request;
      const push = (mapped: OtlpMapped): void => {
        // The key's tenant, as over HTTP (never a field of the export).
        if (tenant !== undefined) for (const r of mapped.records) r.tenant = tenant;
        rejectedCounter.inc(mapped.rejected);
        const response = encodeExportResponse({ rejected: mapped.rejected, message: mapped.rejectedMessage });
        const done = (): void => {
          ctx.metrics.countRequest(EXPORT_PATH, 200, OTLP_GRPC_PROTOCOL);
          callback(null, response);
        };
        if (mapped.records.length === 0) return done();
        enqueue(ctx, { parse: () => mapped, rawBytes: body.length }).then(
          () => {
            counter.inc(mapped.records.length);
            opts.onLogs?.(mapped.records);
            done();
          },
          (err: unknown) => fail(callback, err),
        );
      };
      if (body.length <= SYNC_MAX_BYTES) return push(readExport(body, 'protobuf', nowMicros(), ctx.limits));
      // As over HTTP: a large export is read a slice at a time, unless it would be refused anyway.
      refuseWhenFull(ctx);
      readExportAsync(body, 'protobuf', nowMicros(), ctx.limits).then(push, (err: unknown) => fail(callback, err));
    };
    try {
      const authorization = call.metadata.get('authorization')[0];
      const headers = typeof authorization === 'string' ? { authorization } : {};
      // The ingest group's check reads only the Authorization header (ingest is never loopback-only).
      const req = { headers, socket: {} } as unknown as FastifyRequest;
      ctx.access.check('ingest', req);
      run(req.apiKey?.tenant);
    } catch (err) {
      fail(callback, err);
    }
  };
  server.addService(LOGS_SERVICE, { Export: exportLogs });

  return {
    get port() {
      return port;
    },
    start() {
      const host = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
      return new Promise<void>((resolve, reject) => {
        server.bindAsync(`${host}:${opts.port}`, ServerCredentials.createInsecure(), (err, bound) => {
          if (err) return reject(new SluiceError('SLUICE_ERR_CONFIG', `otlp.grpcPort ${opts.port}: ${err.message}`));
          port = bound;
          opts.logger.info({ port, host: opts.host }, 'otlp/grpc listening');
          resolve();
        });
      });
    },
    stop(timeoutMs) {
      return new Promise<void>((resolve) => {
        const timer = setTimeout(
          () => {
            opts.logger.error(
              { timeoutMs },
              'otlp/grpc: exports still in flight at the shutdown deadline; cutting them',
            );
            server.forceShutdown();
            resolve();
          },
          Math.max(0, timeoutMs),
        );
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    },
  };
}
