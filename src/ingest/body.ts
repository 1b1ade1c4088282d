// Reads a request body with a byte limit and undoes Content-Encoding: gzip, with the same
// limit on the decompressed size (a small gzip body can expand enormously).
import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import { gunzip, inflate } from 'node:zlib';
import { SluiceError } from '../errors.js';

function tooLarge(limit: number, what: string): SluiceError {
  return new SluiceError('SLUICE_ERR_BODY_TOO_LARGE', `${what} exceeds the limit of ${limit} bytes (ingest.maxBodyBytes)`);
}

export async function readBody(stream: Readable, headers: IncomingHttpHeaders, limit: number): Promise<Buffer> {
  const encoding = (headers['content-encoding'] ?? 'identity').toLowerCase().trim();
  if (encoding !== 'identity' && encoding !== 'gzip' && encoding !== 'x-gzip' && encoding !== 'deflate') {
    stream.resume();
    throw new SluiceError('SLUICE_ERR_UNSUPPORTED_ENCODING', `unsupported Content-Encoding "${encoding}": use gzip, deflate or none`);
  }
  const declared = Number(headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    stream.resume();
    throw tooLarge(limit, 'request body');
  }
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of stream) {
    const buf = chunk as Buffer;
    total += buf.length;
    if (total > limit) {
      stream.resume();
      throw tooLarge(limit, 'request body');
    }
    chunks.push(buf);
  }
  const raw = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, total);
  if (encoding === 'identity') return raw;
  const decode = encoding === 'deflate' ? inflate : gunzip;
  return new Promise<Buffer>((resolve, reject) => {
    decode(raw, { maxOutputLength: limit }, (err, out) => {
      if (!err) return resolve(out);
      if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') return reject(tooLarge(limit, 'decompressed body'));
      reject(new SluiceError('SLUICE_ERR_INVALID_GZIP', `body is not valid ${encoding}: ${err.message}`));
    });
  });
}
