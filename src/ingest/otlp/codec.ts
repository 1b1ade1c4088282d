// The OTLP logs protobuf messages (protobufjs reflection over the generated descriptor, built
// once at load) and the few google.rpc messages OTLP answers with: decode an export request,
// encode its response, and encode a google.rpc.Status (with RetryInfo) for errors.
import protobuf from 'protobufjs/light.js';
import { SluiceError } from '../../errors.js';
import { OTLP_LOGS_DESCRIPTOR } from './descriptor.js';

// google.rpc.Status and RetryInfo (googleapis, google/rpc/*.proto), written out here: OTLP
// names them for error bodies and gRPC status details; the rest of googleapis is not needed.
const RPC_DESCRIPTOR: protobuf.INamespace = {
  nested: {
    google: {
      nested: {
        protobuf: {
          nested: {
            Any: { fields: { typeUrl: { type: 'string', id: 1 }, value: { type: 'bytes', id: 2 } } },
            Duration: { fields: { seconds: { type: 'int64', id: 1 }, nanos: { type: 'int32', id: 2 } } },
          },
        },
        rpc: {
          nested: {
            Status: {
              fields: {
                code: { type: 'int32', id: 1 },
                message: { type: 'string', id: 2 },
                details: { rule: 'repeated', type: 'google.protobuf.Any', id: 3 },
              },
            },
            RetryInfo: { fields: { retryDelay: { type: 'google.protobuf.Duration', id: 1 } } },
          },
        },
      },
    },
  },
};

const root = protobuf.Root.fromJSON(OTLP_LOGS_DESCRIPTOR as protobuf.INamespace).addJSON(RPC_DESCRIPTOR.nested!);
const ExportRequest = root.lookupType('opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest');
const ExportResponse = root.lookupType('opentelemetry.proto.collector.logs.v1.ExportLogsServiceResponse');
const Status = root.lookupType('google.rpc.Status');
const RetryInfo = root.lookupType('google.rpc.RetryInfo');

export const RETRY_INFO_TYPE_URL = 'type.googleapis.com/google.rpc.RetryInfo';

/** Decodes an ExportLogsServiceRequest; throws (protobufjs's error, or a RangeError on absurd nesting) when the bytes are not one. */
export function decodeExportRequest(bytes: Uint8Array): unknown {
  return ExportRequest.decode(bytes);
}

export interface PartialSuccess {
  rejected: number;
  message: string;
}

/** ExportLogsServiceResponse: empty on full success, else with partial_success. */
export function encodeExportResponse(partial?: PartialSuccess): Buffer {
  if (!partial || (partial.rejected === 0 && partial.message === '')) return Buffer.alloc(0);
  const msg = ExportResponse.fromObject({
    partialSuccess: { rejectedLogRecords: partial.rejected, errorMessage: partial.message },
  });
  return Buffer.from(ExportResponse.encode(msg).finish());
}

/** The same response in OTLP/JSON (int64 as a decimal string, lowerCamelCase). */
export function exportResponseJson(partial?: PartialSuccess): string {
  if (!partial || (partial.rejected === 0 && partial.message === '')) return '{}';
  return JSON.stringify({
    partialSuccess: { rejectedLogRecords: String(partial.rejected), errorMessage: partial.message },
  });
}

/** The google.rpc.RetryInfo bytes for a delay in whole seconds. */
export function encodeRetryInfo(seconds: number): Buffer {
  return Buffer.from(RetryInfo.encode(RetryInfo.fromObject({ retryDelay: { seconds } })).finish());
}

/** google.rpc.Status, with a RetryInfo detail when the client should come back after `retryAfter` seconds. */
export function encodeStatus(code: number, message: string, retryAfter?: number): Buffer {
  const details =
    retryAfter === undefined ? [] : [{ typeUrl: RETRY_INFO_TYPE_URL, value: encodeRetryInfo(retryAfter) }];
  return Buffer.from(Status.encode(Status.fromObject({ code, message, details })).finish());
}

/** The same Status in proto3 JSON. */
export function statusJson(code: number, message: string, retryAfter?: number): string {
  const details = retryAfter === undefined ? [] : [{ '@type': RETRY_INFO_TYPE_URL, retryDelay: `${retryAfter}s` }];
  return JSON.stringify({ code, message, ...(details.length > 0 ? { details } : {}) });
}

/**
 * Encodes an ExportLogsServiceRequest written in its OTLP/JSON form (hex trace and span ids,
 * base64 bytes, int64 as strings or numbers), for the bench's and tests' own payloads.
 */
