// How OTLP says no: a SluiceError as a gRPC status code, and as the google.rpc.Status body
// OTLP/HTTP sends with every 4xx and 5xx (protobuf, or JSON for a JSON request). 429 and 503
// carry RetryInfo, which OTLP clients read to know when to retry.
import type { SluiceError } from '../../errors.js';
import { encodeStatus, statusJson } from './codec.js';

/** gRPC status codes (grpc/doc/statuscodes.md) OTLP answers with. */
export const GRPC = {
  OK: 0,
  DEADLINE_EXCEEDED: 4,
  INVALID_ARGUMENT: 3,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  UNAUTHENTICATED: 16,
} as const;

export function grpcCode(e: SluiceError): number {
  switch (e.statusCode) {
    case 401:
      return GRPC.UNAUTHENTICATED;
    case 403:
      return GRPC.PERMISSION_DENIED;
    case 408:
      return GRPC.DEADLINE_EXCEEDED;
    case 429:
      return GRPC.RESOURCE_EXHAUSTED;
    case 503:
      return GRPC.UNAVAILABLE;
    default:
      return e.statusCode >= 500 ? GRPC.INTERNAL : GRPC.INVALID_ARGUMENT;
  }
}

/** The google.rpc.Status of an error, in the request's encoding. */
export function statusBody(e: SluiceError, json: boolean): string | Buffer {
  return json ? statusJson(grpcCode(e), e.message, e.retryAfter) : encodeStatus(grpcCode(e), e.message, e.retryAfter);
}
