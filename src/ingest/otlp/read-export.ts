// One OTLP logs export, from the bytes received (after Content-Encoding / grpc-encoding) to
// Sluice records: decode protobuf or OTLP/JSON, then map. A payload that does not decode is a
// 400 (INVALID_ARGUMENT over gRPC) naming the encoding and what is wrong. A large export is read
// in steps of bounded work (readExportAsync: protobuf a LogRecord at a time, OTLP/JSON a piece at
// a time through json-steps.ts, then the mapping), so the event loop keeps serving others.
import { SluiceError } from '../../errors.js';
import { JsonLimitError, parseJsonSteps } from '../json-steps.js';
import type { JsonCost } from '../nesting.js';
import type { ParseLimits } from '../parse-body.js';
import { runInSteps, type Steps } from '../../steps.js';
import { decodeExportRequest, decodeExportRequestSteps, tooManyRecords } from './codec.js';
import { mapExportSteps, mapExport, type OtlpEncoding, type OtlpMapped } from './map.js';

function malformed(encoding: OtlpEncoding, err: unknown): SluiceError {
  const detail =
    err instanceof RangeError && /call stack/i.test(err.message)
      ? 'nested too deeply'
      : (err as Error).message || String(err);
  return new SluiceError('SLUICE_ERR_INVALID_OTLP', { encoding, detail });
}

export function readExport(body: Buffer, encoding: OtlpEncoding, receivedAt: number, limits: ParseLimits): OtlpMapped {
  let request: unknown;
  try {
    request = encoding === 'json' ? JSON.parse(body.toString('utf8')) : decodeExportRequest(body);
  } catch (err) {
    throw malformed(encoding, err);
  }
  return mapExport(request, encoding, receivedAt, limits);
}

/**
 * How deep an OTLP/JSON export may nest: the path to a record's body (8 levels) plus 4 JSON levels
 * for each AnyValue level ingest.maxDepth allows (value, kvlistValue, values, the key-value).
 */
function jsonLimits(limits: ParseLimits): JsonCost {
  // Records (objects in resourceLogs[].scopeLogs[].logRecords[]) are counted as the text is
  // walked, so an export past ingest.maxRecordsPerRequest is refused before it is built.
  return { depth: 16 + 4 * limits.maxDepth, keys: Infinity, items: { depth: 6, max: limits.maxRecords } };
}

/** readExport in steps of bounded work: the decoding (protobuf or OTLP/JSON) and the mapping. */
export function* readExportSteps(
  body: Buffer,
  encoding: OtlpEncoding,
  receivedAt: number,
  limits: ParseLimits,
): Steps<OtlpMapped> {
  let request: unknown;
  try {
    request =
      encoding === 'json'
        ? yield* parseJsonSteps(body, 0, body.length, jsonLimits(limits))
        : yield* decodeExportRequestSteps(body, limits.maxRecords);
  } catch (err) {
    if (err instanceof SluiceError) throw err;
    if (err instanceof JsonLimitError && err.over === 'items') throw tooManyRecords(limits.maxRecords);
    throw malformed(encoding, err);
  }
  return yield* mapExportSteps(request, encoding, receivedAt, limits);
}

/** readExport, yielding to the event loop between steps of the decoding and of the mapping. */
export function readExportAsync(
  body: Buffer,
  encoding: OtlpEncoding,
  receivedAt: number,
  limits: ParseLimits,
): Promise<OtlpMapped> {
  return runInSteps(readExportSteps(body, encoding, receivedAt, limits));
}
