// Tracing: OpenTelemetry spans at the three boundaries of a record's trip (the HTTP request,
// the batch flush, each sink write attempt), with each batch span *linked* to the request
// spans whose records it carries: a batch mixes many requests, so no request is its parent.
// Each app owns its TracerProvider and nothing is registered globally, so several apps in
// one process trace independently. With no endpoint configured, nothing is loaded, hooked
// or allocated: the hot path does no tracing work at all (bench/tracing-overhead.ts).
import {
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  createTraceState,
  isSpanContextValid,
  trace,
  type Attributes,
  type HrTime,
  type Link,
  type Span,
  type SpanContext,
  type Tracer,
} from '@opentelemetry/api';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { receivedRuns, type Batch } from '../batch.js';
import type { TracingConfig } from './config.js';
import { withTimeout } from '../timeout.js';

/** Operational endpoints: scrapes and probes would drown the ingest traces. */
const UNTRACED_ROUTES = new Set(['/metrics', '/healthz', '/readyz']);
/** Links recorded per batch span; the SDK's default link limit, so none is silently dropped. */
export const MAX_BATCH_LINKS = 128;
const EXPORT_TIMEOUT_MS = 5000;
/** Bounds how long stop() waits for the last export when the OTLP endpoint is down. */
const SHUTDOWN_TIMEOUT_MS = 5000;
const FAILURE_LOG_INTERVAL_MS = 60_000;
/** Stable semantic-convention attribute names (ATTR_* of @opentelemetry/semantic-conventions,
 *  spelt out so the off path never loads that large module). */
const ATTR = {
  serviceName: 'service.name',
  method: 'http.request.method',
  route: 'http.route',
  path: 'url.path',
  status: 'http.response.status_code',
  errorType: 'error.type',
} as const;

export type WriteHook = (batch: Batch, write: () => Promise<void>) => Promise<void>;

export interface Tracing {
  readonly enabled: boolean;
  /** Adds the request-span hooks to the server; adds nothing when tracing is off. */
  instrument(server: FastifyInstance): void;
  /** Records a batch cut by the batcher: a span linked to the requests it carries. */
  batchFlushed(batch: Batch): void;
  /** The writer pool's `around` hook (a span per write attempt), or undefined when off. */
  writeHook(sinkName: string, breakerOpen: () => boolean): WriteHook | undefined;
  /** Exports what is still pending and stops (bounded wait). */
  shutdown(): Promise<void>;
}

// Keyed by objects each app creates, so one module-level map serves every app instance.
const requestSpans = new WeakMap<FastifyRequest, Span>();

/**
 * The span of the request, for the buffer to carry to the batch span as a link; undefined
 * when tracing is off or the request is not sampled (a link to an unrecorded span leads nowhere).
 */
export function requestSpanContext(req: FastifyRequest): SpanContext | undefined {
  const span = requestSpans.get(req);
  return span !== undefined && span.isRecording() ? span.spanContext() : undefined;
}

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;

/** Parses a W3C `traceparent` (and `tracestate`) header; undefined when absent or invalid. */
export function parseTraceparent(header: unknown, tracestate?: unknown): SpanContext | undefined {
  if (typeof header !== 'string') return undefined;
  const m = TRACEPARENT.exec(header.trim());
  if (!m) return undefined;
  const [, version, traceId, spanId, flags, rest] = m as unknown as [
    string,
    string,
    string,
    string,
    string,
    string | undefined,
  ];
  // Version ff is forbidden; version 00 has exactly four fields (later versions may add more).
  if (version === 'ff' || (version === '00' && rest !== undefined)) return undefined;
  const ctx: SpanContext = { traceId, spanId, traceFlags: parseInt(flags, 16), isRemote: true };
  if (!isSpanContextValid(ctx)) return undefined; // all-zero ids
  if (typeof tracestate === 'string' && tracestate !== '') ctx.traceState = createTraceState(tracestate);
  return ctx;
}

const DISABLED: Tracing = {
  enabled: false,
  instrument: () => undefined,
  batchFlushed: () => undefined,
  writeHook: () => undefined,
  shutdown: () => Promise.resolve(),
};