export function encodeExportRequest(request: object): Buffer {
  type Rec = { traceId?: unknown; spanId?: unknown };
  const hexIds = (r: Rec): Rec => ({
    ...r,
    ...(typeof r.traceId === 'string' ? { traceId: Buffer.from(r.traceId, 'hex') } : {}),
    ...(typeof r.spanId === 'string' ? { spanId: Buffer.from(r.spanId, 'hex') } : {}),
  });
  const { resourceLogs = [] } = request as { resourceLogs?: Array<{ scopeLogs?: Array<{ logRecords?: Rec[] }> }> };
  const form = {
    resourceLogs: resourceLogs.map((rl) => ({
      ...rl,
      scopeLogs: (rl.scopeLogs ?? []).map((sl) => ({ ...sl, logRecords: (sl.logRecords ?? []).map(hexIds) })),
    })),
  };
  return Buffer.from(ExportRequest.encode(ExportRequest.fromObject(form)).finish());
}

export interface DecodedStatus {
  code: number;
  message: string;
  details: Array<{ typeUrl: string; value: Uint8Array }>;
  /** From a RetryInfo detail, when there is one. */
  retryDelaySeconds?: number;
}

/** Reads a google.rpc.Status (what OTLP clients do with an error body or gRPC status details). */
export function decodeStatus(bytes: Uint8Array): DecodedStatus {
  const s = Status.toObject(Status.decode(bytes), { longs: Number, defaults: true }) as DecodedStatus;
  const retry = s.details.find((d) => d.typeUrl === RETRY_INFO_TYPE_URL);
  if (retry) {
    const info = RetryInfo.toObject(RetryInfo.decode(retry.value), { longs: Number }) as {
      retryDelay?: { seconds?: number };
    };
    s.retryDelaySeconds = info.retryDelay?.seconds ?? 0;
  }
  return s;
}

const ResourceType = root.lookupType('opentelemetry.proto.resource.v1.Resource');
const ScopeType = root.lookupType('opentelemetry.proto.common.v1.InstrumentationScope');
const LogRecordType = root.lookupType('opentelemetry.proto.logs.v1.LogRecord');

function expectLengthDelimited(tag: number): void {
  if ((tag & 7) !== 2) throw new Error(`field ${tag >>> 3}: wire type ${tag & 7}, expected 2 (length-delimited)`);
}

function endOf(r: protobuf.Reader): number {
  const end = r.uint32() + r.pos;
  if (end > r.len) throw new RangeError(`index out of range: ${end} > ${r.len}`);
  return end;
}

/** The 413 of an export holding more than ingest.maxRecordsPerRequest records (found while decoding). */
export function tooManyRecords(maxRecords: number): SluiceError {
  return new SluiceError('SLUICE_ERR_TOO_MANY_RECORDS', {
    detail: `more than ${maxRecords} log records; at most ${maxRecords} per request (ingest.maxRecordsPerRequest)`,
  });
}

/**
 * decodeExportRequest a slice at a time: walks ExportLogsServiceRequest → ResourceLogs →
 * ScopeLogs itself and decodes each Resource, InstrumentationScope and LogRecord with protobufjs,
 * yielding the bytes each LogRecord took (steps.ts groups them into steps). Gives the same
 * shape the mapper reads. Past `maxRecords` log records it stops with a 413 (the mapper would
 * refuse them too, but only once all were built).
 */
export function* decodeExportRequestSteps(bytes: Uint8Array, maxRecords = Infinity): Generator<number, unknown> {
  const r = protobuf.Reader.create(bytes);
  let count = 0;
  const resourceLogs: Array<{ resource: unknown; scopeLogs: unknown[] }> = [];
  while (r.pos < r.len) {
    const tag = r.uint32();
    if (tag >>> 3 !== 1) {
      r.skipType(tag & 7);
      continue;
    }
    expectLengthDelimited(tag);
    const rlEnd = endOf(r);
    const rl = { resource: null as unknown, scopeLogs: [] as unknown[] };
    while (r.pos < rlEnd) {
      const t = r.uint32();
      if (t >>> 3 === 1) {
        expectLengthDelimited(t);
        rl.resource = ResourceType.decode(r, r.uint32());
      } else if (t >>> 3 === 2) {
        expectLengthDelimited(t);
        const slEnd = endOf(r);
        const sl = { scope: null as unknown, logRecords: [] as unknown[] };
        while (r.pos < slEnd) {
          const u = r.uint32();
          if (u >>> 3 === 1) {
            expectLengthDelimited(u);
            sl.scope = ScopeType.decode(r, r.uint32());
          } else if (u >>> 3 === 2) {
            expectLengthDelimited(u);
            if (++count > maxRecords) throw tooManyRecords(maxRecords);
            const start = r.pos;
            sl.logRecords.push(LogRecordType.decode(r, r.uint32()));
            yield r.pos - start;
          } else r.skipType(u & 7);
        }
        if (r.pos !== slEnd) throw new Error('a ScopeLogs overruns its length');
        rl.scopeLogs.push(sl);
      } else r.skipType(t & 7);
    }
    if (r.pos !== rlEnd) throw new Error('a ResourceLogs overruns its length');
    resourceLogs.push(rl);
  }
  return { resourceLogs };
}
