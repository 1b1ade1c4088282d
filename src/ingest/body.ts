// Checks Content-Encoding and undoes gzip/deflate with the same byte limit on the
// decompressed size (a small gzip body can expand enormously). Fastify reads the raw bytes
// and enforces the limit on the wire size (bodyLimit).
import type { IncomingHttpHeaders } from 'node:http';
import { gunzip, inflate } from 'node:zlib';
import { SluiceError } from '../errors.js';
import { tooLarge } from '../http/error-handler.js';

/** Throws 415 for an encoding we cannot undo; returns the encoding otherwise. */
export function checkEncoding(headers: IncomingHttpHeaders): 'identity' | 'gzip' | 'deflate' {
  const raw = headers['content-encoding'];
  if (raw === undefined) return 'identity';
  const encoding = raw.toLowerCase().trim();
  if (encoding === 'identity' || encoding === '') return 'identity';
  if (encoding === 'gzip' || encoding === 'x-gzip') return 'gzip';
  if (encoding === 'deflate') return 'deflate';
  throw new SluiceError('SLUICE_ERR_UNSUPPORTED_ENCODING', { encoding, accepted: 'use gzip, deflate or none' });
}

export function decodeBody(
  raw: Buffer,
  encoding: 'identity' | 'gzip' | 'deflate',
  limit: number,
): Promise<Buffer> | Buffer {
  if (encoding === 'identity') return raw;
  const decode = encoding === 'deflate' ? inflate : gunzip;
  return new Promise<Buffer>((resolve, reject) => {
    decode(raw, { maxOutputLength: limit }, (err, out) => {
      if (!err) return resolve(out);
      if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE')
        return reject(tooLarge(limit, 'decompressed body'));
      reject(new SluiceError('SLUICE_ERR_INVALID_GZIP', { encoding, detail: err.message }));
    });
  });
}