/**
 * Tracing for one app. Off (and free) unless `config.endpoint` is set; the SDK and exporter
 * are imported only then, so they cost nothing at start-up either.
 */
export async function createTracing(config: TracingConfig, deps: { logger: Logger }): Promise<Tracing> {
  if (config.endpoint === '') return DISABLED;
  const [sdk, { OTLPTraceExporter }, { resourceFromAttributes }] = await Promise.all([
    import('@opentelemetry/sdk-trace-base'),
    import('@opentelemetry/exporter-trace-otlp-http'),
    import('@opentelemetry/resources'),
  ]);
  const url = `${config.endpoint.replace(/\/+$/, '')}/v1/traces`;
  const exporter = new ReportingExporter(
    new OTLPTraceExporter({ url, timeoutMillis: EXPORT_TIMEOUT_MS }),
    deps.logger,
    url,
  );
  const provider = new sdk.BasicTracerProvider({
    resource: resourceFromAttributes({ [ATTR.serviceName]: config.serviceName }),
    // Honour the caller's sampling decision; sample new traces by ratio (the ratio sampler
    // hashes every trace id, so it is skipped at ratio 1).
    sampler: new sdk.ParentBasedSampler({
      root: config.sampleRatio >= 1 ? new sdk.AlwaysOnSampler() : new sdk.TraceIdRatioBasedSampler(config.sampleRatio),
    }),
    // Queue and batch sizes keep their OTEL_BSP_* environment defaults.
    spanProcessors: [new sdk.BatchSpanProcessor(exporter, { exportTimeoutMillis: EXPORT_TIMEOUT_MS })],
  });
  const tracer = provider.getTracer('sluice');
  deps.logger.info({ url, sampleRatio: config.sampleRatio }, 'tracing on: exporting spans over OTLP/HTTP');
  return new ActiveTracing(tracer, () => provider.shutdown(), deps.logger);
}

class ActiveTracing implements Tracing {
  readonly enabled = true;
  /** The batch span each write span hangs under, and how many attempts it has had. */
  private readonly batches = new WeakMap<Batch, { parent: SpanContext; attempts: number }>();

  constructor(
    private readonly tracer: Tracer,
    private readonly stopProvider: () => Promise<void>,
    private readonly logger: Logger,
  ) {}

