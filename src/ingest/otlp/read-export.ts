// One OTLP logs export, from the bytes received (after Content-Encoding / grpc-encoding) to
// Sluice records: decode protobuf or OTLP/JSON, then map. A payload that does not decode is a
// 400 (INVALID_ARGUMENT over gRPC) naming the encoding and what is wrong.
import { SluiceError } from '../../errors.js';
import type { ParseLimits } from '../parse-body.js';
import { decodeExportRequest } from './codec.js';
import { mapExport, type OtlpEncoding, type OtlpMapped } from './map.js';

export function readExport(body: Buffer, encoding: OtlpEncoding, receivedAt: number, limits: ParseLimits): OtlpMapped {
  let request: unknown;
  try {
    request = encoding === 'json' ? JSON.parse(body.toString('utf8')) : decodeExportRequest(body);
  } catch (err) {
    const detail =
      err instanceof RangeError && /call stack/i.test(err.message)
        ? 'nested too deeply'
        : (err as Error).message || String(err);
    throw new SluiceError('SLUICE_ERR_INVALID_OTLP', { encoding, detail });
  }
  return mapExport(request, encoding, receivedAt, limits);
}
