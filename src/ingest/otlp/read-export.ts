// One OTLP logs export, from the bytes received (after Content-Encoding / grpc-encoding) to
// Sluice records: decode protobuf or OTLP/JSON, then map. A payload that does not decode is a
// 400 (INVALID_ARGUMENT over gRPC) naming the encoding and what is wrong. A large export is read
// a slice at a time (readExportAsync), so the event loop keeps serving others meanwhile.
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { SluiceError } from '../../errors.js';
import type { ParseLimits } from '../parse-body.js';
import { decodeExportRequest, decodeExportRequestSteps } from './codec.js';
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

/** readExport, yielding to the event loop between slices of the protobuf decoding and of the mapping. */
export async function readExportAsync(
  body: Buffer,
  encoding: OtlpEncoding,
  receivedAt: number,
  limits: ParseLimits,
): Promise<OtlpMapped> {
  let request: unknown;
  if (encoding === 'json') {
    // JSON.parse has no slices; OTLP/JSON is the verbose form, meant for small exports.
    try {
      request = JSON.parse(body.toString('utf8'));
    } catch (err) {
      throw malformed(encoding, err);
    }
  } else {
    const decoding = decodeExportRequestSteps(body);
    for (;;) {
      let step: IteratorResult<void, unknown>;
      try {
        step = decoding.next();
      } catch (err) {
        throw malformed(encoding, err);
      }
      if (step.done) {
        request = step.value;
        break;
      }
      await yieldToLoop();
    }
  }
  const mapping = mapExportSteps(request, encoding, receivedAt, limits);
  for (;;) {
    const step = mapping.next();
    if (step.done) return step.value;
    await yieldToLoop();
  }
}