  instrument(server: FastifyInstance): void {
    const { tracer } = this;
    const attr = ATTR;
    server.addHook('onRequest', (req, _reply, done) => {
      const route = req.routeOptions.url;
      if (route !== undefined && UNTRACED_ROUTES.has(route)) return done();
      const parent = parseTraceparent(req.headers.traceparent, req.headers.tracestate);
      const attributes: Attributes = { [attr.method]: req.method, 'sluice.req_id': req.id };
      // The route pattern names the span; the raw path (client input) only when nothing matched.
      if (route !== undefined) attributes[attr.route] = route;
      else attributes[attr.path] = req.url.split('?', 1)[0];
      const span = tracer.startSpan(
        route !== undefined ? `${req.method} ${route}` : req.method,
        { kind: SpanKind.SERVER, attributes },
        parent ? trace.setSpanContext(ROOT_CONTEXT, parent) : ROOT_CONTEXT,
      );
      requestSpans.set(req, span);
      done();
    });
    server.addHook('onError', (req, _reply, err, done) => {
      // The stable error code (SLUICE_ERR_*), never the message: it may quote client input.
      const code = (err as { code?: unknown }).code;
      requestSpans.get(req)?.setAttribute(attr.errorType, code === undefined ? err.name : String(code));
      done();
    });
    // The span ends when the response is handed to the socket (onSend), not on 'finish'
    // (onResponse): that hook costs an event listener per request, a measurable share of ingest.
    // Every request that gets an answer passes here, errors and 404s included.
    server.addHook('onSend', (req, reply, payload, done) => {
      const span = requestSpans.get(req);
      if (span) {
        span.setAttribute(attr.status, reply.statusCode);
        // Server spans: a 4xx is the client's mistake, not a failure of this service.
        if (reply.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
        span.end();
      }
      done(null, payload);
    });
  }

  batchFlushed(batch: Batch): void {
    const n = Math.min(batch.links.length, MAX_BATCH_LINKS);
    const links: Link[] = new Array<Link>(n);
    for (let i = 0; i < n; i++) links[i] = { context: batch.links[i]! };
    const first = receivedRuns(batch)[0];
    const span = this.tracer.startSpan(
      'sluice.batch.flush',
      {
        kind: SpanKind.INTERNAL,
        links,
        // From the arrival of the batch's oldest record to the flush: how long records waited.
        startTime: first !== undefined ? microsToHrTime(first) : undefined,
        attributes: {
          'sluice.batch.id': batch.id,
          'sluice.batch.records': batch.count,
          'sluice.batch.bytes': batch.bytes,
          'sluice.batch.trigger': batch.trigger,
          'sluice.batch.requests': batch.links.length,
        },
      },
      ROOT_CONTEXT,
    );
    span.end();
    this.batches.set(batch, { parent: span.spanContext(), attempts: 0 });
  }

  writeHook(sinkName: string, breakerOpen: () => boolean): WriteHook {
    return async (batch, write) => {
      // An open breaker rejects without touching the sink: a wait, not a write attempt.
      if (breakerOpen()) return write();
      const state = this.batches.get(batch);
      const attempt = state ? ++state.attempts : 1;
      const span = this.tracer.startSpan(
        'sluice.sink.write',
        {
          kind: SpanKind.CLIENT,
          attributes: {
            'sluice.sink': sinkName,
            'sluice.batch.id': batch.id,
            'sluice.batch.records': batch.count,
            'sluice.write.attempt': attempt,
          },
        },
        state ? trace.setSpanContext(ROOT_CONTEXT, state.parent) : ROOT_CONTEXT,
      );
      try {
        await write();
        span.end();
      } catch (err) {
        span.recordException(err instanceof Error ? err : String(err));
        span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
        span.end();
        throw err;
      }
    };
  }

  async shutdown(): Promise<void> {
    const stopped = this.stopProvider().catch((err: unknown) => {
      this.logger.warn({ err }, 'tracing: error while flushing spans at shutdown');
    });
    await withTimeout(stopped, SHUTDOWN_TIMEOUT_MS, () => {
      this.logger.warn({ timeoutMs: SHUTDOWN_TIMEOUT_MS }, 'tracing: gave up exporting the last spans at shutdown');
    });
  }
}

function microsToHrTime(us: number): HrTime {
  const seconds = Math.floor(us / 1e6);
  return [seconds, Math.round((us - seconds * 1e6) * 1000)];
}

/** ExportResultCode.SUCCESS of @opentelemetry/core (not a direct dependency). */
const EXPORT_SUCCESS = 0;

/**
 * Passes spans to the OTLP exporter and reports failures in the service's log (OTel's own
 * diagnostics are silent by default), at most once a minute so a down collector cannot flood it.
 */
class ReportingExporter implements SpanExporter {
  private lastReport = -Infinity;
  private failedSince = 0;

  constructor(
    private readonly inner: SpanExporter,
    private readonly logger: Logger,
    private readonly url: string,
  ) {}

  export(spans: ReadableSpan[], done: Parameters<SpanExporter['export']>[1]): void {
    this.inner.export(spans, (result) => {
      if (result.code !== EXPORT_SUCCESS) {
        this.failedSince += spans.length;
        const now = Date.now();
        if (now - this.lastReport >= FAILURE_LOG_INTERVAL_MS) {
          this.logger.warn(
            { url: this.url, droppedSpans: this.failedSince, err: result.error?.message },
            'tracing: span export failed',
          );
          this.lastReport = now;
          this.failedSince = 0;
        }
      }
      done(result);
    });
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }

  forceFlush(): Promise<void> {
    return this.inner.forceFlush?.() ?? Promise.resolve();
  }
}
